"""The training loop of one job's claimed members: restore or initialise the packed state,
train in fused chunks between evaluations, record each evaluation and the time to target,
checkpoint by the job's policy, and write each member's status. :func:`~hpbench.train.run.
run_job` claims the members and handles failures; JAX is imported when a Trainer is made.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import attrs

import hpbench
from hpbench import machine
from hpbench.plan import Trial
from hpbench.results.curves import reach
from hpbench.results.records import EvalRecord, Status
from hpbench.results.store import TrialDir
from hpbench.train.claims import checkpoint_dir, stamp
from hpbench.train.outcome import JobUpdate, TrialOutcome
from hpbench.train.signals import Interrupted

log = logging.getLogger("hpbench.run")


def chunk_length(steps_per_dispatch: int, eval_every: int, horizon_steps: int) -> int:
    """Steps per fused chunk, at most ``steps_per_dispatch``: the largest divisor of both
    ``eval_every`` and ``horizon_steps``, so chunks tile the evaluation intervals and the horizon
    and one chunk program is compiled. Where that divisor is under half of ``eval_every``'s
    own (a horizon that shares few factors with it), ``eval_every``'s: shorter chunks
    would cost more dispatches than the second program (for the last chunk) costs."""
    limit = max(1, min(steps_per_dispatch, eval_every))
    tiles_evals = max(d for d in range(1, limit + 1) if eval_every % d == 0)
    common = math.gcd(eval_every, horizon_steps)
    tiles_both = max(d for d in range(1, tiles_evals + 1) if common % d == 0)
    return tiles_both if 2 * tiles_both >= tiles_evals else tiles_evals


@attrs.define
class _Member:
    """Host-side bookkeeping of one member (saved in each checkpoint's meta)."""

    trial_dir: TrialDir
    state: str = "running"  # running | done | diverged; passengers start finished
    train_seconds: float = 0.0
    #: AlgoPerf's submission time: training plus its compilation (docs/scoring.md); None
    #: once resumed from a checkpoint saved before hpbench kept it.
    algoperf_seconds: float | None = 0.0
    reached_step: int | None = None
    reached_seconds: float | None = None
    last_metric: float | None = None
    step: int = 0

    @property
    def trial(self) -> Trial:
        return self.trial_dir.trial

    @property
    def training(self) -> bool:
        return self.state == "running"

    def to_meta(self) -> dict[str, Any]:
        return {
            "trial": self.trial.id,
            "state": self.state,
            "train_seconds": self.train_seconds,
            "algoperf_seconds": self.algoperf_seconds,
            "reached_step": self.reached_step,
            "reached_seconds": self.reached_seconds,
            "last_metric": self.last_metric,
            "step": self.step,
        }

    def load_meta(self, meta: dict[str, Any]) -> None:
        for key in ("state", "train_seconds", "reached_step", "reached_seconds", "last_metric"):
            setattr(self, key, meta[key])
        self.algoperf_seconds = meta.get("algoperf_seconds")
        self.step = meta["step"]


class Trainer:
    """One attempt at training a job's claimed members (see :func:`hpbench.train.run.run_job`)."""

    def __init__(self, job, results_dir, members, devices, progress, stop, processes):
        import jax

        from hpbench.train.checkpoint import JobCheckpoints
        from hpbench.train.memory import check_fits
        from hpbench.train.program import local_devices_for, member_values, program_for

        self.job = job
        self.members = [_Member(m) for m in members]
        self.repairs: dict[str, str] = {}  # trial id -> what was repaired
        # AlgoPerf's clock: when each chunk length's compilation was first asked for and
        # finished, and the lengths already charged to it
        self._compile_begun: dict[int, float] = {}
        self._compile_ended: dict[int, float] = {}
        self._compile_charged: set[int] = set()
        self.lead = members[0].trial
        self.progress = progress
        self.stop = stop
        self.processes = processes
        if devices is None:  # a multi-host job trains on the global mesh
            devices = jax.devices() if processes.count > 1 else local_devices_for(len(members))
        devices = list(devices)
        self.program = program_for(self.lead, len(members), devices)
        check_fits(self.program)
        self.chunk = chunk_length(
            self.program.steps_per_dispatch(job.steps_per_dispatch),
            self.lead.eval_every,
            self.lead.horizon_steps,
        )
        mesh = self.program.mesh
        self.values = self.program.place(member_values([m.trial for m in members]))
        job_dir = checkpoint_dir(Path(results_dir), members)
        self.checkpoints = JobCheckpoints(
            job_dir,
            keep=job.checkpoint.keep,
            abstract_state=self.program.abstract_state,
            shardings=self.program.state_shardings,
        )
        self.provenance = {
            "hpbench": hpbench.__version__,
            "jax": jax.__version__,
            "device": f"{mesh.size} x {mesh.devices.flat[0].device_kind}",
            "host": machine.describe(),
            "job": job_dir.name,
        }

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> dict[str, TrialOutcome]:
        try:
            # The first chunk compiles in the background while the initial state compiles
            # and runs (or a checkpoint is read): on a cold start the two are the bulk of
            # a short job's wait.
            self._start_compile(self._chunk_from(0))
            self.step, self.state = self._start()
            self._train()
            self._pause()
            self._save(final=True)
            self._report(finished=True)
            for m in self.members:
                if m.training:
                    m.state = "done"
                    m.step = self.step
                    self._write_status(m)
            return {m.trial.id: self._outcome(m) for m in self.members}
        finally:
            with self.stop.critical(then_stop=False):
                self.checkpoints.close()

    def _start(self) -> tuple[int, Any]:
        """A fresh state, or the latest checkpoint's; trims each member's records to it and
        reads its reach of the target from what is kept."""
        step = 0
        restored = self._restore()
        if restored is None:
            state = self.program.init(self.values)
        else:
            state, meta = restored
            step = meta["step"]
            saved = {entry["trial"]: entry for entry in meta["members"]}
            for m in self.members:
                m.load_meta(saved[m.trial.id])
        for m in self.members:
            status = m.trial_dir.read_status()
            if status is not None and status.finished:  # trained along, masked, kept as is
                m.state, m.step = status.state, status.step
                m.reached_step, m.reached_seconds = status.reached_step, status.reached_seconds
                continue
            if restored is None:
                self._start_over(m, status)
            else:
                kept = m.trial_dir.truncate_evals(step)
                if kept and not m.trial.stop_at_target:
                    # a scoring target may have moved since the checkpoint (it is not part
                    # of the id): the kept curve says when the current one was reached
                    first = reach(kept, m.trial.target)
                    m.reached_step, m.reached_seconds = first.step, first.seconds
            m.step = step
            self._write_status(m)
        active = [m.training for m in self.members]
        state["active"] = self.program.place(self._np_and(state["active"], active))
        return step, state

    def _restore(self) -> tuple[Any, dict[str, Any]] | None:
        """The latest checkpoint that restores (state, meta); an unreadable one is logged and
        the one before it tried. None: no usable checkpoint (train from step 0)."""
        steps = self.processes.share(self.checkpoints.all_steps())
        for step in sorted(steps, reverse=True):
            try:
                return self.checkpoints.restore(step)
            except Exception as error:  # Orbax raises many kinds on damaged files
                first_line = (str(error).splitlines() or [""])[0]
                aside = self.processes.share(
                    str(self.checkpoints.set_aside(step, stamp()))
                    if self.processes.primary
                    else None
                )
                log.warning(
                    "job %s: the checkpoint at step %d does not restore (%s: %s); moved to %s",
                    self.provenance["job"],
                    step,
                    type(error).__name__,
                    first_line,
                    aside,
                )
        return None

    def _start_over(self, m: _Member, status: Status | None) -> None:
        """Train ``m`` from step 0. An unfinished trial that had trained (its checkpoint is
        missing or unreadable) is said so, and its rows moved aside, before training."""
        if status is None or status.step == 0 or not self.processes.primary:
            m.trial_dir.reset()
            return
        why = (
            f"{status.state} at step {status.step}, but job {self.provenance['job']} has no "
            "usable checkpoint: training again from step 0"
        )
        aside = m.trial_dir.set_aside(why)
        note = f"{why} (earlier rows moved to {aside})"
        log.warning("trial %s: %s", m.trial.id, note)
        self.repairs[m.trial.id] = "; ".join(filter(None, (self.repairs.get(m.trial.id), note)))

    def _chunk_from(self, step: int) -> int:
        """Steps of the chunk that starts at ``step``: up to the next chunk or evaluation
        boundary, or the horizon."""
        every, last = self.lead.eval_every, self.lead.horizon_steps
        boundary = min((step // self.chunk + 1) * self.chunk, (step // every + 1) * every, last)
        return boundary - step

    def _train(self) -> None:
        last = self.lead.horizon_steps
        every = self.lead.eval_every
        self._last_save_time = time.monotonic()
        self._last_save_step = self.step
        self._resume_clock()
        while self.step < last and any(m.training for m in self.members):
            count = self._chunk_from(self.step)
            self._compile(count)
            after = self.step + count  # the next chunk is read while this one trains
            ahead = self._chunk_from(after) if after < last else 0
            self.state = self.program.train(self.state, self.values, self.step, count, ahead)
            self.step += count
            if self.step % every == 0 or self.step == last:
                self._evaluate()
            signum, due = self._agree()
            if signum is not None:
                self._interrupt(signum)
            if due:
                self._pause()
                self._save()
                self._resume_clock()
            self._report()

    # --- timing ------------------------------------------------------------------------

    def _resume_clock(self) -> None:
        self._clock = time.perf_counter()

    def _start_compile(self, count: int) -> Any:
        """Start (or find) the compilation of a chunk length; its first request in this
        run, and when it finished, time it for AlgoPerf's clock."""
        future = self.program.compile(count)
        if count not in self._compile_begun:
            self._compile_begun[count] = time.perf_counter()
            ended = self._compile_ended
            future.add_done_callback(lambda _: ended.setdefault(count, time.perf_counter()))
        return future

    def _compile(self, count: int) -> None:
        """Wait for a chunk length's compilation (started on first use), keeping it off
        the training clock; AlgoPerf's clock counts the whole compilation (the part that
        overlapped initialisation too), once per chunk length and run."""
        started = time.perf_counter()
        self._start_compile(count).result()
        now = time.perf_counter()
        self._clock += now - started
        if count in self._compile_charged:
            return
        self._compile_charged.add(count)
        spent = self._compile_ended.get(count, now) - self._compile_begun[count]
        for m in self.members:
            if m.training and m.algoperf_seconds is not None:
                m.algoperf_seconds += spent

    def _pause(self) -> None:
        """Wait for the dispatched steps and credit their time to the training members."""
        import jax

        jax.block_until_ready(self.state)
        elapsed = time.perf_counter() - self._clock
        for m in self.members:
            if m.training:
                m.train_seconds += elapsed
                if m.algoperf_seconds is not None:
                    m.algoperf_seconds += elapsed
        self._clock = time.perf_counter()

    # --- evaluation --------------------------------------------------------------------

    def _evaluate(self) -> None:
        import numpy as np

        self._pause()
        active = np.asarray(self.state["active"])
        diverged_step = np.asarray(self.state["diverged_step"])
        loss_sum = np.asarray(self.state["loss_sum"])
        loss_count = np.asarray(self.state["loss_count"])
        evaluated = [i for i, m in enumerate(self.members) if m.training and active[i]]
        all_metrics = self.program.evaluate(self.state, evaluated)
        for i, m in enumerate(self.members):
            if not m.training:
                continue
            m.step = self.step
            if not active[i]:
                m.state, m.step = "diverged", int(diverged_step[i])
                self._write_status(m, reason=f"non-finite training loss at step {m.step}")
                continue
            metrics = all_metrics[i]
            train_loss = float(loss_sum[i] / loss_count[i]) if loss_count[i] else math.nan
            m.trial_dir.append_eval(
                EvalRecord(self.step, m.train_seconds, train_loss, metrics, m.algoperf_seconds)
            )
            value = metrics.get(m.trial.target.metric, math.nan)
            m.last_metric = value
            if m.reached_step is None and m.trial.target.reached(value):
                m.reached_step, m.reached_seconds = self.step, m.train_seconds
                if m.trial.stop_at_target:
                    m.state = "done"
            self._write_status(m)
        self.state["loss_sum"] = self.program.place(np.zeros_like(loss_sum))
        self.state["loss_count"] = self.program.place(np.zeros_like(loss_count))
        mask = [m.training for m in self.members]
        self.state["active"] = self.program.place(self._np_and(self.state["active"], mask))
        self._resume_clock()

    @staticmethod
    def _np_and(array: Any, mask: list[bool]) -> Any:
        import numpy as np

        return np.asarray(array) & np.asarray(mask, dtype=bool)

    # --- checkpoints, statuses, progress -------------------------------------------------

    def _agree(self) -> tuple[int | None, bool]:
        """The stop signal and whether a checkpoint is due, the same on every process: a
        signal to any process stops them all (they save together), and the primary's clock
        decides a time-based checkpoint. Alone: this process's own signal and clock."""
        signum, due = self.stop.signum, self._checkpoint_due()
        if self.processes.count == 1:
            return signum, due
        votes = self.processes.gather([signum or 0, due])
        stops = [int(s) for s, _ in votes if s]
        return (stops[0] if stops else None), bool(votes[0][1])

    def _checkpoint_due(self) -> bool:
        since = time.monotonic() - self._last_save_time
        return self.job.checkpoint.due(self.step, self._last_save_step, since)

    def _save(self, final: bool = False) -> None:
        with self.stop.critical():
            self._save_now(final)

    def _save_now(self, final: bool) -> None:
        import jax

        meta = {
            "trials": [m.trial.id for m in self.members],
            "members": [m.to_meta() for m in self.members],
            "data": {"seed": self.lead.seed, "next_step": self.step},
            "rng": jax.random.key_data(self.program.step_key).tolist(),
        }
        if self.checkpoints.latest_step() != self.step:
            self.checkpoints.save(self.step, self.state, meta)
        if final:
            self.checkpoints.wait()
        self._last_save_time = time.monotonic()
        self._last_save_step = self.step

    def _interrupt(self, signum: int) -> None:
        with self.stop.critical(then_stop=False):
            self._pause()
            self._save_now(final=True)
            for m in self.members:
                if m.training:
                    m.step = self.step
                    self._write_status(
                        m, state="interrupted", reason="stopped by a signal; rerun resumes"
                    )
        raise Interrupted(signum)

    def _write_status(
        self, m: _Member, state: str | None = None, reason: str | None = None
    ) -> None:
        m.trial_dir.write_status(
            Status(
                state=state or m.state,
                step=m.step,
                reason=reason,
                reached_step=m.reached_step,
                reached_seconds=m.reached_seconds,
                provenance=self.provenance,
            )
        )

    def _report(self, finished: bool = False) -> None:
        if self.progress is None:
            return
        self.progress(
            JobUpdate.of(
                self.provenance["job"],
                self.lead,
                [(m.trial.id, m.last_metric) for m in self.members],
                step=self.step,
                train_seconds=max((m.train_seconds for m in self.members), default=0.0),
                finished=finished,
            )
        )

    def _outcome(self, m: _Member) -> TrialOutcome:
        return TrialOutcome(
            m.trial,
            m.state,
            step=m.step,
            reached_step=m.reached_step,
            reached_seconds=m.reached_seconds,
            final_metric=m.last_metric,
            repair=self.repairs.get(m.trial.id),
        )

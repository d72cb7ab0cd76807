"""``run_job``: train one job's trials, checkpointed and resumable, into the results store.

Every backend calls :func:`run_job` and nothing else. It claims each trial (a trial held by
another live process is left to it), skips a job whose trials all finished (unless
``job.force``), restores the latest checkpoint, trains in fused chunks between evaluations,
records each evaluation and the time-to-target, and writes each trial's final status. An
exception marks the job's unfinished trials failed (with the error) and returns; SIGINT or
SIGTERM saves a checkpoint, marks them interrupted and raises :class:`Interrupted`.

Damage is repaired, never trained over: a claimed trial whose files fail their checks has
them moved aside (``<trial>/damaged-<time>/``) and trains again, from step 0 with its job
(whose checkpoints are moved aside too: they hold steps the trial no longer has rows
for). An unfinished trial whose job has no usable checkpoint is said so, its rows moved
aside, before it trains from step 0; an unreadable latest checkpoint falls back to the one
before. Each repair is logged (``hpbench.run``) and told in the trial's outcome.

A multi-host job runs :func:`run_job` on every process with the same arguments: only the
primary process claims and writes (the others see their trials through
:class:`~hpbench.results.store.MirrorTrialDir`), the decisions that steer training are made
on the primary and shared (:mod:`hpbench.train.processes`), and every process calls Orbax's
save and restore, which Orbax coordinates. A single process exchanges nothing.
"""

from __future__ import annotations

import contextlib
import datetime
import logging
import math
import os
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs

import hpbench
from hpbench.plan import Trial
from hpbench.results.records import EvalRecord, Status
from hpbench.results.store import MirrorTrialDir, TrialClaim, TrialDir, claim, store_error
from hpbench.train.job import Job
from hpbench.train.processes import Processes, current

log = logging.getLogger("hpbench.run")


class Interrupted(KeyboardInterrupt):
    """Training stopped on a signal after saving a checkpoint (``signum`` says which)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@attrs.frozen
class TrialOutcome:
    """How a trial ended in this run (for the summary table)."""

    trial: Trial
    state: str  # a Status state, or "skipped" (already finished) or "elsewhere" (claimed)
    step: int = 0
    reached_step: int | None = None
    reached_seconds: float | None = None
    reason: str | None = None
    final_metric: float | None = None
    repair: str | None = None  # what this run found damaged or missing, and did about it


@attrs.frozen
class JobUpdate:
    """Progress of a job, sent to the ``progress`` callback at each chunk boundary."""

    job_id: str
    workload: str
    pack: int
    step: int
    horizon_steps: int
    train_seconds: float
    metric: str
    best: float | None  # the best member's latest value of the target metric
    target: float
    finished: bool = False
    #: Each member's trial id and latest value of the target metric, in pack order.
    members: tuple[tuple[str, float | None], ...] = ()

    @classmethod
    def of(
        cls,
        job_id: str,
        lead: Trial,
        members: Sequence[tuple[str, float | None]],
        *,
        step: int,
        train_seconds: float,
        finished: bool = False,
    ) -> JobUpdate:
        """The update of a job led by ``lead`` whose ``members`` (trial id, latest value of
        the target metric or None) stand at ``step``: the engine's and a results watcher's."""
        values = [value for _, value in members if value is not None]
        variant = "" if lead.variant == "base" else f"/{lead.variant}"
        return cls(
            job_id=job_id,
            workload=f"{lead.workload}/{lead.size}{variant}",
            pack=len(members),
            step=step,
            horizon_steps=lead.horizon_steps,
            train_seconds=train_seconds,
            metric=lead.target.metric,
            best=lead.target.best(values) if values else None,
            target=lead.target.value,
            finished=finished,
            members=tuple(members),
        )


Progress = Callable[[JobUpdate], None]


def run_job(
    job: Job,
    results_dir: Path | str,
    *,
    devices: Sequence[Any] | None = None,
    progress: Progress | None = None,
    processes: Processes | None = None,
) -> list[TrialOutcome]:
    """Train ``job`` into ``results_dir``; one :class:`TrialOutcome` per trial of the job.

    ``processes``: this process in a multi-host job (default: from ``jax.distributed``,
    a single process unless it joined others). Only the primary writes to ``results_dir``
    and reports ``progress``; the others compute the same steps and outcomes."""
    results_dir = Path(results_dir)
    processes = processes or current()
    if not processes.primary:
        progress = None
    finished = processes.share(_all_finished(job, results_dir) if processes.primary else None)
    if finished is not None:
        return [_skipped(t, Status.from_json(finished[t.id])) for t in job.trials]
    claims: list[TrialClaim] = []
    members: list[TrialDir] = []
    repairs: dict[str, str] = {}
    try:
        if processes.primary:
            try:
                members = _claim_members(job, results_dir, claims)
            except OSError as error:
                raise (store_error(error, results_dir) or error) from error
            repairs = _set_damage_aside(results_dir, members)
        starts = processes.share(_starting_statuses(members) if processes.primary else None)
        if not processes.primary:
            members = _mirrors(job, results_dir, starts)
        held = {m.trial.id for m in members}
        outcomes = {
            t.id: TrialOutcome(t, "elsewhere", reason="claimed by another run")
            for t in job.trials
            if t.id not in held
        }
        if members and all(m.finished() for m in members):
            for m in members:
                outcomes[m.trial.id] = _skipped(m.trial, m.read_status())
        elif members:
            for m in members:
                m.write_trial()
            trained = _train_or_fail(
                job, results_dir, members, devices, progress, processes, repairs
            )
            outcomes.update(trained)
    finally:
        for lock in claims:
            lock.release()
    return [outcomes[t.id] for t in job.trials]


def _all_finished(job: Job, results_dir: Path) -> dict[str, Any] | None:
    """Each trial's status (JSON) when every trial of ``job`` has a final result that reads
    back whole (and ``job.force`` is off), else None. Nothing is claimed or written, so a
    finished store answers even when it is read-only."""
    if job.force:
        return None
    statuses = {t.id: TrialDir(results_dir, t).read_status() for t in job.trials}
    if not all(s is not None and s.finished for s in statuses.values()):
        return None
    return {trial_id: s.to_json() for trial_id, s in statuses.items()}


def _set_damage_aside(results_dir: Path, members: Sequence[TrialDir]) -> dict[str, str]:
    """Move the files of every claimed trial that fails its checks aside (primary only),
    and then the job's checkpoints too: the job restarts from step 0. Trial id -> what was
    done, each also logged."""
    repairs = {}
    for m in members:
        result = m.read()
        if result is None or not result.damaged:
            continue
        aside = m.set_aside(f"corrupt: {result.status.reason}")
        repairs[m.trial.id] = f"corrupt ({result.status.reason}): files moved to {aside}"
        log.warning("trial %s: %s; training it again", m.trial.id, repairs[m.trial.id])
    if not repairs:
        return repairs
    job_dir = _job_dir(results_dir, members)
    if job_dir.exists():
        aside = job_dir.with_name(f"{job_dir.name}.damaged-{_stamp()}")
        os.replace(job_dir, aside)
        log.warning("job %s: checkpoints moved to %s; it restarts at step 0", job_dir.name, aside)
    return repairs


def _claim_members(job: Job, results_dir: Path, claims: list[TrialClaim]) -> list[TrialDir]:
    """Claim every trial of ``job`` that no other live run holds (primary only), appending
    each claim to ``claims`` (the caller releases them); the claimed trials in checkpoint
    member order, reset first under ``job.force``."""
    members: list[TrialDir] = []
    for trial in job.trials:
        trial_dir = TrialDir(results_dir, trial)
        held = claim(trial_dir)
        if held is not None:
            claims.append(held)
            members.append(trial_dir)
    members.sort(key=lambda m: m.trial.id)  # the member order of checkpoints
    if job.force:
        for trial_dir in members:
            trial_dir.reset()
        shutil.rmtree(_job_dir(results_dir, members), ignore_errors=True)
    return members


def _starting_statuses(members: Sequence[TrialDir]) -> dict[str, Any]:
    """The claimed trials and their recorded statuses as JSON (None: no status yet): what
    the primary shares before training, so every process decides from the same view."""
    statuses = {m.trial.id: m.read_status() for m in members}
    return {tid: s.to_json() if s is not None else None for tid, s in statuses.items()}


def _mirrors(job: Job, results_dir: Path, starts: dict[str, Any]) -> list[TrialDir]:
    """A secondary process's view of the members the primary claimed (in the same order),
    writing nothing and starting from the statuses the primary read."""
    trials = sorted((t for t in job.trials if t.id in starts), key=lambda t: t.id)
    return [
        MirrorTrialDir(
            results_dir,
            t,
            Status.from_json(starts[t.id]) if starts[t.id] is not None else None,
        )
        for t in trials
    ]


def _stamp() -> str:
    """The time in names of what is moved aside."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _job_dir(results_dir: Path, members: Sequence[TrialDir]) -> Path:
    """Where the checkpoints of a job with exactly these members live."""
    return results_dir / "_jobs" / Job(trials=tuple(m.trial for m in members)).id


def _skipped(trial: Trial, status: Status) -> TrialOutcome:
    return TrialOutcome(
        trial,
        "skipped",
        step=status.step,
        reached_step=status.reached_step,
        reached_seconds=status.reached_seconds,
        reason=f"already {status.state}",
    )


def _train_or_fail(
    job, results_dir, members, devices, progress, processes, repairs
) -> dict[str, TrialOutcome]:
    try:
        with _StopRequest() as stop:
            trainer = _Trainer(job, results_dir, members, devices, progress, stop, processes)
            trainer.repairs.update(repairs)
            return trainer.run()
    except Interrupted:
        raise
    except KeyboardInterrupt:  # a second signal: no new checkpoint, but say so
        for m in members:
            status = m.read_status()
            if status is not None and status.state == "running":
                reason = "stopped by a second signal; rerun resumes from the last checkpoint"
                m.write_status(attrs.evolve(status, state="interrupted", reason=reason))
        raise
    except Exception as error:  # a failing job must not stop the others
        full = store_error(error, results_dir)
        if full is not None:  # writing more would fail too: the last checkpoint stands
            raise full from error
        reason = f"{type(error).__name__}: {error}"
        detail = traceback.format_exc(limit=-8)
        outcomes = {}
        for m in members:
            if m.finished():
                outcomes[m.trial.id] = _skipped(m.trial, m.read_status())
                continue
            prior = m.read_status()
            step = prior.step if prior is not None and prior.state != "corrupt" else 0
            m.write_status(
                Status(state="failed", step=step, reason=reason, provenance={"traceback": detail})
            )
            outcomes[m.trial.id] = TrialOutcome(
                m.trial, "failed", step=step, reason=reason, repair=repairs.get(m.trial.id)
            )
        return outcomes


def chunk_length(steps_per_dispatch: int, eval_every: int, horizon: int) -> int:
    """Steps per fused chunk, at most ``steps_per_dispatch``: the largest divisor of both
    ``eval_every`` and ``horizon``, so chunks tile the evaluation intervals and the horizon
    and one chunk program is compiled. Where that divisor is under half of ``eval_every``'s
    own (a horizon that shares few factors with it), ``eval_every``'s: shorter chunks
    would cost more dispatches than the second program (for the last chunk) costs."""
    limit = max(1, min(steps_per_dispatch, eval_every))
    tiles_evals = max(d for d in range(1, limit + 1) if eval_every % d == 0)
    common = math.gcd(eval_every, horizon)
    tiles_both = max(d for d in range(1, tiles_evals + 1) if common % d == 0)
    return tiles_both if 2 * tiles_both >= tiles_evals else tiles_evals


class _StopRequest:
    """Turns the first SIGINT/SIGTERM into a flag checked between chunks; a second one
    interrupts at once, except inside :meth:`critical` (a checkpoint being written), which
    it ends first, so a stop never leaves a half-written checkpoint. Only in the main
    thread; elsewhere signals are left alone."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._critical = 0
        self._forced = False

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._handle) for s in self.SIGNALS}
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is None:
            self.signum = signum
        elif self._critical:
            self._forced = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def critical(self, then_stop: bool = True) -> Iterator[None]:
        """A section a second signal does not cut: it stops the run once the section ends
        (``then_stop``; else the caller stops anyway)."""
        self._critical += 1
        try:
            yield
        finally:
            self._critical -= 1
        if then_stop and self._forced and not self._critical:
            raise KeyboardInterrupt

    def __exit__(self, *exc: object) -> None:
        for s, handler in self._previous.items():
            signal.signal(s, handler)


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


class _Trainer:
    """One attempt at training a job's claimed members (see :func:`run_job`)."""

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
        job_dir = _job_dir(Path(results_dir), members)
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
        """A fresh state, or the latest checkpoint's; trims each member's records to it."""
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
                m.trial_dir.truncate_evals(step)
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
                    str(self.checkpoints.set_aside(step, _stamp()))
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
        every, horizon = self.lead.eval_every, self.lead.horizon_steps
        boundary = min((step // self.chunk + 1) * self.chunk, (step // every + 1) * every, horizon)
        return boundary - step

    def _train(self) -> None:
        horizon = self.lead.horizon_steps
        every = self.lead.eval_every
        self._last_save_time = time.monotonic()
        self._last_save_step = self.step
        self._resume_clock()
        while self.step < horizon and any(m.training for m in self.members):
            count = self._chunk_from(self.step)
            self._compile(count)
            after = self.step + count  # the next chunk is read while this one trains
            ahead = self._chunk_from(after) if after < horizon else 0
            self.state = self.program.train(self.state, self.values, self.step, count, ahead)
            self.step += count
            if self.step % every == 0 or self.step == horizon:
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
        policy = self.job.checkpoint
        if (
            policy.every_steps
            and self.step // policy.every_steps > self._last_save_step // policy.every_steps
        ):
            return True
        return (
            bool(policy.every_seconds)
            and time.monotonic() - self._last_save_time >= policy.every_seconds
        )

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

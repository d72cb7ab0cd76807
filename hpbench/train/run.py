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

The parts: claiming and repair (:mod:`~hpbench.train.claims`), multi-host mirroring
(:mod:`~hpbench.train.mirror`), signals (:mod:`~hpbench.train.signals`), the training loop
and its checkpoints (:mod:`~hpbench.train.trainer`; when to save:
:meth:`~hpbench.train.job.CheckpointPolicy.due`), what a run answers
(:mod:`~hpbench.train.outcome`).

A multi-host job runs :func:`run_job` on every process with the same arguments: only the
primary process claims and writes (the others see their trials through
:class:`~hpbench.results.store.MirrorTrialDir`), the decisions that steer training are made
on the primary and shared (:mod:`hpbench.train.processes`), and every process calls Orbax's
save and restore, which Orbax coordinates. A single process exchanges nothing.
"""

from __future__ import annotations

import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.results.records import Status
from hpbench.results.store import TrialClaim, TrialDir, store_error
from hpbench.train.claims import all_finished, claim_members, set_damage_aside
from hpbench.train.job import Job
from hpbench.train.mirror import mirrors, starting_statuses
from hpbench.train.outcome import JobUpdate, Progress, TrialOutcome
from hpbench.train.processes import Processes, current
from hpbench.train.signals import Interrupted, StopRequest
from hpbench.train.trainer import Trainer

#: What the backends use: the entry point and the types it answers and reports with.
__all__ = ["Interrupted", "JobUpdate", "Progress", "TrialOutcome", "run_job"]


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
    finished = processes.share(all_finished(job, results_dir) if processes.primary else None)
    if finished is not None:
        return [TrialOutcome.reused(t, Status.from_json(finished[t.id])) for t in job.trials]
    claims: list[TrialClaim] = []
    members: list[TrialDir] = []
    repairs: dict[str, str] = {}
    try:
        if processes.primary:
            try:
                members = claim_members(job, results_dir, claims)
            except OSError as error:
                raise (store_error(error, results_dir) or error) from error
            repairs = set_damage_aside(results_dir, members)
        starts = processes.share(starting_statuses(members) if processes.primary else None)
        if not processes.primary:
            members = mirrors(job, results_dir, starts)
        held = {m.trial.id for m in members}
        outcomes = {t.id: TrialOutcome.claimed(t) for t in job.trials if t.id not in held}
        statuses = {m.trial.id: m.read_status() for m in members}
        if members and all(s is not None and s.finished for s in statuses.values()):
            for m in members:
                outcomes[m.trial.id] = TrialOutcome.reused(m.trial, statuses[m.trial.id])
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


def _train_or_fail(
    job, results_dir, members, devices, progress, processes, repairs
) -> dict[str, TrialOutcome]:
    try:
        with StopRequest() as stop:
            trainer = Trainer(job, results_dir, members, devices, progress, stop, processes)
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
            prior = m.read_status()
            if prior is not None and prior.finished:
                outcomes[m.trial.id] = TrialOutcome.reused(m.trial, prior)
                continue
            step = prior.step if prior is not None and prior.state != "corrupt" else 0
            m.write_status(
                Status(state="failed", step=step, reason=reason, provenance={"traceback": detail})
            )
            outcomes[m.trial.id] = TrialOutcome(
                m.trial, "failed", step=step, reason=reason, repair=repairs.get(m.trial.id)
            )
        return outcomes

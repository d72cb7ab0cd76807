"""Training plans: their trials packed into jobs and run on a runner profile. The layer
under :mod:`hpbench.api` (which exports it) that the searches train through, so that a
report may read a search's outcome without importing the API above it. Only :func:`run`
imports JAX."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.backends.prepare import prepare_process
from hpbench.plan import Plan, Trial

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.train.job import CheckpointPolicy, Job
    from hpbench.train.run import Progress, TrialOutcome

PathLike = str | os.PathLike[str]


def unique_trials(plans: Iterable[Plan]) -> list[Trial]:
    """The trials of ``plans``, each once (by id), in first-seen order."""
    return list({t.id: t for p in plans for t in p.trials}.values())


def checkpoint_policy(
    plans: Iterable[Plan], every: str | CheckpointPolicy | None = None
) -> CheckpointPolicy:
    """The checkpoint cadence: ``every`` (a policy, or its text: ``"500"``, ``"30s"``), else
    the shortest ``checkpoint_seconds`` of the plans, else the engine's default."""
    from hpbench.train.job import CheckpointPolicy

    if isinstance(every, CheckpointPolicy):
        return every
    if every is not None:
        return CheckpointPolicy.parse(every)
    seconds = [s for p in plans if (s := getattr(p, "checkpoint_seconds", None))]
    return CheckpointPolicy(every_seconds=float(min(seconds))) if seconds else CheckpointPolicy()


def resolve_runner(runner: RunnerProfile | PathLike | None) -> RunnerProfile:
    """``runner`` as a profile: itself, the profile file or ``runners/`` name it gives, or
    the default local one."""
    from hpbench.backends.profile import RunnerProfile, resolve_profile

    return (
        runner
        if isinstance(runner, RunnerProfile)
        else resolve_profile(None if runner is None else os.fspath(runner))
    )


def _plans(plans: Plan | Iterable[Plan]) -> list[Plan]:
    return [plans] if isinstance(plans, Plan) else list(plans)


def make_run_jobs(
    plans: Plan | Iterable[Plan],
    runner: RunnerProfile,
    *,
    pack: int | None = None,
    checkpoint: str | CheckpointPolicy | None = None,
    force: bool = False,
) -> list[Job]:
    """The jobs a run of ``plans`` on ``runner`` trains: their trials once each, packed
    ``pack`` (else the profile's, else from memory) to a job, checkpointed per
    :func:`checkpoint_policy`. A multi-host ``local`` profile joins its processes first
    (before anything starts JAX's backends: choosing the pack size from memory does)."""
    from hpbench.train.job import make_jobs
    from hpbench.train.memory import pack_size_from_memory

    plans = _plans(plans)
    policy = checkpoint_policy(plans, checkpoint)
    from hpbench.backends.registry import runs_in_lockstep

    if runs_in_lockstep(runner):
        from hpbench.backends.multihost import initialize

        initialize(runner.distributed)
    size = pack if pack is not None else runner.pack
    return make_jobs(
        unique_trials(plans),
        pack=size,
        pack_size=pack_size_from_memory,
        checkpoint=policy,
        force=force,
    )


def run(
    plans: Plan | Iterable[Plan],
    *,
    runner: RunnerProfile | PathLike | None = None,
    results: PathLike = "results",
    pack: int | None = None,
    checkpoint: str | CheckpointPolicy | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Train the trials of ``plans`` into the ``results`` store on ``runner`` (a
    :class:`~hpbench.backends.profile.RunnerProfile`, a profile file, or a name in
    ``runners/``; default: local), as ``hpbench run`` does: finished trials are reused
    (``force`` retrains them), interrupted ones resume. One outcome per trial."""
    from hpbench.backends import run_jobs

    profile = resolve_runner(runner)
    prepare_process()
    jobs = make_run_jobs(plans, profile, pack=pack, checkpoint=checkpoint, force=force)
    return run_jobs(jobs, Path(results), profile, progress=progress)

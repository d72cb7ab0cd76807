"""Where jobs run. Every backend calls :func:`hpbench.train.run_job` and nothing else.

``local`` (in this process), ``pool`` (worker processes on this machine), ``ray`` (tasks on
a Ray cluster) and ``slurm`` (a submitit job array), chosen by a runner profile
(:mod:`hpbench.backends.profile`, ``runners/*.toml``). No JAX import.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.train.job import Job
    from hpbench.train.run import Progress, TrialOutcome

BACKENDS = ("local", "pool", "ray", "slurm")


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile | None = None,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Run ``jobs`` on the profile's backend (default: local); one outcome per trial. Trials
    a concurrent run holds are waited for, or taken over if it dies
    (:func:`hpbench.backends.others.settle`): none ends this call unfinished. (Not in a
    multi-host job, whose processes decide in lockstep: there they stay "elsewhere".)"""
    from hpbench.backends.others import settle

    jobs = list(jobs)
    outcomes = _run_once(jobs, results_dir, profile, progress)
    if profile is not None and profile.backend == "local" and profile.distributed.processes > 1:
        return outcomes
    return settle(
        jobs,
        outcomes,
        Path(results_dir),
        lambda again: _run_once(again, results_dir, profile, progress),
    )


def _run_once(
    jobs: list[Job],
    results_dir: Path,
    profile: RunnerProfile | None,
    progress: Progress | None,
) -> list[TrialOutcome]:
    if profile is None or profile.backend == "local" and profile.distributed.processes == 1:
        from hpbench.backends.local import run_jobs as run_local

        return run_local(jobs, Path(results_dir), progress=progress)
    # a multi-host local profile: every process runs the jobs in lockstep
    name = "multihost" if profile.backend == "local" else profile.backend
    module = importlib.import_module(f"hpbench.backends.{name}")
    return module.run_jobs(jobs, Path(results_dir), profile, progress=progress)

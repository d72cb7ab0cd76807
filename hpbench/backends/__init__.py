"""Where jobs run. Every backend calls :func:`hpbench.train.run_job` and nothing else.

Each backend is a :class:`~hpbench.backends.registry.Backend` registered by name in
:mod:`hpbench.backends.registry` (``local``, ``pool``, ``ray``, ``slurm``) and chosen by a
runner profile (:mod:`hpbench.backends.profile`, ``runners/*.toml``). No JAX import.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.backends.registry import BACKENDS, Backend, get_backend, runs_in_lockstep

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.train.job import Job
    from hpbench.train.run import Progress, TrialOutcome

__all__ = ["BACKENDS", "Backend", "get_backend", "run_jobs"]


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
    from hpbench.backends.profile import LOCAL

    jobs = list(jobs)
    profile = profile or LOCAL
    backend = get_backend(profile.backend)

    def run_once(some: list[Job]) -> list[TrialOutcome]:
        return backend.run_jobs(some, Path(results_dir), profile, progress=progress)

    outcomes = run_once(jobs)
    if runs_in_lockstep(profile):
        return outcomes
    return settle(jobs, outcomes, Path(results_dir), run_once)

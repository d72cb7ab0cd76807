"""The ``local`` backend: run jobs one after another in this process, on its devices (a
multi-host profile: in every process, in lockstep, see :mod:`hpbench.backends.multihost`).

Also ``python -m hpbench.backends.local JOB.json RESULTS``: run one serialised job (what a
worker process of a later backend executes).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.train.job import Job
from hpbench.train.run import Interrupted, Progress, TrialOutcome, run_job

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile | None = None,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Run every job in turn; a job's failure is recorded by ``run_job`` and the rest go on.
    A profile of several processes runs them through :mod:`hpbench.backends.multihost`."""
    if profile is not None and profile.distributed.processes > 1:
        from hpbench.backends.multihost import run_jobs as run_in_lockstep

        return run_in_lockstep(jobs, results_dir, profile, progress=progress)
    outcomes: list[TrialOutcome] = []
    for job in jobs:
        outcomes.extend(run_job(job, results_dir, progress=progress))
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run one serialised hpbench job.")
    parser.add_argument("job", type=Path, help="a Job as JSON (Job.to_json)")
    parser.add_argument("results", type=Path, help="the results directory")
    args = parser.parse_args(argv)
    job = Job.from_json(json.loads(args.job.read_text()))
    try:
        outcomes = run_jobs([job], args.results)
    except Interrupted as stop:
        return 128 + stop.signum
    for o in outcomes:
        print(json.dumps({"trial": o.trial.id, "state": o.state, "reason": o.reason}), flush=True)
    return 1 if any(o.state == "failed" for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())

"""Test hooks for worker processes of the backend tests (pool workers, Ray workers).

:func:`slow_batches` makes each toy batch take ``HPBENCH_TEST_BATCH_DELAY`` seconds (so a
worker can be killed mid-trial). A worker started after the file ``HPBENCH_TEST_FORBID``
was written (holding a step) refuses batches below that step: the replacement of a killed
worker that restarted its job from scratch, instead of resuming from its checkpoint, fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def slow_batches() -> None:
    from hpbench.workloads import toy

    delay = float(os.environ.get("HPBENCH_TEST_BATCH_DELAY", "0"))
    forbid = Path(os.environ.get("HPBENCH_TEST_FORBID", "/nonexistent"))
    below = int(forbid.read_text()) if forbid.exists() else 0
    serve = toy.ToyWorkload.batch

    def batch(self, seed, step):
        if 0 < step < below:
            raise RuntimeError(f"batch {step} requested: the rerun did not resume")
        time.sleep(delay)
        return serve(self, seed, step)

    toy.ToyWorkload.batch = batch


def slow_worker_env(forbid: Path | None = None) -> dict[str, str]:
    """Environment variables that make worker processes find these hooks and slow each
    batch by 10 ms; ``forbid``: the file naming the step a restarted worker must resume at."""
    tests = str(Path(__file__).resolve().parent)
    env = {
        "PYTHONPATH": os.pathsep.join([tests, os.environ.get("PYTHONPATH", "")]),
        "HPBENCH_TEST_BATCH_DELAY": "0.01",
    }
    if forbid is not None:
        env["HPBENCH_TEST_FORBID"] = str(forbid)
    return env


def worker_main() -> int:
    """A pool worker with slowed batches (``python -c`` entry of the pool tests)."""
    from hpbench.backends.worker import main

    slow_batches()
    return main(sys.argv[1:])


def write_spec(directory: Path, suite: Path) -> Path:
    """Two toy AdamW trials of 200 steps (one job each with pack 1)."""
    path = directory / "toy_backends.toml"
    path.write_text(
        f"""
[benchmark]
name = "toy_backends"
description = "two learning rates on the toy workload"
owner = "tests"
extends = "{suite}"

[algorithm]
name = "adamw"
weight_decay = 1e-4

[schedule]
shape = "warmup_cosine"
warmup = 0.05
horizon = 0.5

[grid]
learning_rate = [1e-2, 3e-3]
"""
    )
    return path


def checkpointed_jobs(trials) -> list:
    """One job per trial, checkpointed every 40 steps (so a worker can die mid-trial)."""
    from hpbench.train import CheckpointPolicy, make_jobs

    return make_jobs(
        trials, pack=1, checkpoint=CheckpointPolicy(every_steps=40, every_seconds=None)
    )


def reference_jobs(directory: Path, suite: Path) -> tuple[list, Path]:
    """The jobs of the test spec and their undisturbed results, trained in process into
    ``directory / "reference"``."""
    from hpbench.backends.local import run_jobs
    from hpbench.spec import load_plan

    jobs = checkpointed_jobs(load_plan(write_spec(directory, suite)).trials)
    run_jobs(jobs, directory / "reference")
    return jobs, directory / "reference"


def records(results: Path, trial_id: str) -> list[tuple]:
    """The evaluations without their wall-clock seconds (what must be reproducible)."""
    from hpbench.results.records import read_trial

    return [(r.step, r.train_loss, dict(r.metrics)) for r in read_trial(results / trial_id).evals]


def checkpointed(results: Path, jobs: list, at_least: int = 40, deadline: float = 240):
    """Wait for the first job with a committed checkpoint at ``at_least`` or later; (job,
    step)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        for job in jobs:
            steps = [
                int(p.parent.name)
                for p in (results / "_jobs" / job.id).glob("*/commit_success.txt")
                if p.parent.name.isdigit()
            ]
            if any(s >= at_least for s in steps):
                return job, min(s for s in steps if s >= at_least)
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


def holder(results: Path, trial_id: str) -> int:
    """The pid of the process holding the trial's claim (written in its lock file)."""
    from hpbench.results.store import read_holder

    found = read_holder(results / trial_id / "lock")
    if found is None:
        raise ValueError("no holder recorded yet")
    return found.pid


try:
    from hpbench.backends.slurm import TrainJob
except ImportError:  # submitit missing: the Slurm tests skip
    TrainJob = object


class SlowTrainJob(TrainJob):
    """A Slurm array task with slowed toy batches (see :func:`slow_batches`)."""

    def __call__(self, *args, **kwargs):
        slow_batches()
        return super().__call__(*args, **kwargs)

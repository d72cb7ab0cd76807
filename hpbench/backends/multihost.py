"""Jobs larger than one host: every process of a TPU slice or of a multi-node Slurm task
runs the same job under ``jax.distributed.initialize()``, on the global device mesh.

``initialize`` joins the processes (the coordinator is auto-detected on TPU VMs and under
Slurm, or taken from ``[distributed] coordinator_address`` with the process id in
``HPBENCH_PROCESS_ID``). A single process skips it, which is the path tested here.
Process 0 alone reports progress. Training with more than one process needs the engine to
write results from process 0 only (see docs/running.md); until it does, that is refused
with a clear error instead of letting every host claim and write the same trials.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hpbench.backends.common import train_job
from hpbench.backends.profile import DistributedOptions, RunnerProfile
from hpbench.train.job import Job
from hpbench.train.run import Progress, TrialOutcome

NOT_YET = (
    "multi-host training needs run_job to write results and claims from process 0 only; "
    "the engine does not do that yet. Run one job per host (pool, ray or slurm) instead."
)


def initialize(options: DistributedOptions) -> tuple[int, int]:
    """Join the job's processes when there is more than one; (process index, count)."""
    import jax

    if options.processes > 1 and not jax.distributed.is_initialized():
        kwargs: dict[str, Any] = {}
        if options.coordinator_address:
            kwargs = {
                "coordinator_address": options.coordinator_address,
                "num_processes": options.processes,
                "process_id": int(os.environ["HPBENCH_PROCESS_ID"]),
            }
        jax.distributed.initialize(**kwargs)
    if options.processes > 1 and jax.process_count() != options.processes:
        raise RuntimeError(
            f"[distributed] processes = {options.processes}, but "
            f"{jax.process_count()} JAX processes joined"
        )
    return jax.process_index(), jax.process_count()


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Every process runs every job in turn, in lockstep, on all devices of all hosts."""
    from hpbench.backends.local import run_jobs as run_local

    index, count = initialize(profile.distributed)
    if count > 1:
        raise RuntimeError(NOT_YET)
    return run_local(jobs, results_dir, progress=progress if index == 0 else None)


def run_distributed(job_json: dict[str, Any], results_dir: str, processes: int) -> dict[str, Any]:
    """A Slurm task of a multi-node job: join the others, then train the job."""
    _, count = initialize(DistributedOptions(processes=processes))
    if count > 1:
        raise RuntimeError(NOT_YET)
    return train_job(job_json, results_dir)

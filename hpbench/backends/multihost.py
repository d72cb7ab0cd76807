"""Jobs larger than one host: every process of a TPU slice or of a multi-node Slurm task
runs the same job under ``jax.distributed.initialize()``, on the global device mesh.

``initialize`` joins the processes (the coordinator is auto-detected on TPU VMs and under
Slurm, or taken from ``[distributed] coordinator_address`` with the process id in
``HPBENCH_PROCESS_ID``). A single process skips it. Every process then calls the engine's
``run_job`` for each job in the same order; the engine lets process 0 alone claim trials,
write results and report progress, shares its decisions with the others, and has every
process take part in Orbax's checkpoints (see :mod:`hpbench.train.processes`). The results
directory must be the same shared path on every host (checkpoints are written there).
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


def initialize(options: DistributedOptions) -> tuple[int, int]:
    """Join the job's processes when there is more than one; (process index, count).

    Raises RuntimeError when the processes that joined are not ``options.processes`` (a
    profile that does not match the launch), or when an explicit coordinator is given
    without ``HPBENCH_PROCESS_ID``."""
    import jax

    if options.processes > 1 and not jax.distributed.is_initialized():
        jax.distributed.initialize(**_explicit_coordinator(options))
    if options.processes > 1 and jax.process_count() != options.processes:
        raise RuntimeError(
            f"[distributed] processes = {options.processes}, but "
            f"{jax.process_count()} JAX processes joined: launch one process per host "
            "(gcloud ... --worker=all, or srun with one task per node) and set processes "
            "to their number"
        )
    return jax.process_index(), jax.process_count()


def _explicit_coordinator(options: DistributedOptions) -> dict[str, Any]:
    """``jax.distributed.initialize`` arguments for ``coordinator_address`` (none: JAX
    finds the coordinator on TPU VMs and under Slurm)."""
    if not options.coordinator_address:
        return {}
    process_id = os.environ.get("HPBENCH_PROCESS_ID", "")
    if not process_id.isdigit() or int(process_id) >= options.processes:
        raise RuntimeError(
            f"[distributed] coordinator_address is set, so each process needs its id in "
            f"HPBENCH_PROCESS_ID (0..{options.processes - 1}); found {process_id!r}"
        )
    return {
        "coordinator_address": options.coordinator_address,
        "num_processes": options.processes,
        "process_id": int(process_id),
    }


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Every process runs every job in turn, in lockstep, on all devices of all hosts;
    process 0 alone writes results and reports ``progress``."""
    from hpbench.backends.local import run_jobs as run_local

    index, _ = initialize(profile.distributed)
    return run_local(jobs, results_dir, progress=progress if index == 0 else None)


def run_distributed(job_json: dict[str, Any], results_dir: str, processes: int) -> dict[str, Any]:
    """A Slurm task of a multi-node job: join the others, then train the job (the engine
    writes from process 0 only)."""
    initialize(DistributedOptions(processes=processes))
    return train_job(job_json, results_dir)

"""The training engine: jobs of packed trials, trained, evaluated and checkpointed.

Importing this package does not import JAX; :func:`run_job` does when it trains.
"""

from hpbench.train.job import CheckpointPolicy, Job, make_jobs, pack_key
from hpbench.train.run import Interrupted, JobUpdate, TrialOutcome, run_job

__all__ = [
    "CheckpointPolicy",
    "Interrupted",
    "Job",
    "JobUpdate",
    "TrialOutcome",
    "make_jobs",
    "pack_key",
    "run_job",
]

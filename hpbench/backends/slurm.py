"""The ``slurm`` backend: the jobs as one submitit job array, waited for from here.

Partition, time limit and resources come from the profile's ``[slurm]`` table; with
``executor = "local"`` the same array runs as processes on this machine (submitit's
LocalExecutor). Each task is a :class:`TrainJob`, a submitit ``Checkpointable``: on
preemption or at the time limit submitit calls its ``checkpoint`` hook and requeues it,
and the requeued task resumes from the job's last Orbax checkpoint. A task that failed
otherwise (its node died) is submitted again, up to ``retries`` times.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import submitit

from hpbench.backends.common import ResultsWatcher, give_up, outcomes_from_json, train_job
from hpbench.backends.profile import RunnerProfile
from hpbench.config.errors import ConfigError, Problem
from hpbench.train.job import Job
from hpbench.train.run import Interrupted, Progress, TrialOutcome

POLL_SECONDS = 1.0
TASK_FAILURES = (submitit.core.utils.UncompletedJobError, submitit.core.utils.FailedJobError)


class TrainJob(submitit.helpers.Checkpointable):
    """One array task: train one job (every process of a multi-node task runs it)."""

    def __call__(
        self, job_json: dict[str, Any], results_dir: str, processes: int = 1
    ) -> dict[str, Any]:
        if processes > 1:
            from hpbench.backends.multihost import run_distributed

            return run_distributed(job_json, results_dir, processes)
        return train_job(job_json, results_dir)


def executor(profile: RunnerProfile) -> submitit.AutoExecutor:
    """A submitit executor configured from ``[slurm]`` (``slurm_*`` keys are ignored by the
    local executor)."""
    options = profile.options["slurm"]
    try:
        made = submitit.AutoExecutor(folder=options.folder, cluster=options.executor)
    except RuntimeError as e:  # no srun: not on a Slurm machine
        where = profile.file or "the runner profile"
        message = f"expected a machine with Slurm (srun on PATH), found none ({e})"
        hint = 'submit from a Slurm login node, or set executor = "local" to run here'
        raise ConfigError([Problem(where, 1, 1, "slurm.executor", message, hint)]) from None
    processes = profile.distributed.processes
    parameters = {
        "name": "hpbench",
        "timeout_min": options.time_minutes,
        "nodes": options.nodes,
        "tasks_per_node": max(1, processes // options.nodes),
        "gpus_per_node": options.gpus_per_node,
        "cpus_per_task": options.cpus_per_task,
        "mem_gb": options.mem_gb,
        "slurm_partition": options.partition,
        "slurm_array_parallelism": options.array_parallelism,
        "slurm_account": options.account,
        "slurm_qos": options.qos,
        "slurm_constraint": options.constraint,
    }
    made.update_parameters(**{k: v for k, v in parameters.items() if v is not None})
    return made


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile,
    progress: Progress | None = None,
    *,
    task: TrainJob | None = None,
) -> list[TrialOutcome]:
    """Submit ``jobs`` as job arrays until each has an answer or its retries are spent;
    ``task`` is the callable each array task runs (default :class:`TrainJob`)."""
    jobs = list(jobs)
    results = str(Path(results_dir).absolute())
    submit = executor(profile)
    outcomes: dict[str, list[TrialOutcome]] = {}
    failures: dict[str, int] = {}
    stopped: int | None = None
    todo = jobs
    with ResultsWatcher(results_dir, progress) as watcher:
        while todo:
            submitted = submit.map_array(
                task or TrainJob(),
                [job.to_json() for job in todo],
                [results] * len(todo),
                [profile.distributed.processes] * len(todo),
            )
            for job in todo:
                watcher.started(job)
            again = []
            for job, array_task in _as_completed(list(zip(todo, submitted, strict=True))):
                watcher.finished(job)
                try:
                    answer = array_task.result()
                except TASK_FAILURES:
                    failures[job.id] = failures.get(job.id, 0) + 1
                    if failures[job.id] <= profile.retries:
                        again.append(job)
                    else:
                        log = array_task.paths.stderr
                        reason = f"Slurm task failed {failures[job.id]} time(s); see {log}"
                        outcomes[job.id] = give_up(job, Path(results_dir), reason)
                    continue
                if "interrupted" in answer:
                    stopped = stopped or int(answer["interrupted"])
                    continue
                outcomes[job.id] = outcomes_from_json(job, answer["outcomes"])
            todo = [] if stopped is not None else again
    if stopped is not None:
        raise Interrupted(stopped)
    return [o for job in jobs for o in outcomes[job.id]]


def _as_completed(pairs: list[tuple[Job, Any]]) -> Iterable[tuple[Job, Any]]:
    """The (job, task) pairs in the order their tasks finish."""
    while pairs:
        done = [p for p in pairs if p[1].done()]
        if not done:
            time.sleep(POLL_SECONDS)
            continue
        for pair in done:
            pairs.remove(pair)
            yield pair

"""The ``ray`` backend: each job a Ray task with the profile's resource request.

Connects to ``[ray] address`` (or reuses a Ray session already started in this process,
or starts a local cluster). Every node must see the results directory. A task whose
worker or node dies is retried by Ray (``max_retries = retries``) and the rerun resumes
from the job's last checkpoint. Progress is read back from the results directory.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hpbench.backends.common import ResultsWatcher, give_up, outcomes_from_json, train_job
from hpbench.backends.profile import RunnerProfile
from hpbench.train.job import Job
from hpbench.train.run import Interrupted, Progress, TrialOutcome


def connect(profile: RunnerProfile) -> None:
    """Join the profile's cluster, unless this process is already connected to one."""
    import ray

    if ray.is_initialized():
        return
    options = profile.options["ray"]
    if options.address:
        ray.init(address=options.address, include_dashboard=False)
    else:
        ray.init(num_cpus=options.local_cpus, include_dashboard=False)


def task_options(profile: RunnerProfile) -> dict[str, Any]:
    """The resource request and retry policy of every job's task."""
    options = profile.options["ray"]
    return {
        "num_cpus": options.num_cpus,
        "num_gpus": options.num_gpus,
        "resources": dict(options.resources),
        "max_retries": profile.retries,
        "retry_exceptions": False,  # a failing job is recorded by run_job, not retried
    }


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Run ``jobs`` as Ray tasks; outcomes in job order."""
    import ray

    jobs = list(jobs)
    connect(profile)
    task = ray.remote(train_job).options(**task_options(profile))
    results = str(Path(results_dir).absolute())
    limit = profile.concurrency or len(jobs)
    outcomes: dict[str, list[TrialOutcome]] = {}
    stopped: int | None = None
    with ResultsWatcher(results_dir, progress) as watcher:
        pending: dict[Any, Job] = {}
        queue = list(reversed(jobs))
        while queue or pending:
            while queue and len(pending) < limit:
                job = queue.pop()
                pending[task.remote(job.to_json(), results)] = job
                watcher.started(job)
            try:
                done, _ = ray.wait(list(pending), num_returns=1)
            except KeyboardInterrupt:  # Ctrl-C: stop the cluster's work for this run too
                for ref in pending:
                    ray.cancel(ref)
                raise
            job = pending.pop(done[0])
            watcher.finished(job)
            try:
                answer = ray.get(done[0])
            except ray.exceptions.RayError as e:  # retries spent: worker or node lost
                reason = f"Ray task lost {profile.retries + 1} time(s): {type(e).__name__}: {e}"
                outcomes[job.id] = give_up(job, Path(results_dir), reason.splitlines()[0])
                continue
            if "interrupted" in answer:
                stopped = stopped or int(answer["interrupted"])
                continue
            outcomes[job.id] = outcomes_from_json(job, answer["outcomes"])
    if stopped is not None:
        raise Interrupted(stopped)
    return [o for job in jobs for o in outcomes[job.id]]

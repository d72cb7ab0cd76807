"""The ``pool`` backend: one worker process per device group on this machine, fed from a
queue of jobs.

A device group is a CPU worker (``device = "cpu"``) or ``devices_per_job`` GPUs made
visible with ``CUDA_VISIBLE_DEVICES``. Workers live across jobs (JAX is imported once per
worker). A worker that dies (OOM killer, SIGKILL, a crash) is replaced and its job queued
again; the rerun resumes from the job's last checkpoint. After ``retries`` deaths the
job's unfinished trials are marked failed. SIGINT/SIGTERM here are passed on once to every
worker, which checkpoint and stop; then :class:`~hpbench.train.run.Interrupted` is raised.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from hpbench.backends.common import ResultsWatcher, give_up, outcomes_from_json
from hpbench.backends.cpus import cpu_device_environment, usable_cores
from hpbench.backends.profile import RunnerProfile
from hpbench.config.errors import ConfigError, Problem
from hpbench.train.job import Job
from hpbench.train.run import Interrupted, Progress, TrialOutcome

WORKER = (sys.executable, "-m", "hpbench.backends.worker")


def device_groups(profile: RunnerProfile) -> list[dict[str, str]]:
    """The environment of each worker: one entry per device group."""
    pool = profile.options["pool"]
    if pool.device == "cpu":
        share = cpu_device_environment(max(1, usable_cores() // pool.workers))
        groups = [{"JAX_PLATFORMS": "cpu", **share} for _ in range(pool.workers)]
    else:
        gpus = list(pool.gpus) if pool.gpus is not None else list(range(visible_gpus()))
        size = profile.devices_per_job
        groups = [
            {"CUDA_VISIBLE_DEVICES": ",".join(map(str, gpus[i : i + size]))}
            for i in range(0, len(gpus) - size + 1, size)
        ]
        if not groups:
            where = profile.file or "the runner profile"
            message = f"expected at least {size} GPU(s) for a worker, found {len(gpus)}"
            hint = 'set [pool] device = "cpu", or run where nvidia-smi lists the GPUs'
            raise ConfigError([Problem(where, 1, 1, "pool.device", message, hint)])
    return groups[: profile.concurrency] if profile.concurrency else groups


def visible_gpus() -> int:
    """How many GPUs ``nvidia-smi -L`` lists (0 when it is missing)."""
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(line.startswith("GPU ") for line in listing.stdout.splitlines())


class _Worker:
    """One worker process and the pipe to it; its stderr goes to ``log``."""

    def __init__(self, command: Sequence[str], results_dir: Path, env: Mapping[str, str], log):
        self.process = subprocess.Popen(
            [*command, str(results_dir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env={**os.environ, **env},
            text=True,
            start_new_session=True,  # terminal signals reach the pool, which passes them on
        )

    def run(self, job: Job) -> dict | None:
        """Send ``job`` and wait for its answer; None when the worker died meanwhile."""
        try:
            self.process.stdin.write(job.dumps() + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except (BrokenPipeError, OSError):
            line = ""
        if not line:
            self.process.wait()
            return None
        return json.loads(line)

    def signal(self, signum: int) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signum)

    def close(self) -> None:
        if self.process.stdin and not self.process.stdin.closed:
            with contextlib.suppress(OSError):
                self.process.stdin.close()
        self.process.wait()


class _Pool:
    """The queue, the workers and their threads for one :func:`run_jobs` call."""

    def __init__(self, jobs, results_dir, profile, command, watcher):
        self.results_dir = Path(results_dir)
        self.profile = profile
        self.command = command
        self.watcher = watcher
        self.queue: collections.deque[Job] = collections.deque(jobs)
        self.deaths: collections.Counter[str] = collections.Counter()
        self.outcomes: dict[str, list[TrialOutcome]] = {}
        self.lock = threading.Lock()
        self.workers: dict[int, _Worker] = {}
        self.stopped_by: int | None = None
        self.logs = self.results_dir / "_logs"

    def serve(self, slot: int, env: Mapping[str, str]) -> None:
        """A worker thread: start a worker for ``slot`` and feed it jobs until none is left."""
        self.logs.mkdir(parents=True, exist_ok=True)
        with open(self.logs / f"pool-worker-{slot}.log", "a") as log:
            worker = None
            while (job := self._next()) is not None:
                if worker is None:
                    worker = self._start(slot, env, log)
                    if worker is None:
                        self._requeue(job)
                        return
                self.watcher.started(job)
                answer = worker.run(job)
                self.watcher.finished(job)
                if answer is None:
                    self._died(job, worker, slot)
                    worker = None
                elif "interrupted" in answer:
                    with self.lock:
                        self.stopped_by = self.stopped_by or int(answer["interrupted"])
                    worker.close()
                    return
                else:
                    with self.lock:
                        self.outcomes[job.id] = outcomes_from_json(job, answer["outcomes"])
            if worker is not None:
                worker.close()

    def _next(self) -> Job | None:
        with self.lock:
            if self.stopped_by is not None or not self.queue:
                return None
            return self.queue.popleft()

    def _requeue(self, job: Job) -> None:
        with self.lock:
            self.queue.appendleft(job)

    def _start(self, slot: int, env: Mapping[str, str], log) -> _Worker | None:
        with self.lock:
            if self.stopped_by is not None:
                return None
            worker = _Worker(self.command, self.results_dir, env, log)
            self.workers[slot] = worker
            return worker

    def _died(self, job: Job, worker: _Worker, slot: int) -> None:
        """Requeue the job of a dead worker, or give up on it after ``retries`` deaths."""
        code = worker.process.returncode
        with self.lock:
            self.deaths[job.id] += 1
            deaths = self.deaths[job.id]
            if self.stopped_by is not None:
                return
            if deaths <= self.profile.retries:
                self.queue.appendleft(job)  # resumes from its checkpoint, on a new worker
                return
        log = self.logs / f"pool-worker-{slot}.log"
        reason = f"worker died {deaths} time(s) (last exit code {code}); see {log}"
        outcomes = give_up(job, self.results_dir, reason)
        with self.lock:
            self.outcomes[job.id] = outcomes

    def stop(self, signum: int) -> None:
        """Pass ``signum`` once to every live worker: each checkpoints and stops."""
        with self.lock:
            if self.stopped_by is not None:
                return
            self.stopped_by = signum
            workers = list(self.workers.values())
        for worker in workers:
            worker.signal(signum)


def run_jobs(
    jobs: Iterable[Job],
    results_dir: Path,
    profile: RunnerProfile,
    progress: Progress | None = None,
    *,
    command: Sequence[str] = WORKER,
) -> list[TrialOutcome]:
    """Run ``jobs`` on a pool of worker processes; outcomes in job order. ``command`` starts
    one worker (the results directory is appended), e.g. behind ``nice`` or ``numactl``."""
    jobs = list(jobs)
    groups = device_groups(profile)[: max(1, len(jobs))]
    with ResultsWatcher(results_dir, progress) as watcher:
        pool = _Pool(jobs, results_dir, profile, command, watcher)
        threads = [
            threading.Thread(target=pool.serve, args=(slot, env), name=f"pool-{slot}")
            for slot, env in enumerate(groups)
        ]
        with _forward_signals(pool):
            for thread in threads:
                thread.start()
            for thread in threads:
                while thread.is_alive():
                    thread.join(timeout=0.2)
    if pool.stopped_by is not None:
        raise Interrupted(pool.stopped_by)
    return [o for job in jobs for o in pool.outcomes[job.id]]


class _forward_signals:
    """While the pool runs (in the main thread), SIGINT/SIGTERM stop it gracefully."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, pool: _Pool):
        self.pool = pool
        self.previous: dict[int, object] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is threading.main_thread():
            self.previous = {
                s: signal.signal(s, lambda signum, frame: self.pool.stop(signum))
                for s in self.SIGNALS
            }

    def __exit__(self, *exc: object) -> None:
        for s, handler in self.previous.items():
            signal.signal(s, handler)

"""What the out-of-process backends share: outcomes as JSON, giving up on a job, and
progress read back from the results directory (the one view every machine shares).

No JAX import.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.backends.host_memory import reuse_freed_memory
from hpbench.results.records import Status, read_started_trial
from hpbench.results.store import TrialDir, claim
from hpbench.train.job import Job
from hpbench.train.run import Interrupted, JobUpdate, Progress, TrialOutcome, run_job

_OUTCOME_FIELDS = (
    "state",
    "step",
    "reached_step",
    "reached_seconds",
    "reason",
    "final_metric",
    "repair",
    "earlier",
)


def outcome_to_json(outcome: TrialOutcome) -> dict[str, Any]:
    """A :class:`TrialOutcome` as JSON (the trial by id: the receiver holds the job)."""
    return {"trial": outcome.trial.id, **{k: getattr(outcome, k) for k in _OUTCOME_FIELDS}}


def outcomes_from_json(job: Job, data: Sequence[Mapping[str, Any]]) -> list[TrialOutcome]:
    """The outcomes of ``job`` sent back by a worker, in the job's trial order."""
    by_id = {entry["trial"]: entry for entry in data}
    return [
        TrialOutcome(t, **{k: by_id[t.id].get(k) for k in _OUTCOME_FIELDS if k in by_id[t.id]})
        for t in job.trials
    ]


def train_job(job_json: Mapping[str, Any], results_dir: str) -> dict[str, Any]:
    """The body of a remote task (Ray, Slurm): run one job with the engine and answer its
    outcomes as JSON, or ``{"interrupted": signum}`` when a signal stopped it. The C
    allocator is set first (a fresh Slurm process; a Ray worker's later threads)."""
    reuse_freed_memory()
    job = Job.from_json(job_json)
    try:
        outcomes = run_job(job, Path(results_dir))
    except Interrupted as stop:
        return {"interrupted": stop.signum}
    return {"outcomes": [outcome_to_json(o) for o in outcomes]}


def give_up(job: Job, results_dir: Path, reason: str) -> list[TrialOutcome]:
    """Mark the job's unfinished trials failed with ``reason`` (its retries are spent);
    finished trials keep their result. A trial another live run holds is left alone."""
    outcomes = []
    for trial in job.trials:
        trial_dir = TrialDir(Path(results_dir), trial)
        held = claim(trial_dir)
        if held is None:
            outcomes.append(TrialOutcome.claimed(trial))
            continue
        with held:
            status = trial_dir.read_status()
            if status is not None and status.finished:
                outcomes.append(TrialOutcome.reused(trial, status))
                continue
            step = status.step if status is not None and status.state != "corrupt" else 0
            trial_dir.write_trial()
            trial_dir.write_status(Status(state="failed", step=step, reason=reason))
            outcomes.append(TrialOutcome(trial, "failed", step=step, reason=reason))
    return outcomes


def job_update(job: Job, results_dir: Path, finished: bool = False) -> JobUpdate | None:
    """The job's progress as its trials' files record it (None before it has started)."""
    lead = job.lead
    steps, seconds = [], []
    members: list[tuple[str, float | None]] = []
    for trial in job.trials:
        result = read_started_trial(Path(results_dir), trial)
        if result is None or result.damaged:
            members.append((trial.id, None))
            continue
        steps.append(result.status.step)
        evals = result.evals
        members.append((trial.id, evals[-1].metrics.get(lead.target.metric) if evals else None))
        if evals:
            seconds.append(evals[-1].train_seconds)
    if not steps:
        return None
    return JobUpdate.of(
        job.id,
        lead,
        members,
        step=max(steps),
        train_seconds=max(seconds, default=0.0),
        finished=finished,
    )


class ResultsWatcher:
    """Feeds ``progress`` with the updates of running jobs, read from the results
    directory every ``interval`` seconds on a thread (workers elsewhere write there)."""

    def __init__(self, results_dir: Path, progress: Progress | None, interval: float = 1.0):
        self.results_dir = Path(results_dir)
        self.progress = progress
        self.interval = interval
        self._running: dict[str, Job] = {}
        self._last: dict[str, tuple] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True, name="results-watcher")

    def started(self, job: Job) -> None:
        with self._lock:
            self._running[job.id] = job

    def finished(self, job: Job) -> None:
        with self._lock:
            self._running.pop(job.id, None)
        self._emit(job, finished=True)

    def __enter__(self) -> ResultsWatcher:
        if self.progress is not None:
            self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                jobs = list(self._running.values())
            for job in jobs:
                self._emit(job)

    def _emit(self, job: Job, finished: bool = False) -> None:
        if self.progress is None:
            return
        update = job_update(job, self.results_dir, finished)
        if update is None:
            return
        key = attrs.astuple(update)
        with self._lock:
            if self._last.get(job.id) == key:
                return
            self._last[job.id] = key
            self.progress(update)


def dumps(data: Any) -> str:
    """One protocol line."""
    return json.dumps(data, sort_keys=True) + "\n"

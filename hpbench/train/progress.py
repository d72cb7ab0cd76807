"""What ``hpbench run`` shows: a live line per job, and a summary at the end (a row per
trial, or for a large run counts per workload and the trials that need attention).

:class:`LiveProgress` draws one rich progress line per trial (trial id, workload, pack size,
step / horizon, steps/s, its latest metric vs target, ETA); :class:`PlainProgress` prints a
plain line at most every few seconds per job (each member's metric by trial id), for CI logs
and other non-terminals. No JAX import.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeRemainingColumn
from rich.table import Table

from hpbench.train.outcome import JobUpdate, TrialOutcome


def _value(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def _metric_text(update: JobUpdate) -> str:
    """The target metric: the one member's, or each member's by trial id (a packed job)."""
    if len(update.members) > 1:
        values = ", ".join(f"{trial} {_value(v)}" for trial, v in update.members)
        return f"{update.metric} (target {update.target:.4g}): {values}"
    value = update.members[0][1] if update.members else update.best
    return f"{update.metric} {_value(value)} (target {update.target:.4g})"


def _subject(update: JobUpdate) -> str:
    """What a plain line is about: the trial, or the job when it packs several."""
    if len(update.members) == 1:
        return f"trial {update.members[0][0]}"
    return f"job {update.job_id}"


class _Rate:
    """Steps per second of training time, per job."""

    def __init__(self) -> None:
        self._first: dict[str, tuple[int, float]] = {}

    def __call__(self, update: JobUpdate) -> float | None:
        first = self._first.setdefault(update.job_id, (update.step, update.train_seconds))
        seconds = update.train_seconds - first[1]
        return (update.step - first[0]) / seconds if seconds > 0 else None


class LiveProgress:
    """Rich progress bars, one per trial; use as a context manager around the run."""

    def __init__(self, console: Console | None = None):
        self.console = console or Console(stderr=True)
        self._progress = Progress(
            TextColumn("{task.fields[label]}"),
            BarColumn(),
            TextColumn("{task.completed:>6.0f}/{task.total:.0f}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("{task.fields[metric]}"),
            TimeRemainingColumn(),
            console=self.console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._rate = _Rate()

    def __enter__(self) -> LiveProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def __call__(self, update: JobUpdate) -> None:
        rate = self._rate(update)
        rate_text = "" if rate is None else f"{rate:,.0f} steps/s"
        members = update.members or ((update.job_id, update.best),)
        for trial, value in members:  # one line per trial, with its own metric
            label = f"{trial} {update.workload}" + (f" x{update.pack}" if update.pack > 1 else "")
            metric = f"{update.metric} {_value(value)} (target {update.target:.4g})"
            fields = {"label": label, "rate": rate_text, "metric": metric}
            task = self._tasks.get(trial)
            if task is None:
                task = self._progress.add_task("", total=update.horizon_steps, **fields)
                self._tasks[trial] = task
            self._progress.update(task, completed=update.step, **fields)


class PlainProgress:
    """One plain line per job every ``interval`` seconds, and one at its end."""

    def __init__(self, stream: TextIO | None = None, interval: float = 10.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last: dict[str, float] = {}
        self._ended: set[str] = set()
        self._rate = _Rate()

    def __enter__(self) -> PlainProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def __call__(self, update: JobUpdate) -> None:
        rate = self._rate(update)
        now = time.monotonic()
        done = update.step >= update.horizon_steps or update.finished
        if update.job_id in self._ended:  # the job's last line is printed once
            return
        if not done and now - self._last.get(update.job_id, -1e9) < self.interval:
            return
        self._last[update.job_id] = now
        if done:
            self._ended.add(update.job_id)
        eta = ""
        if rate and not done:
            eta = f" eta {(update.horizon_steps - update.step) / rate:.0f}s"
        speed = f" {rate:.0f} steps/s" if rate else ""
        pack = f" x{update.pack}" if update.pack > 1 else ""
        print(
            f"[{_subject(update)}] {update.workload}{pack} step {update.step}/"
            f"{update.horizon_steps}{speed} {_metric_text(update)}{eta}",
            file=self.stream,
            flush=True,
        )


def describe(outcome: TrialOutcome) -> str:
    """The result of a trial in words, with what this run repaired first."""
    text = _result_text(outcome)
    return f"{text} (repaired: {outcome.repair})" if outcome.repair else text


def _result_text(outcome: TrialOutcome) -> str:
    if outcome.state == "failed":
        return f"failed: {outcome.reason}"
    if outcome.state == "diverged":
        return f"diverged at step {outcome.step}"
    if outcome.state == "elsewhere":
        return "being trained by another run"
    if outcome.state == "interrupted":
        return f"interrupted at step {outcome.step}"
    prefix = "(cached) " if outcome.state == "skipped" else ""
    if outcome.reached_step is not None:
        seconds = outcome.reached_seconds or 0.0
        return f"{prefix}reached target at step {outcome.reached_step} ({seconds:.1f} s)"
    if outcome.state == "skipped" and outcome.earlier != "done":
        return f"(cached) {outcome.reason}"
    return f"{prefix}missed target"


#: The columns of the counts table: what became of a trial in this run.
_COUNTED = ("trained", "cached", "reached", "missed", "diverged", "failed", "unfinished")


def _counted(outcome: TrialOutcome) -> tuple[str, ...]:
    """The counts a trial adds to: how it got its result (trained now or cached) and the
    result (reached, missed, diverged, failed), or unfinished (interrupted, or claimed by
    another run)."""
    if outcome.state in ("interrupted", "elsewhere"):
        return ("unfinished",)
    if outcome.state == "failed":
        return ("failed",)
    how = "cached" if outcome.state == "skipped" else "trained"
    if _diverged(outcome):
        return how, "diverged"
    return how, "reached" if outcome.reached_step is not None else "missed"


def _diverged(outcome: TrialOutcome) -> bool:
    """Diverged in this run, or in the run whose result this one reuses."""
    return outcome.state == "diverged" or outcome.earlier == "diverged"


def _workload(outcome: TrialOutcome) -> str:
    t = outcome.trial
    return t.workload if t.variant == "base" else f"{t.workload}/{t.variant}"


def outcome_counts(outcomes: Sequence[TrialOutcome], results_dir: Path) -> Table:
    """Per workload, how many trials were trained or cached and how many reached their
    target, missed it, diverged, failed or did not finish; a last row sums them."""
    rows: dict[str, dict[str, int]] = {}
    for outcome in outcomes:
        counts = rows.setdefault(_workload(outcome), dict.fromkeys(_COUNTED, 0))
        for column in _counted(outcome):
            counts[column] += 1
    trials = "1 trial" if len(outcomes) == 1 else f"{len(outcomes)} trials"
    title = f"{trials}, results in {results_dir}/"
    table = Table(title=title, title_justify="left")
    table.add_column("workload")
    for column in _COUNTED:
        table.add_column(column, justify="right")
    for workload, counts in sorted(rows.items()):
        table.add_row(workload, *(str(counts[c]) for c in _COUNTED))
    total = [sum(counts[c] for counts in rows.values()) for c in _COUNTED]
    table.add_section()
    table.add_row("all", *map(str, total))
    return table


def needs_attention(outcome: TrialOutcome) -> bool:
    """A trial the counts alone would hide: it failed, diverged, did not finish, or this run
    repaired something of it."""
    unfinished = outcome.state in ("failed", "interrupted", "elsewhere")
    return unfinished or _diverged(outcome) or bool(outcome.repair)


def summary_table(
    outcomes: Sequence[TrialOutcome], results_dir: Path, title: str | None = None
) -> Table:
    """One row per trial: id, workload, the hyperparameters that vary, its result."""
    varying = sorted(
        name
        for name in {k for o in outcomes for k in o.trial.params}
        if len({o.trial.params.get(name) for o in outcomes}) > 1
    )
    table = Table(title=title or f"results in {results_dir}/", title_justify="left")
    for column in ("trial", "workload", "seed", *varying, "result"):
        table.add_column(column)
    for o in outcomes:
        cells = [f"{o.trial.params.get(n, '')}" for n in varying]
        table.add_row(o.trial.id, _workload(o), str(o.trial.seed), *cells, describe(o))
    return table

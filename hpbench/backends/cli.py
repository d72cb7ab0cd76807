"""``hpbench status RESULTS``: what is running, done, diverged, failed, interrupted or
corrupt.

Reads each trial through the results reader (which checks the files: damage shows as
"corrupt") and the lock file's holder (a "running" trial whose holder is gone shows as
"interrupted"), so it works from any machine that sees the results directory, while runs
go on. No JAX import.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import sys
from pathlib import Path

import attrs

from hpbench.results.records import CORRUPT, STATES, Damaged, Status, read_trial, trial_directories
from hpbench.results.store import live_status, read_holder


@attrs.frozen
class TrialState:
    """One trial's line in the status view."""

    id: str
    label: str  # workload/size algorithm, for people
    status: Status
    horizon: int
    holder: str | None  # "pid host" of the process that last claimed it
    verified: bool = True  # False: finished before checksums (checked, not verified)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", type=Path, metavar="RESULTS", help="a results directory")
    parser.add_argument(
        "--all", action="store_true", help="list every trial, not only unfinished ones"
    )


def main(args: argparse.Namespace) -> int:
    if not args.results.is_dir():
        print(f"hpbench status: {args.results}: expected a results directory", file=sys.stderr)
        return 2
    trials = read_states(args.results)
    render(trials, args.results, show_all=args.all)
    return 0


def read_states(results_dir: Path) -> list[TrialState]:
    """Every trial directory under ``results_dir`` (those without a status are pending,
    those whose files fail their checks corrupt, running ones whose holder is gone
    interrupted)."""
    states = []
    for directory in trial_directories(results_dir):
        holder = read_holder(directory / "lock")
        try:
            result = read_trial(directory)
        except Damaged as damage:  # no trial.json to tell what it was
            status = Status(state=CORRUPT, reason=str(damage))
            states.append(TrialState(directory.name, "?", status, 0, _who(holder), True))
            continue
        status = live_status(directory, result.status)
        trial = result.trial
        label = f"{trial.workload}/{trial.size} {trial.algorithm}"
        verified = result.verified or not status.finished
        states.append(
            TrialState(directory.name, label, status, trial.horizon_steps, _who(holder), verified)
        )
    return states


def _who(holder) -> str | None:
    return f"{holder.pid} {holder.host}" if holder is not None else None


def counts(trials: list[TrialState]) -> dict[str, int]:
    """How many trials are in each state, in :data:`STATES` order."""
    tally = collections.Counter(t.status.state for t in trials)
    return {state: tally[state] for state in (*STATES, CORRUPT) if tally[state]}


def render(trials: list[TrialState], results_dir: Path, show_all: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    summary = ", ".join(f"{n} {state}" for state, n in counts(trials).items()) or "no trials"
    console.print(f"{results_dir}: {len(trials)} trials: {summary}", markup=False)
    unverified = sum(not t.verified for t in trials)
    if unverified:
        console.print(
            f"{unverified} finished trials were written before checksums: their files are "
            "checked, not verified",
            markup=False,
        )
    corrupt = sum(t.status.state == CORRUPT for t in trials)
    if corrupt:
        console.print(
            f"{corrupt} corrupt: never scored; `hpbench run` moves the damaged files aside "
            "(into the trial's damaged-<time>/) and trains the trials again",
            markup=False,
        )
    shown = [t for t in trials if show_all or t.status.state not in ("done", "diverged")]
    if not shown:
        return
    table = Table(title_justify="left")
    for column in ("trial", "workload / algorithm", "state", "step", "updated", "by", "reason"):
        table.add_column(column, no_wrap=column in ("trial", "state", "step"))
    order = {
        state: i
        for i, state in enumerate(("corrupt", "running", "failed", "interrupted", "pending"))
    }
    for t in sorted(shown, key=lambda t: (order.get(t.status.state, 9), t.id)):
        step = f"{t.status.step}/{t.horizon}"
        table.add_row(
            t.id,
            t.label,
            t.status.state,
            step,
            _age(t.status.updated),
            t.holder if t.status.state == "running" else "",
            (t.status.reason or "").splitlines()[0] if t.status.reason else "",
        )
    console.print(table)


def _age(updated: str | None) -> str:
    """How long ago a status was written (a running trial not updated for long may have
    lost its process)."""
    if not updated:
        return ""
    try:
        then = datetime.datetime.fromisoformat(updated)
    except ValueError:
        return updated
    seconds = (datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()
    if seconds < 120:
        return f"{seconds:.0f}s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f}m ago"
    return f"{seconds / 3600:.1f}h ago"

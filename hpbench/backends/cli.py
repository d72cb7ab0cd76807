"""``hpbench status RESULTS``: what is running, done, diverged, failed or interrupted.

Reads only ``trial.json`` and ``status.json`` files (and the lock file's holder), so it
works from any machine that sees the results directory, while runs go on. No JAX import.
"""

from __future__ import annotations

import argparse
import collections
import datetime
import json
import sys
from pathlib import Path

import attrs

from hpbench.plan import Trial
from hpbench.results.records import STATES, Status


@attrs.frozen
class TrialState:
    """One trial's line in the status view."""

    id: str
    label: str  # workload/size algorithm, for people
    status: Status
    horizon: int
    holder: str | None  # "pid host" of the process that last claimed it


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
    """Every trial directory under ``results_dir`` (those without a status are pending)."""
    states = []
    for trial_json in sorted(Path(results_dir).glob("*/trial.json")):
        directory = trial_json.parent
        try:
            trial = Trial.from_json(json.loads(trial_json.read_text()))
        except (OSError, ValueError, TypeError, KeyError):
            continue
        try:
            status = Status.from_json(json.loads((directory / "status.json").read_text()))
        except (OSError, ValueError, TypeError):
            status = Status(state="pending")
        try:
            holder = (directory / "lock").read_text().strip() or None
        except OSError:
            holder = None
        label = f"{trial.workload}/{trial.size} {trial.algorithm}"
        horizon = trial.horizon_steps
        states.append(TrialState(directory.name, label, status, horizon, holder))
    return states


def counts(trials: list[TrialState]) -> dict[str, int]:
    """How many trials are in each state, in :data:`STATES` order."""
    tally = collections.Counter(t.status.state for t in trials)
    return {state: tally[state] for state in STATES if tally[state]}


def render(trials: list[TrialState], results_dir: Path, show_all: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    summary = ", ".join(f"{n} {state}" for state, n in counts(trials).items()) or "no trials"
    console.print(f"{results_dir}: {len(trials)} trials: {summary}", markup=False)
    shown = [t for t in trials if show_all or t.status.state not in ("done", "diverged")]
    if not shown:
        return
    table = Table(title_justify="left")
    for column in ("trial", "workload / algorithm", "state", "step", "updated", "by", "reason"):
        table.add_column(column, no_wrap=column in ("trial", "state", "step"))
    order = {state: i for i, state in enumerate(("running", "failed", "interrupted", "pending"))}
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

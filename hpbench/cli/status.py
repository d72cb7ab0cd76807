"""``hpbench status [RESULTS | SPEC]``: what is running, done, diverged, failed,
interrupted or corrupt, in a results directory (default ``results``, where ``hpbench run``
writes) or among one spec's trials (those without results: "not started").

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

from hpbench.cli import DEFAULT_RESULTS, Command
from hpbench.plan import Trial
from hpbench.results.records import (
    CORRUPT,
    STATES,
    Damaged,
    Status,
    read_planned_trial,
    read_trial,
    trial_directories,
)
from hpbench.results.store import live_status, read_holder

#: The results directory ``hpbench run`` writes by default.
#: The state shown for a spec's trial that has no results.
NOT_STARTED = "not started"


@attrs.frozen
class TrialState:
    """One trial's line in the status view."""

    id: str
    label: str  # workload/size (with its data variant) algorithm, for people
    status: Status | None  # None: not started (a spec's trial without results)
    horizon_steps: int
    holder: str | None  # "pid host" of the process that last claimed it
    verified: bool = True  # False: finished before checksums (checked, not verified)

    @property
    def state(self) -> str:
        return NOT_STARTED if self.status is None else self.status.state


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        type=Path,
        nargs="?",
        metavar="RESULTS|SPEC",
        help="a results directory (default: results, where `hpbench run` writes), or a spec "
        "file: the states of its trials in --results, those without results 'not started'",
    )
    parser.add_argument(
        "--results",
        type=Path,
        metavar="DIR",
        help="the results directory of a spec's trials (default: results)",
    )
    parser.add_argument(
        "--all", action="store_true", help="list every trial, not only unfinished ones"
    )


def main(args: argparse.Namespace) -> int:
    results = args.results or DEFAULT_RESULTS
    target = args.target or results
    if target.is_file():
        from hpbench.spec.compile import compile_plan, load_spec

        plan = compile_plan(load_spec(target))  # a SpecError is printed by the dispatcher
        where = f"{target} in {results}" + ("" if results.is_dir() else " (no such directory)")
        render(read_plan_states(plan.trials, results), where, show_all=args.all)
        return 0
    if args.target is not None and args.results is not None:
        _error(f"hpbench status: --results is for a spec file; {target} is a results directory")
        return 2
    if not target.is_dir():
        found = (
            "no such results directory" if args.target is None else "no such directory or spec file"
        )
        default = " (the default, where `hpbench run` writes)" if args.target is None else ""
        _error(f"hpbench status: {target}: {found}{default}; give one: hpbench status RESULTS|SPEC")
        return 2
    render(read_states(target), str(target), show_all=args.all)
    return 0


def _error(text: str) -> None:
    print(text, file=sys.stderr)


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
        states.append(_state(directory, result.trial, result, holder))
    return states


def read_plan_states(trials: tuple[Trial, ...], results_dir: Path) -> list[TrialState]:
    """The states of the planned ``trials`` (each once) in ``results_dir``: as
    :func:`read_states`, and "not started" for a trial without results."""
    states = []
    for trial in {t.id: t for t in trials}.values():
        directory = results_dir / trial.id
        holder = read_holder(directory / "lock")
        result = read_planned_trial(results_dir, trial)
        if result is None:
            states.append(TrialState(trial.id, _label(trial), None, trial.horizon_steps, None))
            continue
        states.append(_state(directory, trial, result, holder))
    return states


def _state(directory: Path, trial: Trial, result, holder) -> TrialState:
    status = live_status(directory, result.status)
    verified = result.verified or not status.finished
    return TrialState(
        directory.name, _label(trial), status, trial.horizon_steps, _who(holder), verified
    )


def _label(trial: Trial) -> str:
    return f"{trial.workload}/{trial.size_label} {trial.algorithm}"


def _who(holder) -> str | None:
    return f"{holder.pid} {holder.host}" if holder is not None else None


def counts(trials: list[TrialState]) -> dict[str, int]:
    """How many trials are in each state, in :data:`STATES` order ("not started" last)."""
    tally = collections.Counter(t.state for t in trials)
    return {state: tally[state] for state in (*STATES, CORRUPT, NOT_STARTED) if tally[state]}


def render(trials: list[TrialState], where: str, show_all: bool = False) -> None:
    """The counts by state, then a table of the unfinished trials (``show_all``: all)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(Console().width, 110))
    summary = ", ".join(f"{n} {state}" for state, n in counts(trials).items()) or "no trials"
    console.print(f"{where}: {len(trials)} trials: {summary}", markup=False, soft_wrap=True)
    unverified = sum(not t.verified for t in trials)
    if unverified:
        console.print(
            f"{unverified} finished trials were written before checksums: their files are "
            "checked, not verified",
            markup=False,
        )
    corrupt = sum(t.state == CORRUPT for t in trials)
    if corrupt:
        console.print(
            f"{corrupt} corrupt: never scored; `hpbench run` moves the damaged files aside "
            "(into the trial's damaged-<time>/) and trains the trials again",
            markup=False,
        )
    shown = [t for t in trials if show_all or t.state not in ("done", "diverged")]
    if not shown:
        return
    table = Table(title_justify="left")
    for column in ("trial", "workload / algorithm", "state", "step", "updated", "by", "reason"):
        table.add_column(column, no_wrap=column in ("trial", "state", "step"))
    order = {
        state: i
        for i, state in enumerate(
            ("corrupt", "running", "failed", "interrupted", "pending", NOT_STARTED)
        )
    }
    for t in sorted(shown, key=lambda t: (order.get(t.state, 9), t.id)):
        if t.status is None:  # not started
            table.add_row(t.id, t.label, t.state, f"0/{t.horizon_steps}", "", "", "")
            continue
        reason = t.status.reason.splitlines()[0] if t.status.reason else ""
        table.add_row(
            t.id,
            t.label,
            t.state,
            f"{t.status.step}/{t.horizon_steps}",
            _age(t.status.updated),
            t.holder if t.state == "running" else "",
            reason,
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


COMMANDS = {"status": Command(add_arguments, main)}

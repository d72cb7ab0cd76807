"""The ``report``, ``score`` and ``nightly`` commands (no JAX import: they read results).

Exit codes: 0 done; 1 nothing to report, a failed run step or (nightly) a regression;
2 a spec or nightly file with problems (every problem printed, nothing run or written).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from hpbench.report.data import Report

DEFAULT_RESULTS = Path("results")
DEFAULT_REPORTS = Path("reports")


@attrs.frozen
class Command:
    """What the dispatcher (hpbench/cli.py) needs of a command."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]


def _error(text: str) -> None:
    print(text, file=sys.stderr)


def _add_results_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="DIR",
        help="results directory (default: results)",
    )


def _add_scoring_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", type=Path, metavar="SPEC", help="spec files, one algorithm each"
    )
    _add_results_option(parser)
    parser.add_argument(
        "--time",
        choices=("steps", "seconds"),
        default="steps",
        help="the time profiles compare: steps (as the papers) or training seconds (AlgoPerf)",
    )
    parser.add_argument(
        "--integral",
        choices=("trapezoid", "exact"),
        default="trapezoid",
        help="benchmark score: AlgoPerf's trapezoid rule on 100 points, or the exact area",
    )


def _nothing_to_report(runs, results: Path) -> str | None:
    if any(run.results for run in runs):
        return None
    names = " ".join(str(run.plan.source) for run in runs)
    corrupt = [problem for run in runs for problem in run.corrupt.values()]
    if corrupt:
        return (
            f"{results}: no readable results for these specs: {len(corrupt)} trial(s) corrupt "
            f"(first: {corrupt[0]}); `hpbench run {names} --results {results}` moves the "
            "damaged files aside and trains them again"
        )
    return (
        f"{results}: no results for any trial of these specs; "
        f"run `hpbench run {names} --results {results}` first"
    )


# --- hpbench report ---


def add_report_arguments(parser: argparse.ArgumentParser) -> None:
    _add_scoring_options(parser)
    parser.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="where index.md, index.html and plots/ go (default: reports/<spec names>)",
    )
    parser.add_argument("--title", help="the report's title (default: the spec names)")


def _load_report(args: argparse.Namespace, title: str | None = None) -> Report | int:
    """The report of ``args.specs`` over ``args.results``, or the exit code once the
    reason there is none (a spec problem, no results, bad results) is printed."""
    from hpbench.report.data import build_report, load_runs
    from hpbench.spec import SpecError

    try:
        runs = load_runs(args.specs, args.results)
    except SpecError as e:
        _error(e.render())
        return 2
    problem = _nothing_to_report(runs, args.results)
    if problem:
        _error(problem)
        return 1
    try:
        return build_report(runs, title=title, time=args.time, integral=args.integral)
    except ValueError as e:
        _error(str(e))
        return 2


def report_main(args: argparse.Namespace) -> int:
    from hpbench.report.render import render

    report = _load_report(args, title=args.title)
    if isinstance(report, int):
        return report
    out = args.out or DEFAULT_REPORTS / "-".join(entry.label for entry in report.entries)
    render(report).write(out)
    print(f"wrote {out / 'index.md'} and {out / 'index.html'}")
    for warning in report.warnings:
        _error(f"warning: {warning}")
    return 0


# --- hpbench score ---


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    _add_scoring_options(parser)


def score_main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from hpbench.report.data import UNFINISHED, unfinished_text
    from hpbench.scoring import scores_table

    report = _load_report(args)
    if isinstance(report, int):
        return report
    console = Console()
    if not console.is_terminal:  # CI logs and pipes: wide enough for eight workloads
        console = Console(width=200)
    unfinished = {
        e.label: unfinished_text({o: n for o, n in e.outcomes.items() if o in UNFINISHED})
        for e in report.entries
    }
    console.print(scores_table(report.scores, unfinished))
    for warning in report.warnings:
        _error(f"warning: {warning}")
    return 0


# --- hpbench nightly ---


def add_nightly_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "nightly", type=Path, metavar="NIGHTLY", help="the nightly file, e.g. specs/nightly.toml"
    )
    _add_results_option(parser)
    parser.add_argument(
        "--reports",
        type=Path,
        default=DEFAULT_REPORTS,
        metavar="DIR",
        help="reports directory (default: reports)",
    )
    parser.add_argument(
        "--no-run", action="store_true", help="render from the existing results, train nothing"
    )
    parser.add_argument(
        "--noise", type=float, help="override the nightly file's regression threshold"
    )


def nightly_main(args: argparse.Namespace) -> int:
    from hpbench.report.nightly import run_nightly
    from hpbench.spec import SpecError

    if args.noise is not None and not 0 <= args.noise < 1:
        _error(f"--noise {args.noise}: expected a score difference in [0, 1)")
        return 2
    try:
        outcome = run_nightly(
            args.nightly,
            results=args.results,
            reports=args.reports,
            train=not args.no_run,
            noise=args.noise,
        )
    except SpecError as e:
        _error(e.render())
        return 2
    except ValueError as e:
        _error(str(e))
        return 2
    for regression in outcome.regressions:
        _error(f"regression: {regression.describe()}")
    for spec in outcome.failed_runs:
        _error(f"run failed: hpbench run {spec}")
    print(f"wrote {args.reports / 'index.md'} and {args.reports / 'index.html'}")
    return 1 if outcome.regressions or outcome.failed_runs else 0


COMMANDS = {
    "report": Command(add_report_arguments, report_main),
    "score": Command(add_score_arguments, score_main),
    "nightly": Command(add_nightly_arguments, nightly_main),
}

"""The ``report`` and ``score`` commands (no JAX import: they read results).

Exit codes: 0 done; 1 nothing to report; 2 a spec with problems (every problem printed,
nothing written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.cli import Command, add_results_option

if TYPE_CHECKING:
    from hpbench.report.data import Report

DEFAULT_REPORTS = Path("reports")


def _error(text: str) -> None:
    print(text, file=sys.stderr)


def _add_scoring_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", type=Path, metavar="SPEC", help="spec files, one algorithm each"
    )
    add_results_option(parser)
    parser.add_argument(
        "--time",
        choices=("steps", "seconds", "algoperf"),
        default="steps",
        help="the time profiles compare: steps (as the papers), training seconds, or "
        "AlgoPerf's clock (training with compilation, within each workload's runtime budget)",
    )
    parser.add_argument(
        "--budget-scale",
        type=float,
        default=1.0,
        metavar="X",
        help="--time algoperf: multiply each workload's runtime budget by X (inf: no budget; "
        "default: 1, AlgoPerf's budgets at full size, docs/scoring.md)",
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
        metavar="PATH",
        help="files: the directory of index.md, index.html and plots/ (default: "
        "reports/<spec names>); github: the Markdown file (default: standard output)",
    )
    parser.add_argument("--title", help="the report's title (default: the spec names)")
    parser.add_argument(
        "--bootstrap",
        type=int,
        default=1000,
        metavar="N",
        help="resamples of the seeds for the score's and step fractions' intervals "
        "(default: 1000; 0: none)",
    )
    parser.add_argument(
        "--format",
        choices=("files", "github"),
        default="files",
        help="files: Markdown and HTML with SVG plots; github: one Markdown document that "
        "renders fully in a GitHub comment (plots as Mermaid charts)",
    )


def _load_report(
    args: argparse.Namespace, title: str | None = None, bootstrap: int = 0
) -> Report | int:
    """The report of ``args.specs`` over ``args.results``, or the exit code once the
    reason there is none (a spec problem, no results, bad results) is printed;
    ``bootstrap``: the resamples of the seeds' intervals (``score`` shows none)."""
    from hpbench.report.data import build_report, load_runs
    from hpbench.spec import SpecError

    if bootstrap < 0:
        _error(f"--bootstrap {bootstrap}: expected a number of resamples >= 0")
        return 2
    if not args.budget_scale > 0:
        _error(f"--budget-scale {args.budget_scale}: expected a factor > 0 (inf: no budget)")
        return 2
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
        return build_report(
            runs,
            title=title,
            time=args.time,
            integral=args.integral,
            bootstrap=bootstrap,
            budget_scale=args.budget_scale,
        )
    except ValueError as e:
        _error(str(e))
        return 2


def report_main(args: argparse.Namespace) -> int:
    from hpbench.collector import gc_paused

    return gc_paused(_report)(args)


def _report(args: argparse.Namespace) -> int:
    """``hpbench report``, all of it with the cyclic GC paused: its first pass after a
    paused phase walks every object that phase made (millions at 100,000 trials)."""
    from hpbench.report.render import render, render_github

    report = _load_report(args, title=args.title, bootstrap=args.bootstrap)
    if isinstance(report, int):
        return report
    if args.format == "github":
        text = render_github(report)
        if args.out is None:
            sys.stdout.write(text)
        else:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(text)
            print(f"wrote {args.out}")
        for warning in report.warnings:
            _error(f"warning: {warning}")
        return 0
    try:
        out = args.out or _default_out(report)
    except ValueError as e:
        _error(str(e))
        return 2
    render(report).write(out)
    print(f"wrote {out / 'index.md'} and {out / 'index.html'}")
    for warning in report.warnings:
        _error(f"warning: {warning}")
    return 0


def _default_out(report: Report) -> Path:
    """``reports/<spec names>``, checked to be one plain directory under reports/ (the
    names come from specs); ValueError otherwise."""
    from hpbench.config.confine import PLAIN_NAME_TEXT, is_plain_name, under

    specs = dict.fromkeys(entry.spec for entry in report.entries)  # a grid: one name
    name = "-".join(specs)
    if not is_plain_name(name):
        raise ValueError(
            f"report directory {name!r}: expected {PLAIN_NAME_TEXT}; give one with --out DIR"
        )
    return under(DEFAULT_REPORTS, DEFAULT_REPORTS / name)


# --- hpbench score ---


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    _add_scoring_options(parser)


def score_main(args: argparse.Namespace) -> int:
    from hpbench.collector import gc_paused

    return gc_paused(_score)(args)


def _score(args: argparse.Namespace) -> int:
    """``hpbench score``, with the cyclic GC paused as :func:`_report`."""
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


COMMANDS = {
    "report": Command(add_report_arguments, report_main),
    "score": Command(add_score_arguments, score_main),
}

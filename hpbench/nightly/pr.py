"""The one comment a pull request that changes ``specs/`` gets (.github/workflows/specs.yml):
the logs of ``validate``, ``plan`` and ``diff`` (fenced: a spec string cannot leave its
block), the score change of the mini suite's pool from the base branch's specs to the
pull request's, and the pull request's report in GitHub Markdown.

    python -m hpbench.nightly.pr --pool specs/nightly.toml:mini_suite --changed changed.txt
    python -m hpbench.nightly.pr --log validate=validate.txt --base BASE_SPEC... \\
        --head HEAD_SPEC... --results results --out comment.md

The first prints the pool to score: the nightly report's specs, the changed specs whose
trials are all mini-sized (a full-size spec needs data a runner does not have), then the
specs of the nightly's list reports (on both branches, so each side has both pools). The
second scores single configurations and lists in pools of their own, as findings.md does: a
list's time to target is the earliest over its points, which one configuration cannot match.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from hpbench.report.data import Report, build_report, load_runs
from hpbench.report.render import RawMarkdown, environment, fenced, render_github
from hpbench.report.tables import Cell, Table, fmt_number

#: GitHub refuses comments above 65,536 characters: logs are cut, the report left out.
MAX_COMMENT = 65_000
MAX_LOG = 12_000


def score_change_table(base: Mapping[str, float], head: Mapping[str, float]) -> Table:
    """Benchmark score per label on the base branch and in the pull request, and the change
    (a label only one side has shows n/a on the other)."""
    rows = []
    for label in dict.fromkeys([*head, *base]):
        before, after = base.get(label, math.nan), head.get(label, math.nan)
        change = after - before
        text = "n/a" if math.isnan(change) else f"{change:+.3f}"
        rows.append(
            (
                Cell(label),
                Cell(fmt_number(before)),
                Cell(fmt_number(after)),
                Cell(text, strong=not math.isnan(change) and abs(change) >= 0.0005),
            )
        )
    return Table(
        header=(("Algorithm", "Base", "This PR", "Change"),),
        rows=tuple(rows),
        note="Benchmark score of each spec of the pool, scored within the pool (AlgoPerf's "
        "area under the performance profile); bold: changed.",
    )


def _log(text: str) -> RawMarkdown:
    if len(text) > MAX_LOG:
        text = text[:MAX_LOG] + f"\n... ({len(text) - MAX_LOG} more characters in the job's log)"
    return fenced(text or "(no output)")


@attrs.frozen
class Pool:
    """One pool of the comment: its title and its report on each side (None: no results)."""

    title: str
    base: Report | None
    head: Report | None


def comment(logs: Sequence[tuple[str, str]], pools: Sequence[Pool]) -> str:
    """The comment: each (title, text) log fenced, each pool's score change, the head's
    reports."""
    scored = [p for p in pools if p.head is not None]
    report = "\n\n".join(render_github(p.head) for p in scored)
    scores = [
        (
            p.title,
            score_change_table(p.base.scores.benchmark if p.base else {}, p.head.scores.benchmark),
        )
        for p in scored
    ]
    template = environment("github").get_template("pr.md.j2")
    text = template.render(
        logs=[(title, _log(log)) for title, log in logs],
        scores=scores,
        report=RawMarkdown(report),
    )
    if len(text) > MAX_COMMENT:
        text = template.render(
            logs=[(title, _log(log)) for title, log in logs],
            scores=scores,
            report=RawMarkdown(""),
        )
    return text


def _is_list(path: Path) -> bool:
    from hpbench.report.resolved import is_list
    from hpbench.spec import load_spec

    return is_list(load_spec(path))


def split_pools(specs: Sequence[Path]) -> tuple[list[Path], list[Path]]:
    """The single configurations and the lists among ``specs``, in their order."""
    lists = [path for path in specs if _is_list(path)]
    return [path for path in specs if path not in lists], lists


def mini_pool(nightly: Path, name: str, changed: Sequence[Path]) -> list[Path]:
    """The specs of the nightly file's report ``name``, then each changed spec (that
    compiles, has trials and trains only mini sizes) not among them, then the specs of the
    nightly's reports that hold only lists."""
    from hpbench.nightly.file import load_nightly
    from hpbench.spec import SpecError, load_plan

    reports = load_nightly(nightly).reports
    (report,) = [r for r in reports if r.name == name]
    pool = list(report.specs)
    known = {p.resolve() for p in pool}
    for path in changed:
        if path.resolve() in known or path.suffix != ".toml":
            continue
        try:
            trials = load_plan(path).trials
        except SpecError:
            continue  # a suite, a search space, a nightly file, or a spec with problems
        if trials and all(t.size == "mini" for t in trials):
            pool.append(path)
    for other in reports:  # the nightly's lists, what a changed list is scored against
        if other is not report and other.specs and all(_is_list(p) for p in other.specs):
            pool += [p for p in other.specs if p.resolve() not in known]
    return pool


def _report(specs: Sequence[Path], results: Path) -> Report | None:
    if not specs:
        return None
    runs = load_runs(specs, results)
    return build_report(runs) if any(run.results for run in runs) else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hpbench.nightly.pr", description=__doc__)
    parser.add_argument("--log", action="append", default=[], metavar="TITLE=FILE")
    parser.add_argument("--base", nargs="*", type=Path, default=[], metavar="SPEC")
    parser.add_argument("--head", nargs="*", type=Path, default=[], metavar="SPEC")
    parser.add_argument("--results", type=Path, default=Path("results"), metavar="DIR")
    parser.add_argument("--out", type=Path, metavar="FILE", help="default: standard output")
    parser.add_argument("--pool", metavar="NIGHTLY:REPORT", help="print the pool to score")
    parser.add_argument("--changed", type=Path, metavar="FILE", help="changed files, one a line")
    args = parser.parse_args(argv)
    if args.pool:
        nightly, _, name = args.pool.rpartition(":")
        lines = args.changed.read_text().split() if args.changed else []
        print("\n".join(str(p) for p in mini_pool(Path(nightly), name, [Path(x) for x in lines])))
        return 0
    logs = []
    for item in args.log:
        title, _, path = item.partition("=")
        logs.append((title, Path(path).read_text(errors="replace")))
    pools = [
        Pool(title, _report(base, args.results), _report(head, args.results))
        for title, base, head in zip(
            ("Single configurations", "Lists"),
            split_pools(args.base),
            split_pools(args.head),
            strict=True,
        )
    ]
    text = comment(logs, pools)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

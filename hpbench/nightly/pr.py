"""The one comment a pull request that changes ``specs/`` gets (.github/workflows/specs.yml):
the logs of ``validate``, ``plan`` and ``diff`` (fenced: a spec string cannot leave its
block), the score change of the mini suite's pool from the base branch's specs to the
pull request's, and the pull request's report in GitHub Markdown.

    python -m hpbench.nightly.pr --pool specs/nightly.toml:mini_suite --changed changed.txt
    python -m hpbench.nightly.pr --log validate=validate.txt --base BASE_SPEC... \\
        --head HEAD_SPEC... --results results --out comment.md

The first prints the pool to score: the nightly report's specs, and the changed specs whose
trials are all mini-sized (a full-size spec needs data a runner does not have).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

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


def comment(logs: Sequence[tuple[str, str]], base: Report | None, head: Report | None) -> str:
    """The comment: each (title, text) log fenced, the score change, the head's report."""
    report = render_github(head) if head is not None else ""
    scores = (
        score_change_table(base.scores.benchmark if base else {}, head.scores.benchmark)
        if head is not None
        else None
    )
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


def mini_pool(nightly: Path, name: str, changed: Sequence[Path]) -> list[Path]:
    """The specs of the nightly file's report ``name``, then each changed spec (that
    compiles, has trials and trains only mini sizes) not among them."""
    from hpbench.nightly.file import load_nightly
    from hpbench.spec import SpecError, load_plan

    (report,) = [r for r in load_nightly(nightly).reports if r.name == name]
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
    return pool


def _report(specs: Sequence[Path], results: Path) -> Report | None:
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
    base = _report(args.base, args.results) if args.base else None
    head = _report(args.head, args.results) if args.head else None
    text = comment(logs, base, head)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

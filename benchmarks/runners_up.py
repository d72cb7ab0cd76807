"""Is a target winner's seed spread typical of the search's top? Issue 17, item 1 wants the
spread over 5 seeds of the tuned point's best metric under a third of the gap from naive Adam
to the target. AlgoPerf's procedure picks that point as the best of a search trained on one
seed; on a workload where a seed's luck is large, the best of 64 single-seed results may be
a point whose luck on that seed was good, and a point chosen for luck may be a noisy one.

Reads specs that train a search's top points (rank 1, the winner, first) over the
target-setting quarter with the same seeds as the target reruns
(``specs/levers/runners_up/*.toml``) and an untuned arm (naive Adam over the whole budget,
``specs/findings/naive_adam.toml``), and prints per workload and point: its rank in the
search, learning rate, best metric per seed, their median and spread, the seeds reaching
the suite's target, and spread / gap with the point's own median as its would-be target.
``python -m benchmarks.runners_up SPEC... [--naive SPEC] [--results DIR]``.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import attrs

import hpbench
from benchmarks.bench_hardness import finished
from benchmarks.lr_landscape import cell, untuned_bests
from benchmarks.seed_spread import spread_over_gap
from hpbench.direction import sign
from hpbench.plan import Target, point_key

ROOT = Path(__file__).resolve().parent.parent


@attrs.frozen
class Point:
    """One of a search's top points over the quarter: its best metric on each seed."""

    workload: str
    rank: int  # its place in the search (1: the winner), in the spec's point order
    learning_rate: float
    target: Target
    bests: tuple[float, ...]  # seed order

    @property
    def median(self) -> float:
        return statistics.median(self.bests)

    @property
    def spread(self) -> float:
        return max(self.bests) - min(self.bests)

    @property
    def reaching(self) -> int:
        return sum(map(self.target.reached, self.bests))


def points(spec: Path, results: Path) -> list[Point]:
    """Each point of ``spec`` (in its order: rank 1 first) with the best metric of every
    finished seed; a point whose seeds have not all finished is left out."""
    plan = hpbench.plan(spec)
    store = hpbench.Results(results).of(plan)
    by_point: dict[tuple, list] = {}
    for trial in plan.trials:
        by_point.setdefault((trial.workload, point_key(trial)), []).append(trial)
    out = []
    for rank, trials in enumerate(by_point.values(), 1):
        ended = list(finished(sorted(trials, key=lambda t: t.seed), store))
        if len(ended) < len(trials):
            continue
        out.append(
            Point(
                workload=trials[0].workload,
                rank=rank,
                learning_rate=trials[0].params["learning_rate"],
                target=trials[0].target,
                bests=tuple(score.best_metric for _, score in ended),
            )
        )
    return out


def markdown(rows: list[Point], naive: dict[str, list[float]]) -> str:
    """A row per point; spread / gap against the untuned arm's median best, the point's own
    median standing in for the target."""
    lines = [
        "| workload | rank | lr | best per seed | median | spread | seeds reaching the target "
        "| naive Adam | spread / gap |",
        "|---|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for p in rows:
        untuned = naive.get(p.workload)
        nan = {"naive": float("nan"), "ratio": float("nan")}
        check = spread_over_gap(list(p.bests), untuned, p.target.direction) if untuned else nan
        lines.append(
            f"| {p.workload} | {p.rank} | {p.learning_rate:.2g} | "
            f"{', '.join(f'{v:.4g}' for v in p.bests)} | {p.median:.4g} | {p.spread:.3g} | "
            f"{p.reaching}/{len(p.bests)} | {cell(check['naive'], '.4g')} | "
            f"{cell(check['ratio'], '.2f')} |"
        )
    return "\n".join(lines)


def summary_markdown(rows: list[Point]) -> str:
    """Per workload, the winner's spread beside the runners-up's (their median and range)
    and the winner's median beside the best runner-up's."""
    lines = [
        "| workload | target | winner: median, spread | runners-up: median spread (range) "
        "| best runner-up median (rank) |",
        "|---|---:|---|---|---|",
    ]
    by_workload: dict[str, list[Point]] = {}
    for p in rows:
        by_workload.setdefault(p.workload, []).append(p)
    for workload, found in sorted(by_workload.items()):
        winner, others = found[0], found[1:]
        if winner.rank != 1 or not others:
            continue
        spreads = [p.spread for p in others]
        best = min(others, key=lambda p: sign(winner.target.direction) * p.median)
        lines.append(
            f"| {workload} | {winner.target.value:.4g} | {winner.median:.4g}, "
            f"{winner.spread:.3g} | {statistics.median(spreads):.3g} "
            f"({min(spreads):.3g}-{max(spreads):.3g}) | {best.median:.4g} ({best.rank}) |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("specs", nargs="+", type=Path, metavar="SPEC")
    parser.add_argument(
        "--naive", type=Path, default=ROOT / "specs" / "findings" / "naive_adam.toml"
    )
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    rows = [p for spec in args.specs for p in points(spec, args.results)]
    print(markdown(rows, untuned_bests(args.naive, args.results)))
    print()
    print(summary_markdown(rows))


if __name__ == "__main__":
    main()

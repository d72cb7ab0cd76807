"""Is a mini target a plateau that 4x the steps reach anyway? Issue 17, item 1.

Each workload's target-setting winner of a targets search (the point whose reruns over a
quarter of ``max_steps`` set the target) trained again over the whole budget, beside the
target and an untuned arm over the whole budget: if the tuned point gains much from 4x the
steps, the quarter is far from converged and any method given 4x the steps may pass the
target; at full size the target-setting runs are near their ceiling. Trains only what is
missing (``hpbench.search.runs.train``). ``python -m benchmarks.graded_ceiling
[--spec SPEC] [--naive SPEC] [--seeds 0,1,2] [--results DIR]``.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import hpbench
from benchmarks.bench_hardness import finished_scores
from hpbench.report.papers import TABLE_4_NADAMW, relative_miss, table_4_misses
from hpbench.results import read_planned
from hpbench.search.runs import train
from hpbench.search.targets import Rerun, rerun_trials

ROOT = Path(__file__).resolve().parent.parent


def best_metrics(trials, results) -> dict[str, list[float]]:
    """Per workload, the best validation metric of each finished trial (seed order); a
    failed trial (an exception) says nothing about the point and is left out."""
    scores = finished_scores(trials, results)
    return {w: [s.best_metric for s in found] for w, found in scores.items()}


def median_miss(values: list[float], target) -> float:
    """The relative miss of ``target`` by the median of ``values`` (NaN when none)."""
    if not values:
        return float("nan")
    return relative_miss(statistics.median(values), target.direction, target.value)


def ceiling(spec: Path, naive: Path, seeds: tuple[int, ...], results_dir: Path) -> list[dict]:
    """Per workload: the target, the winner's best metrics over the whole budget, and the
    untuned arm's; each as a relative miss of the target (negative: passes it)."""
    plan = hpbench.plan(spec)
    found = read_planned(results_dir, plan.trials)
    winners = rerun_trials(plan, found, Rerun(seeds, 1.0))
    train(winners, results_dir)
    tuned = best_metrics(winners, read_planned(results_dir, winners))
    naive_trials = hpbench.plan(naive).trials
    untuned = best_metrics(naive_trials, read_planned(results_dir, naive_trials))
    rows = []
    for trial in sorted({t.workload: t for t in winners}.values(), key=lambda t: t.workload):
        full = tuned.get(trial.workload, [])
        plain = untuned.get(trial.workload, [])
        rows.append(
            {
                "workload": trial.workload,
                "target": trial.target.value,
                "tuned_full": full,
                "tuned_full_miss": median_miss(full, trial.target),
                "naive": plain,
                "naive_miss": median_miss(plain, trial.target),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| workload | target (tuned, 1/4) | tuned winner, whole budget: per seed | its miss "
        "| untuned arm, whole budget: per seed | its miss | full size: Table 4's NAdamW |",
        "|---|---:|---|---:|---|---:|---:|",
    ]
    full_size = table_4_misses(TABLE_4_NADAMW)
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['target']:.4g} | "
            f"{', '.join(f'{v:.4g}' for v in r['tuned_full'])} | {r['tuned_full_miss']:+.1%} | "
            f"{', '.join(f'{v:.4g}' for v in r['naive'])} | {r['naive_miss']:+.1%} "
            f"| {full_size[r['workload']]:+.1%} |"
        )
    lines.append(
        "\nMiss: (median best metric - target) / target, signed so that a negative share "
        "passes the target (benchmarks/bench_hardness.py's relative miss); the last column "
        "is the lr-free paper's NAdamW baseline (one configuration for every workload, the "
        "whole budget) against its Table 2 targets."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", default=str(ROOT / "specs" / "targets_graded.toml"))
    parser.add_argument(
        "--naive", default=str(ROOT / "specs" / "findings_graded" / "naive_adam.toml")
    )
    parser.add_argument("--seeds", default="0,1,2", help="the winners' seeds, comma-separated")
    parser.add_argument("--results", default="results")
    args = parser.parse_args(argv)
    seeds = tuple(int(s) for s in args.seeds.split(","))
    rows = ceiling(Path(args.spec), Path(args.naive), seeds, Path(args.results))
    print(markdown(rows))


if __name__ == "__main__":
    main()

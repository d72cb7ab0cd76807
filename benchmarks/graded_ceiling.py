"""Is a mini target a plateau that 4x the steps reach anyway? Issue 17, item 1.

Each workload's target-setting winner of a targets search (the point whose reruns over a
quarter of ``max_steps`` set the target) trained again over the whole budget, beside the
target and an untuned arm over the whole budget: if the tuned point gains much from 4x the
steps, the quarter is far from converged and any method given 4x the steps may pass the
target; at full size the target-setting runs are near their ceiling. Trains only what is
missing (``hpbench.search.runs.train``). ``python -m benchmarks.graded_ceiling
[--spec SPEC] [--naive SPEC] [--seeds 0,1,2] [--rerun-seeds 0,1,2,3,4] [--second-seeds
5,6,7,8,9] [--results DIR] [--export ARCHIVE]`` (``--export``: the whole-budget trials and
the second sample, which no spec names, into an archive ``hpbench results import`` restores).

A second table gives item 1's criteria from the same engine runs (``criteria``; the figures
of benchmarks/bench_criteria.py, which trains with its own loop and evaluates at step 0):
the whole-budget curves' plateau, largest jump and target position, the gain of the whole
budget over the target-setting reruns, and those reruns' spread over naive Adam's gap.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path

import hpbench
from benchmarks import parser
from benchmarks.bench_hardness import finished_scores
from benchmarks.seed_spread import RANGE_OF_5, pooled_sd
from hpbench.cli import seed_list
from hpbench.plan import Trial
from hpbench.report.papers import TABLE_4_NADAMW, relative_miss, table_4_misses
from hpbench.results import read_planned
from hpbench.results.archive import export_results
from hpbench.results.records import TrialResult
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


def winners_and_reruns(
    spec: Path, seeds: tuple[int, ...], rerun: Rerun, results_dir: Path
) -> tuple[tuple[Trial, ...], tuple[Trial, ...]]:
    """The targets search ``spec``'s winners (each workload's best point) over the whole
    budget with ``seeds``, and the same winners as the target-setting ``rerun`` trained them."""
    return winners_as(spec, (Rerun(seeds, 1.0), rerun), results_dir)


def winners_as(
    spec: Path, reruns: Sequence[Rerun], results_dir: Path
) -> tuple[tuple[Trial, ...], ...]:
    """The targets search ``spec``'s winners (each workload's best point) as each of
    ``reruns`` trains them: their seeds over their horizon."""
    plan = hpbench.plan(spec)
    found = read_planned(results_dir, plan.trials)
    return tuple(rerun_trials(plan, found, rerun) for rerun in reruns)


def ceiling(
    winners: Sequence[Trial], naive_trials: Sequence[Trial], results: Mapping[str, TrialResult]
) -> list[dict]:
    """Per workload: the target, the winner's best metrics over the whole budget, and the
    untuned arm's; each as a relative miss of the target (negative: passes it)."""
    tuned = best_metrics(winners, results)
    untuned = best_metrics(naive_trials, results)
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


def curve_shape(steps: list[int], values: list[float], target, max_steps: int) -> dict:
    """Item 1's figures of one curve, from its first evaluation (``start``): ``plateau``, the
    step where the metric first moves 10% of the way from start to its best, as a share of
    ``max_steps``; ``jump``, the largest change between two evaluations as a share of that
    range; ``position``, (target - start) / (best - start)."""
    start, best = values[0], target.best(values)
    span = (best - start) or math.nan
    progress = [(v - start) / span for v in values]
    moved = next((s for s, p in zip(steps, progress, strict=True) if p >= 0.1), math.nan)
    return {
        "start": start,
        "best": best,
        "plateau": moved / max_steps,
        "jump": max(abs(b - a) for a, b in itertools.pairwise(progress)),
        "position": (target.value - start) / span,
    }


def criteria(
    whole: Sequence[Trial],
    reruns: Sequence[Trial],
    naive_trials: Sequence[Trial],
    results: Mapping[str, TrialResult],
) -> list[dict]:
    """Per workload, item 1's criteria from finished engine runs: each whole-budget winner's
    curve (``curve_shape``; medians over its seeds, plateau and jump also the worst), the
    late gain (median whole-budget best - median best of the target-setting ``reruns``) over
    the curve's range, and the reruns' spread (max - min of their seeds' bests) over the
    signed gap from the untuned arm's median best to the target (negative: it passes)."""
    quarter = best_metrics(reruns, results)
    untuned = best_metrics(naive_trials, results)
    rows = []
    for workload in sorted({t.workload for t in whole}):
        trials = [t for t in whole if t.workload == workload and t.id in results]
        shapes = []
        for trial in trials:
            if results[trial.id].status.finished:
                evals = results[trial.id].evals
                steps = [e.step for e in evals]
                values = [e.metrics[trial.target.metric] for e in evals]
                shapes.append(curve_shape(steps, values, trial.target, trial.max_steps))
        if not shapes or workload not in quarter or workload not in untuned:
            continue
        target = trials[0].target
        median = {k: statistics.median(s[k] for s in shapes) for k in shapes[0]}
        gap = target.shortfall(statistics.median(untuned[workload]))
        rows.append(
            {
                "workload": workload,
                "target": target,
                "seeds": len(shapes),
                **median,
                "worst_plateau": max(s["plateau"] for s in shapes),
                "worst_jump": max(s["jump"] for s in shapes),
                "late_gain": (median["best"] - statistics.median(quarter[workload]))
                / ((median["best"] - median["start"]) or math.nan),
                "quarter": quarter[workload],
                "spread_over_gap": (max(quarter[workload]) - min(quarter[workload]))
                / (gap or math.nan),
                "naive": statistics.median(untuned[workload]),
            }
        )
    return rows


def second_sample(
    reruns: Sequence[Trial],
    second: Sequence[Trial],
    naive_trials: Sequence[Trial],
    results: Mapping[str, TrialResult],
) -> list[dict]:
    """Per workload, item 1's spread / gap read on the target reruns' seeds, on a ``second``
    sample of the same point over the same quarter, and pooled: the 5-seed range that the
    standard deviation pooled over both samples (each about its own mean) expects, over the
    signed gap from the untuned arm's median best to the target (negative: it passes)."""
    first, other = best_metrics(reruns, results), best_metrics(second, results)
    untuned = best_metrics(naive_trials, results)
    rows = []
    for workload in sorted(set(first) & set(other) & set(untuned)):
        target = next(t.target for t in reruns if t.workload == workload)
        gap = target.shortfall(statistics.median(untuned[workload])) or math.nan
        a, b = first[workload], other[workload]
        sd = pooled_sd(a, b) if min(len(a), len(b)) > 1 else math.nan
        rows.append(
            {
                "workload": workload,
                "target": target,
                "first": a,
                "second": b,
                "naive": statistics.median(untuned[workload]),
                "first_ratio": (max(a) - min(a)) / gap,
                "second_ratio": (max(b) - min(b)) / gap,
                "pooled_sd": sd,
                "pooled_ratio": RANGE_OF_5 * sd / gap,
            }
        )
    return rows


def second_sample_markdown(rows: list[dict]) -> str:
    lines = [
        "| workload | target | reruns' seeds: bests (spread) | second sample: bests (spread) "
        "| naive: median best | spread / gap: reruns, second | pooled sd | expected spread / gap |",
        "|---|---|---|---|---:|---|---:|---:|",
    ]
    for r in rows:
        a, b = r["first"], r["second"]
        lines.append(
            f"| {r['workload']} | {r['target'].metric} {r['target'].value:.4g} "
            f"| {', '.join(f'{v:.4g}' for v in a)} ({max(a) - min(a):.3g}) "
            f"| {', '.join(f'{v:.4g}' for v in b)} ({max(b) - min(b):.3g}) "
            f"| {r['naive']:.4g} | {r['first_ratio']:.2f}, {r['second_ratio']:.2f} "
            f"| {r['pooled_sd']:.3g} | {r['pooled_ratio']:.2f} |"
        )
    lines.append(
        f"\nExpected: the range of 5 seeds that the pooled standard deviation expects "
        f"({RANGE_OF_5} sd) over the gap from naive Adam's median best to the target; item 1 "
        "wants it between 0 and 1/3 (negative: the untuned arm passes the target)."
    )
    return "\n".join(lines)


def criteria_markdown(rows: list[dict]) -> str:
    lines = [
        "| workload | target | whole-budget seeds | start | best (whole) | plateau (worst) "
        "| jump (worst) | target position | late gain | reruns at the quarter: median, spread "
        "| naive: median best | spread / gap |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in rows:
        q = r["quarter"]
        lines.append(
            f"| {r['workload']} | {r['target'].metric} {r['target'].value:.4g} | {r['seeds']} "
            f"| {r['start']:.4g} | {r['best']:.4g} | {r['plateau']:.2f} ({r['worst_plateau']:.2f}) "
            f"| {r['jump']:.2f} ({r['worst_jump']:.2f}) | {r['position']:.2f} "
            f"| {r['late_gain']:.2f} | {statistics.median(q):.4g}, {max(q) - min(q):.3g} "
            f"| {r['naive']:.4g} | {r['spread_over_gap']:.2f} |"
        )
    lines.append(
        "\nItem 1 wants: plateau < 0.2 of the budget; no jump from chance to ceiling (a "
        "small largest jump); late gain clearly > 0 but a quarter near its ceiling; target "
        "position well inside 0..1; spread / gap between 0 and 1/3 (negative: the untuned "
        "arm passes the target). Start is the first evaluation (2% of the budget), not step 0."
    )
    return "\n".join(lines)


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
    options = parser(__doc__)
    options.add_argument("--spec", default=str(ROOT / "specs" / "targets_graded.toml"))
    options.add_argument("--naive", default=str(ROOT / "specs" / "findings" / "naive_adam.toml"))
    options.add_argument(
        "--seeds", type=seed_list, default=(0, 1, 2), help="the winners' seeds, comma-separated"
    )
    options.add_argument(
        "--rerun-seeds", type=seed_list, default=(0, 1, 2, 3, 4), help="the reruns' seeds"
    )
    options.add_argument(
        "--rerun-horizon", type=float, default=0.25, help="the target-setting budget"
    )
    options.add_argument(
        "--second-seeds",
        type=seed_list,
        default=(),
        help="train the winners over the target-setting budget on these seeds too: a second "
        "sample of the reruns' spread",
    )
    options.add_argument("--results", type=Path, default=Path("results"))
    options.add_argument(
        "--export",
        type=Path,
        help="also write the trials this trains (which no spec names) to this archive",
    )
    args = options.parse_args(argv)
    rerun = Rerun(args.rerun_seeds, args.rerun_horizon)
    whole, reruns = winners_and_reruns(Path(args.spec), args.seeds, rerun, args.results)
    second = ()
    if args.second_seeds:
        again = Rerun(args.second_seeds, args.rerun_horizon)
        (second,) = winners_as(Path(args.spec), (again,), args.results)
    train([*whole, *second], args.results)
    if args.export:
        exported = export_results(args.results, [*whole, *second], args.export)
        print(
            f"{args.export}: {len(exported.trials)} trials "
            f"({len(whole)} whole-budget, {len(second)} of the second sample)\n"
        )
    naive_trials = hpbench.plan(args.naive).trials
    results = read_planned(args.results, [*whole, *reruns, *second, *naive_trials])
    print(markdown(ceiling(whole, naive_trials, results)))
    print()
    print(criteria_markdown(criteria(whole, reruns, naive_trials, results)))
    if second:
        print()
        print(second_sample_markdown(second_sample(reruns, second, naive_trials, results)))


if __name__ == "__main__":
    main()

"""Where are a suite's good learning rates? Issue 17, item 2: "the published list's learning
rates should lie in the good region of most mini workloads without shifting the search space".

Reads the finished trials of a learning-rate sweep (the NAdamW-list paper's Table 5 sweep,
``specs/findings/lr_sweep_wd_low.toml`` on some suite) and of the published 5-point list
(``specs/findings/nadamw_list5.toml`` on the same suite) and prints, per workload, the sweep's
best metric at each learning rate (median over its seeds), the best learning rate, and the
list's best point against the sweep's best (relative miss: negative, the list does better).
A suite whose best learning rate sits at the sweep's top (1e-2, the broad space's edge) on
most workloads has the landscape of an under-trained model, not of AlgoPerf's workloads.

With ``--ceiling``, item 1's check: the best learning rate over the target-setting quarter
against the same learning rate over the whole budget, and (a third spec) an untuned arm such
as naive Adam over the whole budget against both.

``python -m benchmarks.lr_landscape LABEL=SWEEP_SPEC,LIST_SPEC ...
[--ceiling QUARTER,WHOLE[,UNTUNED]] [--results DIR]``.
"""

from __future__ import annotations

import argparse
import math
import statistics
from pathlib import Path

import hpbench
from benchmarks.bench_hardness import finished_scores
from hpbench.direction import sign
from hpbench.plan import Plan, Target, Trial
from hpbench.report.papers import relative_miss

PUBLISHED_LRS = (5.102e-4, 7.189e-3)  # the published list's smallest and largest (Table 10)


def bests_by_lr(plan: Plan, results: Path) -> dict[str, dict[float, list[float]]]:
    """Per workload, per learning rate of ``plan``: the best metric of each ended seed (nan
    where a trial diverged), in seed order."""
    finished = hpbench.Results(results).of(plan)
    by_lr: dict[float, list[Trial]] = {}
    for trial in plan.trials:
        by_lr.setdefault(trial.params["learning_rate"], []).append(trial)
    out: dict[str, dict[float, list[float]]] = {}
    for lr, trials in sorted(by_lr.items()):
        for workload, scores in finished_scores(trials, finished).items():
            out.setdefault(workload, {})[lr] = [s.best_metric for s in scores]
    return out


def metrics_by_lr(plan: Plan, results: Path) -> dict[str, dict[float, float]]:
    """Per workload, per learning rate of ``plan``: the median best metric over its ended
    seeds (nan where a trial diverged)."""
    return {
        workload: {lr: statistics.median(values) for lr, values in by_lr.items()}
        for workload, by_lr in bests_by_lr(plan, results).items()
    }


def targets_of(plan: Plan) -> dict[str, Target]:
    """Per workload of ``plan``: its target (metric, value, direction)."""
    return {t.workload: t.target for t in plan.trials}


def best(by_lr: dict[float, float], target: Target) -> tuple[float, float]:
    """The (learning rate, metric) with the best metric in ``target``'s direction
    (``Target.best``: nan counts as worst; the first learning rate when all are nan)."""
    metric = target.best(by_lr.values())
    pairs = by_lr.items()
    return next(((lr, v) for lr, v in pairs if v == metric), next(iter(pairs)))


def landscape_markdown(label: str, sweep: Path, listed: Path, results: Path) -> str:
    """One Markdown table: the sweep per learning rate, its best, the list's best beside it."""
    sweep_plan, list_plan = hpbench.plan(sweep), hpbench.plan(listed)
    swept, points = metrics_by_lr(sweep_plan, results), metrics_by_lr(list_plan, results)
    targets = targets_of(list_plan)
    lrs = sorted({lr for by in swept.values() for lr in by})
    head = [f"lr {lr:.2g}" for lr in lrs]
    lines = [
        f"**{label}** ({sweep}; {listed})",
        "",
        "| workload | " + " | ".join(head) + " | best lr | list's best (lr) | list vs sweep |",
        "|---|" + "---:|" * len(head) + "---:|---|---:|",
    ]
    inside = reaching = 0
    for workload in sorted(swept):
        target, by_lr = targets[workload], swept[workload]
        direction = target.direction
        best_lr, best_metric = best(by_lr, target)
        inside += PUBLISHED_LRS[0] <= best_lr <= PUBLISHED_LRS[1]
        cells = [f"{by_lr[lr]:.4g}" if lr in by_lr else "" for lr in lrs]
        if workload in points:
            list_lr, list_metric = best(points[workload], target)
            miss = relative_miss(list_metric, direction, best_metric)
            reaching += target.reached(list_metric)
            listed_cells = f"{list_metric:.4g} ({list_lr:.2g}) | {miss:+.1%}"
        else:
            listed_cells = " | "
        lines.append(
            f"| {workload} | " + " | ".join(cells) + f" | {best_lr:.2g} | {listed_cells} |"
        )
    lines += [
        "",
        f"The sweep's best learning rate lies within the published list's range "
        f"({PUBLISHED_LRS[0]:.1e}..{PUBLISHED_LRS[1]:.1e}) on {inside} of {len(swept)} workloads; "
        f"the list's best point (median over seeds) reaches the suite's target on {reaching} "
        f"of {len(points)}.",
    ]
    return "\n".join(lines)


def ceiling_markdown(quarter: Path, whole: Path, results: Path, untuned: Path | None = None) -> str:
    """Item 1's ceiling check: per workload, the best learning rate over the target-setting
    quarter (median over its seeds, and their spread) and that learning rate over the whole
    budget: how much do 4x the steps buy? With ``untuned``, an arm (naive Adam) over the whole
    budget beside it, and the quarter's seed spread over the gap from that arm to the quarter's
    best (issue 17 wants it under 1/3; negative: the untuned arm passes)."""
    quarter_plan = hpbench.plan(quarter)
    targets = targets_of(quarter_plan)
    short, full = bests_by_lr(quarter_plan, results), metrics_by_lr(hpbench.plan(whole), results)
    plain_by = {w: statistics.median(v) for w, v in untuned_bests(untuned, results).items()}
    head = (
        "| workload | best lr (quarter) | best, quarter | seeds' spread | same lr, whole "
        "| whole vs quarter |"
    )
    rule = "|---|---:|---:|---:|---:|---:|"
    if untuned:
        head += " untuned, whole | untuned vs quarter | spread / gap |"
        rule += "---:|---:|---:|"
    lines = [
        f"**Ceiling** ({quarter}; {whole}" + (f"; {untuned}" if untuned else "") + ")",
        "",
        head,
        rule,
    ]
    for workload in sorted(short):
        target = targets[workload]
        medians = {lr: statistics.median(values) for lr, values in short[workload].items()}
        lr, metric = best(medians, target)
        seeds = short[workload][lr]
        spread = max(seeds) - min(seeds) if len(seeds) > 1 else math.nan  # one seed: none
        longer = full.get(workload, {}).get(lr, math.nan)
        gain = relative_miss(longer, target.direction, metric)
        row = f"| {workload} | {lr:.2g} | {metric:.4g} | {cell(spread, '.3g')} "
        row += f"| {cell(longer, '.4g')} | {cell(gain, '+.1%')} |"
        if untuned:
            plain = plain_by.get(workload, math.nan)
            gap = sign(target.direction) * (plain - metric)
            miss = relative_miss(plain, target.direction, metric)
            row += f" {cell(plain, '.4g')} | {cell(miss, '+.1%')} | {cell(spread / gap, '.2f')} |"
        lines.append(row)
    lines += [
        "",
        "Whole vs quarter: the whole budget's best as a relative miss of the quarter's "
        "(negative: 4x the steps pass the quarter's best by that share; full size: within "
        "about 10%, 0.0-0.1% on Criteo, fastMRI and ResNet, reports/graded1/targets_graded.md).",
    ]
    return "\n".join(lines)


def cell(value: float, spec: str) -> str:
    """``value`` formatted by ``spec``, a dash where it is undefined (nan)."""
    return "-" if math.isnan(value) else format(value, spec)


def untuned_bests(untuned: Path | None, results: Path) -> dict[str, list[float]]:
    """Per workload, the best metric of each ended seed of the arm ``untuned`` (none without
    one)."""
    if untuned is None:
        return {}
    plan = hpbench.plan(untuned)
    scores = finished_scores(plan.trials, hpbench.Results(results).of(plan))
    return {workload: [s.best_metric for s in found] for workload, found in scores.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("arms", nargs="*", metavar="LABEL=SWEEP_SPEC,LIST_SPEC")
    parser.add_argument("--ceiling", metavar="QUARTER_SPEC,WHOLE_SPEC[,UNTUNED_SPEC]")
    parser.add_argument("--results", type=Path, default=Path("results"))
    args = parser.parse_args(argv)
    if args.ceiling:
        quarter, whole, *untuned = map(Path, args.ceiling.split(","))
        print(ceiling_markdown(quarter, whole, args.results, *untuned))
        print()
    for arm in args.arms:
        label, _, specs = arm.partition("=")
        sweep, _, listed = specs.partition(",")
        print(landscape_markdown(label, Path(sweep), Path(listed), args.results))
        print()


if __name__ == "__main__":
    main()

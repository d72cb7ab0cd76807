"""How hard are the mini targets? Issue 17, item 4: the share of broad-space NAdamW points
that reach each target at horizon 1/3, beside the NAdamW-list paper's Table 4; and item 1's
check from below: does naive Adam reach them, and is the tuned point's seed spread small
beside the gap from naive Adam to the target?

Reads the finished trials of ``specs/hardness_graded.toml`` (200 broad-space points, as
Table 4 counts; its first 64 are the target search ``specs/targets_graded.toml``; train it
first with ``hpbench run``) and prints, per workload, how many points reach the suite's
target, with the share's exact 95% interval, Fisher's exact test against Table 4's count of
200 (``../shared/REFERENCE.md``), Table 4's transfer columns and the reaching learning rates.
A spec that trains its points with several seeds (``specs/hardness_seeds.toml``) is counted
per seed instead, with the mean share over the seeds beside Table 4's.
Then, from ``specs/naive_adam.toml``'s trials and the per-seed
best metrics in the suite's targets provenance, naive Adam's best metric against each
target. Last, each untuned arm given with ``--arms`` (median over its seeds) as a relative
miss of each target, beside the lr-free paper's naive methods at full size (Table 4 against
its Table 2 targets): is a mini target as far out of an untuned method's reach?
``python -m benchmarks.bench_hardness [SPEC] [--suite SUITE] [--naive SPEC] [--arms SPEC ...]
[--results DIR]``.
"""

from __future__ import annotations

import re
import statistics
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np
from scipy.stats import binomtest, fisher_exact

import hpbench
from benchmarks import parser
from hpbench.plan import Trial
from hpbench.report.findings import also_reaching
from hpbench.report.papers import (
    TABLE_4_ALSO_REACHING,
    TABLE_4_POINTS,
    TABLE_4_REACHING,
    relative_miss,
    table_4_naive_miss,
)
from hpbench.results.records import TrialResult
from hpbench.scoring import TrialScore, score_trial

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "specs" / "suites" / "algoperf_mini.toml"  # its provenance block: seed values


def hardness(spec: Path, results: Path, seed: int | None = None) -> list[dict]:
    """Per workload: points trained, the points reaching the target, their learning rates, and
    how many of those also reach the target of at least one and two other workloads (Table 4's
    second and third columns; a point is its hyperparameters and warmup). A spec that trains
    its points with several seeds is counted one ``seed`` at a time (see hardness_by_seed)."""
    plan = hpbench.plan(spec)
    seeds = sorted({t.seed for t in plan.trials})
    if seed is None and len(seeds) > 1:
        raise ValueError(
            f"{spec} trains its points with seeds {seeds}: count one seed at a time "
            "(hardness_by_seed)"
        )
    return _counts(plan, hpbench.Results(results).of(plan), seed)


def _counts(plan, finished: Mapping[str, TrialResult], seed: int | None) -> list[dict]:
    """hardness's rows from ``plan``'s finished results, on ``seed``'s trials (None: all)."""
    trials = [t for t in plan.trials if seed is None or t.seed == seed]
    workloads = {w: j for j, w in enumerate(sorted({t.workload for t in plan.trials}))}
    points = {
        p: i for i, p in enumerate(dict.fromkeys((t.hyperparameters, t.warmup) for t in trials))
    }
    trained = np.zeros((len(points), len(workloads)), dtype=bool)
    reached = np.zeros_like(trained)
    for trial in trials:
        result = finished.get(trial.id)
        if result is not None and result.status.finished:
            at = points[(trial.hyperparameters, trial.warmup)], workloads[trial.workload]
            trained[at] = True
            reached[at] = score_trial(result, trial.id).outcome == "reached"
    also = also_reaching(reached, 1), also_reaching(reached, 2)
    return [
        {
            "workload": workload,
            "planned": sum(t.workload == workload for t in trials),
            "trained": int(trained[:, j].sum()),
            "reached": int(reached[:, j].sum()),
            "also_one": also[0][j],
            "also_two": also[1][j],
            "learning_rates": sorted(
                dict(hyperparameters)["learning_rate"]
                for (hyperparameters, _), i in points.items()
                if reached[i, j]
            ),
            "table_4": TABLE_4_REACHING.get(workload),
        }
        for workload, j in workloads.items()
    ]


def hardness_by_seed(spec: Path, results: Path) -> dict[str, dict[int, tuple[int, int]]]:
    """Per workload and seed of ``spec``: (points reaching the target, points trained). On the
    mini suite a seed's luck is shared by every point trained with it (benchmarks/
    shared_seeds.py), so a count on one seed is one draw of it; Table 4's is one per point."""
    plan = hpbench.plan(spec)
    finished = hpbench.Results(results).of(plan)  # read once for every seed
    out: dict[str, dict[int, tuple[int, int]]] = {}
    for seed in sorted({t.seed for t in plan.trials}):
        for row in _counts(plan, finished, seed):
            out.setdefault(row["workload"], {})[seed] = (row["reached"], row["trained"])
    return out


def seeds_markdown(by_seed: dict[str, dict[int, tuple[int, int]]], suite: Path = SUITE) -> str:
    """Per workload, the count on each seed (with the target winner's rerun on that seed, from
    the suite's provenance), the mean share over the seeds and its ratio to Table 4's share,
    and the range of the per-seed ratios."""
    numbers = rerun_seeds(suite)
    reruns = {
        w: dict(zip(numbers, values, strict=False)) for w, values in seed_values(suite).items()
    }
    seeds = sorted({s for counts in by_seed.values() for s in counts})
    lines = [
        "| workload | median of the reruns (target) | "
        + " | ".join(f"seed {s}: reach (winner's rerun)" for s in seeds)
        + " | mean share | Table 4 share | ratio of the mean | ratio per seed |",
        "|---|---:|" + "---:|" * len(seeds) + "---:|---:|---:|---|",
    ]
    for workload, counts in by_seed.items():
        values = reruns.get(workload, {})
        cells = []
        for s in seeds:
            reached, trained = counts.get(s, (0, 0))
            rerun = f" ({values[s]:.4g})" if s in values else ""
            cells.append(f"{reached}/{trained}{rerun}")
        shares = [r / t for r, t in counts.values() if t]
        mean = statistics.mean(shares) if shares else float("nan")
        paper = TABLE_4_REACHING.get(workload)
        if paper and shares:
            paper_share = paper / TABLE_4_POINTS
            ratios = [share / paper_share for share in shares]
            beside = (
                f"{paper_share:.1%} | {mean / paper_share:.1f}x | "
                f"{min(ratios):.1f}x .. {max(ratios):.1f}x"
            )
        else:
            beside = f"{paper / TABLE_4_POINTS:.1%} | - | -" if paper else "- | - | -"
        target = statistics.median(values.values()) if values else float("nan")
        lines.append(
            f"| {workload} | {target:.4g} | " + " | ".join(cells) + f" | {mean:.1%} | {beside} |"
        )
    lines.append(
        "\nreach: points reaching the target of the points trained on that seed; winner's rerun: "
        "the target's winning point on that seed at the target-setting horizon (the target is "
        "the median of these)."
    )
    return "\n".join(lines)


def share_interval(reached: int, trained: int) -> tuple[float, float]:
    """The exact (Clopper-Pearson) 95% interval of a share of ``reached`` in ``trained``."""
    interval = binomtest(reached, trained).proportion_ci(0.95, method="exact")
    return interval.low, interval.high


def table_4_p_value(reached: int, trained: int, paper: int) -> float:
    """Fisher's exact two-sided p-value that ``reached`` of ``trained`` and Table 4's ``paper``
    of 200 are draws of the same share: small when the mini target's hardness differs from
    full size's by more than the two samples' chance."""
    table = [[reached, trained - reached], [paper, TABLE_4_POINTS - paper]]
    return float(fisher_exact(table).pvalue)


def markdown(rows: list[dict]) -> str:
    """The hardness rows beside Table 4: shares with their intervals, the ratio, Fisher's p,
    and Table 4's transfer columns."""
    lines = [
        "| workload | points trained | reach the target | share (95% interval) | Table 4 "
        f"(of {TABLE_4_POINTS}) | Table 4 share | ratio | p (same share) | also reach 1 / 2 other "
        "workloads (Table 4) | learning rates that reach it |",
        "|---|---:|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        share = r["reached"] / r["trained"] if r["trained"] else float("nan")
        low, high = share_interval(r["reached"], r["trained"]) if r["trained"] else (0.0, 1.0)
        rates = r["learning_rates"]
        span = f"{rates[0]:.2g} .. {rates[-1]:.2g}" if rates else "none"
        lines.append(
            f"| {r['workload']} | {r['trained']} | {r['reached']} | {share:.1%} "
            f"({low:.1%}-{high:.1%}) | {_beside_table_4(r, share)} | {span} |"
        )
    reached, trained = sum(r["reached"] for r in rows), sum(r["trained"] for r in rows)
    paper, trials = sum(TABLE_4_REACHING.values()), TABLE_4_POINTS * len(TABLE_4_REACHING)
    lines.append(
        f"\nAll workloads: {reached} of {trained} trials reach their target "
        f"({reached / max(trained, 1):.1%}; Table 4: {paper} of {trials:,}, "
        f"{paper / trials:.1%}). Interval: exact binomial (Clopper-Pearson); p: "
        "Fisher's exact test of the mini count against Table 4's, two-sided."
    )
    return "\n".join(lines)


def _beside_table_4(row: dict, share: float) -> str:
    """A hardness row's Table 4 cells: its count and share, the ratio, Fisher's p and the
    transfer columns; dashes for a workload Table 4 does not have."""
    paper = row["table_4"]
    if paper is None:
        return " | ".join(["-"] * 4) + f" | {row['also_one']} / {row['also_two']} (-)"
    paper_share = paper / TABLE_4_POINTS
    ratio = share / paper_share if paper_share else float("nan")
    p_value = table_4_p_value(row["reached"], row["trained"], paper) if row["trained"] else 1.0
    also = TABLE_4_ALSO_REACHING[row["workload"]]
    return (
        f"{paper} | {paper_share:.1%} | {ratio:.1f}x | {p_value:.2g} | "
        f"{row['also_one']} / {row['also_two']} ({also[0]} / {also[1]})"
    )


def provenance(suite: Path) -> dict[str, tuple[float, list[float]]]:
    """Per workload, the target and the best metric per seed of its winning point, from the
    provenance block ``hpbench targets --write`` puts into the suite file."""
    pattern = re.compile(r"#\s+(\w+): \w+ (\S+) \(median \S+; seeds ([^;]+);")
    found = {}
    for line in suite.read_text().splitlines():
        match = pattern.match(line)
        if match:
            values = [float(v) for v in match.group(3).split(", ")]
            found[match.group(1)] = (float(match.group(2)), values)
    return found


def seed_values(suite: Path) -> dict[str, list[float]]:
    """Per workload, the best metric per seed of the target's winning point (``provenance``)."""
    return {workload: values for workload, (_, values) in provenance(suite).items()}


def provenance_targets(suite: Path) -> dict[str, float]:
    """Per workload, the target the suite's provenance block says its reruns set."""
    return {workload: target for workload, (target, _) in provenance(suite).items()}


def provenance_mismatch(spec: Path, suite: Path) -> str:
    """Why ``suite``'s reruns cannot be read beside ``spec``'s trials (its provenance set
    other targets than theirs, as for a lever probe's spec beside the shipped suite: the
    per-seed values would sit beside counts against another target), or ""."""
    recorded = provenance_targets(suite)
    for trial in hpbench.plan(spec).trials:
        value = recorded.get(trial.workload)
        if value is not None and value != trial.target.value:
            return (
                f"{spec}: {trial.workload}'s trials aim at {trial.target.value:g}, but {suite}'s "
                f"targets provenance set {value:g}"
            )
    return ""


def rerun_seeds(suite: Path) -> list[int]:
    """The seeds the targets provenance says the winners were retrained with, in the order of
    its per-seed values ("retrained with seeds 0, 1, 2, 3, 4 over ...")."""
    match = re.search(r"retrained with seeds ([\d, ]+) over", suite.read_text())
    return [int(s) for s in match.group(1).split(",")] if match else []


def naive_check(spec: Path, results: Path, suite: Path = SUITE) -> list[dict]:
    """Per workload of ``spec`` (naive Adam, one seed): its best metric, whether it reaches
    the suite's target, and the tuned point's seed spread over the signed gap from naive
    Adam's best to the target (negative: naive Adam reaches it; issue 17 wants 0..1/3)."""
    plan = hpbench.plan(spec)
    finished = hpbench.Results(results).of(plan)
    seeds = seed_values(suite)
    rows = []
    for trial in sorted(plan.trials, key=lambda t: (t.workload, t.seed)):
        if trial.id not in finished or not finished[trial.id].status.finished:
            continue
        score = score_trial(finished[trial.id], trial.id)
        target = trial.target
        gap = target.shortfall(score.best_metric)
        values = [v for v in seeds.get(trial.workload, []) if v == v]  # NaN: a failed seed
        spread = max(values) - min(values) if values else float("nan")
        rows.append(
            {
                "workload": trial.workload,
                "seed": trial.seed,
                "target": target.value,
                "direction": target.direction,
                "seeds": values,
                "spread": spread,
                "naive": score.best_metric,
                "reached": score.outcome == "reached",
                "spread_over_gap": spread / gap if gap else float("inf"),
            }
        )
    return rows


def naive_markdown(rows: list[dict]) -> str:
    lines = [
        "| workload | target | tuned point, best per seed (median, spread) | naive Adam seed "
        "| naive Adam best | naive Adam reaches | spread / gap |",
        "|---|---:|---|---:|---:|---|---:|",
    ]
    for r in rows:
        median = statistics.median(r["seeds"]) if r["seeds"] else float("nan")
        seeds = ", ".join(f"{v:.4g}" for v in r["seeds"])
        lines.append(
            f"| {r['workload']} | {r['target']:.4g} | {seeds} ({median:.4g}, {r['spread']:.3g}) "
            f"| {r['seed']} | {r['naive']:.4g} | {'yes' if r['reached'] else 'no'} "
            f"| {r['spread_over_gap']:.2f} |"
        )
    passed = sum(r["reached"] for r in rows)
    lines.append(f"\nNaive Adam reaches {passed} of {len(rows)} (workload, seed) targets.")
    return "\n".join(lines)


def naive_summary_markdown(rows: list[dict]) -> str:
    """Per workload, naive Adam's median best over its seeds (``naive_check``'s rows), its
    relative miss of the target, and the tuned point's spread over the gap from that median:
    item 1's spread / gap as benchmarks/workloads.md reports it."""
    by_workload: dict[str, list[dict]] = {}
    for row in rows:
        by_workload.setdefault(row["workload"], []).append(row)
    lines = [
        "| workload | target | naive Adam seeds | median best | its miss | spread / gap |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for workload, group in by_workload.items():
        first = group[0]
        median = statistics.median(r["naive"] for r in group)
        miss = relative_miss(median, first["direction"], first["target"])
        gap = miss * abs(first["target"])  # signed as naive_check's: negative where it passes
        ratio = first["spread"] / gap if gap else float("inf")
        lines.append(
            f"| {workload} | {first['target']:.4g} | {len(group)} | {median:.4g} | {miss:+.1%} "
            f"| {ratio:.2f} |"
        )
    return "\n".join(lines)


def finished(
    trials: Iterable[Trial], results: Mapping[str, TrialResult]
) -> Iterator[tuple[Trial, TrialScore]]:
    """Each of ``trials`` (in their order) whose result in ``results`` (by trial id) is
    finished (done or diverged: a failed trial says nothing about the algorithm and is
    retrained by the next run), with its score."""
    for trial in trials:
        result = results.get(trial.id)
        if result is not None and result.status.finished:
            yield trial, score_trial(result, trial.id)


def finished_scores(trials: Iterable[Trial], results: Mapping[str, TrialResult]) -> dict[str, list]:
    """Per workload (sorted), the score of each of ``trials`` (seed order) that finished
    (:func:`finished`)."""
    out: dict[str, list] = {}
    for trial, score in finished(sorted(trials, key=lambda t: (t.workload, t.seed)), results):
        out.setdefault(trial.workload, []).append(score)
    return out


def arm_misses(spec: Path, results: Path) -> dict[str, tuple[float, int, int]]:
    """Per workload of ``spec`` (an untuned arm, any seeds): the median over its finished
    seeds of the relative miss of the target by the best metric (negative: passes it), and
    how many of those seeds reach the target, of how many finished."""
    plan = hpbench.plan(spec)
    target = {t.workload: t.target for t in plan.trials}
    out = {}
    for w, scores in finished_scores(plan.trials, hpbench.Results(results).of(plan)).items():
        misses = [
            relative_miss(s.best_metric, target[w].direction, target[w].value) for s in scores
        ]
        reached = sum(s.outcome == "reached" for s in scores)
        out[w] = (statistics.median(misses), reached, len(scores))
    return out


def misses_markdown(arms: dict[str, dict[str, tuple[float, int, int]]]) -> str:
    """The arms' relative misses beside Table 4's naive median, one row each."""
    paper = table_4_naive_miss()
    workloads = list(paper)
    lines = [
        "| arm | " + " | ".join(workloads) + " |",
        "|---|" + "---:|" * len(workloads),
        "| full size: Table 4's 10 naive methods (median) | "
        + " | ".join(f"{paper[w]:+.1%}" for w in workloads)
        + " |",
    ]
    for label, rows in arms.items():
        cells = []
        for w in workloads:
            if w not in rows:
                cells.append("-")
                continue
            miss, reached, seeds = rows[w]
            cells.append(f"{miss:+.1%} ({reached}/{seeds})")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "\nRelative miss: (best metric - target) / target, signed so that a positive share "
        "falls short of the target and a negative one passes it; the median over seeds, "
        "(k/n): seeds reaching. Table 4 against the lr-free paper's Table 2 targets."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("spec", nargs="?", default=str(ROOT / "specs" / "hardness_graded.toml"))
    options.add_argument("--naive", help="naive Adam's spec (default: specs/naive_adam.toml)")
    options.add_argument(
        "--suite",
        default=str(SUITE),
        help="the suite file whose targets provenance holds the reruns' per-seed values",
    )
    options.add_argument("--arms", nargs="*", default=[], help="untuned arms' specs")
    options.add_argument("--results", default="results")
    args = options.parse_args(argv)
    results = Path(args.results)
    spec, suite = Path(args.spec), Path(args.suite)
    if why := provenance_mismatch(spec, suite):
        raise SystemExit(f"{why}; pass --suite with the suite file that set the spec's targets")
    if len({t.seed for t in hpbench.plan(spec).trials}) > 1:
        print(seeds_markdown(hardness_by_seed(spec, results), suite))
    else:
        print(markdown(hardness(spec, results)))
    print()
    naive = Path(args.naive or ROOT / "specs" / "naive_adam.toml")
    if why := provenance_mismatch(naive, suite):
        if args.naive:
            raise SystemExit(f"{why}; pass --naive with a spec on the suite's targets")
        print(f"(naive Adam's table left out: {why}; pass --naive with a spec on them)")
    else:
        rows = naive_check(naive, results, suite)
        print(naive_markdown(rows))
        print()
        print(naive_summary_markdown(rows))
    if args.arms:
        print()
        arms = {
            f"{Path(a).parent.name}/{Path(a).stem}": arm_misses(Path(a), results) for a in args.arms
        }
        print(misses_markdown(arms))


if __name__ == "__main__":
    main(sys.argv[1:])

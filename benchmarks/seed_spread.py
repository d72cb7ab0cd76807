"""How much of a target winner's seed spread comes from the finite validation set? Measured.

Issue 17's item 1 wants the spread over 5 seeds of the tuned point's best metric under a
third of the gap from naive Adam to the target. Two parts make up that spread: the seeds
train different models (init, data order, dropout), and each model is scored on a finite
validation sample on which it errs by chance. Only the second shrinks with more validation
rows. This trains the workload's winning point (from the suite file's targets provenance)
over the target-setting quarter with two seeds and evaluates both on
``--draws`` resamples of the validation rows drawn with replacement, the same draw for both
(a paired bootstrap). The variance of (seed a - seed b) over the draws is what the sample
adds to a seed-to-seed difference; a single model's metric carries half of it. With the
suite's rerun spread (``per seed`` in the provenance: 5 seeds at the quarter) it splits the
seeds' variance into a training part and a sampling part, and predicts the spread at k times
the validation rows (the sampling part over k). ``--fresh K`` checks that prediction directly
where the training split holds untrained rows drawn as the validation split is: every seed
scored on the split and on K fresh rows.

``python -m benchmarks.seed_spread imagenet_resnet ogbg --draws 40``; the table goes into
benchmarks/workloads.md ("Levers") with the machine and its load.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

from benchmarks import parser
from benchmarks.bench_criteria import NAIVE_ADAM, SUITE, suite_targets, suite_workload, train
from benchmarks.bench_hardness import seed_values
from hpbench.direction import best_of, sign
from hpbench.spec import load_spec

#: The expected range (max - min) of 5 normal draws, in standard deviations.
RANGE_OF_5 = 2.326


def with_validation(workload, arrays: dict):
    """``workload`` scoring on ``arrays`` (``valid_*``, in place of its own)."""
    import attrs

    return attrs.evolve(workload, data={**workload.data, **arrays})


def resample(workload, rows, prefix: str = "valid_"):
    """``workload`` with every validation array (``valid_*``) taken at ``rows``."""
    data = workload.data
    return with_validation(workload, {k: v[rows] for k, v in data.items() if k.startswith(prefix)})


def validation_rows(workload, prefix: str = "valid_") -> int:
    """The examples in the validation split (the first axis of its arrays)."""
    sizes = {len(v) for k, v in workload.data.items() if k.startswith(prefix)}
    if len(sizes) != 1:
        raise ValueError(f"{workload.info.name}: validation arrays differ in rows: {sizes}")
    return sizes.pop()


def split_variance(reruns: list[float], paired: list[float]) -> dict[str, float]:
    """The seeds' variance (of the reruns' best metrics) split into the validation sample's
    part (half the paired bootstrap variance of a seed-to-seed difference: one model's
    share) and the rest (training), floored at 0."""
    seeds = statistics.variance(reruns)
    sample = statistics.variance(paired) / 2
    return {"seeds": seeds, "sample": sample, "training": max(0.0, seeds - sample)}


def winner_over_the_quarter(name: str, suite: Path, point: dict | None = None):
    """The workload as ``suite`` sets it, its winning point (``point``, else the suite file's
    targets provenance) as optimizer hyperparameters, its warmup, and the steps of the
    target-setting quarter of its ``max_steps``."""
    workload, run = suite_workload(name, suite)
    point = dict(point or suite_targets(suite)[name][1])
    warmup = point.pop("warmup")
    point.pop("horizon", None)
    return workload, point, warmup, max(1, round(0.25 * run.max_steps))


def train_quarter(name: str, suite: Path, seeds, point: dict | None = None):
    """The workload as ``suite`` sets it and, per seed, (final metric, params, model state)
    of its winning point (``point``, else the suite file's targets provenance) trained over
    the target-setting quarter of its ``max_steps``."""
    workload, point, warmup, quarter = winner_over_the_quarter(name, suite, point)
    models = []
    for seed in seeds:
        _, values, params, state = train(
            workload, "nadamw", point, "warmup_cosine", warmup, quarter, seed
        )
        models.append((values[-1], params, state))
    return workload, models


def fresh_validation(name: str, suite: Path, rows: int) -> dict:
    """``rows`` examples drawn as the validation split is but never trained on, as
    validation arrays: the last rows of the whole training split, whose first
    ``train_rows`` the suite trains on (label noise, if any, as the validation split's)."""
    whole, run = suite_workload(name, suite, train_rows=False)
    train = {k.removeprefix("train_"): v for k, v in whole.data.items() if k.startswith("train_")}
    valid = {k.removeprefix("valid_") for k in whole.data if k.startswith("valid_")}
    total = len(next(iter(train.values())))
    if set(train) != valid or run.train_rows is None or total - rows < run.train_rows:
        raise ValueError(
            f"{name}: no {rows} untrained rows shaped as its validation split "
            f"({total} training rows, the suite trains on {run.train_rows})"
        )
    return {f"valid_{key}": value[total - rows :] for key, value in train.items()}


def expected_range(split: dict[str, float], sample_scale: float) -> float:
    """The expected range of 5 seeds' metrics with the sample's variance scaled by
    ``sample_scale`` (1/k at k times the validation rows)."""
    return RANGE_OF_5 * (split["training"] + split["sample"] * sample_scale) ** 0.5


def measure(name: str, draws: int, seeds: tuple[int, int], suite: Path) -> dict:
    """Train the winning point twice, bootstrap the validation rows, split the variance."""
    import numpy as np

    start = time.perf_counter()
    workload, models = train_quarter(name, suite, seeds)
    metric = workload.info.metric
    trained = time.perf_counter()
    rows = validation_rows(workload)
    rng = np.random.default_rng(0)
    paired, single = [], []
    for _ in range(draws):
        drawn = resample(workload, rng.integers(0, rows, rows))
        a, b = (drawn.evaluate(params, state)[metric] for _, params, state in models)
        paired.append(a - b)
        single.append(a)
    return {
        "workload": name,
        "metric": metric,
        "rows": rows,
        "final": [m[0] for m in models],
        "single_sd": statistics.stdev(single),
        "paired": paired,
        "train_s": trained - start,
        "draw_s": (time.perf_counter() - trained) / draws,
    }


def fresh_check(name: str, seeds, rows: int, suite: Path, point: dict | None = None) -> dict:
    """The winning point's quarter metric per seed on the validation split, on as many
    fresh rows (``fresh_validation``) and on all ``rows`` fresh rows: an independent check
    of the bootstrap's prediction for a larger validation set."""
    workload, models = train_quarter(name, suite, seeds, point)
    fresh = fresh_validation(name, suite, rows)
    size = validation_rows(workload)
    same = with_validation(workload, {k: v[:size] for k, v in fresh.items()})
    larger = with_validation(workload, fresh)
    metric = workload.info.metric
    return {
        "workload": name,
        "rows": (size, rows),
        "valid": [m[0] for m in models],
        "fresh": [same.evaluate(p, s)[metric] for _, p, s in models],
        "larger": [larger.evaluate(p, s)[metric] for _, p, s in models],
    }


def spread_over_gap(tuned: list[float], naive: list[float], direction: str) -> dict:
    """Item 1's check from best metrics: the target (median of the tuned seeds), their
    spread, naive Adam's median and spread / gap (the gap signed: < 0 where naive passes)."""
    target, naive_median = statistics.median(tuned), statistics.median(naive)
    gap = sign(direction) * (naive_median - target)
    spread = max(tuned) - min(tuned)
    return {
        "target": target,
        "spread": spread,
        "naive": naive_median,
        "gap": gap,
        "ratio": spread / gap if gap else float("nan"),
    }


def fresh_criterion(
    name: str,
    factor: int,
    suite: Path,
    point: dict | None = None,
    seeds=(0, 1, 2, 3, 4),
    naive_seeds=(2, 3, 4),
) -> dict:
    """Item 1's spread / gap on the validation split and on ``factor`` times its rows of
    fresh rows, from the same models: the winning point over the quarter (``seeds``: the
    target reruns') and naive Adam over the whole budget (``naive_seeds``: its findings
    arm's), each scored on both at every 2% of max_steps, best over the curve as the engine's
    trials are. ``point``: the winning point (default: the suite file's targets provenance).
    ``factor`` 0: the split alone (a second reading where no fresh rows exist)."""
    workload, point, warmup, quarter = winner_over_the_quarter(name, suite, point)
    rows = factor * validation_rows(workload)
    larger = with_validation(workload, fresh_validation(name, suite, rows)) if rows else None
    metric, direction = workload.info.metric, workload.info.direction
    better = best_of(direction)

    def both(params, state):
        split = workload.evaluate(params, state)[metric]
        return split, (larger.evaluate(params, state)[metric] if larger else split)

    full = {r.name: r for r in load_spec(suite).workloads}[name].max_steps
    every = max(1, round(0.02 * full))
    start = time.perf_counter()

    def curve(algorithm: str, hp: dict, shape: str, warmup: float, steps: int, seed: int):
        return train(workload, algorithm, hp, shape, warmup, steps, seed, every, evaluate=both)[1]

    runs = {
        "tuned": [curve("nadamw", point, "warmup_cosine", warmup, quarter, s) for s in seeds],
        "naive": [curve("adamw", NAIVE_ADAM, "constant", 0.0, full, s) for s in naive_seeds],
    }
    bests = {
        (arm, i): [better(v[i] for v in curve) for curve in curves]
        for arm, curves in runs.items()
        for i in (0, 1)
    }
    return {
        "workload": name,
        "rows": (validation_rows(workload), rows),
        "bests": bests,
        "split": spread_over_gap(bests["tuned", 0], bests["naive", 0], direction),
        "fresh": spread_over_gap(bests["tuned", 1], bests["naive", 1], direction),
        "seconds": time.perf_counter() - start,
    }


def pooled_sd(*samples: list[float]) -> float:
    """The standard deviation pooled over samples, each about its own mean."""
    squares = sum(statistics.variance(x) * (len(x) - 1) for x in samples)
    return (squares / sum(len(x) - 1 for x in samples)) ** 0.5


def same_models(engine: list[float], bench: list[float]) -> bool:
    """Whether most of the bench loop's seeds ended where the engine's did, seed by seed
    (the provenance keeps 4 significant digits): then the two are mostly the same models,
    not twice as many draws (rounding may still part one seed's run from the engine's)."""
    if len(engine) != len(bench):
        return False
    matches = sum(abs(a - b) <= 1e-3 * abs(a) for a, b in zip(engine, bench, strict=True))
    return bool(2 * matches > len(engine))


def render_criterion(rows: list[dict], reruns: dict[str, list[float]] | None = None) -> str:
    """``fresh_criterion`` as Markdown: per set of rows the target, spread, naive Adam's
    median best and spread / gap; the tuned seeds' bests on the split beside them, and with
    ``reruns`` (the engine's, per workload) the sd pooled over both sets of 5 seeds (once,
    where they are the same models) and the 5-seed range it expects (2.33 sd) over the
    split's gap."""
    lines = [
        "| workload | rows (split, fresh) | tuned seeds' bests on the split | split: target, "
        "spread, naive, spread / gap | fresh: target, spread, naive, spread / gap "
        "| pooled with the engine's reruns: sd, expected range / gap | s |",
        "|---|---|---|---|---|---|---:|",
    ]
    for r in rows:
        cells = [
            f"{c['target']:.4g}, {c['spread']:.3g}, {c['naive']:.4g}, {c['ratio']:.2f}"
            for c in (r["split"], r["fresh"])
        ]
        if not r["rows"][1]:
            cells[1] = "none"
        split = ", ".join(f"{v:.4g}" for v in r["bests"]["tuned", 0])
        engine = (reruns or {}).get(r["workload"])
        pooled = "n/a"
        if engine:
            same = same_models(engine, r["bests"]["tuned", 0])
            sd = pooled_sd(engine) if same else pooled_sd(engine, r["bests"]["tuned", 0])
            gap = r["split"]["gap"]
            pooled = f"{sd:.3g}, {RANGE_OF_5 * sd / gap if gap else float('nan'):.2f}"
            if same:
                pooled += " (mostly the same models: the engine's alone)"
        lines.append(
            f"| {r['workload']} | {r['rows'][0]}, {r['rows'][1]} | {split} | {cells[0]} "
            f"| {cells[1]} | {pooled} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def render(rows: list[dict], reruns: dict[str, list[float]]) -> str:
    """The split as a Markdown table: standard deviations, and the expected 5-seed range
    (2.33 sd) now, at 4x the validation rows and with the sample's part gone."""
    lines = [
        "| workload | valid rows | seeds a, b at the quarter | rerun spread (5 seeds) | sd: seeds "
        "| sd: one model's sample (bootstrap) | sample's share of the variance | expected "
        "5-seed range: now / 4x rows / sample gone | s train, s per draw |",
        "|---|---:|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        rerun = reruns[r["workload"]]
        v = split_variance(rerun, r["paired"])
        lines.append(
            f"| {r['workload']} | {r['rows']} | {r['final'][0]:.4g}, {r['final'][1]:.4g} "
            f"| {max(rerun) - min(rerun):.3g} | {v['seeds'] ** 0.5:.3g} "
            f"| {v['sample'] ** 0.5:.3g} ({r['single_sd']:.3g}) "
            f"| {min(1.0, v['sample'] / v['seeds']):.0%} "
            f"| {' / '.join(f'{expected_range(v, k):.3g}' for k in (1, 0.25, 0))} "
            f"| {r['train_s']:.0f}, {r['draw_s']:.1f} |"
        )
    return "\n".join(lines)


def render_fresh(rows: list[dict]) -> str:
    """``fresh_check``'s spread over seeds (standard deviation; max - min) as Markdown."""
    lines = [
        "| workload | seeds | sd (range): validation split | same size, fresh rows "
        "| fresh rows | rows (split, fresh) |",
        "|---|---:|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{statistics.stdev(v):.3g} ({max(v) - min(v):.3g})"
            for v in (r["valid"], r["fresh"], r["larger"])
        ]
        lines.append(
            f"| {r['workload']} | {len(r['valid'])} | {' | '.join(cells)} "
            f"| {r['rows'][0]}, {r['rows'][1]} |"
        )
    return "\n".join(lines)


def main() -> None:
    options = parser(__doc__)
    options.add_argument("names", nargs="+", help="workloads to measure")
    options.add_argument(
        "--suite",
        type=Path,
        default=SUITE,
        help="suite file: steps, data, and the targets provenance (winning point, reruns)",
    )
    options.add_argument("--draws", type=int, default=40, help="bootstrap resamples")
    options.add_argument("--seeds", default="0,1", help="the training seeds (two to bootstrap)")
    options.add_argument(
        "--fresh",
        type=int,
        help="instead of the bootstrap: score every seed on the validation split and on this "
        "many untrained rows of the training split (fresh_validation)",
    )
    options.add_argument(
        "--criterion",
        type=int,
        metavar="K",
        help="instead: item 1's spread / gap on the split and on K times as many fresh rows "
        "(0: the split alone), from the target reruns' seeds 0-4 and naive Adam's seeds 2-4 "
        "(fresh_criterion)",
    )
    args = options.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.criterion is not None:
        reruns, rows = seed_values(args.suite), []
        for name in args.names:
            rows.append(fresh_criterion(name, args.criterion, args.suite))
            print(render_criterion(rows[-1:], reruns).splitlines()[-1], flush=True)
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(render_criterion(rows, reruns))
        return
    if args.fresh:
        rows = [fresh_check(n, seeds, args.fresh, args.suite) for n in args.names]
        print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(render_fresh(rows))
        return
    reruns = seed_values(args.suite)
    rows = []
    for name in args.names:
        rows.append(measure(name, args.draws, tuple(seeds), args.suite))
        print(render(rows[-1:], reruns).splitlines()[-1], flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(render(rows, reruns))


if __name__ == "__main__":
    main()

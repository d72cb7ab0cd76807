"""Is a seed's luck shared by every configuration trained with it? A two-way analysis.

A trial's seed fixes its initial parameters and the order of its batches, whatever its
hyperparameters. If that makes some seeds good for every configuration, one seed moves a whole
sample of points at once: a hardness count on one seed (Table 4's layout, every point trained
once) is then one draw of a wide distribution, not a share of points. This fits each
workload's best metrics as configuration effect + seed effect + residual, on the
configurations of ``SPEC``s trained with every one of ``--seeds`` (a two-way analysis of
variance without replication), and prints the seed effects, their standard deviation beside
the residual's, and the F-test that the seeds' effects are all zero.

``--sources NAME ...`` asks where that luck comes from: it trains the workload's target winner
(the suite file's targets provenance) over the target-setting quarter at its learning rate and
a third of it, with every pair of an initial-parameter seed and a data seed (the batches and
each step's randomness: dropout, augmentation), and splits the final metric into the two
seeds' effects and what is left.

``python -m benchmarks.shared_seeds specs/findings/*.toml --seeds 2,3,4``; ``python -m
benchmarks.shared_seeds --sources librispeech_deepspeech ogbg``; the tables go into
benchmarks/workloads.md ("Levers").
"""

from __future__ import annotations

import math
from pathlib import Path

import attrs
import numpy as np
from scipy.stats import f as f_distribution

import hpbench
from benchmarks import parser
from benchmarks.bench_criteria import SUITE, train
from benchmarks.bench_hardness import finished
from benchmarks.seed_spread import winner_over_the_quarter


def best_metrics(specs: list[Path], results: Path) -> dict[str, dict[object, dict[int, float]]]:
    """Per workload, per configuration (a trial with its seed set aside), the best metric of
    each finished seed; a trial two specs share counts once."""
    out: dict[str, dict[object, dict[int, float]]] = {}
    for spec in specs:
        plan = hpbench.plan(spec)
        for trial, score in finished(plan.trials, hpbench.Results(results).of(plan)):
            best = score.best_metric
            if best is not None and math.isfinite(best):
                configuration = attrs.evolve(trial, seed=0)
                out.setdefault(trial.workload, {}).setdefault(configuration, {})[trial.seed] = best
    return out


def two_way(matrix: np.ndarray) -> dict:
    """Configurations (rows) x seeds (columns), one value each: the seeds' effects (column
    means less the grand mean), the residual's standard deviation, the seed effects' standard
    deviation net of the residual's share ((MS_seed - MS_residual) / rows, floored at 0), and
    F = MS_seed / MS_residual with its p-value."""
    rows, columns = matrix.shape
    grand = matrix.mean()
    row_effects = matrix.mean(axis=1, keepdims=True) - grand
    seed_effects = matrix.mean(axis=0, keepdims=True) - grand
    residual = matrix - grand - row_effects - seed_effects
    ms_seed = rows * float((seed_effects**2).sum()) / (columns - 1)
    ms_residual = float((residual**2).sum()) / ((rows - 1) * (columns - 1))
    statistic = ms_seed / ms_residual if ms_residual else math.inf
    return {
        "configurations": rows,
        "seed_effects": seed_effects.ravel().tolist(),
        "sd_seed": math.sqrt(max(0.0, (ms_seed - ms_residual) / rows)),
        "sd_residual": math.sqrt(ms_residual),
        "f": statistic,
        "p": float(f_distribution.sf(statistic, columns - 1, (rows - 1) * (columns - 1))),
    }


def analyse(specs: list[Path], results: Path, seeds: list[int]) -> dict[str, dict]:
    """Per workload with at least two configurations trained on every one of ``seeds``."""
    out = {}
    for workload, configurations in sorted(best_metrics(specs, results).items()):
        complete = [c for c in configurations.values() if all(s in c for s in seeds)]
        if len(complete) >= 2:
            out[workload] = two_way(np.array([[c[s] for s in seeds] for c in complete]))
    return out


def markdown(rows: dict[str, dict], seeds: list[int]) -> str:
    lines = [
        "| workload | configurations | "
        + " | ".join(f"seed {s} effect" for s in seeds)
        + " | sd of the seed effect | sd of the residual | F | p |",
        "|---|---:|" + "---:|" * len(seeds) + "---:|---:|---:|---:|",
    ]
    for workload, r in rows.items():
        effects = " | ".join(f"{e:+.4f}" for e in r["seed_effects"])
        lines.append(
            f"| {workload} | {r['configurations']} | {effects} | {r['sd_seed']:.4f} "
            f"| {r['sd_residual']:.4f} | {r['f']:.1f} | {r['p']:.2g} |"
        )
    lines.append(
        "\nEffect: the seed's mean best metric over the configurations less the grand mean (in "
        "the metric's units; for an error a negative effect is a lucky seed). F: the seeds' mean "
        "square over the residual's; p: the chance of an F this large with no seed effect."
    )
    return "\n".join(lines)


def init_and_data(values: np.ndarray) -> dict:
    """Configurations x initial-parameter seeds x data seeds, one value each: the sample
    standard deviations of the init seeds' and the data seeds' effects (each seed's mean over
    the configurations and the other seed, less the grand mean) and of the residual (the
    interactions: what neither seed's shared effect explains)."""
    configurations, inits, datas = values.shape
    grand = values.mean()
    configuration = values.mean(axis=(1, 2), keepdims=True) - grand
    init = values.mean(axis=(0, 2), keepdims=True) - grand
    data = values.mean(axis=(0, 1), keepdims=True) - grand
    residual = values - grand - configuration - init - data
    freedom = values.size - 1 - (configurations - 1) - (inits - 1) - (datas - 1)
    return {
        "init_effects": init.ravel().tolist(),
        "data_effects": data.ravel().tolist(),
        "sd_init": float(init.std(ddof=1)),
        "sd_data": float(data.std(ddof=1)),
        "sd_residual": float(np.sqrt((residual**2).sum() / freedom)),
    }


def sources(
    name: str,
    suite: Path = SUITE,
    seeds=(0, 2, 4),
    scales=(1.0, 1 / 3),
    point: dict | None = None,
) -> dict:
    """Train ``name``'s target winner (``point``, else the suite file's targets provenance) at
    its learning rate times each of ``scales`` over the quarter, for every (init seed, data
    seed) in ``seeds`` x ``seeds``; split the final metrics (init_and_data)."""
    workload, point, warmup, quarter = winner_over_the_quarter(name, suite, point)
    values = np.empty((len(scales), len(seeds), len(seeds)))
    for c, scale in enumerate(scales):
        hp = {**point, "learning_rate": point["learning_rate"] * scale}
        for i, init in enumerate(seeds):
            for d, data in enumerate(seeds):
                _, metrics, _, _ = train(
                    workload, "nadamw", hp, "warmup_cosine", warmup, quarter, init, data_seed=data
                )
                values[c, i, d] = metrics[-1]
    return {"values": values.tolist(), **init_and_data(values)}


def sources_markdown(rows: dict[str, dict], seeds) -> str:
    lines = [
        "| workload | init seed effects (seeds "
        + ", ".join(map(str, seeds))
        + ") | data seed effects | sd init | sd data | sd residual |",
        "|---|---|---|---:|---:|---:|",
    ]
    for workload, r in rows.items():
        init = ", ".join(f"{e:+.4f}" for e in r["init_effects"])
        data = ", ".join(f"{e:+.4f}" for e in r["data_effects"])
        lines.append(
            f"| {workload} | {init} | {data} | {r['sd_init']:.4f} | {r['sd_data']:.4f} "
            f"| {r['sd_residual']:.4f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("specs", nargs="*", help="specs whose trials share seeds")
    options.add_argument("--seeds", default="2,3,4", help="the seeds every configuration has")
    options.add_argument("--results", default="results")
    options.add_argument("--sources", nargs="*", default=[], help="workloads to train apart")
    options.add_argument("--suite", default=str(SUITE))
    args = options.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    if args.sources:
        found = {name: sources(name, Path(args.suite), seeds) for name in args.sources}
        print(sources_markdown(found, seeds))
        return
    rows = analyse([Path(s) for s in args.specs], Path(args.results), seeds)
    print(markdown(rows, seeds))


if __name__ == "__main__":
    main()

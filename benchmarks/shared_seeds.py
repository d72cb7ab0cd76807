"""Is a seed's luck shared by every configuration trained with it? A two-way analysis.

A trial's seed fixes its initial parameters and the order of its batches, whatever its
hyperparameters. If that makes some seeds good for every configuration, one seed moves a whole
sample of points at once: a hardness count on one seed (Table 4's layout, every point trained
once) is then one draw of a wide distribution, not a share of points. This fits each
workload's best metrics as configuration effect + seed effect + residual, on the
configurations of ``SPEC``s trained with every one of ``--seeds`` (a two-way analysis of
variance without replication), and prints the seed effects, their standard deviation beside
the residual's, and the F-test that the seeds' effects are all zero.

``python -m benchmarks.shared_seeds specs/findings/*.toml --seeds 2,3,4``; the table goes into
benchmarks/workloads.md ("Levers").
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import attrs
import numpy as np
from scipy.stats import f as f_distribution

import hpbench
from hpbench.scoring import score_trial


def best_metrics(specs: list[Path], results: Path) -> dict[str, dict[object, dict[int, float]]]:
    """Per workload, per configuration (a trial with its seed set aside), the best metric of
    each finished seed; a trial two specs share counts once."""
    out: dict[str, dict[object, dict[int, float]]] = {}
    for spec in specs:
        plan = hpbench.plan(spec)
        finished = hpbench.Results(results).of(plan)
        for trial in plan.trials:
            result = finished.get(trial.id)
            if result is None or not result.status.finished:
                continue
            best = score_trial(result, trial.id).best_metric
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="+", help="specs whose trials share seeds")
    parser.add_argument("--seeds", default="2,3,4", help="the seeds every configuration has")
    parser.add_argument("--results", default="results")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",")]
    rows = analyse([Path(s) for s in args.specs], Path(args.results), seeds)
    print(markdown(rows, seeds))


if __name__ == "__main__":
    main()

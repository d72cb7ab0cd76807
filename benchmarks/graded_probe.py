"""What makes a mini target hard for naive Adam? Trains data variants of a mini workload.

For each variant (a training set cut to ``num_train`` rows and/or a fraction ``noise`` of
the train AND validation labels replaced by uniformly random classes, an irreducible error
floor), built here without touching the shipped workload's data: tuned NAdamW (the suite's
best point, see ``bench_criteria``) at the target-setting horizon (a quarter of
``max_steps``) with several seeds, whose median best metric is the would-be target; naive
Adam (constant 1e-3) over the full budget, which reaches that target or not; tuned NAdamW
over the full budget (the late gain). ``--lrs`` adds a learning-rate sweep of the tuned point
at the quarter horizon (``--lr-seeds`` seeds from 0) to see whether the best point moves.

``nice -n 5 python -m benchmarks.graded_probe imagenet_resnet --variants 0:0 0.2:4096``;
the table goes into benchmarks/workloads.md ("Probe: what makes a mini target hard").
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from benchmarks.bench_criteria import NAIVE_ADAM, curve, suite_targets


def variant(workload, noise: float, num_train: int, seed: int = 0):
    """``workload`` with its first ``num_train`` training rows (0: all) and a fraction
    ``noise`` of train and validation labels replaced by random classes (seeded)."""
    import attrs

    data = {k: np.asarray(v) for k, v in workload.data.items()}
    if num_train:
        for key in [k for k in data if k.startswith("train_")]:
            data[key] = data[key][:num_train]
    rng = np.random.default_rng([seed, round(noise * 1e6), num_train])
    classes = getattr(workload.config, "num_classes", 2)  # criteo's clicks are binary
    for key in ("train_labels", "valid_labels") if noise else ():
        labels = data[key].copy()
        flip = rng.random(len(labels)) < noise
        labels[flip] = rng.integers(0, classes, int(flip.sum()))
        data[key] = labels
    return attrs.evolve(workload, data=data)


def probe(
    name: str, noise: float, num_train: int, seeds: int, lrs: list[float], lr_seeds: int = 1
) -> dict:
    """The would-be target of one data variant and whether naive Adam reaches it."""
    from hpbench.workloads.registry import load_workload

    base = load_workload(name, "mini")
    workload = variant(base, noise, num_train)
    better = max if workload.info.direction == "max" else min
    _, point = suite_targets()[name]
    warmup, point = point.pop("warmup"), {k: v for k, v in point.items() if k != "horizon"}
    full, quarter = workload.max_steps, max(1, round(0.25 * workload.max_steps))
    start = time.perf_counter()
    sweep = {}
    for lr in lrs:
        hp = {**point, "learning_rate": lr}
        sweep[lr] = [
            better(curve(workload, "nadamw", hp, "warmup_cosine", warmup, quarter, s)[1])
            for s in range(lr_seeds)
        ]
    quarter_bests = [
        better(curve(workload, "nadamw", point, "warmup_cosine", warmup, quarter, s)[1])
        for s in range(seeds)
    ]
    target = statistics.median(quarter_bests)
    reached = (lambda v: v >= target) if better is max else (lambda v: v <= target)
    tuned = curve(workload, "nadamw", point, "warmup_cosine", warmup, full, 0)[1]
    steps, naive = curve(workload, "adamw", NAIVE_ADAM, "constant", 0.0, full, 0)
    first = next((s for s, v in zip(steps, naive, strict=True) if reached(v)), None)
    return {
        "variant": f"noise {noise:g}, train {num_train or len(base.data['train_labels'])}",
        "epochs": full * workload.batch_size / len(workload.data["train_labels"]),
        "metric": workload.info.metric,
        "target": target,
        "spread": max(quarter_bests) - min(quarter_bests),
        "tuned_full": better(tuned),
        "naive_best": better(naive),
        "naive_final": naive[-1],
        "naive_reaches": None if first is None else first / full,
        "sweep": sweep,
        "seconds": time.perf_counter() - start,
    }


def render(rows: list[dict]) -> str:
    """The probe's rows as a Markdown table."""
    lines = [
        "| variant | epochs | target (quarter, median) : spread | tuned NAdamW full | naive Adam "
        "best (final) | naive reaches target at | lr sweep at the quarter, per seed | s |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reach = "no" if r["naive_reaches"] is None else f"{r['naive_reaches']:.2f} of budget"
        sweep = "; ".join(
            f"{lr:.3g}: " + ", ".join(f"{v:.4g}" for v in values)
            for lr, values in r["sweep"].items()
        )
        lines.append(
            f"| {r['variant']} | {r['epochs']:.1f} | {r['metric']} {r['target']:.4g} : "
            f"{r['spread']:.3g} | {r['tuned_full']:.4g} | {r['naive_best']:.4g} "
            f"({r['naive_final']:.4g}) | {reach} | {sweep or '-'} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="a mini workload with a target in the suite file")
    parser.add_argument(
        "--variants", nargs="+", default=["0:0"], help="NOISE:NUM_TRAIN (0: all rows)"
    )
    parser.add_argument("--seeds", type=int, default=2, help="seeds of the quarter runs")
    parser.add_argument("--lrs", type=float, nargs="*", default=[], help="quarter lr sweep")
    parser.add_argument("--lr-seeds", type=int, default=1, help="seeds of each swept lr")
    args = parser.parse_args()
    rows = []
    for spec in args.variants:
        noise, num_train = spec.split(":")
        row = probe(args.name, float(noise), int(num_train), args.seeds, args.lrs, args.lr_seeds)
        rows.append(row)
        print(render(rows[-1:]).splitlines()[-1], flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(render(rows))


if __name__ == "__main__":
    main()

"""What makes a mini target hard for naive Adam? Trains data variants of a mini workload.

For each data variant (``train_rows`` / ``label_noise`` as a spec sets them,
``hpbench.workloads.data_variant``: the first ``num_train`` training examples, a share
``noise`` of the train AND validation class labels replaced by random classes):

1. a learning-rate check of the suite's tuned NAdamW point (``bench_criteria``) at the
   target-setting horizon (a quarter of ``max_steps``), seed 0, at ``--lrs`` (default: the
   suite's learning rate x 1/3, x 1, x 3);
2. the best of those learning rates with ``--seeds`` seeds at the quarter: the median of
   their best metrics is the would-be target, max - min its spread;
3. that point over the full budget (seed 0): item 1's curve checks (``curve_checks``);
4. naive Adam (constant 1e-3, no weight decay) over the full budget, seed 0: its best metric
   and the share of the budget at which it first reaches the would-be target.

``nice -n 5 python -m benchmarks.graded_probe imagenet_resnet --variants 0.2:2048``;
the table goes into benchmarks/workloads.md ("Graded mini suite").
"""

from __future__ import annotations

import json
import os
import statistics
import time

from benchmarks import parser
from benchmarks.bench_criteria import NAIVE_ADAM, curve, suite_targets
from hpbench.direction import best_of, sign


def train_size(data: dict) -> int:
    """Examples in the training split: rows of ``train_labels``, else of any train array."""
    key = "train_labels" if "train_labels" in data else min(k for k in data if "train_" in k)
    return len(data[key])


def curve_checks(steps: list[int], values: list[float], quarter: int, better) -> dict:
    """Item 1's checks on one full-budget curve (as ``bench_criteria``): plateau = share of
    the budget before the metric moves 10% of the way from its start to its best; jump =
    largest change between evaluations over that range; late gain = (best - best within
    the first quarter) over that range."""
    best = better(values)
    span = (best - values[0]) or float("nan")
    progress = [(v - values[0]) / span for v in values]
    plateau = next(s for s, p in zip(steps, progress, strict=True) if p >= 0.1) / steps[-1]
    early = better(v for s, v in zip(steps, values, strict=True) if s <= quarter)
    return {
        "start": values[0],
        "plateau": plateau,
        "jump": max(abs(b - a) for a, b in zip(progress, progress[1:], strict=False)),
        "late_gain": (best - early) / span,
    }


def probe(name: str, noise: float, num_train: int, seeds: int, lrs: list[float]) -> dict:
    """The would-be target of one data variant, its curve checks, and naive Adam against it."""
    from hpbench.workloads.registry import load_workload

    workload = load_workload(name, "mini", train_rows=num_train or None, label_noise=noise)
    better = best_of(workload.info.direction)
    higher = -sign(workload.info.direction)
    _, point = suite_targets()[name]
    warmup, point = point.pop("warmup"), {k: v for k, v in point.items() if k != "horizon"}
    full, quarter = workload.max_steps, max(1, round(0.25 * workload.max_steps))
    start = time.perf_counter()

    def quarter_best(lr: float, seed: int) -> float:
        hp = {**point, "learning_rate": lr}
        return better(
            curve(workload, full, "nadamw", hp, "warmup_cosine", warmup, quarter, seed)[1]
        )

    lrs = lrs or [point["learning_rate"] * f for f in (1 / 3, 1, 3)]
    sweep = {lr: quarter_best(lr, 0) for lr in lrs}
    lr = better(sweep, key=sweep.get)
    quarter_bests = [sweep[lr]] + [quarter_best(lr, s) for s in range(1, seeds)]
    target = statistics.median(quarter_bests)
    spread = max(quarter_bests) - min(quarter_bests)
    hp = {**point, "learning_rate": lr}
    steps, tuned = curve(workload, full, "nadamw", hp, "warmup_cosine", warmup, full, 0)
    _, naive = curve(workload, full, "adamw", NAIVE_ADAM, "constant", 0.0, full, 0)
    first = next((s for s, v in zip(steps, naive, strict=True) if higher * (v - target) >= 0), None)
    gap = higher * (target - better(naive))  # > 0: naive Adam misses the target
    return {
        "workload": name,
        "variant": f"noise {noise:g}, train {num_train or train_size(workload.data)}",
        "epochs": full * workload.batch_size / train_size(workload.data),
        "metric": workload.info.metric,
        "sweep": sweep,
        "lr": lr,
        "quarter_bests": quarter_bests,
        "target": target,
        "spread": spread,
        "tuned_full": better(tuned),
        **curve_checks(steps, tuned, quarter, better),
        "position": (target - tuned[0]) / ((better(tuned) - tuned[0]) or float("nan")),
        "naive_best": better(naive),
        "naive_final": naive[-1],
        "naive_reaches": None if first is None else first / full,
        "gap_over_spread": gap / spread if spread else float("nan"),
        "seconds": time.perf_counter() - start,
    }


def render(rows: list[dict]) -> str:
    """The probe's rows as a Markdown table."""
    lines = [
        "| workload | variant | epochs | lr check at the quarter, seed 0 | target: median of "
        "seeds (spread) | tuned full: best, plateau, jump, late gain, target position | "
        "naive Adam best (final) | naive reaches target | gap / spread | s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        reach = "no" if r["naive_reaches"] is None else f"{r['naive_reaches']:.2f} of budget"
        sweep = "; ".join(f"{lr:.3g}: {v:.4g}" for lr, v in r["sweep"].items())
        seeds = ", ".join(f"{v:.4g}" for v in r["quarter_bests"])
        lines.append(
            f"| {r['workload']} | {r['variant']} | {r['epochs']:.1f} | {sweep} (best "
            f"{r['lr']:.3g}) | {r['metric']} {r['target']:.4g} ({r['spread']:.3g}; {seeds}) "
            f"| {r['tuned_full']:.4g}, {r['plateau']:.2f}, {r['jump']:.2f}, "
            f"{r['late_gain']:.2f}, {r['position']:.2f} | {r['naive_best']:.4g} "
            f"({r['naive_final']:.4g}) | {reach} | {r['gap_over_spread']:.2g} "
            f"| {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    options = parser(__doc__)
    options.add_argument("name", help="a mini workload with a target in the suite file")
    options.add_argument(
        "--variants", nargs="+", default=["0:0"], help="NOISE:NUM_TRAIN (0: all rows)"
    )
    options.add_argument("--seeds", type=int, default=3, help="seeds of the best lr's quarter")
    options.add_argument("--lrs", type=float, nargs="*", default=[], help="quarter lr check")
    options.add_argument("--json", help="append each row as a JSON line to this file")
    args = options.parse_args()
    rows = []
    for spec in args.variants:
        noise, num_train = spec.split(":")
        row = probe(args.name, float(noise), int(num_train), args.seeds, args.lrs)
        row["load"] = os.getloadavg()[0]
        rows.append(row)
        print(render(rows[-1:]).splitlines()[-1], flush=True)
        if args.json:
            with open(args.json, "a") as out:
                out.write(json.dumps(row, default=float) + "\n")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(render(rows))


if __name__ == "__main__":
    main()

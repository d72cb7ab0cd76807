"""Scoring and rendering 10,000 synthetic trials (the issue's budget: at most 10 s).

Five specs (algorithm labels), each a 50-point list run with 5 seeds on the eight mini
workloads: 5 x 50 x 5 x 8 = 10,000 trials of 20 evaluations each, written to a temporary
results store first (not timed), then read, scored and rendered as ``hpbench report`` does.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs

from benchmarks import MINI_SUITE, parser
from benchmarks.synthetic_results import make_result, make_trial, write_result
from hpbench.plan import Plan
from hpbench.report.data import SpecRun, build_report
from hpbench.report.render import render

WORKLOADS = MINI_SUITE
SPECS, POINTS, SEEDS = 5, 50, 5


def make_plans(points: int = POINTS) -> list[Plan]:
    """``SPECS`` synthetic NAdamW lists of ``points`` points on the eight workloads, with
    ``SEEDS`` seeds each (bench_store sizes its stores with ``points``)."""
    plans = []
    for spec in range(SPECS):
        trials = tuple(
            make_trial(
                workload,
                "nadamw",
                {"learning_rate": 1e-4 * (1 + point), "weight_decay": 0.01 * spec},
                seed=seed,
                eval_every=50,
            )
            for point in range(points)
            for workload in WORKLOADS
            for seed in range(SEEDS)
        )
        plans.append(Plan(name=f"spec_{spec}", trials=trials, description="synthetic"))
    return plans


def write_store(plans: list[Plan], results: Path) -> None:
    rng = random.Random(0)
    for plan in plans:
        for trial in plan.trials:
            write_result(make_result(trial, rng.uniform(0.1, 1.3)), results)


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    plans = make_plans()
    trials = sum(len(p.trials) for p in plans)
    with tempfile.TemporaryDirectory() as directory:
        results = Path(directory) / "results"
        write_store(plans, results)
        start = time.perf_counter()
        runs = [attrs.evolve(SpecRun.load(plan, results), is_list=True) for plan in plans]
        read = time.perf_counter()
        report = build_report(runs)
        scored = time.perf_counter()
        rendered = render(report)
        rendering = time.perf_counter()
        rendered.write(Path(directory) / "report")
        written = time.perf_counter()
    shape = f"{SPECS} specs of {POINTS} points x {SEEDS} seeds on {len(report.columns)} workloads"
    print(f"{trials} trials: {shape}")
    print(f"  read results     {read - start:6.2f} s")
    print(f"  score            {scored - read:6.2f} s")
    print(
        f"  render md + html {rendering - scored:6.2f} s ({len(rendered.html) / 1e6:.1f} MB HTML)"
    )
    print(f"  write            {written - rendering:6.2f} s")
    print(f"  score + render   {rendering - read:6.2f} s (budget 10 s)")
    print(f"  read + score + render {rendering - start:6.2f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

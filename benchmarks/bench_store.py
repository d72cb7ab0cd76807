"""``score`` + ``report`` over a generated store of N trials, cold (no index) and warm.

Five specs (algorithm labels) of ``N / 200`` points x 8 mini workloads x 5 seeds, 20
evaluations per trial, written in the real store format (``hpbench.report.synthetic``)
under ``benchmarks/.out/store-<N>/`` and kept there, so a rerun times reading, not
generation (generation is timed on its own). ``score`` is reading + scoring + the score
table; ``report`` the same reading + scoring + rendering Markdown and HTML.

    python -m benchmarks.bench_store 1000 10000 100000
"""

from __future__ import annotations

import io
import os
import random
import shutil
import sys
import time
from pathlib import Path

import attrs
from rich.console import Console

from benchmarks import MINI_SUITE, bench_report
from hpbench.plan import Plan
from hpbench.report.data import SpecRun, build_report
from hpbench.report.render import render
from hpbench.report.synthetic import make_result, write_result
from hpbench.results.index import INDEX_NAME, ResultsIndex
from hpbench.scoring import scores_table

WORKLOADS = MINI_SUITE
SPECS, SEEDS = bench_report.SPECS, bench_report.SEEDS
OUT = Path(__file__).parent / ".out"


def make_plans(trials: int) -> list[Plan]:
    """bench_report's pool, ``trials / (SPECS * 8 * SEEDS)`` points per list."""
    return bench_report.make_plans(max(1, trials // (SPECS * len(WORKLOADS) * SEEDS)))


def ensure_store(plans: list[Plan], results: Path) -> float:
    """Write the store unless a complete one is there; the seconds it took (0: reused)."""
    done = results / ".complete"
    if done.exists():
        return 0.0
    shutil.rmtree(results, ignore_errors=True)
    start = time.perf_counter()
    rng = random.Random(0)
    for plan in plans:
        for trial in plan.trials:
            write_result(make_result(trial, rng.uniform(0.1, 1.3)), results)
    done.touch()
    return time.perf_counter() - start


def score_and_report(plans: list[Plan], results: Path) -> dict[str, float]:
    """Seconds to read, score, print the score table and render, as the commands do; and
    the process's CPU seconds for all of it ("cpu": on a loaded machine, wall time is
    inflated by waiting for a core; CPU time much less)."""
    times = {}
    cpu = time.process_time()
    start = time.perf_counter()
    index = ResultsIndex(results)
    runs = [attrs.evolve(SpecRun.load(plan, results, None, index), is_list=True) for plan in plans]
    index.save()
    times["read"] = time.perf_counter() - start
    start = time.perf_counter()
    report = build_report(runs)
    times["score"] = time.perf_counter() - start
    start = time.perf_counter()
    Console(file=io.StringIO(), width=200).print(scores_table(report.scores))
    times["table"] = time.perf_counter() - start
    start = time.perf_counter()
    render(report)
    times["render"] = time.perf_counter() - start
    times["cpu"] = time.process_time() - cpu
    return times


def bench(trials: int) -> None:
    plans = make_plans(trials)
    n = sum(len(p.trials) for p in plans)
    results = OUT / f"store-{n}"
    generated = ensure_store(plans, results)
    print(
        f"{n} trials ({SPECS} specs x {n // SPECS // 40} points x 8 workloads x 5 seeds), "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if generated:
        print(f"  generate             {generated:7.2f} s")
    (results / INDEX_NAME).unlink(missing_ok=True)
    for phase in ("cold (no index)", "warm (index fresh)"):
        t = score_and_report(plans, results)
        score = t["read"] + t["score"] + t["table"]
        report = t["read"] + t["score"] + t["render"]
        print(
            f"  {phase:19s} read {t['read']:6.2f}  score {t['score']:6.2f}  table "
            f"{t['table']:5.2f}  render {t['render']:6.2f}  -> score {score:6.2f} s, "
            f"report {report:6.2f} s (cpu {t['cpu']:6.2f} s in all)"
        )


def main(sizes: list[int] | None = None) -> None:
    for trials in sizes or [1000, 10000]:
        bench(trials)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or None)

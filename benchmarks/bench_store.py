"""``score`` + ``report`` over a generated store of N trials, cold (no index) and warm.

Five specs (algorithm labels) of ``N / 200`` points x 8 mini workloads x 5 seeds, 20
evaluations per trial, written in the real store format (``benchmarks.synthetic_results``)
under ``benchmarks/.out/store-<N>/`` and kept there, so a rerun times reading, not
generation (generation is timed on its own). ``score`` is reading + scoring + the score
table; ``report`` the same reading + scoring + rendering Markdown and HTML.

    python -m benchmarks.bench_store 1000 10000 100000
    python -m benchmarks.bench_store 100000 --warm   # keep the index: two warm runs
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
from benchmarks.synthetic_results import make_result, write_result
from hpbench.plan import Plan
from hpbench.report.data import SpecRun, build_report
from hpbench.report.render import render
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


def score_and_report(plans: list[Plan], results: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds to read, score, print the score table and render, as the
    commands do. On a loaded machine wall time is inflated by waiting for a core and for
    the disk; the process's CPU time much less."""
    times = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        times[name] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    index = ResultsIndex(results)
    runs = [attrs.evolve(SpecRun.load(plan, results, None, index), is_list=True) for plan in plans]
    index.save()
    lap("read")
    report = build_report(runs)
    lap("score")
    Console(file=io.StringIO(), width=200).print(scores_table(report.scores))
    lap("table")
    render(report)
    lap("render")
    return times


def _line(t: dict[str, tuple[float, float]], k: int) -> str:
    score = t["read"][k] + t["score"][k] + t["table"][k]
    report = t["read"][k] + t["score"][k] + t["render"][k]
    return (
        f"read {t['read'][k]:6.2f}  score {t['score'][k]:6.2f}  table {t['table'][k]:5.2f}  "
        f"render {t['render'][k]:6.2f}  -> score {score:6.2f} s, report {report:6.2f} s"
    )


def bench(trials: int, warm_only: bool = False) -> None:
    """Cold (index deleted) then warm; ``warm_only``: keep the index, two warm runs. Each
    run compiles its plans afresh, so hashing the trial ids is timed, as in a command."""
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
    phases = ("warm (index fresh)", "warm, again")
    if not warm_only:
        (results / INDEX_NAME).unlink(missing_ok=True)
        phases = ("cold (no index)", "warm (index fresh)")
    for phase in phases:
        t = score_and_report(make_plans(trials), results)
        print(f"  {phase:19s} wall {_line(t, 0)}")
        print(f"  {'':19s} CPU  {_line(t, 1)}")


def main(sizes: list[int] | None = None, warm_only: bool = False) -> None:
    for trials in sizes or [1000, 10000]:
        bench(trials, warm_only)


if __name__ == "__main__":
    args = sys.argv[1:]
    main([int(a) for a in args if a != "--warm"] or None, "--warm" in args)

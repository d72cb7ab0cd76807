"""``hpbench score`` and ``hpbench report`` end to end over a generated store of N trials.

Five spec files (published lists, one algorithm label each) of ``N / 200`` points x 8 mini
workloads x 5 seeds, 12-40 evaluations per trial (every 50 steps), and their results in the real
store format (``benchmarks.synthetic_results``), written under
``benchmarks/.out/specs-<N>/{specs,results}/`` and kept there, so a rerun times the
commands, not generation (generation is timed on its own). Each command runs as a user
runs it, in a fresh interpreter: ``hpbench score SPEC... --results R`` and ``hpbench
report SPEC... --results R --out DIR`` (wall and CPU user+sys of the child). Then the
same work in process, by phase: compile the specs into Trials, read the results
(through the index), score, the score table; for the report the points' scores and the
seeds' spread (computed only for it), rendering Markdown and HTML.

    python -m benchmarks.bench_store 1000 10000 100000
    python -m benchmarks.bench_store 100000 --warm   # keep the index: two warm runs
"""

from __future__ import annotations

import io
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from benchmarks import MINI_SUITE, parser
from benchmarks.synthetic_results import TARGETS, make_result, write_result
from hpbench.collector import gc_paused
from hpbench.report.data import build_report, compile_specs, load_runs
from hpbench.report.render import render
from hpbench.results.index import INDEX_NAME
from hpbench.scoring import scores_table
from hpbench.workloads.registry import get_workload

SPECS, SEEDS, EVAL_EVERY = 5, 5, 50
OUT = Path(__file__).parent / ".out"


def spec_text(number: int, points: int) -> str:
    """Spec ``number``: a published NAdamW list of ``points`` points (learning rates
    1e-4 x 1..points, weight decay 0.01 x number) on the eight mini workloads, each
    evaluated every 50 steps against a synthetic target, with ``SEEDS`` seeds."""
    lines = [
        "[benchmark]",
        f'name = "bench_{number}"',
        'description = "synthetic (benchmarks/bench_store.py)"',
        "",
        "[algorithm]",
        'name = "nadamw"',
    ]
    for point in range(points):
        lines += [
            "",
            "[[algorithm.points]]",
            f"learning_rate = {1e-4 * (1 + point)!r}",
            f"weight_decay = {0.01 * number!r}",
        ]
    lines += ["", "[schedule]", 'shape = "warmup_cosine"', "warmup = 0.05", "horizon = 1.0"]
    lines += ["", "[run]", f"seeds = {list(range(SEEDS))}"]
    for workload in MINI_SUITE:
        metric = get_workload(workload).metric
        lines += [
            "",
            f"[workloads.{workload}]",
            'size = "mini"',
            f'target = {{ metric = "{metric}", value = {TARGETS[metric]!r} }}',
            f"eval_every = {EVAL_EVERY}",
        ]
    return "\n".join(lines) + "\n"


def ensure_store(trials: int) -> tuple[list[Path], Path, float]:
    """The spec files and results directory of the ``trials``-trial store, and the seconds
    it took to write them (0: a complete one was there)."""
    root = OUT / f"specs-{trials}"
    specs = [root / "specs" / f"bench_{n}.toml" for n in range(SPECS)]
    results = root / "results"
    if (root / ".complete").exists():
        return specs, results, 0.0
    shutil.rmtree(root, ignore_errors=True)
    start = time.perf_counter()
    specs[0].parent.mkdir(parents=True)
    points = max(1, trials // (SPECS * len(MINI_SUITE) * SEEDS))
    for number, path in enumerate(specs):
        path.write_text(spec_text(number, points))
    rng = random.Random(0)
    for _, plan in compile_specs(specs):
        for trial in plan.trials:
            write_result(make_result(trial, rng.uniform(0.1, 1.3)), results)
    (root / ".complete").touch()
    return specs, results, time.perf_counter() - start


def command(*argv: str) -> tuple[float, float]:
    """(wall, CPU user+sys) seconds of ``hpbench *argv`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "hpbench.cli", *argv], capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode:
        raise SystemExit(f"hpbench {' '.join(argv)}: exit {done.returncode}\n{done.stderr}")
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return wall, cpu


@gc_paused  # as the commands run
def phases(specs: list[Path], results: Path) -> dict[str, tuple[float, float]]:
    """(wall, CPU) seconds of each phase of the commands, in this process: compiling the
    specs, reading (through the index, saved), scoring, the score table (``score``), the
    points' scores and the seeds' spread, rendering (``report``)."""
    times = {}
    clock = (time.perf_counter(), time.process_time())

    def lap(name: str) -> None:
        nonlocal clock
        now = (time.perf_counter(), time.process_time())
        times[name] = (now[0] - clock[0], now[1] - clock[1])
        clock = now

    compile_specs(specs)
    lap("compile")
    runs = load_runs(specs, results)
    lap("compile+read")
    report = build_report(runs)
    lap("score")
    Console(file=io.StringIO(), width=200).print(scores_table(report.scores))
    lap("table")
    assert report.point_scores and report.spread  # computed on first use: report only
    lap("points")
    render(report)
    lap("render")
    return times


def bench(trials: int, warm_only: bool = False) -> None:
    """Cold (the index deleted before each command) then warm; ``warm_only``: keep the
    index, two warm runs. A run is both commands, then their phases in process."""
    specs, results, generated = ensure_store(trials)
    n = sum(1 for _ in os.scandir(results)) - (results / INDEX_NAME).exists()
    print(f"{n} trials in {results}, load average {os.getloadavg()[0]:.1f}")
    if generated:
        print(f"  generate             {generated:7.2f} s")
    start = command("--version")
    print(f"  interpreter + `hpbench --version`: wall {start[0]:.2f} s, CPU {start[1]:.2f} s")
    runs = ("warm (index fresh)", "warm, again")
    if not warm_only:
        runs = ("cold (no index)", "warm (index fresh)")
    paths = [str(s) for s in specs]
    with tempfile.TemporaryDirectory() as out:
        for run in runs:
            load = os.getloadavg()[0]
            cold = run.startswith("cold")
            if cold:
                (results / INDEX_NAME).unlink(missing_ok=True)
            score = command("score", *paths, "--results", str(results))
            if cold:
                (results / INDEX_NAME).unlink(missing_ok=True)
            report = command("report", *paths, "--results", str(results), "--out", out)
            print(
                f"  {run:19s} hpbench score: wall {score[0]:6.2f} s, CPU {score[1]:6.2f} s; "
                f"hpbench report: wall {report[0]:6.2f} s, CPU {report[1]:6.2f} s "
                f"(load {load:.1f} before, {os.getloadavg()[0]:.1f} after)"
            )
            t = phases(specs, results)
            for k, kind in enumerate(("wall", "CPU")):
                print(
                    f"  {'in process':19s} {kind:4s} compile {t['compile'][k]:5.2f}  read "
                    f"{t['compile+read'][k] - t['compile'][k]:5.2f}  score {t['score'][k]:5.2f}  "
                    f"table {t['table'][k]:5.2f}  points+spread {t['points'][k]:5.2f}  "
                    f"render {t['render'][k]:5.2f}"
                )


def main(argv: Sequence[str] = ()) -> None:
    options = parser(__doc__)
    options.add_argument("sizes", nargs="*", type=int, default=[1000, 10000], help="trials")
    options.add_argument(
        "--warm", action="store_true", help="keep the index: two warm runs, no cold one"
    )
    args = options.parse_args(argv)
    for trials in args.sizes:
        bench(trials, args.warm)


if __name__ == "__main__":
    main(sys.argv[1:])

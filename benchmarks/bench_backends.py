"""Backends: a 16-trial search through ``pool`` (2 workers) against ``local``, and Ray's
scheduling overhead per job.

The search is 4 learning rates x 4 seeds of AdamW on a workload (default ``toy_mlp`` at
its full 400 steps; ``HPBENCH_BENCH_WORKLOAD=criteo`` for a mini one). Seeds split packs,
so it is 4 jobs of 4 trials. Each backend runs it as a fresh ``hpbench run`` process into
an empty results directory, so both pay JAX's import and compilation: the wall-clock ratio
local / pool is what a user sees. Ray's overhead is measured on a local cluster of 2 CPUs
by running 16 jobs whose trials are already finished (``run_job`` only reads their
statuses): the first round includes starting the workers, the second is the steady state.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser

ROOT = Path(__file__).resolve().parent.parent
WORKLOAD = os.environ.get("HPBENCH_BENCH_WORKLOAD", "toy_mlp")


def write_spec(directory: Path) -> Path:
    suite = (
        ROOT / "specs" / "suites" / ("toy.toml" if WORKLOAD == "toy_mlp" else "algoperf_mini.toml")
    )
    only = "" if WORKLOAD == "toy_mlp" else _only(WORKLOAD)
    path = directory / "bench_backends.toml"
    path.write_text(
        f"""
[benchmark]
name = "bench_backends"
extends = "{suite}"
{only}
[algorithm]
name = "adamw"

[schedule]
shape = "warmup_cosine"
warmup = 0.05
horizon = 1.0

[grid]
learning_rate = [3e-2, 1e-2, 3e-3, 1e-3]
seed = [0, 1, 2, 3]
"""
    )
    return path


def _only(workload: str) -> str:
    """Skip every workload of the mini suite but ``workload``."""
    from hpbench.workloads.registry import WORKLOADS

    others = (name for name in WORKLOADS if name not in (workload, "toy_mlp"))
    return "".join(f"[workloads.{name}]\nskip = true\n" for name in others)


def time_run(spec: Path, results: Path, runner: str) -> float:
    """Wall-clock seconds of ``hpbench run SPEC --runner RUNNER`` into ``results``."""
    command = [
        sys.executable,
        "-m",
        "hpbench.cli",
        "run",
        str(spec),
        "--quiet",
        "--results",
        str(results),
        "--runner",
        runner,
    ]
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def ray_overhead(spec: Path, results: Path) -> tuple[float, float]:
    """Seconds per job of Ray scheduling (cold round, warm round) on finished jobs."""
    import ray

    from hpbench.backends import ray as ray_backend
    from hpbench.backends.profile import RunnerProfile
    from hpbench.spec import load_plan
    from hpbench.train import make_jobs

    jobs = make_jobs(load_plan(spec).trials, pack=1)  # 16 jobs of one finished trial each
    ray.init(num_cpus=2, include_dashboard=False)
    try:
        rounds = []
        for _ in range(2):
            start = time.perf_counter()
            outcomes = ray_backend.run_jobs(jobs, results, RunnerProfile(backend="ray"))
            rounds.append((time.perf_counter() - start) / len(jobs))
            assert all(o.state == "skipped" for o in outcomes)
    finally:
        ray.shutdown()
    return rounds[0], rounds[1]


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        spec = write_spec(tmp)
        load = os.getloadavg()[0]
        local = time_run(spec, tmp / "local", "local")
        pool = time_run(spec, tmp / "pool", str(ROOT / "runners" / "pool.toml"))
        print(
            f"16-trial {WORKLOAD} search: local {local:.1f} s, pool (2 workers) {pool:.1f} s, "
            f"local/pool = {local / pool:.2f} (load average {load:.1f} at start)"
        )
        cold, warm = ray_overhead(spec, tmp / "local")
        print(
            f"ray: {cold:.3f} s per job in the first round (workers starting), "
            f"{warm:.3f} s per job warm (16 finished jobs, local cluster of 2 CPUs)"
        )
        print(f"load average at end: {os.getloadavg()[0]:.1f}; cores: {os.cpu_count()}")


if __name__ == "__main__":
    main(sys.argv[1:])

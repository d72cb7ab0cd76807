"""Search throughput: points per hour of a quasi-random NAdamW search, packed vs one by one.

A point is trained on every chosen workload (the same points on each, as a search does);
"packed" trains the points of a workload as one program (``--pack`` = the number of
points), "one by one" as one program each (``--pack 1``), "default" as ``hpbench run``
does without ``--pack`` (on CPU one member per CPU device, but packs sized from memory
for the workloads registered with ``vmap_on_cpu``). Each mode and workload is one fresh
``hpbench run`` process with an empty compilation cache, so wall time includes its start
and compilation, as a search's first process pays them (in a short run they are most of
it); ``--warm`` times a second run instead, which loads the programs the first compiled,
as every later process of a search over the same programs does (a rerun, a resumed or
extended search, a calibration's re-runs). Data is generated (cached) before timing.
Training seconds (the engine's clock: no compilation, evaluation or checkpoints) are read
back from the results, once per job (a pack's members share its clock). The space is the
NAdamW-list paper's broad space without dropout (dropout shapes the program, so its two
values would split every pack in two).

``python -m benchmarks search`` (toy_mlp, 8 points, 400 steps); the mini suite at the size
of the committed searches (16 points; ~20 minutes on 2 cores per attempt):
``python -m benchmarks.bench_search --workloads criteo fastmri imagenet_resnet imagenet_vit
librispeech_conformer librispeech_deepspeech ogbg wmt --points 16 --horizon 0.25 --modes
"one by one" default``. A short search is mostly its processes' start and compilation,
which packing cannot share; a search's throughput is the rate of a search of useful size.
Record the printed table in ``benchmarks/LOG.md`` with the machine and its load.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import parser

ROOT = Path(__file__).resolve().parent.parent
SPACE = """
[search]
points = {points}
seed = 0
space.learning_rate = {{ scale = "log", low = 1e-4, high = 1e-2 }}
space.one_minus_beta1 = {{ scale = "log", low = 1e-3, high = 0.2 }}
space.one_minus_beta2 = {{ scale = "log", low = 1e-3, high = 0.2 }}
space.warmup = {{ values = [0.02, 0.05, 0.1] }}
space.weight_decay = {{ scale = "log", low = 1e-4, high = 0.5 }}
space.label_smoothing = {{ values = [0.0, 0.1, 0.2] }}
"""


def search_spec(workload: str, points: int, horizon: float, directory: Path) -> Path:
    """A ``points``-point search spec on one workload (of the mini suite, or toy_mlp)."""
    from hpbench.spec import load_spec

    suite = "toy" if workload == "toy_mlp" else "algoperf_mini"
    names = {w.name for w in load_spec(ROOT / "specs" / "suites" / f"{suite}.toml").workloads}
    skips = "".join(f"[workloads.{n}]\nskip = true\n" for n in sorted(names - {workload}))
    spec = directory / f"search_{workload}.toml"
    spec.write_text(
        f'[benchmark]\nextends = "{ROOT / "specs" / "suites" / f"{suite}.toml"}"\n'
        f'[algorithm]\nname = "nadamw"\n[schedule]\nhorizon = {horizon}\n'
        + skips
        + SPACE.format(points=points)
    )
    return spec


MODES = {"one by one": ["--pack", "1"], "packed": ["--pack", "{points}"], "default": []}


Seconds = dict[str, dict[str, dict[str, float]]]  # attempt -> mode -> workload -> seconds


def measure(
    workloads: list[str], points: int, horizon: float, modes: list[str], warm: bool
) -> tuple[Seconds, Seconds]:
    """Wall and training seconds of the search per attempt, mode and workload (``modes`` of
    :data:`MODES`). Each is a fresh ``hpbench run`` process into a fresh results directory,
    as a search runs, the first ("cold") with an empty compilation cache of its own;
    ``warm``: a second run of each loads the programs the first one compiled (a rerun, a
    resumed run, or any process of a search after the first that trains these programs)."""
    from hpbench.workloads.registry import load_workload

    for name in workloads:
        load_workload(name, "mini")  # generate and cache the data off the clock
    attempts = ("cold", "warm")[: 1 + warm]
    wall: Seconds = {a: {mode: {} for mode in modes} for a in attempts}
    training: Seconds = {a: {mode: {} for mode in modes} for a in attempts}
    with tempfile.TemporaryDirectory() as tmp:
        specs = {name: search_spec(name, points, horizon, Path(tmp)) for name in workloads}
        for mode in modes:
            pack = [arg.format(points=points) for arg in MODES[mode]]
            for name, spec in specs.items():
                run = Path(tmp) / mode.replace(" ", "_") / name
                environ = {**os.environ, "HPBENCH_COMPILE_CACHE_DIR": str(run / "compiled")}
                environ.pop("JAX_COMPILATION_CACHE_DIR", None)  # would win over the empty one
                for attempt in attempts:
                    results = run / attempt
                    command = [sys.executable, "-m", "hpbench.cli", "run", str(spec), "--quiet"]
                    start = time.perf_counter()
                    done = subprocess.run(
                        [*command, "--results", str(results), *pack],
                        check=False,
                        stdout=subprocess.DEVNULL,
                        env=environ,
                    )
                    wall[attempt][mode][name] = time.perf_counter() - start
                    if done.returncode != 0:
                        code = done.returncode
                        raise RuntimeError(f"{mode} on {name}: hpbench run exited {code}")
                    training[attempt][mode][name] = training_seconds(results)
    return wall, training


def training_seconds(results: Path) -> float:
    """The engine's training seconds of every job in ``results`` (each job counted once)."""
    from hpbench.results.records import read_results

    per_job: dict[str, float] = {}
    for result in read_results(results):
        job = result.status.provenance["job"]
        per_job[job] = max(per_job.get(job, 0.0), result.evals[-1].train_seconds)
    return sum(per_job.values())


def print_tables(
    workloads: list[str], points: int, wall: dict[str, dict[str, float]], training: dict
) -> None:
    """Per-workload seconds, then the totals in points per hour; the first mode is the
    baseline (one by one)."""
    modes = list(wall)
    print("| workload | " + " | ".join(modes) + f" | {modes[1]} speed-up, wall (training) |")
    print("|---|" + "---:|" * (len(modes) + 1))
    for name in workloads:
        cells = [f"{wall[mode][name]:.1f} ({training[mode][name]:.1f})" for mode in modes]
        speedup = wall[modes[0]][name] / wall[modes[1]][name]
        train_speedup = training[modes[0]][name] / training[modes[1]][name]
        print(f"| {name} | " + " | ".join(cells) + f" | {speedup:.2f}x ({train_speedup:.2f}x) |")
    print()
    print("| mode | wall s | points per hour | speed-up | training s | training speed-up |")
    print("|---|---:|---:|---:|---:|---:|")
    total = {mode: sum(per.values()) for mode, per in wall.items()}
    trained = {mode: sum(per.values()) for mode, per in training.items()}
    for mode in modes:
        print(
            f"| {mode} | {total[mode]:.1f} | {points / total[mode] * 3600:.0f} "
            f"| {total[modes[0]] / total[mode]:.2f}x | {trained[mode]:.1f} "
            f"| {trained[modes[0]] / trained[mode]:.2f}x |"
        )


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("--workloads", nargs="+", default=["toy_mlp"])
    options.add_argument("--points", type=int, default=8)
    options.add_argument("--horizon", type=float, default=1.0)
    options.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    options.add_argument(
        "--warm", action="store_true", help="also time a second run that loads compiled programs"
    )
    args = options.parse_args(argv or [])
    modes = ["one by one"] + [m for m in args.modes if m != "one by one"]  # the baseline
    if len(modes) < 2:
        options.error("--modes: name a mode to compare with one by one (packed or default)")
    wall, training = measure(args.workloads, args.points, args.horizon, modes, args.warm)
    load = os.getloadavg()[0]
    for attempt in wall:
        print(
            f"{args.points} points on {', '.join(args.workloads)}, horizon {args.horizon}, "
            f"compilation cache {attempt}; load average {load:.1f} on {os.cpu_count()} CPUs; "
            "wall s (training s)"
        )
        print_tables(args.workloads, args.points, wall[attempt], training[attempt])
        print()


if __name__ == "__main__":
    main(sys.argv[1:])

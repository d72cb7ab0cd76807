"""Search throughput: points per hour of a quasi-random NAdamW search, packed vs one by one.

A point is trained on every chosen workload (the same points on each, as a search does);
"packed" trains the points of a workload as one ``jax.vmap``-ed program (``--pack`` = the
number of points), "one by one" as one program each (``--pack 1``), "default" as ``hpbench
run`` does without ``--pack`` (packs sized from memory; one member per program for the
convolutional workloads on CPU). Wall time includes
compilation, as a real search pays it; data is generated (cached) before timing. The space
is the NAdamW-list paper's broad space without dropout (dropout shapes the program, so its
two values would split every pack in two).

``python -m benchmarks search`` (toy_mlp, 8 points, 400 steps);
``python -m benchmarks.bench_search --workloads criteo ogbg --points 8 --horizon 0.25``.
Record the printed table in ``benchmarks/README.md`` with the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

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


def search_trials(workloads: list[str], points: int, horizon: float, directory: Path) -> list:
    """The trials of a ``points``-point search on ``workloads`` (mini suite or toy)."""
    from hpbench.spec import load_plan

    suite = "toy" if workloads == ["toy_mlp"] else "algoperf_mini"
    skips = ""
    if suite == "algoperf_mini":
        from hpbench.spec import load_spec

        names = {
            w.name for w in load_spec(ROOT / "specs" / "suites" / "algoperf_mini.toml").workloads
        }
        skips = "".join(f"[workloads.{n}]\nskip = true\n" for n in sorted(names - set(workloads)))
    spec = directory / "search.toml"
    spec.write_text(
        f'[benchmark]\nextends = "{ROOT / "specs" / "suites" / f"{suite}.toml"}"\n'
        f'[algorithm]\nname = "nadamw"\n[schedule]\nhorizon = {horizon}\n'
        + skips
        + SPACE.format(points=points)
    )
    return list(load_plan(spec).trials)


def measure(workloads: list[str], points: int, horizon: float) -> dict[str, float]:
    """Wall seconds of the search trained one by one and packed (fresh results each)."""
    from hpbench.search.runs import train
    from hpbench.workloads.registry import load_workload

    for name in workloads:
        load_workload(name, "mini")  # generate and cache the data off the clock
    seconds = {}
    with tempfile.TemporaryDirectory() as tmp:
        trials = search_trials(workloads, points, horizon, Path(tmp))
        for mode, pack in (("one by one", 1), ("packed", points), ("default", None)):
            start = time.perf_counter()
            outcomes = train(trials, Path(tmp) / mode.replace(" ", "_"), pack=pack)
            seconds[mode] = time.perf_counter() - start
            failed = [o for o in outcomes if o.state == "failed"]
            if failed:
                raise RuntimeError(f"{len(failed)} trials failed: {failed[0].reason}")
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", nargs="+", default=["toy_mlp"])
    parser.add_argument("--points", type=int, default=8)
    parser.add_argument("--horizon", type=float, default=1.0)
    args = parser.parse_args(argv or [])
    seconds = measure(args.workloads, args.points, args.horizon)
    load = os.getloadavg()[0]
    print(
        f"{args.points} points on {', '.join(args.workloads)}, horizon {args.horizon}; "
        f"load average {load:.1f} on {os.cpu_count()} CPUs"
    )
    print("| mode | wall s | points per hour | speed-up |")
    print("|---|---:|---:|---:|")
    for mode, wall in seconds.items():
        speedup = seconds["one by one"] / wall
        print(f"| {mode} | {wall:.1f} | {args.points / wall * 3600:.0f} | {speedup:.2f}x |")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

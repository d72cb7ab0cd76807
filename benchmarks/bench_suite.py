"""The mini suite measured from real runs: engine speed per workload and whether the targets
discriminate (tuned NAdamW, the published 5-point list, naive Adam, a poor learning rate).

Reads the results of the specs below from ``results/`` (or ``--results DIR``), as trained by
``hpbench run``; prints the Markdown table recorded in ``benchmarks/workloads.md``. Nothing
is trained here: run the specs first (``specs/targets_graded.toml``, ``specs/nadamw_list5.toml``,
``specs/naive_adam.toml``).

- s / 1000 steps: training seconds as the engine records them (compilation, evaluation and
  checkpoints excluded) of the naive Adam trial, which trains alone (no packing);
- tuned NAdamW: the earliest learning rate of the targets' search (horizon 1/3), its median
  seed's first evaluation at the target, in steps and training seconds;
- the published list: the earliest of its five points (horizon 1/3), which point, steps and
  seconds; a "poor learning rate" is its slowest point;
- naive Adam: Optax's Adam defaults at a constant 1e-3 over the whole budget.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser

ROOT = Path(__file__).resolve().parent.parent
TARGETS = ROOT / "specs" / "targets_graded.toml"
LIST = ROOT / "specs" / "nadamw_list5.toml"
NAIVE = ROOT / "specs" / "naive_adam.toml"


def _scored(spec: Path, results_dir: Path) -> list:
    """(trial, TrialScore) of every trained trial of ``spec``."""
    from hpbench.results import read_planned
    from hpbench.scoring.time_to_target import score_trial
    from hpbench.spec import load_plan

    plan = load_plan(spec)
    found = read_planned(results_dir, plan.trials)
    return [(found[t.id].trial, score_trial(found[t.id])) for t in plan.trials if t.id in found]


def _reach(score) -> str:
    if math.isinf(score.steps):
        return "never"
    return f"{score.steps:.0f} ({score.step_fraction:.2f} T), {score.seconds:.1f} s"


def _per_workload(scored: list) -> dict[str, list]:
    grouped: dict[str, list] = {}
    for trial, score in scored:
        grouped.setdefault(trial.workload, []).append((trial, score))
    return grouped


def _median_seed(pairs: list):
    """The score of the median seed by time to target (a miss counts as infinite)."""
    ordered = sorted(pairs, key=lambda pair: (pair[1].steps, pair[1].seconds))
    return ordered[(len(ordered) - 1) // 2]


def _seconds_per_1000(pairs: list, results_dir: Path) -> float:
    from hpbench.results import read_planned

    rates = []
    for trial, _ in pairs:
        result = read_planned(results_dir, [trial])[trial.id]
        if result.evals and result.evals[-1].step:
            last = result.evals[-1]
            rates.append(1000 * last.train_seconds / last.step)
    return statistics.median(rates) if rates else math.nan


def table(results_dir: Path) -> str:
    """The Markdown table of ``benchmarks/workloads.md`` from ``results_dir``."""
    from hpbench.spec import load_plan

    search = _per_workload(_scored(TARGETS, results_dir))
    listed = _per_workload(_scored(LIST, results_dir))
    naive = _per_workload(_scored(NAIVE, results_dir))
    point_number: dict = {}  # the list's points in their published order
    for trial in load_plan(LIST).trials:
        point_number.setdefault(trial.hyperparameters, len(point_number) + 1)
    rows = [
        "| workload | target | s / 1000 steps | tuned NAdamW (lr; median seed) "
        "| 5-point list (first point) | poor lr (slowest list point) | naive Adam |",
        "|---|---|---|---|---|---|---|",
    ]
    for workload in sorted(search):
        pairs = search[workload]
        trial = pairs[0][0]
        by_rate: dict[float, list] = {}
        for t, s in pairs:
            by_rate.setdefault(t.params["learning_rate"], []).append((t, s))
        best_rate, best = min(
            ((rate, _median_seed(p)) for rate, p in by_rate.items()),
            key=lambda item: (item[1][1].steps, item[1][1].seconds),
        )
        alone = naive.get(workload) or pairs  # naive Adam trains one member per program
        cells = [
            workload,
            f"{trial.target.metric} {trial.target.value:g}",
            f"{_seconds_per_1000(alone, results_dir):.1f}",
            f"{best_rate:g}: {_reach(best[1])}",
        ]
        points = listed.get(workload, [])
        if points:
            ranked = sorted(points, key=lambda pair: (pair[1].steps, pair[1].seconds))
            cells += [
                f"point {point_number[t.hyperparameters]}: {_reach(s)}"
                for t, s in (ranked[0], ranked[-1])
            ]
        else:
            cells += ["not run", "not run"]
        naive_pairs = naive.get(workload, [])
        cells.append(_reach(naive_pairs[0][1]) if naive_pairs else "not run")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("--results", type=Path, default=ROOT / "results")
    args = options.parse_args(argv or [])
    print(table(args.results))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

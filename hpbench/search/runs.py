"""Training a search's trials through the engine, and reading back per-point step fractions.

A point's trials are its (workload, seed) trials; its step fraction on a workload is the
median over seeds (a missed seed counts as ``inf``), as :func:`hpbench.scoring.score_results`
computes it for one label per point.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import numpy as np

from hpbench.plan import Plan, Scalar, Trial
from hpbench.spec import Spec, compile_plan

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile


def point_trials(spec: Spec, point: Mapping[str, Scalar], **changes: Any) -> list[Trial]:
    """The trials of one point of ``spec`` (every workload and seed); ``changes`` replace
    Spec fields (e.g. ``seeds``), and a ``horizon`` key in ``point`` sets its horizon."""
    return list(compile_plan(attrs.evolve(spec, points=(dict(point),), **changes)).trials)


def train(
    trials: Sequence[Trial],
    results_dir: Path,
    pack: int | None = None,
    progress: Callable[[Any], None] | None = None,
    runner: RunnerProfile | str | Path | None = None,
) -> list[Any]:
    """Train ``trials`` (finished ones are reused) with :func:`hpbench.run` on ``runner``
    (a runner profile, its file or name; default: local); their outcomes."""
    from hpbench.launch import run

    plan = Plan(name="search", trials=tuple(dict.fromkeys(trials)))
    return run(plan, runner=runner, results=results_dir, pack=pack, progress=progress)


def unfinished(results_dir: Path, trials: Sequence[Trial]) -> int:
    """How many of ``trials`` (each once, by id) have no finished result in ``results_dir``."""
    from hpbench.results import read_finished

    return len({t.id for t in trials}) - len(read_finished(results_dir, trials))


def finished(results_dir: Path, trials: Sequence[Trial]) -> bool:
    """Whether every one of ``trials`` has a finished result in ``results_dir``: what the
    read-only forms of the procedures (``--no-train``) check instead of training."""
    return unfinished(results_dir, trials) == 0


@attrs.frozen(eq=False)
class PointTable:
    """Per point and workload: median step fraction and median best metric over seeds."""

    workloads: tuple[str, ...]
    directions: tuple[str, ...]  # "min"/"max" per workload
    fractions: np.ndarray  # points x workloads; inf = missed, NaN = no result
    metrics: np.ndarray  # points x workloads; NaN = none


def point_table(groups: Sequence[Sequence[Trial]], results_dir: Path) -> PointTable:
    """The table of the points whose trials are ``groups[i]``, from ``results_dir``."""
    from hpbench.results import read_planned
    from hpbench.scoring import score_results

    labels = {t.id: f"p{i:05d}" for i, group in enumerate(groups) for t in group}
    results = read_planned(results_dir, [t for group in groups for t in group])
    if not results:
        raise FileNotFoundError(f"no results of these trials in {results_dir}")
    scores = score_results(results, {i: labels[i] for i in results})
    workloads = scores.base_workloads
    fractions = np.full((len(groups), len(workloads)), np.nan)
    metrics = np.full_like(fractions, np.nan)
    directions = ["min"] * len(workloads)
    for i in range(len(groups)):
        for j, workload in enumerate(workloads):
            row = scores.row(f"p{i:05d}", workload)
            if row is not None:
                fractions[i, j], metrics[i, j] = row.step_fraction, row.best_metric
                directions[j] = row.direction
    return PointTable(tuple(workloads), tuple(directions), fractions, metrics)

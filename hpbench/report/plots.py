"""The report's figures as SVG: performance profiles and learning curves with the target."""

from __future__ import annotations

import math
import statistics
import sys
from collections.abc import Sequence

from hpbench.direction import sign, words
from hpbench.report.data import Column, Entry, Report
from hpbench.report.svg import HLine, Series, color, line_chart
from hpbench.results.records import TrialResult

#: Learning curves drawn per spec and workload: its fastest points (a long list stays readable).
MAX_CURVES_PER_ENTRY = 5


def profile_chart(report: Report) -> str:
    """The lr-free paper's Figure 1: the fraction of workloads within tau of the fastest."""
    profile = report.scores.profile
    taus = tuple(float(t) for t in profile.taus)
    rows = {label: i for i, label in enumerate(report.scores.labels)}
    series = [
        Series(
            label=f"{entry.label} ({report.score(entry):.3f})",
            xs=taus,
            ys=tuple(float(r) for r in profile.rho[rows[entry.label]]),
            color=color(index),
            steps=True,
        )
        for index, entry in enumerate(report.entries)
        if entry.label in rows
    ]
    return line_chart(
        series,
        title="Performance profiles",
        x_label=f"tau: ratio to the fastest time to target ({report.scores.time})",
        y_label="fraction of workloads",
        x_range=(taus[0], taus[-1]) if taus else None,
        y_range=(0.0, 1.02),
    )


def curve_chart(report: Report, column: Column) -> str:
    """Validation metric against step on one workload, per spec, with the target dashed."""
    series = []
    for index, entry in enumerate(report.entries):
        for rank, (point_label, trial_ids) in enumerate(fastest_points(report, entry, column)):
            steps, values = median_curve([report.results[i] for i in trial_ids], column.metric)
            series.append(
                Series(
                    label=point_label if entry.is_list else entry.label,
                    xs=steps,
                    ys=values,
                    color=color(index),
                    dashed=rank > 0,
                    width=1.8 if rank == 0 else 1.0,
                )
            )
    return line_chart(
        series,
        title=f"{column.key}: {column.metric}",
        x_label="step",
        y_label=f"{column.metric} ({words(column.direction)})",
        x_range=(0.0, float(column.max_steps)),
        hlines=[HLine(column.target, f"target {column.target:g}")],
    )


def fastest_points(
    report: Report, entry: Entry, column: Column
) -> list[tuple[str, tuple[str, ...]]]:
    """Up to MAX_CURVES_PER_ENTRY (label, trial ids) of the entry's points on ``column``,
    fastest to the target first, then by best metric."""
    rows = [r for p in entry.points if (r := report.point_row(p, column)) is not None]
    lower_better = sign(column.direction)
    rows.sort(key=lambda r: (r.steps, _nan_to_num(lower_better * r.best_metric)))
    return [(r.label, r.trial_ids) for r in rows[:MAX_CURVES_PER_ENTRY]]


def _nan_to_num(value: float) -> float:
    """``np.nan_to_num(value, nan=inf)`` of one float (infinities become the largest
    floats), in Python: numpy's call cost a second over a 100,000-trial report's points."""
    if math.isnan(value):
        return math.inf
    if math.isinf(value):
        return math.copysign(sys.float_info.max, value)
    return value


def median_curve(
    results: Sequence[TrialResult], metric: str
) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per evaluation step, the median over seeds of ``metric`` (NaN where a seed diverged)."""
    by_step: dict[int, list[float]] = {}
    for result in results:
        for record in result.evals:
            by_step.setdefault(record.step, []).append(record.metrics.get(metric, math.nan))
    steps = sorted(by_step)
    return tuple(float(s) for s in steps), tuple(_median(by_step[s]) for s in steps)


def _median(values: list[float]) -> float:
    """The median, NaN if any value is NaN (as ``np.median``; ~20x faster on a few values)."""
    return math.nan if any(math.isnan(v) for v in values) else float(statistics.median(values))

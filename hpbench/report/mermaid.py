"""The report's figures as Mermaid ``xychart-beta`` blocks, which GitHub draws inline in a
comment or a Markdown file (no image files), with a legend table (xychart has none).

Every text placed in a chart is reduced to a safe set of characters (no quote, bracket,
backtick, ``%`` or line break), so a spec string can neither end the chart's strings, add
a directive, nor close the code fence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import attrs
import numpy as np

from hpbench.direction import words
from hpbench.report.data import Column, Report
from hpbench.report.plots import fastest_points, median_curve
from hpbench.report.svg import PALETTE

#: Names of the palette's colours, for the legend (Mermaid draws no legend).
COLOUR_NAMES = ("blue", "orange", "green", "vermillion", "purple", "sky blue", "yellow", "black")
TARGET_COLOUR = "#999999"
#: Points per line: the profile's tau grid thinned evenly; curves resampled on a grid.
PROFILE_POINTS = 34
CURVE_POINTS = 25
UNSAFE = re.compile(r"[^A-Za-z0-9 _.,:=+/()@-]")


def mermaid_text(value: object, limit: int = 80) -> str:
    """``value`` as text that is safe inside a Mermaid string: unsafe characters become
    ``?``, whitespace one space, at most ``limit`` characters."""
    text = UNSAFE.sub("?", " ".join(str(value).split()))
    return text if len(text) <= limit else text[: limit - 1] + "?"


@attrs.frozen
class Legend:
    """One line of a chart: its colour's name and hex code, and what it shows."""

    colour: str
    hex: str
    label: str


@attrs.frozen
class Chart:
    """A Mermaid block (fenced, ready to paste) and its legend."""

    caption: str
    block: str
    legend: tuple[Legend, ...]


def _number(value: float) -> str:
    return f"{value:.4g}"


def _block(
    title: str,
    x_axis: str,
    y_axis: str,
    lines: Sequence[Sequence[float]],
    colours: Sequence[str],
) -> str:
    """A fenced ``xychart-beta`` block; ``x_axis`` and ``y_axis`` are Mermaid axis specs."""
    palette = ", ".join(colours)
    body = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + palette + '"}}}}%%',
        "xychart-beta",
        f'    title "{mermaid_text(title)}"',
        f"    x-axis {x_axis}",
        f"    y-axis {y_axis}",
        *(f"    line [{', '.join(_number(v) for v in ys)}]" for ys in lines),
        "```",
    ]
    return "\n".join(body)


def _colour(index: int) -> tuple[str, str]:
    return COLOUR_NAMES[index % len(PALETTE)], PALETTE[index % len(PALETTE)]


def profile_chart(report: Report) -> Chart:
    """The performance profiles: rho against tau, one line per entry."""
    profile = report.scores.profile
    count = len(profile.taus)
    keep = np.unique(np.linspace(0, count - 1, min(count, PROFILE_POINTS)).round().astype(int))
    taus = profile.taus[keep]
    rows = {label: i for i, label in enumerate(report.scores.labels)}
    lines, legend, colours = [], [], []
    for index, entry in enumerate(e for e in report.entries if e.label in rows):
        name, hex_ = _colour(index)
        lines.append([float(v) for v in profile.rho[rows[entry.label]][keep]])
        legend.append(Legend(name, hex_, f"{entry.label} ({report.score(entry):.3f})"))
        colours.append(hex_)
    x_axis = f'"tau: ratio to the fastest ({mermaid_text(report.scores.time)})" '
    x_axis += f"{_number(float(taus[0]))} --> {_number(float(taus[-1]))}"
    block = _block(
        "Performance profiles", x_axis, '"fraction of workloads" 0 --> 1', lines, colours
    )
    return Chart("Performance profiles", block, tuple(legend))


def resample(steps: Sequence[float], values: Sequence[float], grid: np.ndarray) -> list[float]:
    """The value of the last evaluation at or before each grid step (the first evaluation's
    before it); a NaN (diverged) holds the last finite value before it."""
    steps, values = np.asarray(steps, dtype=float), np.asarray(values, dtype=float)
    finite = ~np.isnan(values)
    steps, values = steps[finite], values[finite]
    index = np.clip(np.searchsorted(steps, grid, side="right") - 1, 0, len(steps) - 1)
    return [float(v) for v in values[index]]


def curve_chart(report: Report, column: Column) -> Chart | None:
    """Median validation metric against step on ``column``: the target (grey), then each
    entry's fastest point (a list: its fastest points); None when nothing was evaluated."""
    curves = []
    for entry in report.entries:
        for point_label, trial_ids in fastest_points(report, entry, column)[:1]:
            steps, values = median_curve([report.results[i] for i in trial_ids], column.metric)
            if any(not math.isnan(v) for v in values):
                curves.append((point_label if entry.is_list else entry.label, steps, values))
    if not curves:
        return None
    first = min(c[1][0] for c in curves)
    grid = np.linspace(first, column.max_steps, CURVE_POINTS)
    lines = [[column.target] * CURVE_POINTS]
    legend = [Legend("grey", TARGET_COLOUR, f"target {column.target:g}")]
    colours = [TARGET_COLOUR]
    for index, (label, steps, values) in enumerate(curves):
        name, hex_ = _colour(index)
        lines.append(resample(steps, values, grid))
        legend.append(Legend(name, hex_, label))
        colours.append(hex_)
    block = _block(
        f"{column.key}: {column.metric}",
        f'"step" {_number(first)} --> {_number(float(column.max_steps))}',
        f'"{mermaid_text(column.metric)} ({words(column.direction)})"',
        lines,
        colours,
    )
    return Chart(f"Learning curves on {column.key}", block, tuple(legend))


def charts(report: Report) -> tuple[Chart, ...]:
    """The profiles, then the learning curves of every workload that has any."""
    found = [profile_chart(report)]
    found += [c for column in report.columns if (c := curve_chart(report, column))]
    return tuple(found)

"""Small, dependency-free SVG line charts for reports: axes, ticks, legend, lines.

Hand-written rather than matplotlib so a report needs no optional extra, renders 10,000
trials quickly, keeps its text as text (searchable, styled by the page) and is byte-for-byte
deterministic (reports diff cleanly in a PR).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from xml.sax.saxutils import escape, quoteattr

import attrs

#: Colour-blind-safe palette (Okabe-Ito), cycled over series.
PALETTE = ("#0072b2", "#e69f00", "#009e73", "#d55e00", "#cc79a7", "#56b4e9", "#f0e442", "#000000")

WIDTH, HEIGHT = 560, 340
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 64, 16, 30, 46
LEGEND_ROW = 16
LEGEND_GAP = 4
#: A legend column: the line sample and gap (px), the width of a character (px, roughly), and
#: the narrowest column; a column is as wide as its longest label, up to the chart's width.
LEGEND_SAMPLE, LEGEND_CHAR, LEGEND_MIN = 28, 6, 180


@attrs.frozen
class Series:
    """One line: its label, colour, (x, y) points and whether it is drawn as steps."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str
    dashed: bool = False
    steps: bool = False  # a right-continuous step function (performance profiles)
    width: float = 1.8


@attrs.frozen
class HLine:
    """A labelled horizontal reference line (a validation target)."""

    y: float
    label: str
    color: str = "#444444"


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About ``count`` round ticks (1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)):
        return []
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / max(1, count)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


def format_tick(value: float) -> str:
    """A tick label: plain for ordinary numbers, scientific for very large or small ones."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        return f"{value:.0e}"
    return f"{value:g}"


def line_chart(
    series: Sequence[Series],
    *,
    title: str,
    x_label: str,
    y_label: str,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
    hlines: Sequence[HLine] = (),
    width: int = WIDTH,
    integer_x: bool = False,
) -> str:
    """An SVG line chart with axes, ticks, reference lines and a legend below the plot.

    Non-finite points break a line (a diverged run ends where its values stop being finite).
    ``integer_x`` keeps only whole-number ticks on the x axis (counts, such as nights).
    """
    x_range = x_range or _extent([x for s in series for x in s.xs])
    y_range = y_range or _extent(
        [y for s in series for y in s.ys] + [h.y for h in hlines], pad=0.05
    )
    legend = _legend_entries(series, hlines)
    longest = max((len(label) for label, _, _ in legend), default=0)
    slot = min(max(LEGEND_MIN, LEGEND_SAMPLE + LEGEND_CHAR * longest), width - MARGIN_LEFT)
    columns = max(1, (width - MARGIN_LEFT) // slot)
    legend_height = LEGEND_ROW * math.ceil(len(legend) / columns) if legend else 0
    height = HEIGHT + legend_height + (LEGEND_GAP if legend else 0)
    plot = _Frame(
        left=MARGIN_LEFT,
        top=MARGIN_TOP,
        width=width - MARGIN_LEFT - MARGIN_RIGHT,
        height=HEIGHT - MARGIN_TOP - MARGIN_BOTTOM,
        x_range=x_range,
        y_range=y_range,
    )
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label={quoteattr(title)} '
        'font-family="sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{width / 2:g}" y="18" text-anchor="middle" font-size="13" '
        f'font-weight="bold">{escape(title)}</text>',
        *_axes(plot, x_label, y_label, integer_x),
        f'<clipPath id="{_clip_id(title)}"><rect x="{plot.left}" y="{plot.top}" '
        f'width="{plot.width}" height="{plot.height}"/></clipPath>',
        f'<g clip-path="url(#{_clip_id(title)})">',
        *(_hline(plot, h) for h in hlines),
        *(_path(plot, s) for s in series),
        "</g>",
        *_legend(legend, top=HEIGHT + LEGEND_GAP, columns=columns, slot=slot),
        "</svg>",
    ]
    return "\n".join(p for p in parts if p)


@attrs.frozen
class _Frame:
    left: float
    top: float
    width: float
    height: float
    x_range: tuple[float, float]
    y_range: tuple[float, float]

    def x(self, value: float) -> float:
        low, high = self.x_range
        return self.left + (value - low) / (high - low) * self.width

    def y(self, value: float) -> float:
        low, high = self.y_range
        return self.top + self.height - (value - low) / (high - low) * self.height


def _extent(values: Sequence[float], pad: float = 0.0) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    low, high = min(finite), max(finite)
    if high == low:
        return (low - 0.5, high + 0.5) if low else (0.0, 1.0)
    margin = (high - low) * pad
    return (low - margin, high + margin)


def _axes(plot: _Frame, x_label: str, y_label: str, integer_x: bool) -> list[str]:
    bottom = plot.top + plot.height
    parts = [
        f'<rect x="{plot.left}" y="{plot.top}" width="{plot.width}" height="{plot.height}" '
        'fill="none" stroke="#999999"/>'
    ]
    for tick in nice_ticks(*plot.x_range):
        if integer_x and tick != int(tick):
            continue
        if plot.x_range[0] - 1e-12 <= tick <= plot.x_range[1] + 1e-12:
            x = plot.x(tick)
            label = format_tick(tick)
            parts.append(
                f'<line x1="{x:.1f}" y1="{plot.top}" x2="{x:.1f}" y2="{bottom}" stroke="#eeeeee"/>'
                f'<text x="{x:.1f}" y="{bottom + 14}" text-anchor="middle">{label}</text>'
            )
    for tick in nice_ticks(*plot.y_range):
        if plot.y_range[0] - 1e-12 <= tick <= plot.y_range[1] + 1e-12:
            y = plot.y(tick)
            parts.append(
                f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.left + plot.width}" y2="{y:.1f}" '
                f'stroke="#eeeeee"/><text x="{plot.left - 5}" y="{y + 4:.1f}" '
                f'text-anchor="end">{format_tick(tick)}</text>'
            )
    middle_y = plot.top + plot.height / 2
    parts.append(
        f'<text x="{plot.left + plot.width / 2:g}" y="{bottom + 32}" '
        f'text-anchor="middle">{escape(x_label)}</text>'
        f'<text x="14" y="{middle_y:g}" text-anchor="middle" '
        f'transform="rotate(-90 14 {middle_y:g})">{escape(y_label)}</text>'
    )
    return parts


def _hline(plot: _Frame, line: HLine) -> str:
    if not math.isfinite(line.y):
        return ""
    y = plot.y(line.y)
    return (
        f'<line x1="{plot.left}" y1="{y:.1f}" x2="{plot.left + plot.width}" y2="{y:.1f}" '
        f'stroke="{line.color}" stroke-dasharray="6 4" stroke-width="1.2"/>'
    )


def _path(plot: _Frame, series: Series) -> str:
    """Polyline segments between non-finite points, as one SVG path."""
    commands: list[str] = []
    pen_down = False
    previous_y = None
    for x, y in zip(series.xs, series.ys, strict=True):
        if not (math.isfinite(x) and math.isfinite(y)):
            pen_down = False
            continue
        px, py = plot.x(x), plot.y(y)
        if pen_down and series.steps:
            commands.append(f"L{px:.1f},{previous_y:.1f}")
        commands.append(f"{'L' if pen_down else 'M'}{px:.1f},{py:.1f}")
        pen_down, previous_y = True, py
    if not commands:
        return ""
    dash = ' stroke-dasharray="5 3"' if series.dashed else ""
    return (
        f'<path d="{"".join(commands)}" fill="none" stroke="{series.color}" '
        f'stroke-width="{series.width:g}"{dash}><title>{escape(series.label)}</title></path>'
    )


def _legend_entries(
    series: Sequence[Series], hlines: Sequence[HLine]
) -> list[tuple[str, str, bool]]:
    seen: dict[str, tuple[str, str, bool]] = {}
    for s in series:
        seen.setdefault(s.label, (s.label, s.color, s.dashed))
    for h in hlines:
        seen.setdefault(h.label, (h.label, h.color, True))
    return list(seen.values())


def _legend(entries: list[tuple[str, str, bool]], top: float, columns: int, slot: int) -> list[str]:
    parts = []
    for index, (label, color, dashed) in enumerate(entries):
        row, column = divmod(index, columns)
        x = MARGIN_LEFT + column * slot
        y = top + row * LEGEND_ROW
        dash = ' stroke-dasharray="6 4"' if dashed else ""
        text = escape(_shorten(label, (slot - LEGEND_SAMPLE) // LEGEND_CHAR))
        parts.append(
            f'<line x1="{x}" y1="{y - 4}" x2="{x + 22}" y2="{y - 4}" stroke="{color}" '
            f'stroke-width="2"{dash}/><text x="{x + 28}" y="{y}">{text}</text>'
        )
    return parts


def _shorten(text: str, length: int) -> str:
    """``text`` in at most ``length`` characters, cut in the middle: the end of a label (a
    grid point's values) tells entries apart as much as its start (the spec's name)."""
    if len(text) <= length:
        return text
    head = (length - 1) // 2
    return text[:head] + "…" + text[len(text) - (length - 1 - head) :]


def _clip_id(title: str) -> str:
    """A stable id unique per chart title (several charts share one HTML page)."""
    return "clip-" + "".join(c if c.isalnum() else "-" for c in title.lower())


def color(index: int) -> str:
    """The palette colour of series ``index``."""
    return PALETTE[index % len(PALETTE)]

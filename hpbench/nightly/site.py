"""The nightly site: ``<site>/index.md`` and ``<site>/index.html`` linking every report,
with regressions at the top and each report's score history."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
from markupsafe import Markup

from hpbench.nightly.findings import FILE, PAGE, VerdictChange, findings_table
from hpbench.nightly.history import Regression
from hpbench.report.render import environment
from hpbench.report.svg import Series, color, line_chart
from hpbench.report.tables import Cell, Table, fmt_number

#: Nights shown in each report's history table (the chart shows them all).
HISTORY_ROWS = 10


@attrs.frozen
class SiteReport:
    """One report on the site: its name, title, latest scores table, history table and chart."""

    name: str
    title: str
    latest: Table
    history: Table
    chart: str


def _scores(night: Mapping[str, Any], name: str) -> Mapping[str, float | None]:
    return night["reports"].get(name, {}).get("scores", {})


def _labels(nights: Sequence[Mapping[str, Any]], name: str) -> list[str]:
    return list(dict.fromkeys(label for night in nights for label in _scores(night, name)))


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def latest_table(nights: Sequence[Mapping[str, Any]], name: str) -> Table:
    """Tonight's score per label, the previous night's, and the change."""
    current, previous = nights[-1], (nights[-2] if len(nights) > 1 else None)
    report = current["reports"][name]
    rows = []
    for label in report["scores"]:
        now = _number(report["scores"][label])
        before = _number(_scores(previous, name).get(label)) if previous else math.nan
        change = now - before
        rows.append(
            (
                Cell(label),
                Cell(fmt_number(now)),
                Cell(fmt_number(before)),
                Cell("n/a" if math.isnan(change) else f"{change:+.3f}"),
                Cell(f"{report['reached'][label]}/{report['workloads']}"),
            )
        )
    header = (("Algorithm", "Score", "Previous", "Change", "Reached"),)
    return Table(header=header, rows=tuple(rows))


def history_table(nights: Sequence[Mapping[str, Any]], name: str) -> Table:
    """The last nights' scores of a report, newest first."""
    labels = _labels(nights, name)
    shown = [night for night in nights if name in night["reports"]][-HISTORY_ROWS:]
    rows = tuple(
        (
            Cell(night["date"]),
            Cell(night["commit"]),
            *(Cell(fmt_number(_number(_scores(night, name).get(label)))) for label in labels),
        )
        for night in reversed(shown)
    )
    return Table(header=(("Night", "Commit", *labels),), rows=rows)


def history_chart(nights: Sequence[Mapping[str, Any]], name: str) -> str:
    """Score per night (1 = the oldest recorded) for each label of a report."""
    series = []
    for index, label in enumerate(_labels(nights, name)):
        xs, ys = [], []
        for night_number, night in enumerate(nights, start=1):
            if name in night["reports"]:
                xs.append(float(night_number))
                ys.append(_number(_scores(night, name).get(label)))
        series.append(Series(label=label, xs=tuple(xs), ys=tuple(ys), color=color(index)))
    return line_chart(
        series,
        title=f"{name}: benchmark score per night",
        x_label="night",
        y_label="benchmark score",
        y_range=(0.0, 1.02),
        width=520,
        integer_x=True,
    )


def render_site(
    directory: Path,
    nights: Sequence[Mapping[str, Any]],
    titles: Mapping[str, str],
    found: Sequence[Regression],
    noise: float,
    failed_runs: Sequence[str] = (),
    changed: Sequence[VerdictChange] = (),
) -> list[Path]:
    """Write ``index.md``, ``index.html`` and ``history-<name>.svg`` under ``directory``;
    where tonight has verdicts, the findings' table and the verdicts that changed."""
    reports = [
        SiteReport(
            name=name,
            title=title,
            latest=latest_table(nights, name),
            history=history_table(nights, name),
            chart=history_chart(nights, name),
        )
        for name, title in titles.items()
    ]
    night, previous = nights[-1], (nights[-2] if len(nights) > 1 else None)
    context = {
        "night": night,
        "reports": reports,
        "regressions": found,
        "noise": noise,
        "failed_runs": failed_runs,
        "verdict_changes": changed,
        "findings": findings_table(night, previous) if "findings" in night else None,
        "findings_file": FILE,
        "findings_page": PAGE,
    }
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for report in reports:
        path = directory / f"history-{report.name}.svg"
        path.write_text(report.chart + "\n")
        written.append(path)
    markdown = environment("markdown").get_template("site.md.j2").render(**context)
    html_reports = [attrs.evolve(r, chart=Markup(r.chart)) for r in reports]  # built escaped
    html = (
        environment("html")
        .get_template("site.html.j2")
        .render(**context | {"reports": html_reports})
    )
    for name, text in (("index.md", markdown), ("index.html", html)):
        (directory / name).write_text(text)
        written.append(directory / name)
    return written

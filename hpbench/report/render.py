"""Render a Report as Markdown (plots as SVG files beside it) and as one self-contained HTML.

Both templates receive the same tables and figures. HTML is autoescaped; Markdown output
escapes every interpolated value (``|``, ``<``, ``>``, ``&``), so text from a spec shows
as text in both.
"""

from __future__ import annotations

import functools
from pathlib import Path

import attrs
import jinja2
from markupsafe import Markup

from hpbench.report import plots, tables
from hpbench.report.data import Report


@attrs.frozen
class Figure:
    """A plot: its file name (Markdown links it), caption and SVG source."""

    name: str
    caption: str
    svg: str


@attrs.frozen
class Rendered:
    """A rendered report: the two documents and the figures the Markdown links."""

    markdown: str
    html: str
    figures: tuple[Figure, ...]

    def write(self, directory: Path) -> list[Path]:
        """Write ``index.md``, ``index.html`` and ``plots/*.svg`` under ``directory``."""
        directory = Path(directory)
        (directory / "plots").mkdir(parents=True, exist_ok=True)
        written = []
        for figure in self.figures:
            path = directory / "plots" / figure.name
            path.write_text(figure.svg + "\n")
            written.append(path)
        for name, text in (("index.md", self.markdown), ("index.html", self.html)):
            (directory / name).write_text(text)
            written.append(directory / name)
        return written


def markdown_escape(value: object) -> str:
    """Text safe inside a Markdown table cell: no column breaks, no raw HTML."""
    text = "" if value is None else str(value)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "\\|"), ("\n", " ")):
        text = text.replace(old, new)
    return text


@functools.cache
def environment(markdown: bool) -> jinja2.Environment:
    """The Jinja2 environment of one format (cached: templates are compiled once)."""
    loader = jinja2.PackageLoader("hpbench.report", "templates")
    if markdown:
        return jinja2.Environment(
            loader=loader,
            autoescape=False,
            finalize=markdown_escape,
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
    return jinja2.Environment(
        loader=loader,
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def figure_name(key: str) -> str:
    """A file name for the learning curves of workload ``key`` ("criteo/layernorm" ->
    "curves-criteo-layernorm.svg")."""
    return "curves-" + "".join(c if c.isalnum() or c in "_-" else "-" for c in key) + ".svg"


def figures(report: Report) -> tuple[Figure, ...]:
    """The performance profiles, then a learning-curve figure per workload."""
    found = [Figure("profiles.svg", "Performance profiles", plots.profile_chart(report))]
    found += [
        Figure(figure_name(c.key), f"Learning curves on {c.key}", plots.curve_chart(report, c))
        for c in report.columns
    ]
    return tuple(found)


def context(report: Report) -> dict:
    """What both templates show."""
    return {
        "report": report,
        "score_table": tables.score_table(report),
        "best_metric_table": tables.best_metric_table(report),
        "hyperparameter_tables": [(e, tables.hyperparameter_table(e)) for e in report.entries],
        "list_tables": [(e, tables.list_table(report, e)) for e in report.entries if e.is_list],
        "summary_table": tables.summary_table(report),
        "problems_table": tables.problems_table(report),
        "provenance_table": tables.provenance_table(report),
    }


def render(report: Report) -> Rendered:
    """Render ``report`` in both formats from the same tables and figures."""
    shown = figures(report)
    data = context(report)
    markdown = environment(markdown=True).get_template("report.md.j2").render(**data, figures=shown)
    html_figures = [attrs.evolve(f, svg=Markup(f.svg)) for f in shown]  # built escaped by svg.py
    html = (
        environment(markdown=False)
        .get_template("report.html.j2")
        .render(**data, figures=html_figures)
    )
    return Rendered(markdown=markdown, html=html, figures=shown)

"""Render a Report as Markdown (plots as SVG files beside it), as one self-contained HTML,
and as GitHub Markdown (one file, plots as Mermaid charts GitHub draws: a PR comment).

All receive the same tables. HTML is autoescaped; Markdown escapes every interpolated
value (see :func:`markdown_escape`), so text from a spec shows as text in every format:
it cannot open a tag, a link, a heading, a table cell or a new line.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import attrs
import jinja2
from markupsafe import Markup

from hpbench.collector import gc_paused
from hpbench.report import mermaid, plots, tables
from hpbench.report.data import Entry, Report


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


class RawMarkdown(str):
    """Markdown built to be safe by construction (a fenced block): not escaped again."""


#: Characters with a meaning in GitHub Markdown inline text, backslash-escaped: ``_`` only
#: where it can emphasise (not between two letters or digits, as in ``adamw_toy``); ``(``
#: and ``!`` need no escape once ``[`` has one.
MARKDOWN_PUNCTUATION = re.compile(r"([\\`*\[\]#~|$]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
#: Line and paragraph breaks, and other control characters: a space.
BREAKS = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")


def markdown_escape(value: object) -> str:
    """Text that shows as itself in Markdown inline text and table cells: ``& < >`` as
    entities (no raw HTML), Markdown punctuation backslash-escaped (no link, image,
    emphasis, heading, code span, cell break or math), line breaks as spaces. RawMarkdown
    passes."""
    if isinstance(value, RawMarkdown):
        return value
    text = "" if value is None else str(value)
    for old, new in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        text = text.replace(old, new)
    return MARKDOWN_PUNCTUATION.sub(r"\\\1", BREAKS.sub(" ", text))


def github_escape(value: object) -> str:
    """:func:`markdown_escape`, and ``@`` followed by a zero-width space: a spec string
    posted in a comment mentions nobody."""
    if isinstance(value, RawMarkdown):
        return value
    return markdown_escape(value).replace("@", "@\u200b")


def fenced(text: str, language: str = "") -> RawMarkdown:
    """``text`` in a code fence longer than any backtick run in it (it cannot close it)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return RawMarkdown(f"{fence}{language}\n{text.rstrip()}\n{fence}")


FORMATS = ("markdown", "html", "github")


@functools.cache
def environment(kind: str) -> jinja2.Environment:
    """The Jinja2 environment of one format (cached: templates are compiled once)."""
    options = {
        "loader": jinja2.PackageLoader("hpbench.report", "templates"),
        "undefined": jinja2.StrictUndefined,
        "keep_trailing_newline": True,
        "trim_blocks": True,
        "lstrip_blocks": True,
    }
    if kind == "html":
        return jinja2.Environment(autoescape=True, **options)
    escape = github_escape if kind == "github" else markdown_escape
    return jinja2.Environment(autoescape=False, finalize=escape, **options)


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


def resolved_specs(report: Report) -> list[tuple[Entry, RawMarkdown]]:
    """Each entry's resolved spec, fenced as TOML (entries not read from a file: none)."""
    return [(e, fenced(e.resolved, "toml")) for e in report.entries if e.resolved]


def context(report: Report) -> dict:
    """What every template shows."""
    return {
        "report": report,
        "score_table": tables.score_table(report),
        "best_metric_table": tables.best_metric_table(report),
        "spread_table": tables.spread_table(report),
        "hyperparameter_tables": [
            (spec, tables.hyperparameter_table([e for e in report.entries if e.spec == spec]))
            for spec in dict.fromkeys(e.spec for e in report.entries)
        ],
        "list_tables": [(e, tables.list_table(report, e)) for e in report.entries if e.is_list],
        "summary_table": tables.summary_table(report),
        "problems_table": tables.problems_table(report),
        "workloads_table": tables.workloads_table(report),
        "provenance_table": tables.provenance_table(report),
        "resolved_specs": resolved_specs(report),
    }


@gc_paused
def render(report: Report) -> Rendered:
    """Render ``report`` as Markdown and HTML from the same tables and figures."""
    shown = figures(report)
    data = context(report)
    markdown = (
        environment("markdown")
        .get_template("report.md.j2")
        .render(**data, figures=shown, charts=(), github=False)
    )
    html_figures = [attrs.evolve(f, svg=Markup(f.svg)) for f in shown]  # built escaped by svg.py
    html = environment("html").get_template("report.html.j2").render(**data, figures=html_figures)
    return Rendered(markdown=markdown, html=html, figures=shown)


@gc_paused
def render_github(report: Report) -> str:
    """``report`` as one Markdown document that renders fully in a GitHub comment: the
    same tables, plots as Mermaid charts with a legend table, no files beside it."""
    # the blocks are built safe by mermaid.py: not escaped again
    charts = [attrs.evolve(c, block=RawMarkdown(c.block)) for c in mermaid.charts(report)]
    return (
        environment("github")
        .get_template("report.md.j2")
        .render(
            **context(report),
            figures=(),
            charts=charts,
            github=True,
            curve_points=mermaid.CURVE_POINTS,
        )
    )

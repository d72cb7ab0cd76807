"""The papers' findings on the nightly site: reports/findings.md's document rendered from
tonight's results into ``<site>/findings.md``, each finding's verdict kept in the history,
and the verdicts that changed since the previous night."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from hpbench.report import papers
from hpbench.report.tables import Cell, Table

#: The findings document's file names in the site: Markdown, and the same as an HTML page.
FILE = "findings.md"
PAGE = "findings.html"
#: A finding without a verdict tonight (its arms have no results).
NOT_RUN = "not run"


@attrs.frozen
class VerdictChange:
    """A finding whose verdict differs from the previous night's."""

    key: str
    previous: str
    current: str
    previous_date: str

    @property
    def finding(self) -> papers.Finding:
        return next(f for f in papers.FINDINGS if f.key == self.key)

    def describe(self) -> str:
        return (
            f"{self.finding.statement} ({self.finding.source}): {self.current}, "
            f"was {self.previous} on {self.previous_date}"
        )


def check_findings_root(root: Path, nightly_file: str) -> None:
    """ValueError unless ``root`` (the nightly file's repository) has the findings' arms."""
    from hpbench.report.findings import MINI

    if not (root / MINI.directory).is_dir():
        raise ValueError(
            f"{nightly_file}: findings = true renders hpbench's findings from the repository's "
            f"{MINI.directory}/, and {root} has none; set findings = false"
        )


def render_findings(results: Path, site: Path, root: Path) -> tuple[dict[str, str], list[Path]]:
    """Render the findings of ``root``'s ``specs/findings/`` (the nightly file's repository)
    from ``results`` into ``site/findings.md`` and ``site/findings.html``; each finding's
    verdict by key, and the files written."""
    from hpbench.report import findings

    collected = findings.collect(results, root=root)
    site.mkdir(parents=True, exist_ok=True)
    text = findings.render(collected)
    (site / FILE).write_text(text)
    (site / PAGE).write_text(html_page(text, "The papers' findings on the mini suite"))
    levels = {key: verdict.level for key, (_, verdict) in findings.verdicts(collected).items()}
    return {f.key: levels.get(f.key, NOT_RUN) for f in papers.FINDINGS}, [site / FILE, site / PAGE]


def html_page(markdown: str, title: str) -> str:
    """``markdown`` (CommonMark with tables; raw HTML in it shown as text) as a page styled
    as the reports are."""
    from markdown_it import MarkdownIt
    from markupsafe import Markup

    from hpbench.report.render import environment

    body = MarkdownIt("commonmark", {"html": False}).enable("table").render(markdown)
    page = environment("html").get_template("page.html.j2")
    return page.render(title=title, body=Markup(body))


def verdict_changes(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any]
) -> list[VerdictChange]:
    """The findings whose verdict tonight differs from the previous night's (either way: a
    verdict can move by one trial, so each change is worth a look)."""
    if previous is None:
        return []
    before = previous.get("findings", {})
    return [
        VerdictChange(key, before[key], level, previous["date"])
        for key, level in current.get("findings", {}).items()
        if key in before and before[key] != level
    ]


def findings_table(night: Mapping[str, Any], previous: Mapping[str, Any] | None) -> Table:
    """Each finding as its paper states it, tonight's verdict and the previous night's."""
    before = (previous or {}).get("findings", {})
    rows = tuple(
        (
            Cell(f"{finding.statement} ({finding.source})"),
            Cell(night["findings"].get(finding.key, NOT_RUN), strong=True),
            Cell(before.get(finding.key, "n/a")),
        )
        for finding in papers.FINDINGS
    )
    return Table(header=(("Finding", "Verdict", "Previous"),), rows=rows)

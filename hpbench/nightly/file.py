"""The nightly file (``specs/nightly.toml``): which reports the nightly run renders, from
which specs, and how large a score drop counts as a regression.

Checked with :mod:`hpbench.config` alone, so ``hpbench validate`` checks it without
importing the report code; :mod:`hpbench.nightly.run` runs it.
"""

from __future__ import annotations

from pathlib import Path

import attrs

from hpbench.config.confine import PLAIN_NAME_TEXT, is_plain_name, reference_problem
from hpbench.config.errors import ConfigError, Problem, did_you_mean, display_path, show
from hpbench.config.fields import Choice, Number, read_values, setting, settings
from hpbench.config.source import Document, read_document
from hpbench.config.values import Interval, Reporter

DEFAULT_NOISE = 0.02
#: The tables of a nightly file, and the keys of a ``[[report]]``.
_TABLES = ("nightly", "report")
_REPORT_KEYS = ("name", "title", "specs")
#: The clocks a report can compare (hpbench.scoring.scores.TIME_UNITS, without importing it).
TIMES = ("steps", "seconds", "algoperf")


@attrs.frozen
class ReportSpec:
    """One report of the nightly: its name (directory under reports/), title and specs."""

    name: str
    specs: tuple[Path, ...]
    title: str | None = None


@attrs.frozen
class Nightly:
    """A checked nightly file; ``noise`` and ``time`` are the keys of ``[nightly]``."""

    file: str
    reports: tuple[ReportSpec, ...]
    noise: float = setting(
        DEFAULT_NOISE,
        Number(Interval(0.0, 1.0, high_open=True), "a score difference"),
        "a score that drops by more than this since the previous night is a regression",
    )
    time: str = setting(
        "steps",
        Choice(TIMES, '"steps", "seconds" or "algoperf"'),
        "the clock the reports compare: steps, engine seconds or AlgoPerf's clock",
    )

    @property
    def specs(self) -> list[Path]:
        """Every spec of every report, each once, in file order."""
        return list(dict.fromkeys(spec for report in self.reports for spec in report.specs))


def load_nightly(path: Path | str) -> Nightly:
    """Read and check a nightly file; raises ConfigError listing every problem."""
    return check_nightly(read_document(path), Path(path).parent)


def check_nightly(doc: Document, directory: Path) -> Nightly:
    """Check a parsed nightly file whose spec paths are relative to ``directory``; raises
    ConfigError listing every problem."""
    problems: list[Problem] = []
    for key in doc.data:
        if key not in _TABLES:
            problems.append(
                doc.problem(
                    (key,),
                    f"unknown table {show(key)}; expected [nightly] or [[report]]",
                    did_you_mean(key, _TABLES),
                    at_key=True,
                )
            )
    table = doc.data.get("nightly", {})
    if not isinstance(table, dict):
        problems.append(doc.problem(("nightly",), f"expected a table, found {show(table)}"))
        table = {}
    declared = settings(Nightly)
    for key in table:
        if key not in declared:
            problems.append(
                doc.problem(
                    ("nightly", key),
                    f"unknown key {show(key)}",
                    did_you_mean(key, declared),
                    at_key=True,
                )
            )
    reporter = Reporter(doc)
    values = read_values(reporter, ("nightly",), table, declared)
    problems.extend(reporter.problems)
    reports = _reports(doc, directory, problems)
    if problems:
        raise ConfigError(problems)
    return Nightly(file=doc.file, reports=tuple(reports), **values)


def _reports(doc: Document, directory: Path, problems: list[Problem]) -> list[ReportSpec]:
    tables = doc.data.get("report")
    if not isinstance(tables, list) or not tables:
        problems.append(
            doc.problem(("report",), "expected at least one [[report]] table with a name and specs")
        )
        return []
    reports, names = [], set()
    for index, table in enumerate(tables):
        at = ("report", index)
        if not isinstance(table, dict):
            problems.append(doc.problem(at, f"expected a [[report]] table, found {show(table)}"))
            continue
        for key in table:
            if key not in _REPORT_KEYS:
                problems.append(
                    doc.problem(
                        (*at, key),
                        f"unknown key {show(key)}",
                        did_you_mean(key, _REPORT_KEYS),
                        at_key=True,
                    )
                )
        name = table.get("name")
        if not is_plain_name(name):
            problems.append(
                doc.problem((*at, "name"), f"expected {PLAIN_NAME_TEXT}, found {show(name)}")
            )
        elif name in names:
            problems.append(
                doc.problem(
                    (*at, "name"), f"expected a name no other report has, found {show(name)} again"
                )
            )
        names.add(name)
        title = table.get("title")
        if title is not None and not isinstance(title, str):
            problems.append(doc.problem((*at, "title"), f"expected a string, found {show(title)}"))
        specs = table.get("specs")
        if not isinstance(specs, list) or not specs or not all(isinstance(s, str) for s in specs):
            problems.append(
                doc.problem(
                    (*at, "specs"),
                    f"expected a non-empty list of spec file paths, found {show(specs)}",
                )
            )
            continue
        paths = []
        for i, spec in enumerate(specs):
            file = directory / spec
            outside = reference_problem(spec, directory, doc.roots)
            if outside is not None:
                problems.append(doc.problem((*at, "specs", i), outside))
            elif not file.is_file():
                problems.append(
                    doc.problem(
                        (*at, "specs", i),
                        f"expected an existing spec file, found no file {display_path(file)}",
                    )
                )
            paths.append(file)
        reports.append(ReportSpec(name=str(name), specs=tuple(paths), title=title))
    return reports


def is_nightly_file(doc: Document) -> bool:
    """Whether a parsed file is a nightly file (it has a ``[nightly]`` table), not a spec."""
    return "nightly" in doc.data

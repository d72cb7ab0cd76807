"""The nightly file (``specs/nightly.toml``): which reports the nightly run renders, from
which specs, and how large a score drop counts as a regression.

Checked with :mod:`hpbench.config` alone, so ``hpbench validate`` checks it without
importing the report code; :mod:`hpbench.nightly.run` runs it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from hpbench.config.confine import reference_problem
from hpbench.config.errors import ConfigError, did_you_mean, display_path, show
from hpbench.config.fields import (
    DOCS_HEADER,
    Choice,
    Declared,
    Flag,
    Kind,
    Number,
    PlainName,
    Text,
    docs_rows,
    read_values,
    setting,
    settings,
    settings_schema,
    table_schema,
)
from hpbench.config.locate import Path_
from hpbench.config.source import Document, read_document
from hpbench.config.values import Found, Interval, Reporter

DEFAULT_NOISE = 0.02
#: The tables of a nightly file.
_TABLES = ("nightly", "report")
#: The clocks a report can compare (hpbench.scoring.scores.TIME_UNITS, without importing it).
TIMES = ("steps", "seconds", "algoperf")


@attrs.frozen
class SpecFiles(Kind):
    """A non-empty list of spec files relative to ``directory`` (the nightly file's), each
    inside ``roots``; read as their paths (:meth:`bind` gives the directory and roots)."""

    directory: Path | None = None
    roots: tuple[Path, ...] = ()
    expected = "a non-empty list of spec file paths"
    type_text = "list of paths"

    def bind(self, entry: tuple[Path, tuple[Path, ...]]) -> SpecFiles:
        return SpecFiles(*entry)

    def read(self, reporter: Reporter, path: Path_, value: Any) -> tuple[Path, ...] | None:
        if not isinstance(value, list) or not value or not all(isinstance(s, str) for s in value):
            reporter.fail(path, self.expected, value)
            return None
        assert self.directory is not None, "read by the kind bound to the nightly file"
        for i, spec in enumerate(value):
            file = self.directory / spec
            outside = reference_problem(spec, self.directory, self.roots)
            if outside is None and not file.is_file():
                outside = f"expected an existing spec file, found no file {display_path(file)}"
            if outside is not None:
                reporter.problems.append(reporter.doc.problem((*path, i), outside))
        return tuple(self.directory / spec for spec in value)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple) and bool(value) and all(isinstance(p, Path) for p in value)

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": {"type": "string"}}


@attrs.frozen
class ReportSpec:
    """``[[report]]``: one report of the nightly, its name (directory under reports/),
    specs and title."""

    name: str = setting(
        attrs.NOTHING,
        PlainName(),
        "the report's directory, `<site>/<name>/` (docs/security.md)",
        default_text="required",
    )
    specs: tuple[Path, ...] = setting(
        attrs.NOTHING,
        SpecFiles(),
        "the specs it compares, relative to the nightly file, inside the repository",
        default_text="required",
    )
    title: str | None = setting(None, Text(), "its heading", default_text="its name")


@attrs.frozen
class Nightly:
    """A checked nightly file; ``noise``, ``time`` and ``findings`` are the keys of
    ``[nightly]``."""

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
    findings: bool = setting(
        False,
        Flag(),
        "also render the papers' findings (reports/findings.md's document, from the "
        "repository's `specs/findings/`) into `<site>/findings.md` and track each verdict",
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
    reporter = Reporter(doc)
    for key in doc.data:
        if key not in _TABLES:
            reporter.problems.append(
                doc.problem(
                    (key,),
                    f"unknown table {show(key)}; expected [nightly] or [[report]]",
                    did_you_mean(key, _TABLES),
                    at_key=True,
                )
            )
    table = doc.data.get("nightly", {})
    if not isinstance(table, dict):
        reporter.problems.append(
            doc.problem(("nightly",), f"expected a table, found {show(table)}")
        )
        table = {}
    values = _read(reporter, ("nightly",), table, settings(Nightly))
    reports = _reports(reporter, (directory, doc.roots))
    if reporter.problems:
        raise ConfigError(reporter.problems)
    return Nightly(file=doc.file, reports=tuple(reports), **values)


def _read(
    reporter: Reporter,
    path: Path_,
    table: dict[str, Any],
    declared: dict[str, Declared],
    entry: Any = None,
) -> dict[str, Any]:
    """The valid values of ``table``'s declared keys by attribute; an unknown key is
    reported as such, with a 'did you mean' hint."""
    for key in table:
        if key not in declared:
            reporter.problems.append(
                reporter.doc.problem(
                    (*path, key),
                    f"unknown key {show(key)}",
                    did_you_mean(key, declared),
                    at_key=True,
                )
            )
    return read_values(reporter, path, table, declared, entry)


def _reports(reporter: Reporter, where: tuple[Path, tuple[Path, ...]]) -> list[ReportSpec]:
    """The ``[[report]]`` tables, their spec paths relative to ``where`` (the nightly
    file's directory and the roots paths may lead into)."""
    doc = reporter.doc
    tables = doc.data.get("report")
    if not isinstance(tables, list) or not tables:
        reporter.problems.append(
            doc.problem(("report",), "expected at least one [[report]] table with a name and specs")
        )
        return []
    declared = settings(ReportSpec)
    reports, names = [], set()
    for index, table in enumerate(tables):
        at = ("report", index)
        if not isinstance(table, dict):
            reporter.problems.append(
                doc.problem(at, f"expected a [[report]] table, found {show(table)}")
            )
            continue
        values = _read(reporter, at, table, declared, where)
        name = values.get("name")
        if name is not None and name in names:
            expected = "a name no other report has"
            reporter.fail((*at, "name"), expected, Found(f"{show(name)} again"))
        names.add(name)
        if "name" in values and "specs" in values:
            reports.append(ReportSpec(**values))
    return reports


def is_nightly_file(doc: Document) -> bool:
    """Whether a parsed file is a nightly file (it has a ``[nightly]`` table), not a spec."""
    return "nightly" in doc.data


def nightly_docs_table() -> str:
    """The table of every nightly file key in docs/reports.md, from the declarations."""
    rows = [
        *docs_rows(Nightly, section="nightly"),
        *docs_rows(ReportSpec, section="[report]"),
    ]
    return "\n".join([*DOCS_HEADER, *rows])


def nightly_schema() -> dict[str, Any]:
    """A draft-07 JSON Schema of nightly files (for editors and taplo), from the
    declarations."""
    report = table_schema(settings_schema(ReportSpec), "One report, rendered under <site>/<name>/.")
    required = [key for key, d in settings(ReportSpec).items() if d.default is attrs.NOTHING]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hpbench nightly file",
        "description": "The nightly run's reports (docs/reports.md).",
        "type": "object",
        "additionalProperties": False,
        "required": ["nightly", "report"],
        "properties": {
            "nightly": table_schema(
                settings_schema(Nightly), "How a score drop counts as a regression."
            ),
            "report": {"type": "array", "minItems": 1, "items": {**report, "required": required}},
        },
    }

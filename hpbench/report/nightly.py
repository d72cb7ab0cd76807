"""The nightly benchmark: run the listed specs, re-render their reports, keep a score history
and flag regressions.

``specs/nightly.toml`` lists reports, each a pool of specs scored together::

    [nightly]
    noise = 0.02            # a score drop larger than this is a regression

    [[report]]
    name = "mini_suite"     # rendered under reports/mini_suite/
    specs = ["adamw_baseline.toml", "nadamw_list5.toml"]  # relative to this file

``reports/history.json`` keeps every night's scores; each night is compared with the last.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.report.data import Report, build_report, compile_specs, load_runs
from hpbench.report.provenance import git_commit
from hpbench.report.render import render
from hpbench.results.records import write_json_atomic
from hpbench.spec.errors import Problem, SpecError, did_you_mean, display_path, show
from hpbench.spec.source import Document, load_document

HISTORY_FORMAT = 1
DEFAULT_NOISE = 0.02
NAME = re.compile(r"[A-Za-z0-9_.-]+")
_KEYS = {"nightly": ("noise", "time"), "report": ("name", "title", "specs")}


@attrs.frozen
class ReportSpec:
    """One report of the nightly: its name (directory under reports/), title and specs."""

    name: str
    specs: tuple[Path, ...]
    title: str | None = None


@attrs.frozen
class Nightly:
    """A checked nightly file."""

    file: str
    reports: tuple[ReportSpec, ...]
    noise: float = DEFAULT_NOISE
    time: str = "steps"

    @property
    def specs(self) -> list[Path]:
        """Every spec of every report, each once, in file order."""
        return list(dict.fromkeys(spec for report in self.reports for spec in report.specs))


def load_nightly(path: Path | str) -> Nightly:
    """Read and check a nightly file; raises SpecError listing every problem."""
    doc = load_document(path)
    problems: list[Problem] = []
    for key in doc.data:
        if key not in _KEYS:
            problems.append(
                doc.problem(
                    (key,),
                    f"unknown table {show(key)}; expected [nightly] or [[report]]",
                    did_you_mean(key, _KEYS),
                    at_key=True,
                )
            )
    settings = doc.data.get("nightly", {})
    noise, time = DEFAULT_NOISE, "steps"
    if not isinstance(settings, dict):
        problems.append(doc.problem(("nightly",), f"expected a table, found {show(settings)}"))
        settings = {}
    for key in settings:
        if key not in _KEYS["nightly"]:
            problems.append(
                doc.problem(
                    ("nightly", key),
                    f"unknown key {show(key)}",
                    did_you_mean(key, _KEYS["nightly"]),
                    at_key=True,
                )
            )
    if "noise" in settings:
        noise = settings["noise"]
        if isinstance(noise, bool) or not isinstance(noise, int | float) or not 0 <= noise < 1:
            problems.append(
                doc.problem(
                    ("nightly", "noise"),
                    f"expected a score difference in [0, 1), found {show(noise)}",
                )
            )
    if "time" in settings:
        time = settings["time"]
        if time not in ("steps", "seconds"):
            problems.append(
                doc.problem(
                    ("nightly", "time"), f'expected "steps" or "seconds", found {show(time)}'
                )
            )
    reports = _reports(doc, Path(path).parent, problems)
    if problems:
        raise SpecError(problems)
    return Nightly(file=doc.file, reports=tuple(reports), noise=float(noise), time=time)


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
        for key in table:
            if key not in _KEYS["report"]:
                problems.append(
                    doc.problem(
                        (*at, key),
                        f"unknown key {show(key)}",
                        did_you_mean(key, _KEYS["report"]),
                        at_key=True,
                    )
                )
        name = table.get("name")
        if not isinstance(name, str) or not NAME.fullmatch(name):
            problems.append(
                doc.problem(
                    (*at, "name"),
                    f"expected a directory name (letters, digits, _ . -), found {show(name)}",
                )
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
            if not file.is_file():
                problems.append(
                    doc.problem(
                        (*at, "specs", i),
                        f"expected an existing spec file, found no file {display_path(file)}",
                    )
                )
            paths.append(file)
        reports.append(ReportSpec(name=str(name), specs=tuple(paths), title=title))
    return reports


def run_spec(spec: Path, results_dir: Path, extra: Sequence[str] = ()) -> int:
    """Train ``spec``'s unfinished trials with ``hpbench run`` in a child process (finished
    trials are reused by the engine); returns its exit code."""
    command = [
        sys.executable,
        "-m",
        "hpbench.cli",
        "run",
        str(spec),
        "--results",
        str(results_dir),
        *extra,
    ]
    return subprocess.run(command, check=False).returncode


# --- history and regressions ---


@attrs.frozen
class Regression:
    """A score that dropped by more than the noise threshold since the previous night."""

    report: str
    label: str
    previous: float
    current: float
    previous_date: str

    @property
    def drop(self) -> float:
        return self.previous - self.current

    def describe(self) -> str:
        return (
            f"{self.report}: {self.label} scored {self.current:.3f}, down {self.drop:.3f} "
            f"from {self.previous:.3f} on {self.previous_date}"
        )


def night_entry(reports: Mapping[str, Report], date: str, commit: str) -> dict[str, Any]:
    """The history record of one night: each report's scores and targets reached per label."""
    return {
        "date": date,
        "commit": commit,
        "reports": {
            name: {
                "scores": {e.label: _json_float(report.score(e)) for e in report.entries},
                "reached": {e.label: report.reached(e) for e in report.entries},
                "workloads": len(report.columns),
            }
            for name, report in reports.items()
        },
    }


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else round(float(value), 6)


def read_history(path: Path) -> list[dict[str, Any]]:
    """The nights recorded in ``history.json`` (oldest first); none if it does not exist."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        nights = data["nights"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise ValueError(
            f"{path}: not a nightly history file ({e}); move it away to start a new history"
        ) from None
    if data.get("format") != HISTORY_FORMAT:
        raise ValueError(
            f"{path}: history format {data.get('format')!r}, expected {HISTORY_FORMAT}"
        )
    return list(nights)


def write_history(path: Path, nights: Sequence[Mapping[str, Any]]) -> None:
    write_json_atomic(path, {"format": HISTORY_FORMAT, "nights": list(nights)})


def regressions(
    previous: Mapping[str, Any] | None, current: Mapping[str, Any], noise: float
) -> list[Regression]:
    """Scores of ``current`` that are lower than in ``previous`` by more than ``noise``.

    A label that has a score the previous night but none now (no results) is a regression
    to 0. Reports or labels new tonight have nothing to compare with.
    """
    if previous is None:
        return []
    found = []
    for name, report in current["reports"].items():
        before = previous["reports"].get(name, {}).get("scores", {})
        for label, score in report["scores"].items():
            old = before.get(label)
            if old is None:
                continue
            now = 0.0 if score is None else score
            if old - now > noise:
                found.append(Regression(name, label, old, now, previous["date"]))
    return found


def now_utc() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


# --- the nightly run ---


@attrs.frozen
class Outcome:
    """What a nightly run found."""

    regressions: tuple[Regression, ...]
    failed_runs: tuple[str, ...]  # specs whose run step exited non-zero
    written: tuple[Path, ...]


def run_nightly(
    path: Path | str,
    *,
    results: Path,
    reports: Path,
    train: bool = True,
    noise: float | None = None,
    runner: Callable[[Path, Path], int] = run_spec,
) -> Outcome:
    """Run every spec of the nightly file (unless ``train`` is false), render each report
    under ``reports/<name>/``, append tonight's scores to ``reports/history.json``, compare
    them with the previous night and render the site index.

    Every spec is compiled before anything runs, so a bad spec stops the night at once.
    """
    from hpbench.report.site import render_site  # the site shows Regressions: import late

    nightly = load_nightly(path)
    noise = nightly.noise if noise is None else noise
    history_path = reports / "history.json"
    nights = read_history(history_path)  # a broken history stops the night before it trains
    compile_specs(nightly.specs)
    failed = [str(spec) for spec in nightly.specs if train and runner(spec, results) != 0]
    rendered: dict[str, Report] = {}
    written: list[Path] = []
    for entry in nightly.reports:
        runs = load_runs(entry.specs, results)
        report = build_report(runs, title=entry.title or entry.name, time=nightly.time)
        written += render(report).write(reports / entry.name)
        rendered[entry.name] = report
    tonight = night_entry(rendered, now_utc(), git_commit())
    found = regressions(nights[-1] if nights else None, tonight, noise)
    nights.append(tonight)
    write_history(history_path, nights)
    titles = {entry.name: entry.title or entry.name for entry in nightly.reports}
    written += render_site(reports, nights, titles, found, noise, failed)
    return Outcome(tuple(found), tuple(failed), tuple(written))

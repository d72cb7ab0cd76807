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
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from hpbench.config.confine import under
from hpbench.report.data import Report, build_report, compile_specs, load_runs
from hpbench.report.provenance import git_commit
from hpbench.report.render import render
from hpbench.results.records import write_json_atomic
from hpbench.spec.nightly import load_nightly

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile

HISTORY_FORMAT = 1


def run_spec(spec: Path, results_dir: Path, runner: RunnerProfile | str | None = None) -> int:
    """Train ``spec``'s unfinished trials with :func:`hpbench.run` in this process (finished
    trials are reused); 0 when all trained, 1 when some failed or the store could not be
    written (the night goes on and reports what it has).

    In this process: ``hpbench nightly`` set up the CPU devices and the allocator before
    JAX started (:func:`hpbench.backends.prepare.prepare_process`). Called where JAX already
    runs, training uses the devices JAX has; the results are the same, packs only train
    side by side on fewer devices."""
    from hpbench.api import checked_plan, run
    from hpbench.results.store import StoreError
    from hpbench.train.progress import PlainProgress

    with PlainProgress() as progress:
        try:
            plan = checked_plan(spec, runner)  # a spec from a PR: its data paths confined
            outcomes = run(plan, runner=runner, results=results_dir, progress=progress)
        except StoreError as error:
            print(f"hpbench nightly: {spec}: {error}", file=sys.stderr)
            return 1
    return int(any(o.state == "failed" for o in outcomes))


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
        written += render(report).write(under(reports, reports / entry.name))
        rendered[entry.name] = report
    tonight = night_entry(rendered, now_utc(), git_commit())
    found = regressions(nights[-1] if nights else None, tonight, noise)
    nights.append(tonight)
    write_history(history_path, nights)
    titles = {entry.name: entry.title or entry.name for entry in nightly.reports}
    written += render_site(reports, nights, titles, found, noise, failed)
    return Outcome(tuple(found), tuple(failed), tuple(written))

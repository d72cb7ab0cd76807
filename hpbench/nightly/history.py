"""The nightly score history (``<site>/history.json``) and the regressions it shows: a
score lower than the previous night's by more than the noise threshold."""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from hpbench.results.records import write_json_atomic

if TYPE_CHECKING:
    from hpbench.report.data import Report

HISTORY_FORMAT = 1


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

"""What a report says of each spec beyond its results: whether it is a list, the resolved
spec of each entry (the merged TOML after ``extends``, one point per entry) as TOML text,
and the version the spec's targets declare.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpbench.config.write import toml_value
from hpbench.spec.model import Spec

#: Tables of a spec that make points: gone from the resolved spec of one point.
POINT_TABLES = ("grid", "search", "select", "list")
#: How a suite names its targets' version in a comment, on one line: ``Targets version
#: "mini-2"``, ``TARGETS: ... version "algoperf-paper"``.
TARGETS_VERSION = re.compile(r'targets\b[^"\n]{0,200}?\bversion "([^"\n]{1,64})"', re.IGNORECASE)
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def is_list(spec: Spec) -> bool:
    """A ``[list]`` spec, or a published list (several ``[[algorithm.points]]`` written out,
    no grid and no search): its points are tried in priority order as one algorithm. Grid
    and search points are separate configurations, each its own entry."""
    if "list" in spec.reserved:
        return True
    return len(spec.points) > 1 and not spec.grid and "search" not in spec.reserved


def resolved(data: Mapping[str, Any], point: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The merged spec data (``[benchmark]`` first, without ``extends`` and ``suite``: the
    parents and the suite's workloads are merged in). With ``point``: the data of that one
    point, the point-making tables removed, its hyperparameters and options under
    ``[algorithm]``, its warmup and horizon under ``[schedule]``."""
    benchmark = {
        k: v for k, v in dict(data.get("benchmark", {})).items() if k not in ("extends", "suite")
    }
    out = {"benchmark": benchmark, **{k: v for k, v in data.items() if k != "benchmark"}}
    if point is None:
        return out
    out = {k: v for k, v in out.items() if k not in POINT_TABLES}
    values = dict(point)
    schedule = dict(out.get("schedule", {}))
    for key in ("warmup", "horizon"):
        if key in values:
            schedule[key] = values.pop(key)
    algorithm = {k: v for k, v in dict(out.get("algorithm", {})).items() if k != "points"}
    out["algorithm"] = {**algorithm, **values}
    if schedule:
        out["schedule"] = schedule
    return out


def _key(key: str) -> str:
    return key if BARE_KEY.fullmatch(key) else json.dumps(key)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def toml_text(data: Mapping[str, Any], prefix: tuple[str, ...] = ()) -> str:
    """``data`` (parsed TOML: tables, arrays of tables, values) written back as TOML."""
    lines = [
        f"{_key(k)} = {toml_value(v)}"
        for k, v in data.items()
        if not isinstance(v, dict) and not _is_table_array(v)
    ]
    out = "\n".join(lines) + ("\n" if lines else "")
    for k, v in data.items():
        path = (*prefix, k)
        name = ".".join(_key(p) for p in path)
        if isinstance(v, dict):
            scalars = any(not isinstance(x, dict) and not _is_table_array(x) for x in v.values())
            head = f"\n[{name}]\n" if scalars or not v else ""
            out += head + toml_text(v, path)
        elif _is_table_array(v):
            for item in v:
                out += f"\n[[{name}]]\n" + toml_text(item, path)
    return out


def targets_version(spec: Spec) -> str:
    """The targets' version as each file holding some of the spec's targets names it
    (``Targets version "X"`` in a comment, as ``hpbench targets`` writes): "mini-2";
    "mini-2, none in mine.toml" when the spec overrides a target; "not stated" when no file
    names one."""
    doc = spec.document
    if doc is None:
        return "not stated"
    files = {
        where.file
        for path, where in doc.where.items()
        if len(path) >= 3 and path[0] == "workloads" and "target" in path
    }
    found: dict[str, None] = {}
    for file in sorted(files):
        try:
            versions = TARGETS_VERSION.findall(Path(file).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            versions = []
        found.update(dict.fromkeys(versions or [f"none in {Path(file).name}"]))
    named = [v for v in found if not v.startswith("none in ")]
    return ", ".join(sorted(named) + sorted(set(found) - set(named))) if named else "not stated"

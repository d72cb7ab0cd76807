"""Checking the ``[search]``, ``[select]`` and ``[list]`` tables of a spec.

Each is read once, at load, into its type (:class:`Tables`, kept on the ``Spec``).
``[search]`` draws the algorithm's points from a space (``hpbench.search``): a spec with a
search compiles to one trial per (workload, search point, seed), like a spec that lists
its points. ``[select]`` (calibration) and ``[list]`` (greedy lists) only configure the
``hpbench calibrate`` and ``hpbench build-list`` commands. Problems are reported in the
spec's style, in the file where the value is written (a space file included with
``space = "search/lr_free_space.toml"`` reports in that file).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, NamedTuple

import attrs

from hpbench.algorithms.registry import AlgorithmInfo
from hpbench.config.confine import reference_problem
from hpbench.config.errors import ConfigError, display_path, show
from hpbench.config.fields import read_values, settings
from hpbench.config.locate import Path_
from hpbench.config.values import MISSING, REAL, Found, one_of
from hpbench.plan import Scalar
from hpbench.schedules import WARMUP
from hpbench.spec.settings import MAX_POINTS, ListSettings, Search, Select
from hpbench.spec.source import load_document
from hpbench.spec.spaces import ONE_MINUS, SCALES, Dimension, Space
from hpbench.spec.values import SpecReporter, interval_of

SEARCH_SETTINGS = settings(Search)
SEARCH_KEYS = (*SEARCH_SETTINGS, "space")
DIMENSION_KEYS = ("scale", "low", "high", "values", "baselines_only")
SELECT_SETTINGS = settings(Select)
LIST_SETTINGS = settings(ListSettings)


class Tables(NamedTuple):
    """The ``[search]``, ``[select]`` and ``[list]`` settings of a spec (None where absent)."""

    search: Search | None
    select: Select | None
    listing: ListSettings | None


def check_reserved(
    reporter: SpecReporter, info: AlgorithmInfo | None, reserved: dict[str, dict[str, Any]]
) -> Tables:
    """The reserved tables, checked once into their types. ``search`` is the valid
    ``[search]`` that draws the spec's points in place of its own (an algorithm's fixed
    values still apply under each point), None when it has problems or there is no
    algorithm."""
    before = len(reporter.problems)
    search = read_search(reporter, info, reserved["search"]) if "search" in reserved else None
    select = read_select(reporter, reserved["select"], search) if "select" in reserved else None
    listing = read_list(reporter, reserved["list"], search) if "list" in reserved else None
    if search is None or info is None:
        return Tables(None, select, listing)
    if "points" in reporter.doc.data.get("algorithm", {}):
        reporter.fail(
            ("algorithm", "points"),
            "either [[algorithm.points]] or a [search], not both",
            Found("both"),
        )
    count = point_count(search)
    if search.method == "grid" and count > MAX_POINTS:
        reporter.fail(
            ("search", "resolution"), f"a grid of at most {MAX_POINTS} points", Found(f"{count}")
        )
    return Tables(search if len(reporter.problems) == before else None, select, listing)


def point_count(search: Search) -> int:
    """How many points ``search`` draws, computed without drawing them."""
    if search.method != "grid":
        return search.points
    return math.prod(
        len(d.values) if d.discrete else search.resolution for d in search.space.dimensions
    )


def draw_points(search: Search, info: AlgorithmInfo) -> tuple[dict[str, Scalar], ...]:
    """The points of ``search`` for the algorithm ``info``."""
    from hpbench.spec.points import search_points  # imports scipy: only for searches

    return tuple(search_points(search, info.learning_rate_free))


# --- [search] --------------------------------------------------------------------------


def read_search(
    reporter: SpecReporter, info: AlgorithmInfo | None, table: dict[str, Any]
) -> Search:
    path: Path_ = ("search",)
    reporter.unknown_keys(
        path, table, SEARCH_KEYS, "a key of [search] (" + ", ".join(SEARCH_KEYS) + ")"
    )
    values = read_values(reporter, path, table, SEARCH_SETTINGS)
    space, space_file = _space(reporter, info, table.get("space", MISSING))
    return Search(space=space, space_file=space_file, **values)


def _space(
    reporter: SpecReporter, info: AlgorithmInfo | None, value: Any
) -> tuple[Space, str | None]:
    """The dimensions written inline (``[search.space.NAME]``) or in the file ``space``
    names (a spec fragment holding ``[search.space.NAME]`` tables)."""
    path: Path_ = ("search", "space")
    if isinstance(value, str) and value is not MISSING:
        return _space_file(reporter, info, value), value
    if not isinstance(value, dict) or not value:
        reporter.fail(
            path,
            'a space: a file (space = "search/lr_free_space.toml") or [search.space.NAME] tables',
            value if value is not MISSING else Found("none"),
        )
        return Space(()), None
    return Space(tuple(_dimensions(reporter, info, value))), None


def _space_file(reporter: SpecReporter, info: AlgorithmInfo | None, name: str) -> Space:
    where = reporter.doc.where.get(("search", "space"))
    base = Path(where.file if where else reporter.doc.file).parent
    outside = reference_problem(name, base, reporter.doc.roots)
    if outside is not None:  # refused before it is opened
        reporter.problems.append(reporter.doc.problem(("search", "space"), outside))
        return Space(())
    if not (base / name).is_file():  # at the spec's line, as a missing `extends` is
        missing = f"no file {display_path((base / name).resolve())}"
        reporter.fail(("search", "space"), "an existing space file", Found(missing))
        return Space(())
    try:
        doc = load_document(base / name, reporter.doc.roots)
    except ConfigError as error:
        reporter.problems.extend(error.problems)
        return Space(())
    table = (
        doc.data.get("search", {}).get("space")
        if isinstance(doc.data.get("search"), dict)
        else None
    )
    included = SpecReporter(doc)
    if not isinstance(table, dict) or not table:
        included.fail(
            ("search", "space"), "[search.space.NAME] tables in a space file", Found("none")
        )
        reporter.problems.extend(included.problems)
        return Space(())
    dimensions = tuple(_dimensions(included, info, table))
    reporter.problems.extend(included.problems)
    return Space(dimensions)


def _dimensions(
    reporter: SpecReporter, info: AlgorithmInfo | None, table: dict[str, Any]
) -> list[Dimension]:
    out = []
    for name, entry in table.items():
        dimension = _dimension(reporter, info, name, entry)
        if dimension is not None:
            out.append(dimension)
    return out


def _dimension(
    reporter: SpecReporter, info: AlgorithmInfo | None, name: str, entry: Any
) -> Dimension | None:
    path: Path_ = ("search", "space", name)
    entry = reporter.table(path, entry)
    if entry is None:
        return None
    reporter.unknown_keys(
        path, entry, DIMENSION_KEYS, "a key of a dimension (" + ", ".join(DIMENSION_KEYS) + ")"
    )
    target = name.removeprefix(ONE_MINUS)
    h = info.hyperparameter(target) if info else None
    known = target == "warmup" or info is None or h is not None
    if not known or (name.startswith(ONE_MINUS) and h is not None and h.kind != "float"):
        names = [n for n in info.names if info.hyperparameter(n).kind != "str"]
        reporter.fail(
            path,
            f"a hyperparameter of {info.name} ({', '.join(names)}), warmup, "
            f"or {ONE_MINUS}NAME for a real hyperparameter",
            Found(f"the dimension {show(name)}"),
            at_key=True,
        )
        return None
    baselines_only = reporter.boolean((*path, "baselines_only"), entry.get("baselines_only", False))
    if "values" in entry:
        dimension = _choices(reporter, path, name, entry)
    else:
        dimension = _range(reporter, path, name, entry, h)
    if dimension is None:
        return None
    values = dimension.values
    if values is not None and (target == "warmup" or (h is not None and h.kind == "float")):
        values = tuple(_real(v) for v in values)  # 0 and 0.0: one trial id
    dimension = attrs.evolve(dimension, values=values, baselines_only=bool(baselines_only))
    for i, value in enumerate(dimension.bounds()):
        at = (*path, "values", i) if dimension.discrete else (*path, ("low", "high")[i])
        if not _valid_value(reporter, at, dimension, h, value):
            return None
    return dimension


def _real(value: Any) -> Any:
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    return float(value) if is_number else value


def _choices(
    reporter: SpecReporter, path: Path_, name: str, entry: dict[str, Any]
) -> Dimension | None:
    values = entry["values"]
    for key in ("scale", "low", "high"):
        if key in entry:
            reporter.fail(
                (*path, key),
                "either values or a range (scale, low, high), not both",
                entry[key],
                at_key=True,
            )
            return None
    if not isinstance(values, list) or not values:
        reporter.fail((*path, "values"), "a non-empty list of values", values)
        return None
    return Dimension(name, values=tuple(values))


def _range(
    reporter: SpecReporter, path: Path_, name: str, entry: dict[str, Any], h: Any
) -> Dimension | None:
    scale = reporter.string(
        (*path, "scale"),
        entry.get("scale", MISSING),
        SCALES,
        what=f"a scale ({one_of(SCALES)}) or values",
    )
    low = reporter.number((*path, "low"), entry.get("low", MISSING), REAL)
    high = reporter.number((*path, "high"), entry.get("high", MISSING), REAL)
    if None in (scale, low, high):
        return None
    if h is not None and h.kind not in ("float",) and not name.startswith(ONE_MINUS):
        reporter.fail(
            path,
            f"values = [...] for the {h.kind} hyperparameter {name}",
            Found("a range"),
            at_key=True,
        )
        return None
    if not low < high:
        reporter.fail((*path, "high"), f"a number above low = {show(low)}", entry["high"])
        return None
    if scale == "log" and low <= 0:
        reporter.fail((*path, "low"), "a number > 0 (a log scale)", entry["low"])
        return None
    return Dimension(name, scale, low, high)


def _valid_value(
    reporter: SpecReporter, path: Path_, dimension: Dimension, h: Any, value: Scalar
) -> bool:
    """Whether a value the dimension produces is valid for its target; reports if not."""
    if dimension.target == "warmup":
        interval = WARMUP
        ok = (
            isinstance(value, float | int)
            and not isinstance(value, bool)
            and interval.contains(value)
        )
    elif h is None:
        return True
    elif dimension.discrete:
        before = len(reporter.problems)
        reporter.hyperparameter(path, h, value)
        return len(reporter.problems) == before
    else:
        interval = interval_of(h)
        ok = interval.contains(float(value))
    if ok:
        return True
    raw = _raw(reporter, path)
    gives = f" (gives {dimension.target} = {show(value)})" if dimension.one_minus else ""
    reporter.fail(
        path,
        f"a value that keeps {dimension.target} in {interval}",
        Found(f"{show(raw)}{gives}"),
    )
    return False


def _raw(reporter: SpecReporter, path: Path_) -> Any:
    """The value written at ``path`` in the reporter's document (for messages)."""
    node: Any = reporter.doc.data
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


# --- [select] and [list] ---------------------------------------------------------------


def _requires_search(reporter: SpecReporter, name: str, search: Search | None) -> None:
    if search is None:
        reporter.fail(
            (name,), f"a [search] table for [{name}] to choose from", Found("none"), at_key=True
        )


def _count_within(
    reporter: SpecReporter, path: Path_, count: int | None, search: Search | None
) -> None:
    if (
        count is not None
        and search is not None
        and search.method != "grid"
        and count > search.points
    ):
        reporter.fail(path, f"at most the {search.points} points of [search]", count)


def read_select(reporter: SpecReporter, table: dict[str, Any], search: Search | None) -> Select:
    path: Path_ = ("select",)
    keys = ", ".join(SELECT_SETTINGS)
    reporter.unknown_keys(path, table, SELECT_SETTINGS, f"a key of [select] ({keys})")
    _requires_search(reporter, "select", search)
    values = read_values(reporter, path, table, SELECT_SETTINGS)
    if "horizons" not in table:  # the spec's own horizon
        schedule = reporter.doc.data.get("schedule", {})
        horizon = schedule.get("horizon", 1.0) if isinstance(schedule, dict) else 1.0
        if SELECT_SETTINGS["horizons"].setting.kind.accepts((horizon,)):
            values["horizons"] = (float(horizon),)
    run = reporter.doc.data.get("run", {})
    search_seeds = run.get("seeds", [0]) if isinstance(run, dict) else [0]
    seeds = values.get("seeds", Select().seeds)
    reused = sorted(set(seeds) & set(search_seeds if isinstance(search_seeds, list) else []))
    if reused:
        reporter.fail(
            (*path, "seeds"),
            "fresh seeds, none of the search's [run].seeds",
            Found(f"{show(reused)} in both"),
        )
    _count_within(reporter, (*path, "top_k"), values.get("top_k"), search)
    return Select(**values)


def read_list(reporter: SpecReporter, table: dict[str, Any], search: Search | None) -> ListSettings:
    path: Path_ = ("list",)
    keys = ", ".join(LIST_SETTINGS)
    reporter.unknown_keys(path, table, LIST_SETTINGS, f"a key of [list] ({keys})")
    _requires_search(reporter, "list", search)
    values = read_values(reporter, path, table, LIST_SETTINGS)
    _count_within(reporter, (*path, "size"), values.get("size"), search)
    return ListSettings(**values)


# --- for the commands --------------------------------------------------------------------


def require(spec: Any, table: str, command: str) -> None:
    """ConfigError unless ``spec`` has an algorithm and the tables ``command`` needs."""
    missing = [n for n in ("search", table) if n not in spec.reserved]
    problems = []
    if spec.algorithm is None:
        problems.append(
            spec.document.problem(
                ("algorithm",), f"expected an [algorithm] for hpbench {command}, found none"
            )
        )
    for name in missing:
        problems.append(
            spec.document.problem(
                (name,), f"expected a [{name}] table for hpbench {command}, found none"
            )
        )
    if problems:
        raise ConfigError(problems)

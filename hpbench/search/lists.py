"""Hyperparameter lists, the NAdamW-list paper's procedure: the greedy list of a search's
points by C_tau (its Algorithm 1), leave-one-workload-out, and the exhaustive best subset
for comparison only.

Every point is run on every workload with each of ``[run].seeds``; a point's step fraction
on a workload is the median over seeds, as the paper reports it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from hpbench.plan import Trial
from hpbench.scoring.lists import HeldOut
from hpbench.search.runs import PointTable, finished, point_table, point_trials, train
from hpbench.spec import Spec
from hpbench.spec.search import require
from hpbench.spec.settings import ListSettings, Search

#: The exhaustive best subset is skipped above this many subsets (C(200, 5) is 2.5e9).
MAX_SUBSETS = 2_000_000


@attrs.frozen(eq=False)
class BuiltList:
    """A greedy list, its prefix costs, the leave-one-out folds and the best subset."""

    spec: Spec
    search: Search
    settings: ListSettings
    table: PointTable
    order: tuple[int, ...]  # point indices, in priority order
    prefix_costs: tuple[float, ...]  # C_tau of the first k points, k = 1..size
    held_out: tuple[HeldOut, ...]
    best_subset: tuple[int, ...] | None  # None: not asked for, or too many subsets
    best_subset_cost: float | None

    def points(self) -> list[dict[str, Any]]:
        """The list's points in priority order (trial values)."""
        return [dict(self.spec.points[i]) for i in self.order]


def build_list(
    spec: Spec,
    results_dir: Path,
    pack: int | None = None,
    progress: Callable[[Any], None] | None = None,
    runner: Any = None,
) -> BuiltList:
    """Run ``spec``'s search (finished trials reused) and build its list."""
    groups = _search_groups(spec)
    train([t for g in groups for t in g], results_dir, pack, progress, runner)
    return list_from_table(spec, spec.search, spec.listing, point_table(groups, results_dir))


def read_list(spec: Spec, results_dir: Path) -> BuiltList | None:
    """:func:`build_list`'s list from finished trials alone (re-rendering from an archive);
    None while any trial of the search has not finished."""
    groups = _search_groups(spec)
    if not finished(results_dir, [t for g in groups for t in g]):
        return None
    return list_from_table(spec, spec.search, spec.listing, point_table(groups, results_dir))


def list_search_trials(spec: Spec) -> list[Trial]:
    """Every trial :func:`build_list` trains for ``spec``."""
    return [t for g in _search_groups(spec) for t in g]


def _search_groups(spec: Spec) -> list[list[Trial]]:
    """The trials of each of ``spec``'s search points (a spec with ``[list]``)."""
    require(spec, "list", "build-list")
    return [point_trials(spec, p) for p in spec.points]


def list_from_table(
    spec: Spec, search: Search, settings: ListSettings, table: PointTable
) -> BuiltList:
    """The greedy list, its leave-one-out folds and (if asked) the best subset of ``table``."""
    from hpbench.scoring import best_subset, greedy_list, leave_one_workload_out, list_cost

    fractions, size, tau = table.fractions, settings.size, settings.tau
    order = greedy_list(fractions, size, tau)
    prefix = tuple(list_cost(fractions, order[:k], tau) for k in range(1, size + 1))
    folds: tuple[HeldOut, ...] = ()
    if fractions.shape[1] >= 2:
        folds = tuple(leave_one_workload_out(fractions, size, tau, table.metrics, table.directions))
    subset = subset_cost = None
    if settings.exhaustive and math.comb(fractions.shape[0], size) <= MAX_SUBSETS:
        subset = best_subset(fractions, size, tau)
        subset_cost = list_cost(fractions, subset, tau)
    return BuiltList(
        spec, search, settings, table, tuple(order), prefix, folds, subset, subset_cost
    )

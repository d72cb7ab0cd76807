"""Hyperparameter lists: the cost C_tau, greedy and exhaustive lists, leave-one-workload-out,
and the speedup of one algorithm over another.

Inputs are step-fraction matrices: ``fractions[p, i] = t_{p,i} / T_i`` of point ``p`` on
workload ``i`` (median over seeds, ``inf`` when missed), e.g. ``Scores.matrix("step_fraction")``.
NAdamW-list paper: ``C_tau(L) = prod_i min(min_{p in L} fractions[p, i], tau) ** (1/N)``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import attrs
import numpy as np

from hpbench.direction import best_of

#: The NAdamW-list paper's penalty for a missed workload.
DEFAULT_TAU = 2.0


def _geometric_mean(values: np.ndarray, axis: int = -1) -> np.ndarray:
    with np.errstate(divide="ignore"):
        return np.exp(np.log(values).mean(axis=axis))


def _missed_if_nan(values: np.ndarray) -> np.ndarray:
    """A point not run on a workload (NaN) counts as having missed it."""
    return np.where(np.isnan(values), np.inf, values)


def list_cost(
    fractions: np.ndarray, points: Sequence[int] | None = None, tau: float = DEFAULT_TAU
) -> float:
    """C_tau of the list ``points`` (rows of ``fractions``; all rows by default)."""
    fractions = np.asarray(fractions, dtype=float)
    chosen = fractions if points is None else fractions[list(points)]
    if not chosen.shape[0]:
        return float(tau)
    best = np.min(_missed_if_nan(chosen), axis=0)  # t_i
    return float(_geometric_mean(np.minimum(best, tau)))


def prefix_costs(fractions: np.ndarray, tau: float = DEFAULT_TAU) -> tuple[np.ndarray, np.ndarray]:
    """Per k, the per-workload best of the first k rows (missed: inf) and the list cost
    C_tau of those rows (each equal to :func:`list_cost` of ``range(k)``), all at once: a
    list table of 500 points called ``list_cost`` per prefix, quadratic in the points."""
    fractions = np.asarray(fractions, dtype=float)
    best = np.minimum.accumulate(_missed_if_nan(fractions), axis=0)
    return best, _geometric_mean(np.minimum(best, tau))


def _costs_when_added(best: np.ndarray, fractions: np.ndarray, tau: float) -> np.ndarray:
    """C_tau(L + [p]) for every row p, given the current per-workload best ``best``."""
    candidate = np.minimum(best[None, :], _missed_if_nan(fractions))
    return _geometric_mean(np.minimum(candidate, tau))


def top_points(fractions: np.ndarray, k: int, tau: float = DEFAULT_TAU) -> list[int]:
    """The ``k`` rows with the lowest single-point cost C_tau, best first (ties: lower index):
    the lr-free paper's calibration step 3, before re-running them with new seeds."""
    fractions = np.asarray(fractions, dtype=float)
    _check_size(fractions, k)
    costs = _geometric_mean(np.minimum(_missed_if_nan(fractions), tau))
    return [int(i) for i in np.argsort(costs, kind="stable")[:k]]


def greedy_list(fractions: np.ndarray, size: int, tau: float = DEFAULT_TAU) -> list[int]:
    """The NAdamW-list paper's Algorithm 1: ordered, each step adds the point that lowers
    C_tau most (ties: the lowest row index), so its first k points are its best k-list."""
    fractions = np.asarray(fractions, dtype=float)
    _check_size(fractions, size)
    chosen: list[int] = []
    best = np.full(fractions.shape[1], np.inf)
    for _ in range(size):
        costs = _costs_when_added(best, fractions, tau)
        costs[chosen] = np.inf
        point = int(np.argmin(costs))
        chosen.append(point)
        best = np.minimum(best, _missed_if_nan(fractions[point]))
    return chosen


def best_subset(fractions: np.ndarray, size: int, tau: float = DEFAULT_TAU) -> tuple[int, ...]:
    """The ``size``-subset of rows with the lowest C_tau, by exhaustive search (it overfits;
    for comparison with the greedy list only). Ties: the lexicographically first subset."""
    fractions = np.asarray(fractions, dtype=float)
    _check_size(fractions, size)
    return min(
        itertools.combinations(range(fractions.shape[0]), size),
        key=lambda subset: list_cost(fractions, subset, tau),
    )


def _check_size(fractions: np.ndarray, size: int) -> None:
    if fractions.ndim != 2:
        raise ValueError(f"fractions must be points x workloads, got shape {fractions.shape}")
    if not 1 <= size <= fractions.shape[0]:
        raise ValueError(f"list size must be in [1, {fractions.shape[0]}] (the points), got {size}")


@attrs.frozen
class HeldOut:
    """One leave-one-workload-out fold: the list built without ``workload`` and how it did there."""

    workload: int  # column index of the held-out workload
    points: tuple[int, ...]  # the greedy list built on the other workloads, in order
    step_fraction: float  # min over the list of the held-out workload's fractions; inf if missed
    best_metric: float  # best over the list of the held-out workload's metric; NaN if not given


def leave_one_workload_out(
    fractions: np.ndarray,
    size: int,
    tau: float = DEFAULT_TAU,
    metrics: np.ndarray | None = None,
    directions: Sequence[str] | None = None,
) -> list[HeldOut]:
    """For each workload, build the greedy list on the other workloads and report the
    held-out workload's step fraction (and best metric, given ``metrics`` and ``directions``
    "min"/"max" per workload) with that list."""
    fractions = np.asarray(fractions, dtype=float)
    _check_size(fractions, size)
    if fractions.shape[1] < 2:
        raise ValueError("leave-one-workload-out needs at least 2 workloads")
    folds = []
    for held in range(fractions.shape[1]):
        others = np.delete(fractions, held, axis=1)
        points = tuple(greedy_list(others, size, tau))
        column = fractions[list(points), held]
        metric = np.nan
        if metrics is not None and directions is not None:
            values = np.asarray(metrics, dtype=float)[list(points), held]
            values = values[~np.isnan(values)]
            if values.size:
                metric = best_of(directions[held])(values)
        folds.append(HeldOut(held, points, float(_missed_if_nan(column).min()), float(metric)))
    return folds


def speedup(candidate: np.ndarray, baseline: np.ndarray, budgets: np.ndarray) -> float:
    """Geometric mean over workloads of ``baseline / candidate`` times (> 1: candidate faster).

    As AlgoPerf's ``scoring/compute_speedups.py``, a missed target counts as the budget
    plus one time unit; AlgoPerf prints the reciprocal (candidate / baseline time).
    """
    budgets = np.asarray(budgets, dtype=float)
    fill = budgets + 1.0
    candidate = np.where(np.isfinite(candidate), candidate, fill)
    baseline = np.where(np.isfinite(baseline), baseline, fill)
    return float(_geometric_mean(np.asarray(baseline, float) / np.asarray(candidate, float)))

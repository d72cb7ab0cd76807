"""Performance profiles and the AlgoPerf benchmark score, computed as AlgoPerf's scoring code does.

Input: a matrix of times to target, one row per algorithm and one column per workload
(``inf`` = missed, ``NaN`` = not run). AlgoPerf's ``scoring/performance_profile.py`` (as of
its 2024-07-31 fix "Only consider workload variant times if they trained the base workload",
unchanged to release 0.6; ``compute_performance_profiles`` with ``max_tau=4.0,
num_points=100``, then ``compute_leaderboard_score(normalize=True)``) does, in this order:

1. a held-out variant's time becomes ``inf`` where its base workload's time is ``inf`` or
   ``NaN``: the variant's fastest time is taken only among those that reached the base;
2. cut-off: a time above 4x the fastest time of its workload becomes ``inf`` (every column);
3. a base workload's time becomes ``inf`` where one of its variants is ``inf`` or ``NaN``;
   then only base workloads are kept;
4. ratios: each time divided by the fastest time of its workload (a ``NaN`` quotient,
   e.g. ``inf / inf``, keeps the time, as pandas' ``DataFrame.update`` does);
5. ``rho(tau) = #{w : r_w <= tau} / N`` on ``tau = linspace(1, 4, 100)``;
6. score = trapezoid area under ``rho`` divided by ``(4 - 1)``.

``integral="exact"`` replaces 6 by the area under the step function ``rho``, which is
``sum_w (max_tau - max(r_w, min_tau)) / (max_tau - min_tau) / N`` over ``r_w <= max_tau``.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

#: AlgoPerf's ratio cut-off, largest tau and number of tau points.
ALGOPERF_MAX_TAU = 4.0
ALGOPERF_NUM_POINTS = 100
INTEGRALS = ("trapezoid", "exact")


@attrs.frozen(eq=False)
class Profile:
    """Performance profiles of a pool of algorithms over its base workloads."""

    ratios: np.ndarray  # (algorithms, base workloads): normalised times; inf = missed
    taus: np.ndarray  # (num_points,)
    rho: np.ndarray  # (algorithms, num_points): fraction of workloads with r <= tau
    scores: np.ndarray  # (algorithms,): benchmark score in [0, 1]


def _column_min(times: np.ndarray) -> np.ndarray:
    """Per-workload fastest time, ignoring NaN (pandas' ``DataFrame.min``)."""
    return np.fmin.reduce(times, axis=0, initial=np.nan)


def cut_off(times: np.ndarray, factor: float = ALGOPERF_MAX_TAU) -> np.ndarray:
    """Times above ``factor`` x the fastest of their workload become ``inf``."""
    with np.errstate(invalid="ignore"):
        return np.where(times > factor * _column_min(times), np.inf, times)


def _not_reached(times: np.ndarray) -> np.ndarray:
    """Missed or not run: AlgoPerf's ``variant_criteria_filter`` treats both as a miss."""
    return np.isposinf(times) | np.isnan(times)


def gate_by_base(times: np.ndarray, base_of: Sequence[int | None]) -> np.ndarray:
    """Set a variant's time to ``inf`` where its base workload's time is ``inf`` or NaN.

    ``base_of[j]`` is the column of column ``j``'s base workload (None for a base workload).
    """
    gated = times.copy()
    for column, base in enumerate(base_of):
        if base is not None:
            gated[:, column] = np.where(_not_reached(times[:, base]), np.inf, times[:, column])
    return gated


def gate_variants(times: np.ndarray, base_of: Sequence[int | None]) -> tuple[np.ndarray, list[int]]:
    """Set a base workload's time to ``inf`` where one of its variants is ``inf`` or NaN.

    ``base_of`` as in :func:`gate_by_base`. Returns the base columns (gated) and their
    indices in ``times``.
    """
    gated = times.copy()
    for column, base in enumerate(base_of):
        if base is not None:
            gated[:, base] = np.where(_not_reached(times[:, column]), np.inf, gated[:, base])
    keep = [j for j, base in enumerate(base_of) if base is None]
    return gated[:, keep], keep


def normalized_times(times: np.ndarray) -> np.ndarray:
    """Each time divided by its workload's fastest; where that is NaN, the time is kept."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratios = times / _column_min(times)
    return np.where(np.isnan(ratios), times, ratios)


def profile_curve(ratios: np.ndarray, taus: np.ndarray, num_workloads: int) -> np.ndarray:
    """``rho_a(tau)``: the fraction of ``num_workloads`` with ratio at most ``tau``."""
    with np.errstate(invalid="ignore"):
        hits = ratios[:, :, None] <= taus[None, None, :]
    return hits.sum(axis=1) / num_workloads


def trapezoid_score(taus: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """AlgoPerf's ``compute_leaderboard_score(normalize=True)``: trapezoid area / tau range."""
    return np.trapezoid(rho, x=taus, axis=-1) / (taus.max() - taus.min())


def exact_score(
    ratios: np.ndarray, num_workloads: int, min_tau: float = 1.0, max_tau: float = ALGOPERF_MAX_TAU
) -> np.ndarray:
    """The area under the step function ``rho`` on [min_tau, max_tau], over the range."""
    with np.errstate(invalid="ignore"):
        inside = np.where(ratios <= max_tau, max_tau - np.maximum(ratios, min_tau), 0.0)
    return inside.sum(axis=1) / num_workloads / (max_tau - min_tau)


def performance_profile(
    times: np.ndarray,
    base_of: Sequence[int | None] | None = None,
    *,
    min_tau: float = 1.0,
    max_tau: float = ALGOPERF_MAX_TAU,
    num_points: int = ALGOPERF_NUM_POINTS,
    cutoff: float = ALGOPERF_MAX_TAU,
    num_workloads: int | None = None,
    integral: str = "trapezoid",
) -> Profile:
    """Profiles and benchmark scores of the rows of ``times`` (algorithms x workloads).

    ``base_of`` marks held-out variant columns (see :func:`gate_by_base` and
    :func:`gate_variants`); by default every column is a base workload. ``num_workloads``
    is the profile's denominator (AlgoPerf fixes 8); by default the number of base workloads.
    """
    if integral not in INTEGRALS:
        raise ValueError(f"integral must be one of {INTEGRALS}, got {integral!r}")
    if not min_tau < max_tau:
        raise ValueError(f"need min_tau < max_tau, got {min_tau} and {max_tau}")
    times = np.asarray(times, dtype=float)
    if times.ndim != 2:
        raise ValueError(f"times must be a 2-d array (algorithms x workloads), got {times.shape}")
    base_of = [None] * times.shape[1] if base_of is None else list(base_of)
    if len(base_of) != times.shape[1]:
        raise ValueError(f"base_of has {len(base_of)} entries for {times.shape[1]} workloads")
    base_times, _ = gate_variants(cut_off(gate_by_base(times, base_of), cutoff), base_of)
    ratios = normalized_times(base_times)
    count = base_times.shape[1] if num_workloads is None else num_workloads
    taus = np.linspace(min_tau, max_tau, num=num_points)
    rho = profile_curve(ratios, taus, max(count, 1))
    if integral == "trapezoid":
        scores = trapezoid_score(taus, rho)
    else:
        scores = exact_score(ratios, max(count, 1), min_tau, max_tau)
    return Profile(ratios=ratios, taus=taus, rho=rho, scores=scores)

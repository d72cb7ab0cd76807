"""The spread over seeds of a pool's scores: per row the seeds' min and max step fraction,
and percentile bootstrap intervals of each row's median step fraction and of each label's
benchmark score.

Bootstrap: each (label, workload) row's per-seed values (a seed's fastest trial, as in
:mod:`hpbench.scoring.scores`) are resampled with replacement, independently per row, and
the medians recomputed; the profile and benchmark scores are recomputed from every
resample's median times. The interval is the pair of order statistics at
``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` (no interpolation, so ``inf``, a
missed median, stays exact). The RNG is seeded: the same pool gives the same intervals.
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Mapping

import attrs
import numpy as np

from hpbench.results.records import TrialResult
from hpbench.scoring.profiles import (
    ALGOPERF_MAX_TAU,
    cut_off,
    gate_by_base,
    gate_variants,
    normalized_times,
)
from hpbench.scoring.scores import ScoreRow, Scores

DEFAULT_RESAMPLES = 1000
DEFAULT_CONFIDENCE = 0.95
DEFAULT_RNG_SEED = 0


@attrs.frozen
class RowSpread:
    """One row's seeds and the spread of its step fraction over them."""

    seeds: int
    low: float  # the smallest seed's step fraction (inf: every seed missed)
    high: float  # the largest (inf: a seed missed)
    interval: tuple[float, float]  # bootstrap interval of the median step fraction


@attrs.frozen(eq=False)
class Spread:
    """Spreads of a :class:`~hpbench.scoring.scores.Scores`, and how they were computed."""

    rows: Mapping[tuple[str, str], RowSpread]  # (label, workload) -> spread
    score: Mapping[str, tuple[float, float]]  # label -> bootstrap interval of its score
    resamples: int
    confidence: float
    rng_seed: int

    def row(self, label: str, workload: str) -> RowSpread | None:
        return self.rows.get((label, workload))


def per_seed(
    row: ScoreRow, scores: Scores, results: Mapping[str, TrialResult], *fields: str
) -> list[np.ndarray]:
    """Each of ``fields`` of each seed of ``row`` (seeds in order): the smallest over the
    seed's trials (its study), a NaN never taken. One pass for all the fields: a list's
    row has a trial per point and seed, thousands in a large pool."""
    by_seed: dict[int, list[float]] = {}
    get = operator.attrgetter(*fields) if len(fields) > 1 else lambda s: (getattr(s, fields[0]),)
    trial_scores = scores.trials
    for trial_id in row.trial_ids:
        values = get(trial_scores[trial_id])
        seed = results[trial_id].trial.seed
        smallest = by_seed.get(seed)
        if smallest is None:
            by_seed[seed] = [min(math.inf, v) for v in values]
        else:
            by_seed[seed] = [min(a, v) for a, v in zip(smallest, values, strict=True)]
    seeds = sorted(by_seed)
    return [np.array([by_seed[s][k] for s in seeds], dtype=float) for k in range(len(fields))]


def percentile_interval(samples: np.ndarray, confidence: float) -> tuple[float, float]:
    """Order statistics at ``(1 -+ confidence) / 2`` of ``samples`` (1-d)."""
    ordered = np.sort(samples)
    n = len(ordered)
    low = int(math.floor((1 - confidence) / 2 * n))
    high = int(math.ceil((1 + confidence) / 2 * n)) - 1
    return float(ordered[min(max(low, 0), n - 1)]), float(ordered[min(max(high, 0), n - 1)])


def _profile_layout(scores: Scores) -> tuple[list[str], list[int | None]]:
    """The profile's columns and their base columns, as :func:`score_results` lays them."""
    base_of_key = {r.workload: r.base for r in scores.rows}
    columns = [w for w in scores.workloads if base_of_key[w] in base_of_key]
    return columns, [
        None if base_of_key[w] == w else columns.index(base_of_key[w]) for w in columns
    ]


def profile_scores(
    times: np.ndarray, base_of: list[int | None], options: Mapping[str, object]
) -> np.ndarray:
    """Benchmark scores of a batch of time matrices ``times[b]`` (labels x columns) at once,
    equal to ``performance_profile(times[b], base_of, **options).scores`` for every ``b``:
    the batch is one wide matrix whose columns are (b, column) pairs, so each pair's fastest
    time, cut-off and gating stay its own; the trapezoid area is summed per workload in
    closed form (its indicator on the tau grid) instead of building rho."""
    batch, labels, width = times.shape
    wide = np.transpose(times, (1, 0, 2)).reshape(labels, batch * width)
    wide_base = [
        None if base is None else b * width + base for b in range(batch) for base in base_of
    ]
    bases = [j for j, base in enumerate(base_of) if base is None]
    count = options.get("num_workloads") or len(bases)
    if count == 0 or labels == 0:
        return np.zeros((batch, labels))
    gated, _ = gate_variants(cut_off(gate_by_base(wide, wide_base), ALGOPERF_MAX_TAU), wide_base)
    ratios = normalized_times(gated).reshape(labels, batch, len(bases))
    min_tau, max_tau = 1.0, float(options.get("max_tau", ALGOPERF_MAX_TAU))
    if options.get("integral", "trapezoid") == "exact":
        with np.errstate(invalid="ignore"):
            inside = np.where(ratios <= max_tau, max_tau - np.maximum(ratios, min_tau), 0.0)
        return (inside.sum(axis=-1) / count / (max_tau - min_tau)).T
    taus = np.linspace(min_tau, max_tau, num=int(options.get("num_points", 100)))
    # The trapezoid area under one workload's indicator [r <= tau_k] on the grid: from the
    # first grid point at or above r to the end, plus half the interval before it.
    first = np.searchsorted(taus, ratios)  # NaN and inf sort last: no area
    tail = np.append(taus[-1] - taus, 0.0)
    half = np.append(0.0, np.diff(taus) / 2)
    areas = tail[first] + np.append(half, 0.0)[first]
    return (areas.sum(axis=-1) / count / (taus[-1] - taus[0])).T


def seed_spread(
    scores: Scores,
    results: Mapping[str, TrialResult],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    rng_seed: int = DEFAULT_RNG_SEED,
) -> Spread:
    """Min-max over seeds and bootstrap intervals (see the module docstring) of ``scores``,
    computed from the ``results`` it scored, with the profile options it used."""
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError(
            f"need resamples >= 1 and confidence in (0, 1), got {resamples}, {confidence}"
        )
    rng = np.random.default_rng(rng_seed)
    if not scores.rows:
        return Spread({}, {}, resamples, confidence, rng_seed)
    columns, base_of = _profile_layout(scores)
    column_of = {w: j for j, w in enumerate(columns)}
    label_of = {label: i for i, label in enumerate(scores.labels)}
    times = np.full((resamples, len(scores.labels), len(columns)), np.nan)
    by_count: dict[int, list[tuple[ScoreRow, np.ndarray, np.ndarray]]] = defaultdict(list)
    for row in scores.rows:
        fractions, clock = per_seed(row, scores, results, "step_fraction", scores.time)
        by_count[len(fractions)].append((row, fractions, clock))
    rows = {}
    for count in sorted(by_count):  # a fixed order: the same pool draws the same resamples
        group = by_count[count]
        draws = rng.integers(0, count, size=(len(group), resamples, count))
        fractions = np.array([f for _, f, _ in group])[:, None, :]
        clock = np.array([c for _, _, c in group])[:, None, :]
        fraction_medians = np.median(np.take_along_axis(fractions, draws, axis=2), axis=2)
        clock_medians = np.median(np.take_along_axis(clock, draws, axis=2), axis=2)
        for k, (row, values, _) in enumerate(group):
            rows[(row.label, row.workload)] = RowSpread(
                seeds=count,
                low=float(values.min()),
                high=float(values.max()),
                interval=percentile_interval(fraction_medians[k], confidence),
            )
            if row.workload in column_of:
                times[:, label_of[row.label], column_of[row.workload]] = clock_medians[k]
    samples = profile_scores(times, base_of, scores.profile_options)
    score = {
        label: percentile_interval(samples[:, i], confidence)
        for i, label in enumerate(scores.labels)
    }
    return Spread(rows, score, resamples, confidence, rng_seed)

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
from collections import defaultdict
from collections.abc import Mapping

import attrs
import numpy as np

from hpbench.results.records import TrialResult
from hpbench.scoring.profiles import performance_profile
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
    row: ScoreRow, scores: Scores, results: Mapping[str, TrialResult], field: str
) -> np.ndarray:
    """``field`` of each seed of ``row``: the smallest over the seed's trials (its study)."""
    by_seed: dict[int, float] = defaultdict(lambda: math.inf)
    for trial_id in row.trial_ids:
        seed = results[trial_id].trial.seed
        by_seed[seed] = min(by_seed[seed], getattr(scores.trials[trial_id], field))
    return np.array([by_seed[s] for s in sorted(by_seed)], dtype=float)


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
    times = np.full((resamples, len(scores.labels), len(columns)), np.nan)
    rows = {}
    for row in scores.rows:  # rows are in label, workload order: the draws are reproducible
        fractions = per_seed(row, scores, results, "step_fraction")
        clock = per_seed(row, scores, results, scores.time)
        draws = rng.integers(0, len(fractions), size=(resamples, len(fractions)))
        medians = np.median(fractions[draws], axis=1)
        rows[(row.label, row.workload)] = RowSpread(
            seeds=len(fractions),
            low=float(fractions.min()),
            high=float(fractions.max()),
            interval=percentile_interval(medians, confidence),
        )
        if row.workload in columns:
            i, j = scores.labels.index(row.label), columns.index(row.workload)
            times[:, i, j] = np.median(clock[draws], axis=1)
    options = dict(scores.profile_options)
    samples = np.array([performance_profile(t, base_of, **options).scores for t in times])
    score = {
        label: percentile_interval(samples[:, i], confidence)
        for i, label in enumerate(scores.labels)
    }
    return Spread(rows, score, resamples, confidence, rng_seed)

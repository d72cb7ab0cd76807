"""Unit points in [0, 1)^d: a scrambled Halton sequence, plain random draws, a full grid.

Quasi-random search (Bousquet et al. 2017, "Critical hyper-parameters: no random, no cry")
uses a scrambled Halton sequence: low discrepancy like a grid, any prefix usable like
random search. We use ``scipy.stats.qmc.Halton(scramble=True)``: Owen's (2017) randomised
Halton, an independent random permutation of the digits at every digit position of every
base, seeded. AlgoPerf's ``halton.py`` (from Google's uncertainty-baselines) scrambles with
one permutation per base plus a random shift, skips 100 points and then shuffles the
sequence with an unseeded generator, so its points are not a function of a seed and a
prefix of 200 points is not the 100-point search; scipy's sequence keeps both properties.
Both are functions of (count, dimensions, seed) with ``count`` only taking a prefix.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np


def halton(count: int, dimensions: int, seed: int) -> np.ndarray:
    """The first ``count`` points of the scrambled Halton sequence seeded by ``seed``."""
    from scipy.stats import qmc

    engine = qmc.Halton(dimensions, scramble=True, rng=np.random.default_rng(seed))
    return engine.random(count)


def uniform_random(count: int, dimensions: int, seed: int) -> np.ndarray:
    """``count`` independent uniform points; row ``i`` does not depend on ``count``."""
    return np.random.default_rng(seed).random((count, dimensions))


def grid_indices(sizes: Sequence[int]) -> list[tuple[int, ...]]:
    """Every combination of per-dimension value indices, the last dimension fastest."""
    return list(itertools.product(*(range(n) for n in sizes)))

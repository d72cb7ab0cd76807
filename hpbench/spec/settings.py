"""The settings of the ``[search]``, ``[select]`` and ``[list]`` tables, as checked values.

:mod:`hpbench.spec.search` builds them from a spec (reporting problems in the spec's
style); the search, calibration and list builders consume them. No numpy here.
"""

from __future__ import annotations

import attrs

from hpbench.spec.spaces import Space

#: How a search draws its points (``hpbench.spec.sequences``).
METHODS = ("halton", "random", "grid")
#: The penalty of a missed workload in C_tau (both papers).
DEFAULT_TAU = 2.0


@attrs.frozen
class Search:
    """A search: its space, how points are drawn, how many, and the sequence's seed.

    ``seed`` picks the scrambling of the sequence (or the random draws), not the training
    seeds (``[run].seeds``). ``resolution`` is the number of values per range dimension of
    a grid (``points`` is ignored there: a grid's size is the product of its axes).
    """

    space: Space
    method: str = "halton"
    points: int = 100
    seed: int = 0
    resolution: int = 3
    space_file: str | None = None  # the file the space was read from, for provenance


@attrs.frozen
class Select:
    """The lr-free paper's calibration (its Section 3.2): per horizon fraction, keep the
    ``top_k`` points by single-point cost C_tau, re-run them with ``seeds``, pick the best
    by benchmark score."""

    horizons: tuple[float, ...]
    top_k: int = 3
    seeds: tuple[int, ...] = (1, 2, 3)
    tau: float = DEFAULT_TAU


@attrs.frozen
class ListSettings:
    """The NAdamW-list paper's greedy list: ``size`` points by C_tau, each point's time the
    median over ``[run].seeds``; ``exhaustive`` adds the best ``size``-subset to compare."""

    size: int = 5
    tau: float = DEFAULT_TAU
    exhaustive: bool = False

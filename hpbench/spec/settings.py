"""The settings of the ``[search]``, ``[select]`` and ``[list]`` tables, declared once.

Each key is a :func:`hpbench.config.fields.setting`: its validator refuses a bad value
whatever builds the model, and :mod:`hpbench.spec.search` (reading a spec), the JSON Schema
and the tables in docs/search.md are derived from the same declaration. The search, the
calibration and the list builders consume these types. No numpy here.
"""

from __future__ import annotations

import attrs

from hpbench.config.fields import Choice, Flag, Integer, Items, Number, setting
from hpbench.config.values import POSITIVE
from hpbench.schedules import HORIZON
from hpbench.spec.spaces import Space

#: How a search draws its points (``hpbench.spec.sequences``).
METHODS = ("halton", "random", "grid")
#: The penalty of a missed workload in C_tau (both papers).
DEFAULT_TAU = 2.0
#: The most points a search may have (each is a trial per workload and seed).
MAX_POINTS = 100_000

_TAU = "C_tau's penalty for a missed workload"


@attrs.frozen
class Search:
    """A search: its space, how points are drawn, how many, and the sequence's seed.

    ``seed`` picks the scrambling of the sequence (or the random draws), not the training
    seeds (``[run].seeds``). ``resolution`` is the number of values per range dimension of
    a grid (``points`` is ignored there: a grid's size is the product of its axes).
    """

    space: Space
    method: str = setting(
        "halton",
        Choice(METHODS),
        "`halton` (scrambled Halton, quasi-random), `random` (uniform), `grid`",
    )
    points: int = setting(100, Integer(1, MAX_POINTS), "number of points (`halton`, `random`)")
    seed: int = setting(
        0, Integer(0), "the sequence's scrambling (or random draws); not a training seed"
    )
    resolution: int = setting(
        3, Integer(), "`grid` only: values per range dimension, both ends included"
    )
    space_file: str | None = None  # the file the space was read from, for provenance


@attrs.frozen
class Select:
    """The lr-free paper's calibration (its Section 3.2): per horizon fraction, keep the
    ``top_k`` points by single-point cost C_tau, re-run them with ``seeds``, pick the best
    by benchmark score."""

    horizons: tuple[float, ...] = setting(
        (1.0,),
        Items(Number(HORIZON), "a non-empty list of horizons", f"array of numbers in {HORIZON}"),
        "the horizon fractions f to calibrate at",
        default_text="`[schedule.horizon]`",
    )
    top_k: int = setting(3, Integer(), "points kept per horizon")
    seeds: tuple[int, ...] = setting(
        (1, 2, 3),
        Items(Integer(0), "a non-empty list of seeds", "array of integers >= 0"),
        "fresh seeds for the re-runs (none of `[run].seeds`)",
    )
    tau: float = setting(DEFAULT_TAU, Number(POSITIVE), _TAU)


@attrs.frozen
class ListSettings:
    """The NAdamW-list paper's greedy list: ``size`` points by C_tau, each point's time the
    median over ``[run].seeds``; ``exhaustive`` adds the best ``size``-subset to compare."""

    size: int = setting(5, Integer(), "the list's length K")
    tau: float = setting(DEFAULT_TAU, Number(POSITIVE), _TAU)
    exhaustive: bool = setting(
        False,
        Flag(),
        "also find the best K-subset by exhaustive search (comparison only; skipped above "
        "2,000,000 subsets)",
    )

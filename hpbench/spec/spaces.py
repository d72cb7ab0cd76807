"""Search spaces as the papers write them: log or linear ranges, discrete choices, and
``1 - beta`` parametrisations, each mapping a unit coordinate ``u`` in [0, 1) to a value.

A dimension named ``one_minus_beta1`` searches ``x = 1 - beta1`` and sets ``beta1 = 1 - x``
(the algorithms take the decay rates themselves, ``hpbench/algorithms/registry.py``).
No numpy or JAX here: the spec checker builds spaces while validating.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from hpbench.plan import Scalar

SCALES = ("log", "linear")
#: The prefix of a dimension that searches ``1 - hyperparameter``.
ONE_MINUS = "one_minus_"
#: Significant digits kept in a generated value: short in emitted specs, and the same
#: trial id whatever the last bit of ``exp``/``log`` on a platform.
DIGITS = 10


@attrs.frozen
class Dimension:
    """One search dimension: a range (``scale``, ``low``, ``high``) or ``values`` to choose from.

    ``baselines_only`` drops the dimension for learning-rate-free algorithms (the lr-free
    paper searches the base learning rate for AdamW/NAdamW only).
    """

    name: str
    scale: str | None = None  # "log" | "linear"; None for a discrete dimension
    low: float | None = None
    high: float | None = None
    values: tuple[Scalar, ...] | None = None
    baselines_only: bool = False

    @property
    def target(self) -> str:
        """The trial field this dimension sets (``beta1`` for ``one_minus_beta1``)."""
        return self.name.removeprefix(ONE_MINUS)

    @property
    def one_minus(self) -> bool:
        return self.name.startswith(ONE_MINUS)

    @property
    def discrete(self) -> bool:
        return self.values is not None

    def searched(self, u: float) -> Scalar:
        """The searched quantity (``x``, before ``1 - x``) at unit coordinate ``u``."""
        if self.values is not None:
            return self.values[min(int(math.floor(u * len(self.values))), len(self.values) - 1)]
        if self.scale == "log":
            return self.low * math.exp(u * math.log(self.high / self.low))
        return self.low + u * (self.high - self.low)

    def value(self, u: float) -> Scalar:
        """The trial value at unit coordinate ``u``: searched, ``1 - x`` applied, rounded."""
        return self.convert(self.searched(u))

    def convert(self, x: Scalar) -> Scalar:
        """A searched quantity as the trial value."""
        if isinstance(x, bool) or not isinstance(x, float | int):
            return x
        value = 1.0 - x if self.one_minus else x
        return float(f"{value:.{DIGITS}g}") if isinstance(value, float) else value

    def grid(self, resolution: int) -> tuple[Scalar, ...]:
        """Grid values: every choice, or ``resolution`` evenly spaced values (on the
        dimension's scale) from ``low`` to ``high`` inclusive."""
        if self.values is not None:
            return tuple(self.convert(v) for v in self.values)
        if resolution == 1:
            return (self.value(0.5),)
        step = 1.0 / (resolution - 1)
        ends = [self.searched(i * step) for i in range(resolution)]
        ends[-1] = self.high  # exactly the end written, whatever the rounding of exp
        return tuple(self.convert(x) for x in ends)

    def bounds(self) -> tuple[Scalar, ...]:
        """The extreme trial values this dimension can produce (for range checks)."""
        if self.values is not None:
            return tuple(self.convert(v) for v in self.values)
        return (self.convert(self.low), self.convert(self.high))


@attrs.frozen
class Space:
    """The dimensions of a search, in written order (each has a fixed sequence coordinate)."""

    dimensions: tuple[Dimension, ...]

    def active(self, learning_rate_free: bool) -> tuple[int, ...]:
        """Indices of the dimensions an algorithm searches."""
        return tuple(
            i
            for i, d in enumerate(self.dimensions)
            if not (d.baselines_only and learning_rate_free)
        )

    def point(self, unit: Sequence[float], active: Sequence[int]) -> dict[str, Scalar]:
        """The trial values of one unit point (one coordinate per dimension of the space)."""
        return {self.dimensions[i].target: self.dimensions[i].value(unit[i]) for i in active}

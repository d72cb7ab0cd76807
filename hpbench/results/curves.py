"""What scoring needs of a trial's evaluations, and evaluations loaded only when used.

Scoring a trial against a target reads its whole curve for a few numbers: the times of
the first evaluation at or beyond the target and the best value of the target's metric (a
:class:`Reach`). The results index stores each scored target's reach beside the trial, and
serves the curve itself as :class:`LazyEvals`: a report of 100,000 trials draws a few
hundred curves, and builds no other trial's evaluation records.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from hpbench.plan import Target
from hpbench.results.records import EvalRecord


@attrs.frozen
class Reach:
    """A trial's curve against one target: the step, training seconds and AlgoPerf clock of
    its first evaluation at or beyond the target (``step`` None: none is; ``algoperf``
    None: that row has no clock) and the best value of the target's metric in its direction
    (NaN: no evaluation measured it). Numbers only: the index stores and serves them as
    columns, without building the evaluation's record."""

    step: int | None
    seconds: float | None
    algoperf: float | None
    best: float
    #: whether every evaluation carries AlgoPerf's clock (results written before hpbench
    #: kept it do not), so scoring on that clock needs no curve
    clocked: bool = True


def reach(evals: Sequence[EvalRecord], target: Target) -> Reach:
    """The :class:`Reach` of ``target`` in ``evals``; NaN never reaches the target and is
    never the best. :class:`LazyEvals` answer from their stored reaches when they have it."""
    if isinstance(evals, LazyEvals) and target in evals.reached:
        return evals.reached[target]
    metric, reached = target.metric, target.reached
    first = None
    measured = []
    clocked = True
    for record in evals:
        clocked = clocked and record.algoperf_seconds is not None
        value = record.metrics.get(metric, math.nan)
        if first is None and reached(value):
            first = record
        measured.append(value)
    best = float(target.best(measured))
    if first is None:
        return Reach(None, None, None, best, clocked)
    return Reach(first.step, first.train_seconds, first.algoperf_seconds, best, clocked)


class LazyEvals(Sequence[EvalRecord]):
    """A trial's evaluations, loaded by ``load`` on first use; ``reached``: the reach of the
    targets known without loading them. Equal to the tuple of the same records."""

    __slots__ = ("_load", "_records", "reached")

    def __init__(self, load: Callable[[], tuple[EvalRecord, ...]], reached: Mapping[Target, Reach]):
        self._load = load
        self._records: tuple[EvalRecord, ...] | None = None
        self.reached = dict(reached)

    def _all(self) -> tuple[EvalRecord, ...]:
        if self._records is None:
            self._records = tuple(self._load())
        return self._records

    def __len__(self) -> int:
        return len(self._all())

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __iter__(self) -> Iterator[EvalRecord]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, tuple | LazyEvals):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all()) if self._records is not None else "LazyEvals(<not loaded>)"

"""Trial results built directly (no training) for the scoring tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchmarks.synthetic_results import fixed_schedule_trial
from hpbench.plan import Target
from hpbench.results.records import EvalRecord, Status, TrialResult


def make_result(
    values: Sequence[float],
    *,
    target: Target | None = None,
    seconds_per_step: float = 0.5,
    state: str = "done",
    reason: str | None = None,
    **fields: Any,
) -> TrialResult:
    """A trial whose evaluation ``k`` (at step ``eval_every * (k + 1)``) measured ``values[k]``;
    ``fields`` are :func:`fixed_schedule_trial`'s (by default criteo, 100 steps of batch 8
    evaluated every 10, an error rate target of 0.5)."""
    target = target or Target("error_rate", 0.5, "min")
    defaults = {"workload": "criteo", "eval_every": 10, "max_steps": 100, "batch_size": 8}
    trial = fixed_schedule_trial(target=target, **{**defaults, **fields})
    eval_every = trial.eval_every
    evals = tuple(
        EvalRecord(
            step=eval_every * (k + 1),
            train_seconds=seconds_per_step * eval_every * (k + 1),
            train_loss=1.0,
            metrics={target.metric: v},
        )
        for k, v in enumerate(values)
    )
    return TrialResult(trial=trial, evals=evals, status=Status(state=state, reason=reason))


def reaching_at(step: int | None, **kwargs) -> TrialResult:
    """A trial (eval every step, min-metric 0.5) that first reaches the target at ``step``
    (None: never), evaluated until ``max(step, 10)``."""
    last = max(step or 0, 10)
    values = [0.4 if step is not None and s >= step else 0.9 for s in range(1, last + 1)]
    return make_result(values, eval_every=1, **kwargs)

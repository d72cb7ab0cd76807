"""Trial results built directly (no training) for the scoring tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from benchmarks.synthetic_results import fixed_schedule_trial
from hpbench.plan import Target
from hpbench.results.records import EvalRecord, Status, TrialResult


def make_result(
    values: Sequence[float],
    *,
    algorithm: str = "nadamw",
    workload: str = "criteo",
    variant: str = "base",
    size: str = "mini",
    seed: int = 0,
    hyperparameters: Mapping[str, float] | None = None,
    target: Target | None = None,
    eval_every: int = 10,
    seconds_per_step: float = 0.5,
    horizon: float = 1.0,
    max_steps: int = 100,
    state: str = "done",
    reason: str | None = None,
) -> TrialResult:
    """A trial whose evaluation ``k`` (at step ``eval_every * (k + 1)``) measured ``values[k]``."""
    target = target or Target("error_rate", 0.5, "min")
    trial = fixed_schedule_trial(
        workload,
        target,
        algorithm,
        hyperparameters,
        variant=variant,
        seed=seed,
        horizon=horizon,
        eval_every=eval_every,
        size=size,
        max_steps=max_steps,
        batch_size=8,
    )
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

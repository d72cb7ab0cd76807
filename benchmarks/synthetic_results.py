"""Synthetic results with known times to target, for the report and scoring tests and the
benchmarks (test fixtures, kept out of the package).

A synthetic learning curve crosses its target exactly at ``reach * T`` (T = the trial's
horizon in steps), so the first evaluation at or after that step is the time to target,
which tests can compute by hand. ``reach > 1`` never crosses (a missed target).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hpbench.direction import sign
from hpbench.plan import Target, Trial
from hpbench.results.records import EvalRecord, Status, TrialResult, metrics_digest
from hpbench.workloads.registry import get_workload

#: A target per metric for synthetic curves (what matters is the direction).
TARGETS = {
    "error_rate": 0.3,
    "cross_entropy": 0.45,
    "loss": 0.5,
    "ssim": 0.7,
    "wer": 0.3,
    "map": 0.5,
    "bleu": 30.0,
}
SECONDS_PER_STEP = 0.01


def make_trial(
    workload: str,
    algorithm: str = "nadamw",
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    size: str = "mini",
    max_steps: int | None = None,
    **fields: Any,
) -> Trial:
    """A trial on a registered workload with a synthetic target for its default metric
    (``max_steps`` defaults to the workload's budget at ``size``); ``fields`` are
    :func:`fixed_schedule_trial`'s (variant, seed, horizon, eval_every)."""
    info = get_workload(workload)
    return fixed_schedule_trial(
        workload,
        Target(info.metric, TARGETS[info.metric], info.direction),
        algorithm,
        hyperparameters,
        size=size,
        max_steps=max_steps or info.max_steps.get(size, 1000),
        batch_size=info.batch_size.get(size, 64),
        **fields,
    )


def fixed_schedule_trial(
    workload: str,
    target: Target,
    algorithm: str = "nadamw",
    hyperparameters: Mapping[str, Any] | None = None,
    *,
    variant: str = "base",
    seed: int = 0,
    horizon: float = 1.0,
    eval_every: int = 50,
    size: str = "mini",
    max_steps: int,
    batch_size: int,
) -> Trial:
    """A trial of any workload name (registered or not) with the schedule every synthetic
    result uses: warmup_cosine with 5% warmup, learning rate 1e-3 unless given."""
    return Trial(
        workload=workload,
        size=size,
        variant=variant,
        algorithm=algorithm,
        hyperparameters=dict(hyperparameters or {"learning_rate": 1e-3}),
        schedule="warmup_cosine",
        warmup=0.05,
        horizon=horizon,
        max_steps=max_steps,
        batch_size=batch_size,
        seed=seed,
        eval_every=eval_every,
        target=target,
    )


def curve_value(trial: Trial, step: int, reach: float) -> float:
    """The metric at ``step`` of a curve that crosses the target at ``reach * T``."""
    target = trial.target
    scale = 0.5 * abs(target.value) or 0.5
    u = step / trial.horizon_steps
    gap = math.exp(-u / 0.3) - math.exp(-reach / 0.3)  # > 0 before the crossing
    return target.value + sign(target.direction) * scale * gap


def make_result(
    trial: Trial,
    reach: float,
    *,
    state: str = "done",
    stop_step: int | None = None,
    reason: str | None = None,
) -> TrialResult:
    """A finished trial whose curve crosses its target at ``reach * T`` (``reach > 1``: never).

    ``stop_step`` ends the evaluations early: a failed or interrupted run has no row from there
    on; a diverged one, as the engine writes it, has its row at that step when it is an
    evaluation step (NaN: the evaluation of the diverged parameters) and none after.
    """
    steps = range(trial.eval_every, trial.horizon_steps + 1, trial.eval_every)
    evals = []
    for step in steps:
        value = curve_value(trial, step, reach)
        if stop_step is not None and step >= stop_step:
            if state != "diverged" or step > stop_step:
                break
            value = math.nan
        evals.append(
            EvalRecord(
                step=step,
                train_seconds=step * SECONDS_PER_STEP,
                train_loss=abs(value) if math.isfinite(value) else math.nan,
                metrics={trial.target.metric: value},
            )
        )
    last = evals[-1].step if evals else 0
    status = Status(
        state=state,
        step=stop_step if stop_step is not None else last,
        reason=reason,
        provenance={"hpbench": "synthetic", "jax": "none", "device": "cpu (synthetic)"},
    )
    return TrialResult(trial=trial, evals=tuple(evals), status=status)


def first_eval_at_or_after(trial: Trial, reach: float) -> float:
    """The step a synthetic curve reaches its target: the first evaluation >= reach * T."""
    if reach > 1:
        return math.inf
    step = math.ceil(reach * trial.horizon_steps / trial.eval_every) * trial.eval_every
    return float(max(step, trial.eval_every))


def write_result(result: TrialResult, results_dir: Path) -> Path:
    """Write ``result`` in the results-store format (trial.json, metrics.jsonl, status.json),
    without the store's fsyncs: synthetic stores are rebuilt, not recovered."""
    trial = {"id": result.id, **result.trial.canonical()}
    directory = Path(results_dir) / trial["id"]
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "trial.json").write_text(json.dumps(trial, indent=1, sort_keys=True))
    lines = "".join(json.dumps(record.to_json(), sort_keys=True) + "\n" for record in result.evals)
    (directory / "metrics.jsonl").write_text(lines)
    status = {**result.status.to_json(), "metrics": metrics_digest(lines.encode())}
    (directory / "status.json").write_text(json.dumps(status, indent=1, sort_keys=True))
    return directory

"""The optimizer of one pack member, built from its (possibly traced) packable values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optax

from hpbench.plan import Trial
from hpbench.schedules import relative_schedule
from hpbench.train.job import static_hyperparameters


def member_optimizer(
    lead: Trial, values: Mapping[str, Any]
) -> optax.GradientTransformationExtraArgs:
    """The algorithm of ``lead`` with the member's packable ``values`` (traced scalars inside
    the vmapped step) and the pack's static hyperparameters and options."""
    schedule = relative_schedule(lead.schedule, values["warmup"], lead.horizon_steps)
    hyperparameters = {**static_hyperparameters(lead), **values}
    hyperparameters.pop("warmup")
    # Interim until hpbench.algorithms.build lands: AdamW with the relative schedule.
    learning_rate = hyperparameters.get("learning_rate", 1e-3)
    return optax.adamw(
        lambda step: learning_rate * schedule(step),
        weight_decay=hyperparameters.get("weight_decay", 0.0),
    )


def member_eval_params(lead: Trial, params: Any, opt_state: Any) -> Any:
    """The parameters to evaluate (Schedule-Free evaluates elsewhere than it trains)."""
    return params

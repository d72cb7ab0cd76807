"""The optimizer of one pack member, built from its (possibly traced) packable values."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optax

from hpbench.algorithms.build import build_optimizer, eval_params
from hpbench.plan import Trial
from hpbench.schedules import relative_schedule
from hpbench.train.job import static_hyperparameters


def member_optimizer(
    lead: Trial, values: Mapping[str, Any]
) -> optax.GradientTransformationExtraArgs:
    """The algorithm of ``lead`` with the member's packable ``values`` (traced scalars inside
    the vmapped step; ``warmup`` feeds the relative schedule) and the pack's static
    hyperparameters and options."""
    hyperparameters = {**static_hyperparameters(lead), **values}
    warmup = hyperparameters.pop("warmup")
    schedule = relative_schedule(lead.schedule, warmup, lead.horizon_steps)
    return build_optimizer(lead.algorithm, hyperparameters, schedule, dict(lead.options))


def member_eval_params(lead: Trial, params: Any, opt_state: Any) -> Any:
    """The parameters to evaluate (Schedule-Free evaluates elsewhere than it trains)."""
    return eval_params(lead.algorithm, params, opt_state)

"""Relative learning-rate schedules: ``lr_t = base_lr_t * s(t / T)`` (REFERENCE.md section 1).

A schedule is a shape ``s(u)`` of the fraction ``u = t / T`` of the horizon ``T`` (in
steps), with a linear warmup over the first ``warmup`` fraction and 0 past the horizon.
``SCHEDULES`` and :func:`closed_form` need no JAX (the spec checker and the plots use
them); :func:`relative_schedule` builds the JAX function of the step that the optimizers
call, with ``warmup`` allowed to be a traced scalar so trials with different warmups pack.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hpbench.config.values import Interval

if TYPE_CHECKING:
    import numpy as np

#: The warmup, a fraction of the horizon, and the horizon f (``T = f * max_steps``): the one
#: statement of their ranges, which the spec checker, its schema and the models read.
WARMUP = Interval(0.0, 1.0, high_open=True)
HORIZON = Interval(0.0, 1.0, low_open=True)

#: Known shapes and what each does after the warmup (all ramp linearly from 0 before it).
SCHEDULES: dict[str, str] = {
    "warmup_cosine": "linear warmup, then cosine decay to exactly 0 at the horizon (the papers')",
    "constant": "linear warmup, then 1 until the horizon",
    "linear_decay": "linear warmup, then linear decay to exactly 0 at the horizon",
    "none": "no external schedule: 1 at every step (the naive lr-free baseline); warmup ignored",
}


def check_schedule(shape: str, warmup: float) -> None:
    """Raise ValueError saying what is wrong with ``shape`` or a concrete ``warmup``."""
    if shape not in SCHEDULES:
        raise ValueError(f"unknown schedule {shape!r}; known: {', '.join(SCHEDULES)}")
    if isinstance(warmup, int | float) and not WARMUP.contains(warmup):
        raise ValueError(f"schedule warmup must be a fraction in {WARMUP}, found {warmup}")


def _shape(xp: Any, shape: str, warmup: Any, u: Any) -> Any:
    """``s(u)`` with array namespace ``xp`` (numpy or jax.numpy); branch-free in ``warmup``."""
    if shape == "none":
        inside = xp.ones_like(u)
    else:
        # Denominators are made safe where their branch is not selected (warmup = 0 gives no
        # warmup branch, u = warmup = 0 must not divide by 0).
        ramp = u / xp.where(warmup > 0, warmup, 1.0)
        after = xp.clip((u - warmup) / (1.0 - warmup), 0.0, 1.0)
        if shape == "warmup_cosine":
            decay = 0.5 * (1.0 + xp.cos(math.pi * after))
        elif shape == "linear_decay":
            decay = 1.0 - after
        else:  # constant
            decay = xp.ones_like(u)
        inside = xp.where(u < warmup, ramp, decay)
    return xp.where((u >= 0) & (u <= 1.0), inside, 0.0)


def closed_form(shape: str, warmup: float, u: np.ndarray | float) -> np.ndarray:
    """``s(u)`` in numpy, for tests and plots (``u`` = fraction of the horizon)."""
    import numpy as np  # here, not at the top: the spec checker imports this module

    check_schedule(shape, warmup)
    u = np.asarray(u, dtype=np.float64)
    return _shape(np, shape, np.float64(warmup), u)


def relative_schedule(shape: str, warmup: Any, horizon_steps: int) -> Callable[[Any], Any]:
    """The JAX function ``step -> s(step / horizon_steps)`` (float32 scalar).

    ``warmup`` may be a traced scalar (packed trials); ``shape`` and ``horizon_steps`` are
    static. Steps past the horizon give 0 (the engine stops there anyway).
    """
    import jax.numpy as jnp

    check_schedule(shape, warmup)
    if not (isinstance(horizon_steps, numbers.Integral) and horizon_steps > 0):
        raise ValueError(f"horizon_steps must be a positive integer, found {horizon_steps!r}")
    horizon_steps = int(horizon_steps)
    warmup = jnp.asarray(warmup, jnp.float32)

    def schedule(step: Any) -> Any:
        u = jnp.asarray(step, jnp.float32) / horizon_steps
        return _shape(jnp, shape, warmup, u).astype(jnp.float32)

    return schedule

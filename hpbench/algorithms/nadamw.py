"""AlgoPerf's NAdam(W) update rule: ``nadamw_algoperf`` and Mechanic's ``nadam`` base.

AlgoPerf's ``paper_baselines/nadamw`` (forked from init2winit) bias-corrects the Nesterov
average as a whole: ``m_hat = (b1 m_t + (1 - b1) g_t) / (1 - b1^t)`` (Table 1 of
arXiv:1910.05446). ``optax.nadamw``, hpbench's ``nadamw`` and the rule the NAdamW-list paper
used, corrects its two terms separately, ``b1 m_t / (1 - b1^(t+1)) + (1 - b1) g_t / (1 -
b1^t)``: AlgoPerf's first step is ``(1 + b1) lr`` per coordinate, Optax's ``(1 + b1 / (1 +
b1)) lr``, 29% larger at b1 = 0.9 (docs/algorithms.md).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


class ScaleByNadamState(NamedTuple):
    count: jax.Array  # int32: steps taken
    mu: optax.Updates
    nu: optax.Updates


def scale_by_nadam(b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8) -> optax.GradientTransformation:
    """``m_hat / (sqrt(v_hat) + eps)`` with AlgoPerf's Nesterov bias correction."""

    def init(params: optax.Params) -> ScaleByNadamState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        return ScaleByNadamState(jnp.zeros([], jnp.int32), zeros, zeros)

    def update(grads, state: ScaleByNadamState, params=None):
        del params
        mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
        nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state.nu, grads)
        count = optax.safe_increment(state.count)
        correction1 = 1 - b1**count
        correction2 = 1 - b2**count
        updates = jax.tree.map(
            lambda m, v, g: (
                ((b1 * m + (1 - b1) * g) / correction1) / (jnp.sqrt(v / correction2) + eps)
            ),
            mu,
            nu,
            grads,
        )
        return updates, ScaleByNadamState(count, mu, nu)

    return optax.GradientTransformation(init, update)


def nadamw_algoperf(
    learning_rate: optax.ScalarOrSchedule,
    b1: Any = 0.9,
    b2: Any = 0.999,
    eps: Any = 1e-8,
    weight_decay: Any = 0.0,
) -> optax.GradientTransformation:
    """AlgoPerf's NAdamW: ``-lr_t * (m_hat / (sqrt(v_hat) + eps) + weight_decay * params)``,
    the weight decay scaled by the whole learning rate, as in ``optax.nadamw``."""
    return optax.chain(
        scale_by_nadam(b1, b2, eps),
        optax.add_decayed_weights(weight_decay),
        optax.scale_by_learning_rate(learning_rate),
    )


def nadam(
    learning_rate: optax.ScalarOrSchedule, b1: Any = 0.9, b2: Any = 0.999, eps: Any = 1e-8
) -> optax.GradientTransformation:
    """AlgoPerf's NAdam without weight decay (Mechanic's NAdam base)."""
    return optax.chain(scale_by_nadam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))

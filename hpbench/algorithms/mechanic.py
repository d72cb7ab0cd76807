"""Mechanic (Cutkosky, Defazio & Mehta 2023) as its authors implement it (mechanic-pytorch).

``optax.contrib.mechanize`` departs from the authors' code in ways that change the
trajectory from the first steps: it starts the scales at ``s_init`` instead of 0 and the
maxima ``m`` at 0 instead of 1e-6, stores the reward unclipped and clips ``h`` instead,
and computes the weight-decay term at the parameters before the base step. Since the
scale grows geometrically from its initial value, the two disagree by 100% of the
distance moved after 100 steps on a small MLP. This module follows ``mechanic_pytorch``
(``store_delta=False``) line by line; tests/test_crosscheck.py compares the two.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

#: mechanic-pytorch's initial value of the running maxima ``m`` ("max_product").
INITIAL_MAX_PRODUCT = 1e-6


class MechanicState(NamedTuple):
    base_state: Any
    reference: optax.Params  # x_ref: the initial parameters
    s: jax.Array  # (num_betas,) scales; the step multiplier is their sum
    m: jax.Array  # (num_betas,) running maxima of |h|
    v: jax.Array  # (num_betas,) discounted sums of h^2
    r: jax.Array  # (num_betas,) rewards (clipped at 0)


def mechanize(
    base: optax.GradientTransformation,
    weight_decay: Any = 0.01,
    s_init: Any = 1e-8,
    eps: Any = 1e-8,
    num_betas: int = 6,
) -> optax.GradientTransformationExtraArgs:
    """Learn the scale of ``base``'s updates: x_t = x_ref + sum(s_t) * (sum of base updates).

    ``num_betas`` is static (betas 0.9, 0.99, ..., 1 - 10^-num_betas); the other
    arguments may be traced scalars.
    """
    base = optax.with_extra_args_support(base)
    betas = jnp.asarray([1.0 - 10.0**-i for i in range(1, num_betas + 1)], jnp.float32)

    def init(params: optax.Params) -> MechanicState:
        zeros = jnp.zeros([num_betas], jnp.float32)
        return MechanicState(
            base_state=base.init(params),
            reference=params,
            s=zeros,
            m=jnp.full([num_betas], INITIAL_MAX_PRODUCT, jnp.float32),
            v=zeros,
            r=zeros,
        )

    def update(grads, state: MechanicState, params=None, **extra_args):
        if params is None:
            raise ValueError(optax.NO_PARAMS_MSG)
        base_updates, base_state = base.update(grads, state.base_state, params, **extra_args)
        s_sum = jnp.sum(state.s)
        # The offset Delta_t, recomputed from the iterate as mechanic-pytorch does by default.
        delta = jax.tree.map(lambda x, x0: (x - x0) / (s_sum + eps), params, state.reference)
        after_base = optax.apply_updates(params, base_updates)
        decay_scale = (
            weight_decay * s_sum * optax.tree.norm(grads) / (optax.tree.norm(after_base) + eps)
        )
        h = optax.tree.vdot(
            delta, jax.tree.map(lambda g, x: g + decay_scale * x, grads, after_base)
        )
        m = jnp.maximum(betas * state.m, jnp.abs(h))
        v = betas**2 * state.v + h**2
        r = jnp.maximum(betas * state.r - state.s * h, 0.0)
        s = (m * s_init / num_betas + r) / (jnp.sqrt(v) + eps)
        new_delta = optax.tree.add(delta, base_updates)
        scale = jnp.maximum(jnp.sum(s), 0.0)
        new_params = jax.tree.map(lambda x0, d: x0 + d * scale, state.reference, new_delta)
        updates = jax.tree.map(jnp.subtract, new_params, params)
        return updates, MechanicState(base_state, state.reference, s, m, v, r)

    return optax.GradientTransformationExtraArgs(init, update)

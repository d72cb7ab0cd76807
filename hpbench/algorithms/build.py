"""Optax transformations from a trial's hyperparameters and its relative schedule.

``build_optimizer`` resolves the hyperparameters against the algorithm's registry entry and
calls the entry's builder (:mod:`hpbench.algorithms.catalog`); the JAX pieces the builders
share live here. Every transformation accepts ``update(grads, state, params, value=loss)``.
See docs/algorithms.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from hpbench.algorithms.registry import AlgorithmInfo, get_algorithm

Schedule = Callable[[Any], Any]


def resolve_hyperparameters(
    info: AlgorithmInfo, hyperparameters: Mapping[str, Any], options: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Defaults overridden by ``options`` then ``hyperparameters``; unknown names and traced
    values of static hyperparameters are errors naming the algorithm and the key."""
    values = {**info.defaults(), **(options or {}), **hyperparameters}
    unknown = sorted(set(values) - set(info.names))
    if unknown:
        raise ValueError(
            f"algorithm {info.name!r} does not take {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(info.names)}"
        )
    for h in info.hyperparameters:
        value = values[h.name]
        if not h.packable and isinstance(value, jax.core.Tracer):
            raise ValueError(
                f"{info.name}.{h.name} changes the compiled program and cannot be packed "
                "(pass it as a Python value)"
            )
        if h.choices is not None and not h.packable and value not in h.choices:
            raise ValueError(f"{info.name}.{h.name} must be one of {h.choices}, found {value!r}")
        if h.kind == "int" and not h.packable:  # 6.0 read back from JSON shapes a program too
            if value != int(value):
                raise ValueError(f"{info.name}.{h.name} must be an integer, found {value!r}")
            values[h.name] = int(value)
    return values


class StepLearningRateState(NamedTuple):
    """State of :func:`learning_rate_per_step`: hpbench's step count and the inner state."""

    step: jax.Array  # int32: every step seen, skipped ones included (drives the schedule)
    inner: Any


def learning_rate_per_step(
    make: Callable[[Any], optax.GradientTransformation],
    learning_rate: Schedule,
    correction: Callable[[Any], Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """Rebuild ``make(lr)`` with this step's scalar learning rate; skip steps where it is 0.

    A skipped step returns zero updates and leaves the inner state (and its step count)
    untouched, exactly what the authors' Prodigy and D-Adaptation do when the learning rate
    is 0 (``if d_denom == 0: return loss``). Optax instead divides 0 by 0 there and returns
    NaN. The schedule is evaluated at hpbench's own step count, so its shape is unchanged.
    ``correction(inner_state)``, when given, multiplies the learning rate handed to ``make``.
    """

    def init(params: optax.Params) -> StepLearningRateState:
        return StepLearningRateState(jnp.zeros([], jnp.int32), make(1.0).init(params))

    def update(updates, state: StepLearningRateState, params=None, **extra_args):
        lr = jnp.asarray(learning_rate(state.step), jnp.float32)
        inner_lr = lr if correction is None else lr * correction(state.inner)
        inner = optax.with_extra_args_support(make(inner_lr))
        new_updates, new_inner = inner.update(updates, state.inner, params, **extra_args)
        skip = lr == 0
        new_updates = jax.tree.map(lambda u: jnp.where(skip, jnp.zeros_like(u), u), new_updates)
        new_inner = jax.tree.map(lambda new, old: jnp.where(skip, old, new), new_inner, state.inner)
        return new_updates, StepLearningRateState(optax.safe_increment(state.step), new_inner)

    return optax.GradientTransformationExtraArgs(init, update)


def bias_correction_removed(hp: dict[str, Any]) -> Callable[[Any], Any] | None:
    """Divides out the Adam bias correction Optax's Prodigy/D-Adapt always multiply in
    (``sqrt(1 - beta2^k) / (1 - beta1^k)`` at their step k), for ``bias_correction=False``."""
    if hp["bias_correction"]:
        return None

    def correction(inner_state):
        k = inner_state.count + 1
        return (1 - hp["beta1"] ** k) / jnp.sqrt(1 - hp["beta2"] ** k)

    return correction


def divided_weight_decay(
    tx: optax.GradientTransformation, learning_rate: Schedule, weight_decay: Any
) -> optax.GradientTransformationExtraArgs:
    """MoMo's weight decay as published, x+ = (x - tau d) / (1 + alpha lambda).

    Optax's momo/momo_adam return x+ = x / (1 + alpha lambda) - tau d; the step ``tau d`` is
    recovered from their update and divided too. ``alpha`` is the learning rate at the
    step count in the MoMo state (the one Optax used).
    """
    tx = optax.with_extra_args_support(tx)

    def update(updates, state, params=None, **extra_args):
        alpha_lambda = learning_rate(state.count) * weight_decay
        shrink = alpha_lambda / (1 + alpha_lambda)
        new_updates, state = tx.update(updates, state, params, **extra_args)
        new_updates = jax.tree.map(
            lambda u, x: -shrink * x + (u + shrink * x) / (1 + alpha_lambda), new_updates, params
        )
        return new_updates, state

    return optax.GradientTransformationExtraArgs(tx.init, update)


def build_optimizer(
    algorithm: str,
    hyperparameters: Mapping[str, Any],
    schedule: Schedule,
    options: Mapping[str, Any] | None = None,
) -> optax.GradientTransformationExtraArgs:
    """The Optax transformation of ``algorithm`` with the relative ``schedule`` in place.

    ``hyperparameters`` and ``options`` (static settings such as Mechanic's ``base``) are
    merged over the registry's defaults; ``dropout`` and ``label_smoothing`` are accepted
    and left to the workload. Call ``update(grads, state, params, value=loss)``.
    """
    info = get_algorithm(algorithm)
    values = resolve_hyperparameters(info, hyperparameters, options)
    return optax.with_extra_args_support(info.build(values, schedule))


def eval_params(algorithm: str, params: optax.Params, opt_state: Any) -> optax.Params:
    """The parameters to evaluate: the entry's ``eval_params`` (Schedule-Free's averaged
    iterate x), otherwise ``params``."""
    read = get_algorithm(algorithm).eval_params
    return params if read is None else read(params, opt_state)

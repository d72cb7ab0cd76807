"""Optax transformations from a trial's hyperparameters and its relative schedule.

``build_optimizer`` places the schedule where each algorithm needs it (REFERENCE.md
section 2): as the peak-learning-rate multiplier of AdamW/NAdamW/SGD, and *inside* the
learning-rate-free methods as their learning rate (``learning_rate * s(t / T)``).
Packable hyperparameters may be traced JAX scalars (the engine builds the optimizer inside
a ``jax.vmap``-ed function), so no builder branches on them in Python; the others
(``base``, ``num_betas``, ``safeguard_warmup``, ...) are static. Every transformation
accepts ``update(grads, state, params, value=loss)``. See docs/algorithms.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax
from optax import contrib

from hpbench.algorithms.mechanic import mechanize
from hpbench.algorithms.nadamw import nadam, nadamw_algoperf
from hpbench.algorithms.registry import AlgorithmInfo, get_algorithm

Schedule = Callable[[Any], Any]
Builder = Callable[[dict[str, Any], Schedule], optax.GradientTransformation]


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


def _bias_correction_removed(hp: dict[str, Any]) -> Callable[[Any], Any] | None:
    """Divides out the Adam bias correction Optax's Prodigy/D-Adapt always multiply in
    (``sqrt(1 - beta2^k) / (1 - beta1^k)`` at their step k), for ``bias_correction=False``."""
    if hp["bias_correction"]:
        return None

    def correction(inner_state):
        k = inner_state.count + 1
        return (1 - hp["beta1"] ** k) / jnp.sqrt(1 - hp["beta2"] ** k)

    return correction


def _scaled(hp: dict[str, Any], schedule: Schedule) -> Schedule:
    """``learning_rate * s(step)``: the algorithm's learning rate at each step."""
    peak = hp["learning_rate"]
    return lambda step: peak * schedule(step)


def _adamw(hp, schedule):
    return optax.adamw(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


def _nadamw(hp, schedule):
    return optax.nadamw(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


def _nadamw_algoperf(hp, schedule):
    return nadamw_algoperf(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


def _sgd(hp, schedule):
    return optax.chain(
        optax.add_decayed_weights(hp["weight_decay"]),
        optax.sgd(_scaled(hp, schedule), momentum=hp["momentum"], nesterov=hp["nesterov"]),
    )


def _cocob(hp, schedule):
    return contrib.cocob(
        _scaled(hp, schedule), alpha=hp["alpha"], eps=hp["eps"], weight_decay=hp["weight_decay"]
    )


def _dadapt_adamw(hp, schedule):
    def make(lr):
        return contrib.dadapt_adamw(
            lr, (hp["beta1"], hp["beta2"]), hp["eps"], hp["d0"], hp["weight_decay"]
        )

    return learning_rate_per_step(make, _scaled(hp, schedule), _bias_correction_removed(hp))


def _dog(hp, schedule):
    return contrib.dog(
        _scaled(hp, schedule),
        init_step=("heuristic", hp["reps_rel"]),
        eps=hp["eps"],
        weight_decay=hp["weight_decay"],
    )


def _dowg(hp, schedule):
    return contrib.dowg(_scaled(hp, schedule), eps=hp["eps"], weight_decay=hp["weight_decay"])


def _mechanic(hp, schedule):
    base = {"adam": optax.adam, "nadam": nadam}[hp["base"]]
    return mechanize(
        base(_scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"]),
        weight_decay=hp["weight_decay"],
        s_init=hp["s_init"],
        num_betas=hp["num_betas"],
    )


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


def _momo(hp, schedule):
    learning_rate = _scaled(hp, schedule)
    momo = contrib.momo(
        learning_rate,
        beta=hp["beta1"],
        lower_bound=hp["lower_bound"],
        weight_decay=hp["weight_decay"],
        adapt_lower_bound=hp["adapt_lower_bound"],
    )
    return divided_weight_decay(momo, learning_rate, hp["weight_decay"])


def _momo_adam(hp, schedule):
    learning_rate = _scaled(hp, schedule)
    momo_adam = contrib.momo_adam(
        learning_rate,
        hp["beta1"],
        hp["beta2"],
        hp["eps"],
        lower_bound=hp["lower_bound"],
        weight_decay=hp["weight_decay"],
        adapt_lower_bound=hp["adapt_lower_bound"],
    )
    return divided_weight_decay(momo_adam, learning_rate, hp["weight_decay"])


def _prodigy(hp, schedule):
    beta3 = hp["beta3"] if hp["beta3"] is not None else hp["beta2"] ** 0.5

    def make(lr):
        return contrib.prodigy(
            lr,
            (hp["beta1"], hp["beta2"]),
            beta3,
            hp["eps"],
            estim_lr0=hp["d0"],
            estim_lr_coef=hp["d_coef"],
            weight_decay=hp["weight_decay"],
            safeguard_warmup=hp["safeguard_warmup"],
        )

    return learning_rate_per_step(make, _scaled(hp, schedule), _bias_correction_removed(hp))


def _schedule_free_adamw(hp, schedule):
    """optax.contrib.schedule_free_adamw with the averaging weights and the step at one lr.

    Optax's ``schedule_free`` evaluates the schedule for the weights at its step count,
    which starts at 1, while the base step uses a count that starts at 0: one step apart
    during warmup or decay. The authors' AdamWScheduleFree uses the same ``lr_t`` for both.
    """
    learning_rate = _scaled(hp, schedule)
    base = optax.chain(
        optax.scale_by_rms(hp["beta2"], hp["eps"], eps_in_sqrt=False, bias_correction=True),
        optax.add_decayed_weights(hp["weight_decay"]),
        optax.scale_by_learning_rate(learning_rate),
    )
    return contrib.schedule_free(
        base,
        lambda count: learning_rate(count - 1),
        b1=hp["beta1"],
        weight_lr_power=hp["weight_lr_power"],
    )


BUILDERS: dict[str, Builder] = {
    "adamw": _adamw,
    "nadamw": _nadamw,
    "nadamw_algoperf": _nadamw_algoperf,
    "sgd": _sgd,
    "cocob": _cocob,
    "dadapt_adamw": _dadapt_adamw,
    "dog": _dog,
    "dowg": _dowg,
    "mechanic": _mechanic,
    "momo": _momo,
    "momo_adam": _momo_adam,
    "prodigy": _prodigy,
    "schedule_free_adamw": _schedule_free_adamw,
}


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
    values = resolve_hyperparameters(get_algorithm(algorithm), hyperparameters, options)
    return optax.with_extra_args_support(BUILDERS[algorithm](values, schedule))


def _schedule_free_state(opt_state: Any) -> contrib.ScheduleFreeState:
    found = [
        s
        for s in jax.tree.leaves(
            opt_state, is_leaf=lambda x: isinstance(x, contrib.ScheduleFreeState)
        )
        if isinstance(s, contrib.ScheduleFreeState)
    ]
    if len(found) != 1:
        raise ValueError("expected one ScheduleFreeState in a schedule_free_adamw optimizer state")
    return found[0]


def eval_params(algorithm: str, params: optax.Params, opt_state: Any) -> optax.Params:
    """The parameters to evaluate: Schedule-Free's averaged iterate x, otherwise ``params``."""
    if algorithm == "schedule_free_adamw":
        return contrib.schedule_free_eval_params(_schedule_free_state(opt_state), params)
    return params

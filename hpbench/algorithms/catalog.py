"""Every algorithm hpbench knows, each registered once: hyperparameters, builder, evaluation.

Adding an algorithm is one :func:`_register` call here with its builder beside it. Builders
take the resolved hyperparameters and the relative schedule ``s`` and place it where the
algorithm needs it (REFERENCE.md section 2): as the peak-learning-rate multiplier of
AdamW/NAdamW/SGD, and *inside* the learning-rate-free methods as their learning rate
(``learning_rate * s(t / T)``). Packable hyperparameters may be traced JAX scalars (the
engine builds inside a ``jax.vmap``-ed function), so no builder branches on them in Python;
the others (``base``, ``num_betas``, ``safeguard_warmup``, ...) are static. Builders import
JAX and Optax when called, so this module (and the spec checker) stays JAX-free. See
docs/algorithms.md.

One beta convention everywhere: ``beta1`` / ``beta2`` are the decay rates themselves
(0.9, 0.999), as in the papers' tables and the published NAdamW list; a search written in
``1 - beta`` form (REFERENCE.md section 3) converts before it reaches a trial. Defaults are
Optax's (REFERENCE.md "Seed defaults"). ``warmup`` is not here: it belongs to the schedule
(``Trial.warmup``, ``hpbench.schedules``). ``dropout`` and ``label_smoothing`` are in every
algorithm because they are algorithm regularizers, but the workload applies them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hpbench.algorithms.registry import AlgorithmInfo, Builder, EvalParams, Hyperparameter, register

Schedule = Callable[[Any], Any]  # a relative schedule: step -> multiplier in [0, 1]


def _lr(default: float, doc: str) -> Hyperparameter:
    return Hyperparameter("learning_rate", "float", default, doc, low=0.0, low_open=True)


def _beta(name: str, default: float, doc: str) -> Hyperparameter:
    return Hyperparameter(name, "float", default, doc, low=0.0, high=1.0, high_open=True)


def _eps(
    default: float, doc: str = "Added to the denominator for numerical stability."
) -> Hyperparameter:
    return Hyperparameter("eps", "float", default, doc, low=0.0)


def _weight_decay(default: float, doc: str) -> Hyperparameter:
    return Hyperparameter("weight_decay", "float", default, doc, low=0.0)


def _flag(name: str, default: bool, doc: str) -> Hyperparameter:
    """An on/off switch: it changes the compiled program, so it is never packed."""
    return Hyperparameter(name, "bool", default, doc, choices=(False, True), packable=False)


def _regularizers() -> tuple[Hyperparameter, ...]:
    return (
        Hyperparameter(
            "dropout",
            "float",
            0.0,
            "Dropout rate, applied by the workload's model (changes the program: not packable).",
            low=0.0,
            high=1.0,
            high_open=True,
            packable=False,
        ),
        Hyperparameter(
            "label_smoothing",
            "float",
            0.0,
            "Label smoothing of the training loss, applied by the workload.",
            low=0.0,
            high=1.0,
            high_open=True,
        ),
    )


_SCHEDULED_LR_DOC = (
    "Peak of the base learning rate: the algorithm's learning rate at step t is "
    "learning_rate * s(t / T) for the relative schedule s."
)
_LR_FREE_LR_DOC = (
    "Multiplier of the estimated step size, given to the algorithm as its learning rate "
    "learning_rate * s(t / T); the papers use 1 (schedule peak 1)."
)
_ADAM_BETAS = (
    _beta("beta1", 0.9, "Decay rate of the first-moment (momentum) average."),
    _beta("beta2", 0.999, "Decay rate of the second-moment average."),
)

_SCHEDULED_WEIGHT_DECAY = _weight_decay(
    1e-4, "Decoupled weight decay, scaled by the scheduled learning rate."
)
_COUPLED_WEIGHT_DECAY = _weight_decay(0.0, "Coupled L2 penalty added to the gradient.")
_D_SCALED_WEIGHT_DECAY = _weight_decay(
    0.0, "Decoupled weight decay, scaled by the step size d * lr."
)
_MOMO_WEIGHT_DECAY = _weight_decay(0.0, "Decoupled weight decay as in the paper.")
_BIAS_CORRECTION = _flag(
    "bias_correction",
    True,
    "Adam bias correction of the step (Optax, as the lr-free paper ran it); False is "
    "the authors' default and the paper's algorithm.",
)
_LOWER_BOUND = Hyperparameter("lower_bound", "float", 0.0, "Lower bound on the loss (f_*).")
_ADAPT_LOWER_BOUND = _flag(
    "adapt_lower_bound", False, "Estimate the loss lower bound online (MoMo*)."
)


def _register(
    name: str,
    description: str,
    *hyperparameters: Hyperparameter,
    build: Builder,
    lr_free: bool = False,
    eval_params: EvalParams | None = None,
) -> None:
    """Register ``name``, with the regularizers every algorithm takes after its own."""
    register(
        AlgorithmInfo(
            name,
            description,
            (*hyperparameters, *_regularizers()),
            build,
            learning_rate_free=lr_free,
            eval_params=eval_params,
        )
    )


def _scaled(hp: dict[str, Any], schedule: Schedule) -> Schedule:
    """``learning_rate * s(step)``: the algorithm's learning rate at each step."""
    peak = hp["learning_rate"]
    return lambda step: peak * schedule(step)


# --- scheduled algorithms ---------------------------------------------------------------


def _adamw(hp, schedule):
    import optax

    return optax.adamw(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


_register(
    "adamw",
    "AdamW (Loshchilov & Hutter 2019), bias-corrected, decoupled weight decay (optax.adamw).",
    _lr(1e-3, _SCHEDULED_LR_DOC),
    *_ADAM_BETAS,
    _eps(1e-8),
    _SCHEDULED_WEIGHT_DECAY,
    build=_adamw,
)


def _nadamw(hp, schedule):
    import optax

    return optax.nadamw(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


_register(
    "nadamw",
    "NAdamW, AdamW with Nesterov momentum (optax.nadamw): the rule the NAdamW-list paper "
    "used and the published list was tuned with.",
    _lr(1e-3, _SCHEDULED_LR_DOC),
    *_ADAM_BETAS,
    _eps(1e-8),
    _SCHEDULED_WEIGHT_DECAY,
    build=_nadamw,
)


def _nadamw_algoperf(hp, schedule):
    from hpbench.algorithms.nadamw import nadamw_algoperf

    return nadamw_algoperf(
        _scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"], weight_decay=hp["weight_decay"]
    )


_register(
    "nadamw_algoperf",
    "NAdamW as AlgoPerf's baseline (init2winit): the Nesterov average bias-corrected as a "
    "whole, first steps ~29% larger than nadamw's (docs/algorithms.md).",
    _lr(1e-3, _SCHEDULED_LR_DOC),
    *_ADAM_BETAS,
    _eps(1e-8),
    _SCHEDULED_WEIGHT_DECAY,
    build=_nadamw_algoperf,
)


def _sgd(hp, schedule):
    import optax

    return optax.chain(
        optax.add_decayed_weights(hp["weight_decay"]),
        optax.sgd(_scaled(hp, schedule), momentum=hp["momentum"], nesterov=hp["nesterov"]),
    )


_register(
    "sgd",
    "SGD with heavy-ball momentum and coupled L2 weight decay: a sanity baseline.",
    _lr(0.1, _SCHEDULED_LR_DOC),
    _beta("momentum", 0.9, "Momentum decay rate (0 = plain SGD)."),
    _flag("nesterov", False, "Use Nesterov momentum."),
    _weight_decay(0.0, "Coupled L2 penalty: weight_decay * params is added to the gradient."),
    build=_sgd,
)


# --- learning-rate-free algorithms ------------------------------------------------------


def _cocob(hp, schedule):
    from optax import contrib

    return contrib.cocob(
        _scaled(hp, schedule), alpha=hp["alpha"], eps=hp["eps"], weight_decay=hp["weight_decay"]
    )


_register(
    "cocob",
    "COCOB-Backprop (Orabona & Tommasi 2017): coin betting, optax.contrib.cocob.",
    _lr(
        1.0,
        "Weight of the gradients entering the bets, learning_rate * s(t / T) (as in Optax); "
        "not a step size: COCOB is invariant to a constant scale, only its change matters.",
    ),
    Hyperparameter(
        "alpha",
        "float",
        100.0,
        "Caps the denominator at alpha * (max gradient magnitude) early on (paper section 6).",
        low=0.0,
        low_open=True,
    ),
    _eps(1e-8, "Initial gradient-magnitude estimate L_0 (avoids a division by 0)."),
    _COUPLED_WEIGHT_DECAY,
    build=_cocob,
    lr_free=True,
)


def _dadapt_adamw(hp, schedule):
    from optax import contrib

    from hpbench.algorithms.build import bias_correction_removed, learning_rate_per_step

    def make(lr):
        return contrib.dadapt_adamw(
            lr, (hp["beta1"], hp["beta2"]), hp["eps"], hp["d0"], hp["weight_decay"]
        )

    return learning_rate_per_step(make, _scaled(hp, schedule), bias_correction_removed(hp))


_register(
    "dadapt_adamw",
    "D-Adaptation with Adam (Defazio & Mishchenko 2023), optax.contrib.dadapt_adamw.",
    _lr(1.0, _LR_FREE_LR_DOC),
    *_ADAM_BETAS,
    _eps(1e-8),
    Hyperparameter(
        "d0",
        "float",
        1e-6,
        "Initial estimate of D (distance to the solution).",
        low=0.0,
        low_open=True,
    ),
    _D_SCALED_WEIGHT_DECAY,
    _BIAS_CORRECTION,
    build=_dadapt_adamw,
    lr_free=True,
)


def _dog(hp, schedule):
    from optax import contrib

    return contrib.dog(
        _scaled(hp, schedule),
        init_step=("heuristic", hp["reps_rel"]),
        eps=hp["eps"],
        weight_decay=hp["weight_decay"],
    )


_register(
    "dog",
    "DoG, Distance over Gradients (Ivgi et al. 2023), optax.contrib.dog.",
    _lr(1.0, _LR_FREE_LR_DOC),
    Hyperparameter(
        "reps_rel",
        "float",
        1e-6,
        "Initial movement r_eps = reps_rel * (1 + |x_0|) (the authors' default).",
        low=0.0,
        low_open=True,
    ),
    _eps(1e-8),
    _COUPLED_WEIGHT_DECAY,
    build=_dog,
    lr_free=True,
)


def _dowg(hp, schedule):
    from optax import contrib

    return contrib.dowg(_scaled(hp, schedule), eps=hp["eps"], weight_decay=hp["weight_decay"])


_register(
    "dowg",
    "DoWG, Distance over Weighted Gradients (Khaled et al. 2023), optax.contrib.dowg.",
    _lr(1.0, _LR_FREE_LR_DOC),
    _eps(1e-4, "Initial squared distance estimate, also added to the denominator (Optax)."),
    _COUPLED_WEIGHT_DECAY,
    build=_dowg,
    lr_free=True,
)


def _mechanic(hp, schedule):
    import optax

    from hpbench.algorithms.mechanic import mechanize
    from hpbench.algorithms.nadamw import nadam

    base = {"adam": optax.adam, "nadam": nadam}[hp["base"]]
    return mechanize(
        base(_scaled(hp, schedule), hp["beta1"], hp["beta2"], hp["eps"]),
        weight_decay=hp["weight_decay"],
        s_init=hp["s_init"],
        num_betas=hp["num_betas"],
    )


_register(
    "mechanic",
    "Mechanic (Cutkosky et al. 2023) scaling a base Adam/NAdam, optax.contrib.mechanize.",
    Hyperparameter(
        "base",
        "str",
        "adam",
        "Base optimizer whose updates Mechanic scales.",
        choices=("adam", "nadam"),
        packable=False,
    ),
    _lr(1.0, "Learning rate of the base optimizer, learning_rate * s(t / T); the papers use 1."),
    *_ADAM_BETAS,
    _eps(1e-8, "The base optimizer's eps."),
    _weight_decay(
        0.01, "Mechanic's own weight decay lambda (inside the scale update, Optax default)."
    ),
    Hyperparameter(
        "s_init", "float", 1e-6, "Initial scale s (Optax default).", low=0.0, low_open=True
    ),
    Hyperparameter(
        "num_betas",
        "int",
        6,
        "Number of scale estimates (betas 0.9, 0.99, ..., 1 - 10^-num_betas).",
        low=1,
        high=12,
        packable=False,
    ),
    build=_mechanic,
    lr_free=True,
)


def _momo(hp, schedule):
    from optax import contrib

    from hpbench.algorithms.build import divided_weight_decay

    learning_rate = _scaled(hp, schedule)
    momo = contrib.momo(
        learning_rate,
        beta=hp["beta1"],
        lower_bound=hp["lower_bound"],
        weight_decay=hp["weight_decay"],
        adapt_lower_bound=hp["adapt_lower_bound"],
    )
    return divided_weight_decay(momo, learning_rate, hp["weight_decay"])


_register(
    "momo",
    "MoMo, model-based momentum SGD (Schaipp et al. 2024), optax.contrib.momo; uses the loss.",
    _lr(1.0, "Upper bound of the Polyak step, learning_rate * s(t / T)."),
    _beta("beta1", 0.9, "Momentum decay rate (the paper's beta)."),
    _LOWER_BOUND,
    _MOMO_WEIGHT_DECAY,
    _ADAPT_LOWER_BOUND,
    build=_momo,
    lr_free=True,
)


def _momo_adam(hp, schedule):
    from optax import contrib

    from hpbench.algorithms.build import divided_weight_decay

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


_register(
    "momo_adam",
    "MoMo-Adam (Schaipp et al. 2024), optax.contrib.momo_adam; uses the loss.",
    _lr(1e-2, "Upper bound of the Polyak step, learning_rate * s(t / T) (paper: 1e-2)."),
    *_ADAM_BETAS,
    _eps(1e-8),
    _LOWER_BOUND,
    _MOMO_WEIGHT_DECAY,
    _ADAPT_LOWER_BOUND,
    build=_momo_adam,
    lr_free=True,
)


def _prodigy(hp, schedule):
    from optax import contrib

    from hpbench.algorithms.build import bias_correction_removed, learning_rate_per_step

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

    return learning_rate_per_step(make, _scaled(hp, schedule), bias_correction_removed(hp))


_register(
    "prodigy",
    "Prodigy (Mishchenko & Defazio 2024), D-Adaptation successor, optax.contrib.prodigy.",
    _lr(1.0, _LR_FREE_LR_DOC),
    *_ADAM_BETAS,
    Hyperparameter(
        "beta3",
        "float",
        None,
        "Decay of the D-estimate sums; unset means sqrt(beta2) (the authors' default).",
        low=0.0,
        high=1.0,
        high_open=True,
    ),
    _eps(1e-8),
    Hyperparameter("d0", "float", 1e-6, "Initial estimate of D.", low=0.0, low_open=True),
    Hyperparameter(
        "d_coef",
        "float",
        1.0,
        "Multiplier of the D estimate (the authors' d_coef).",
        low=0.0,
        low_open=True,
    ),
    _D_SCALED_WEIGHT_DECAY,
    _flag(
        "safeguard_warmup",
        False,
        "Leave the learning rate out of the D-estimate denominator (needed with warmup).",
    ),
    _BIAS_CORRECTION,
    build=_prodigy,
    lr_free=True,
)


# --- schedule-free ----------------------------------------------------------------------


def _schedule_free_adamw(hp, schedule):
    """optax.contrib.schedule_free_adamw with the averaging weights and the step at one lr.

    Optax's ``schedule_free`` evaluates the schedule for the weights at its step count,
    which starts at 1, while the base step uses a count that starts at 0: one step apart
    during warmup or decay. The authors' AdamWScheduleFree uses the same ``lr_t`` for both.
    """
    import optax
    from optax import contrib

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


def _schedule_free_eval_params(params, opt_state):
    """Schedule-Free's averaged iterate x, read from the one ScheduleFreeState in the state."""
    import jax
    from optax import contrib

    found = [
        s
        for s in jax.tree.leaves(
            opt_state, is_leaf=lambda x: isinstance(x, contrib.ScheduleFreeState)
        )
        if isinstance(s, contrib.ScheduleFreeState)
    ]
    if len(found) != 1:
        raise ValueError("expected one ScheduleFreeState in a schedule_free_adamw optimizer state")
    return contrib.schedule_free_eval_params(found[0], params)


_register(
    "schedule_free_adamw",
    "Schedule-Free AdamW (Defazio et al. 2024), optax.contrib.schedule_free_adamw; "
    "evaluated at its averaged iterate.",
    _lr(2.5e-3, "Peak learning rate, learning_rate * s(t / T) (use a constant shape)."),
    _beta("beta1", 0.9, "Interpolation between the averaged and the base iterate."),
    _beta("beta2", 0.999, "Decay rate of the second-moment average."),
    _eps(1e-8),
    _weight_decay(0.0, "Weight decay at the interpolated point y, as in the authors' code."),
    Hyperparameter(
        "weight_lr_power",
        "float",
        2.0,
        "Averaging weights are lr_max^weight_lr_power.",
        low=0.0,
    ),
    build=_schedule_free_adamw,
    eval_params=_schedule_free_eval_params,
)

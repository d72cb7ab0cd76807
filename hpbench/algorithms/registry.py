"""What each training algorithm accepts, without importing JAX.

The spec checker validates a spec's ``[algorithm]`` table against this metadata, the
planner uses ``packable`` to decide which trials can share one compiled program, and
``hpbench list algorithms`` prints it.
"""

from __future__ import annotations

from typing import Literal

import attrs

Kind = Literal["float", "int", "bool", "str"]


@attrs.frozen
class Hyperparameter:
    """One hyperparameter: its type, default, valid range and whether it may be packed.

    ``packable`` hyperparameters are plain numbers inside the compiled step, so trials that
    differ only in them train as one ``jax.vmap``-ed program; the others change the
    program's structure (e.g. Mechanic's ``num_betas``) and split packs.
    """

    name: str
    kind: Kind
    default: float | int | bool | str | None
    doc: str
    low: float | None = None  # inclusive unless low_open
    high: float | None = None  # inclusive unless high_open
    low_open: bool = False
    high_open: bool = False
    choices: tuple[float | int | bool | str, ...] | None = None
    packable: bool = True


@attrs.frozen
class AlgorithmInfo:
    """An algorithm's name, one-line description and hyperparameters."""

    name: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    learning_rate_free: bool = False

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    def defaults(self) -> dict[str, float | int | bool | str | None]:
        return {h.name: h.default for h in self.hyperparameters}


#: Filled by this module's algorithm definitions (see the algorithms issue).
ALGORITHMS: dict[str, AlgorithmInfo] = {}


def get_algorithm(name: str) -> AlgorithmInfo:
    """The registered algorithm ``name``; KeyError lists the known names."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise KeyError(
            f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}"
        ) from None


# --- the algorithms -------------------------------------------------------------------
#
# One beta convention everywhere: ``beta1`` / ``beta2`` are the decay rates themselves
# (0.9, 0.999), as in the papers' tables and the published NAdamW list; a search written in
# ``1 - beta`` form (REFERENCE.md section 3) converts before it reaches a trial. Defaults are
# Optax's (REFERENCE.md "Seed defaults"). ``warmup`` is not here: it belongs to the schedule
# (``Trial.warmup``, ``hpbench.schedules``). ``dropout`` and ``label_smoothing`` are in every
# algorithm because they are algorithm regularizers, but the workload applies them.


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


def _info(
    name: str, description: str, *hyperparameters: Hyperparameter, lr_free: bool = False
) -> AlgorithmInfo:
    return AlgorithmInfo(name, description, (*hyperparameters, *_regularizers()), lr_free)


_DEFINITIONS = (
    _info(
        "adamw",
        "AdamW (Loshchilov & Hutter 2019), bias-corrected, decoupled weight decay (optax.adamw).",
        _lr(1e-3, _SCHEDULED_LR_DOC),
        *_ADAM_BETAS,
        _eps(1e-8),
        _SCHEDULED_WEIGHT_DECAY,
    ),
    _info(
        "nadamw",
        "NAdamW, AdamW with Nesterov momentum (optax.nadamw): the rule the NAdamW-list paper "
        "used and the published list was tuned with.",
        _lr(1e-3, _SCHEDULED_LR_DOC),
        *_ADAM_BETAS,
        _eps(1e-8),
        _SCHEDULED_WEIGHT_DECAY,
    ),
    _info(
        "nadamw_algoperf",
        "NAdamW as AlgoPerf's baseline (init2winit): the Nesterov average bias-corrected as a "
        "whole, first steps ~29% larger than nadamw's (docs/algorithms.md).",
        _lr(1e-3, _SCHEDULED_LR_DOC),
        *_ADAM_BETAS,
        _eps(1e-8),
        _SCHEDULED_WEIGHT_DECAY,
    ),
    _info(
        "sgd",
        "SGD with heavy-ball momentum and coupled L2 weight decay: a sanity baseline.",
        _lr(0.1, _SCHEDULED_LR_DOC),
        _beta("momentum", 0.9, "Momentum decay rate (0 = plain SGD)."),
        _flag("nesterov", False, "Use Nesterov momentum."),
        _weight_decay(0.0, "Coupled L2 penalty: weight_decay * params is added to the gradient."),
    ),
    _info(
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
        lr_free=True,
    ),
    _info(
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
        lr_free=True,
    ),
    _info(
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
        lr_free=True,
    ),
    _info(
        "dowg",
        "DoWG, Distance over Weighted Gradients (Khaled et al. 2023), optax.contrib.dowg.",
        _lr(1.0, _LR_FREE_LR_DOC),
        _eps(1e-4, "Initial squared distance estimate, also added to the denominator (Optax)."),
        _COUPLED_WEIGHT_DECAY,
        lr_free=True,
    ),
    _info(
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
        _lr(
            1.0, "Learning rate of the base optimizer, learning_rate * s(t / T); the papers use 1."
        ),
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
        lr_free=True,
    ),
    _info(
        "momo",
        "MoMo, model-based momentum SGD (Schaipp et al. 2024), optax.contrib.momo; uses the loss.",
        _lr(1.0, "Upper bound of the Polyak step, learning_rate * s(t / T)."),
        _beta("beta1", 0.9, "Momentum decay rate (the paper's beta)."),
        _LOWER_BOUND,
        _MOMO_WEIGHT_DECAY,
        _ADAPT_LOWER_BOUND,
        lr_free=True,
    ),
    _info(
        "momo_adam",
        "MoMo-Adam (Schaipp et al. 2024), optax.contrib.momo_adam; uses the loss.",
        _lr(1e-2, "Upper bound of the Polyak step, learning_rate * s(t / T) (paper: 1e-2)."),
        *_ADAM_BETAS,
        _eps(1e-8),
        _LOWER_BOUND,
        _MOMO_WEIGHT_DECAY,
        _ADAPT_LOWER_BOUND,
        lr_free=True,
    ),
    _info(
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
        lr_free=True,
    ),
    _info(
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
    ),
)

ALGORITHMS.update({info.name: info for info in _DEFINITIONS})

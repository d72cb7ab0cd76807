"""The algorithm registry: one entry per algorithm, importable without JAX.

An entry (:class:`AlgorithmInfo`) is everything hpbench knows of an algorithm: its
hyperparameters (defaults, ranges, which may vary inside a packed batch), the builder of its
Optax transformation and how to read the parameters to evaluate. The spec checker validates
``[algorithm]`` tables against it, the planner packs trials by it, ``hpbench list
algorithms`` prints it and the engine builds from it. Every entry is registered once, in
:mod:`hpbench.algorithms.catalog`; a builder imports JAX only when it is called.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import attrs

Kind = Literal["float", "int", "bool", "str"]
#: (resolved hyperparameters, relative schedule ``s(step)``) -> an Optax transformation.
Builder = Callable[[dict[str, Any], Callable[[Any], Any]], Any]
#: (params, optimizer state) -> the parameters to evaluate.
EvalParams = Callable[[Any, Any], Any]


@attrs.frozen
class Hyperparameter:
    """One hyperparameter: its type, default, valid range and whether it may be packed.

    ``packable`` hyperparameters are plain numbers inside the compiled step, so trials that
    differ only in them train as one ``jax.vmap``-ed program; the others change the
    program's structure (e.g. Mechanic's ``num_betas``, the workload's ``dropout``) and
    split packs.
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
    """A registered algorithm: name, one-line description, hyperparameters, and ``build``,
    which turns resolved hyperparameters and a relative schedule into an Optax
    transformation (see :func:`hpbench.algorithms.build.build_optimizer`). ``eval_params``
    picks the parameters to evaluate when they are not the trained ones (Schedule-Free)."""

    name: str
    description: str
    hyperparameters: tuple[Hyperparameter, ...]
    build: Builder
    learning_rate_free: bool = False
    eval_params: EvalParams | None = None

    def hyperparameter(self, name: str) -> Hyperparameter | None:
        return next((h for h in self.hyperparameters if h.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(h.name for h in self.hyperparameters)

    def defaults(self) -> dict[str, float | int | bool | str | None]:
        return {h.name: h.default for h in self.hyperparameters}

    def packable(self, name: str, value: float | int | bool | str) -> bool:
        """Whether ``name = value`` may differ between members of one pack: a number whose
        hyperparameter is declared packable (a name the algorithm lacks: a float)."""
        if isinstance(value, bool | str):
            return False
        hyperparameter = self.hyperparameter(name)
        return isinstance(value, float) if hyperparameter is None else hyperparameter.packable


#: Every registered algorithm by name, in registration order (``hpbench list`` prints it so).
ALGORITHMS: dict[str, AlgorithmInfo] = {}


def register(info: AlgorithmInfo) -> AlgorithmInfo:
    """Add ``info`` to :data:`ALGORITHMS`; a name registered twice is an error."""
    if info.name in ALGORITHMS:
        raise ValueError(f"algorithm {info.name!r} is registered twice")
    ALGORITHMS[info.name] = info
    return info


def get_algorithm(name: str) -> AlgorithmInfo:
    """The registered algorithm ``name``; KeyError lists the known names."""
    try:
        return ALGORITHMS[name]
    except KeyError:
        raise KeyError(
            f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}"
        ) from None

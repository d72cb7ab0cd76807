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
        raise KeyError(f"unknown algorithm {name!r}; known: {', '.join(sorted(ALGORITHMS))}") from None

"""The checked spec: plain frozen values, every default filled in and every number coerced.

:func:`hpbench.spec.check.check` builds a :class:`Spec` from a merged TOML document;
:func:`hpbench.spec.compile.compile_plan` expands it into trials.
"""

from __future__ import annotations

from typing import Any

import attrs

from hpbench.plan import Scalar, Target
from hpbench.search.settings import ListSettings, Search, Select
from hpbench.spec.source import SpecDocument

#: The top-level tables of a spec, in the order the docs present them.
SECTIONS = (
    "benchmark",
    "algorithm",
    "schedule",
    "workloads",
    "run",
    "grid",
    "search",
    "select",
    "list",
)
#: The search tables (docs/search.md), read by :func:`hpbench.spec.search.check_reserved`.
RESERVED = ("search", "select", "list")


@attrs.frozen
class Schedule:
    """The relative schedule: its shape, warmup fraction and horizon fraction f."""

    shape: str = "warmup_cosine"
    warmup: float = 0.05
    horizon: float = 1.0


@attrs.frozen
class WorkloadRun:
    """One (workload, variant) to train, with every setting resolved."""

    name: str
    variant: str
    size: str
    target: Target
    max_steps: int
    batch_size: int
    eval_every: int  # steps
    data: str | None = None


@attrs.frozen
class Spec:
    """A validated spec. ``points`` are the algorithm's hyperparameter points (one empty
    point when the spec lists none); ``grid`` holds the Cartesian axes in written order."""

    name: str
    file: str
    description: str = ""
    owner: str = ""
    algorithm: str | None = None
    hyperparameters: dict[str, Scalar] = attrs.Factory(dict)  # as written, coerced
    points: tuple[dict[str, Scalar], ...] = ({},)
    schedule: Schedule = Schedule()
    workloads: tuple[WorkloadRun, ...] = ()
    seeds: tuple[int, ...] = (0,)
    stop_at_target: bool = False
    checkpoint_seconds: float | None = None  # None: the engine's default
    grid: tuple[tuple[str, tuple[Scalar, ...]], ...] = ()
    #: The trials it expands to at most (equal points merge), counted before expanding.
    counted_trials: int = 0
    #: [search], [select], [list] as written (for the resolved spec); checked below.
    reserved: dict[str, dict[str, Any]] = attrs.Factory(dict)
    search: Search | None = None
    select: Select | None = None
    listing: ListSettings | None = None
    #: The merged TOML with positions, for problems found after loading (data paths).
    document: SpecDocument | None = attrs.field(default=None, eq=False, repr=False)

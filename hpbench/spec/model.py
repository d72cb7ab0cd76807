"""The checked spec: frozen values, every default filled in and every number coerced.

:func:`hpbench.spec.check.check` builds a :class:`Spec` from a merged TOML document;
:func:`hpbench.spec.compile.compile_plan` expands it into trials. The keys of ``[benchmark]``,
``[schedule]`` and ``[run]`` are declared once here (:func:`hpbench.config.fields.setting`): their
validators, the checker, the JSON Schema and the tables of docs/spec.md all read them.
"""

from __future__ import annotations

from typing import Any

import attrs

from hpbench.config.fields import (
    Choice,
    Flag,
    Integer,
    Items,
    Number,
    PlainName,
    Text,
    of_kind,
    setting,
)
from hpbench.config.values import POSITIVE
from hpbench.plan import LABEL_NOISE, MAX_WIDTH, Scalar, Target
from hpbench.schedules import HORIZON, WARMUP
from hpbench.spec.settings import ListSettings, Search, Select
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
#: The keys of ``[run]``: settings of :class:`Spec`.
RUN_KEYS = ("seeds", "stop_at_target", "checkpoint_seconds")
#: The search tables (docs/search.md), read by :func:`hpbench.spec.search.check_reserved`.
RESERVED = ("search", "select", "list")


@attrs.frozen
class Benchmark:
    """``[benchmark]``: what the benchmark is. Not inherited: each file describes itself."""

    name: str | None = setting(
        None,
        PlainName(),
        "the plan's name, used by reports (and as the directory `reports/<name>/`): letters, "
        "digits, `_ . -`, not starting with a dot, at most 100 characters",
        default_text="the file name without `.toml`",
    )
    description: str = setting("", Text(), "one line for reports")
    owner: str = setting("", Text(), "who to ask")
    extends: str | None = setting(
        None,
        Text(r"[\s\S]*\.toml", "a path to a .toml file"),
        "a `.toml` spec file to start from, relative to this file, inside the repository or "
        "hpbench's shipped `specs/` ([security.md](security.md))",
        default_text="none",
    )
    suite: str | None = setting(
        None,
        Text(r"[\s\S]*\.toml", "a path to a .toml file"),
        "a suite file (`[workloads]` tables only) whose workloads replace the ones this spec "
        "inherits, relative to this file and confined as `extends`: the same algorithm on "
        "another suite",
        default_text="none",
    )


def schedule_shapes() -> tuple[str, ...]:
    """The registered relative-schedule shapes (``hpbench.schedules``, importable without JAX)."""
    from hpbench.schedules import SCHEDULES

    return tuple(SCHEDULES)


@attrs.frozen
class Schedule:
    """``[schedule]``, the relative schedule: its shape, warmup fraction and horizon fraction f."""

    shape: str = setting(
        "warmup_cosine",
        Choice(schedule_shapes),
        "`warmup_cosine` (linear warmup, cosine to exactly 0 at the horizon), `constant`, "
        "`linear_decay`, `none` (1 at every step: the naive baseline; warmup ignored)",
    )
    warmup: float = setting(0.05, Number(WARMUP), "warmup length as a fraction of the horizon")
    horizon: float = setting(
        1.0,
        Number(HORIZON),
        "the fraction `f` of each workload's budget: `T = round(f * max_steps)`; "
        "training stops at `T`",
    )


@attrs.frozen
class WorkloadRun:
    """One (workload, variant) to train, with every setting resolved."""

    name: str
    variant: str
    size: str
    target: Target
    max_steps: int = attrs.field(converter=Integer.convert, validator=of_kind(Integer()))
    batch_size: int = attrs.field(converter=Integer.convert, validator=of_kind(Integer()))
    eval_every: int = attrs.field(  # steps
        converter=Integer.convert, validator=of_kind(Integer())
    )
    data: str | None = None
    #: The first rows of the training split it trains on (None: all of them).
    train_rows: int | None = attrs.field(
        default=None,
        kw_only=True,
        converter=attrs.converters.optional(Integer.convert),
        validator=attrs.validators.optional(of_kind(Integer())),
    )
    #: The share of train and validation labels replaced by random classes.
    label_noise: float = attrs.field(
        default=0.0, kw_only=True, converter=float, validator=of_kind(Number(LABEL_NOISE))
    )
    #: The model's widths times this (1: as registered).
    width: int = attrs.field(
        default=1,
        kw_only=True,
        converter=Integer.convert,
        validator=of_kind(Integer(1, MAX_WIDTH)),
    )


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
    schedule: Schedule = attrs.field(
        default=Schedule(), validator=attrs.validators.instance_of(Schedule)
    )
    workloads: tuple[WorkloadRun, ...] = ()
    seeds: tuple[int, ...] = setting(
        (0,),
        Items(Integer(0), "a non-empty list of integer seeds", "list of integers >= 0"),
        "one trial per seed (data order, initialisation, dropout)",
    )
    stop_at_target: bool = setting(
        False,
        Flag(),
        "stop a trial at the first evaluation that reaches the target (time-to-target only; "
        "best-metric tables want the full run)",
    )
    checkpoint_seconds: float | None = setting(
        None,
        Number(POSITIVE),
        "how often a running trial is checkpointed (`hpbench run --checkpoint-every` overrides it)",
        default_text="the engine's (`hpbench run --help`)",
    )
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

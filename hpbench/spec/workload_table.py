"""The keys of a ``[workloads.NAME]`` table, declared once on :class:`WorkloadTable`.

Their values depend on the workload (its sizes, variants and metrics), so their kinds are
bound to its registry entry (:meth:`hpbench.config.fields.Kind.bind`) before they read or
describe a value: the checker (:mod:`hpbench.spec.check`), the JSON Schema
(:mod:`hpbench.spec.schema`) and the table of docs/spec.md all derive from these fields.
Resolving a table into :class:`~hpbench.spec.model.WorkloadRun` values (a variant's table
over the workload's, the registered defaults of a size) is the checker's.
"""

from __future__ import annotations

from typing import Any

import attrs

from hpbench.config.errors import did_you_mean, show
from hpbench.config.fields import (
    Choice,
    Declared,
    Depends,
    Flag,
    Integer,
    Kind,
    Number,
    setting,
    settings,
    settings_schema,
    table_schema,
)
from hpbench.config.locate import Path_
from hpbench.config.values import MISSING, REAL, Found, Reporter, one_of
from hpbench.direction import DIRECTIONS
from hpbench.plan import LABEL_NOISE as NOISE
from hpbench.plan import MAX_WIDTH, Target
from hpbench.schedules import HORIZON
from hpbench.spec.confine import is_data_path
from hpbench.workloads.registry import METRIC_DIRECTIONS, WORKLOADS, WorkloadInfo

#: The keys a ``variants.VARIANT`` table may set (the rest belong to the workload).
VARIANT_KEYS = (
    "target",
    "max_steps",
    "batch_size",
    "eval_every",
    "data",
    "train_rows",
    "label_noise",
    "width",
)
#: The keys of a target table.
TARGET_KEYS = ("metric", "value", "direction")


@attrs.frozen
class Selection(Kind):
    """One of ``item``'s names or a non-empty list of them, read as a tuple with None where
    a name is reported (the settings of the others are still checked)."""

    item: Choice
    expected = "a variant name or a non-empty list of them"
    type_text = "string or list"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> tuple[str | None, ...] | None:
        if isinstance(value, str):
            return (self.item.read(reporter, path, value),)
        if not isinstance(value, list) or not value:
            reporter.fail(path, self.expected, value)
            return None
        return tuple(self.item.read(reporter, (*path, i), v) for i, v in enumerate(value))

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple) and bool(value) and all(map(self.item.accepts, value))

    def schema(self) -> dict[str, Any]:
        names = self.item.schema()
        return {"anyOf": [names, {"type": "array", "minItems": 1, "items": names}]}


@attrs.frozen
class TargetOf(Kind):
    """The validation target of workload ``info``: ``metric`` (default its main one),
    ``value`` (required), ``direction`` (default the metric's, and never another)."""

    info: WorkloadInfo
    expected = "a table"
    type_text = "table (required)"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> Target | None:
        table = reporter.table(path, value)
        if table is None:
            return None
        reporter.unknown_keys(
            path, table, TARGET_KEYS, "a key of target (metric, value, direction)"
        )
        metric = reporter.string(
            (*path, "metric"),
            table.get("metric", self.info.metric),
            self.info.metrics,
            what="a metric name",
        )
        number = table.get("value", MISSING)
        if number is MISSING:
            reporter.fail((*path, "value"), "the target value", Found("none"))
            return None
        number = reporter.number((*path, "value"), number, REAL)
        if metric is None or number is None:
            return None
        direction = METRIC_DIRECTIONS[metric]
        given = table.get("direction", direction)
        if (
            reporter.string((*path, "direction"), given, DIRECTIONS) is not None
            and given != direction
        ):
            reporter.fail((*path, "direction"), f"{show(direction)} for metric {metric}", given)
            return None
        return Target(metric, number, direction)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, Target) and value.metric in self.info.metrics

    def schema(self) -> dict[str, Any]:
        keys = {
            "metric": {"enum": list(self.info.metrics)},
            "value": {"type": "number"},
            "direction": {"enum": sorted(DIRECTIONS)},
        }
        return {**table_schema(keys, "The validation target."), "required": ["value"]}


@attrs.frozen
class StepsOrFraction(Kind):
    """Steps (an integer >= 1) or a fraction of ``max_steps`` (a float in (0, 1]), read as
    written: the checker turns a fraction into steps once ``max_steps`` is known."""

    expected = f"an integer >= 1, or a number in {HORIZON}"
    type_text = f"integer, or number in {HORIZON}"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> int | float | None:
        if isinstance(value, float):
            return Number(HORIZON).read(reporter, path, value)
        return Integer().read(reporter, path, value)

    def accepts(self, value: Any) -> bool:
        return Integer().accepts(value) or (
            isinstance(value, float) and Number(HORIZON).accepts(value)
        )

    def schema(self) -> dict[str, Any]:
        return {"anyOf": [Integer().schema(), Number(HORIZON).schema()]}


@attrs.frozen
class DataPath(Kind):
    """A path to user-supplied data: absolute, or relative without ``..``
    (:func:`hpbench.spec.confine.is_data_path`)."""

    expected = "a data path: absolute, or relative without .., no control characters"
    type_text = "string"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> str | None:
        text = reporter.string(path, value, what="a path to the workload's data")
        if text is not None and not is_data_path(text):
            reporter.fail(path, self.expected, value)
            return None
        return text

    def accepts(self, value: Any) -> bool:
        return isinstance(value, str) and is_data_path(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string"}


@attrs.frozen
class VariantTables(Kind):
    """``variants.VARIANT`` tables of workload ``info``: each a registered variant (or
    ``base``) setting only :data:`VARIANT_KEYS`; read as the tables of known variants
    (their values are read with the workload's, :func:`variant_settings`)."""

    info: WorkloadInfo
    expected = "a table"
    type_text = "table of tables"

    @property
    def names(self) -> tuple[str, ...]:
        return ("base", *self.info.variants)

    def read(self, reporter: Reporter, path: Path_, value: Any) -> dict[str, dict] | None:
        tables = reporter.table(path, value)
        if tables is None:
            return None
        keys = tuple(variant_settings())
        out = {}
        for name, table in tables.items():
            where = (*path, name)
            if name not in self.names:
                reporter.fail(
                    where,
                    f"a variant of {self.info.name} ({one_of(self.names)})",
                    Found(f"unknown variant {show(name)}"),
                    did_you_mean(name, self.names),
                    at_key=True,
                )
            elif reporter.table(where, table) is not None:
                reporter.unknown_keys(where, table, keys, f"a per-variant key ({', '.join(keys)})")
                out[name] = table
        return out

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and set(value) <= set(self.names)

    def schema(self) -> dict[str, Any]:
        keys = settings_schema(WorkloadTable, VARIANT_KEYS, self.info)
        return table_schema(
            {v: table_schema(keys, f"Settings of variant {v}.") for v in self.names}, ""
        )


@attrs.frozen
class WhereItApplies(Kind):
    """``inner``'s values for workload ``info`` where the registry flag ``applies`` is set on
    it; elsewhere only ``neutral`` (what the workload is as registered), with an error that
    names the workloads where ``key`` applies."""

    info: WorkloadInfo
    inner: Kind
    applies: str  # the WorkloadInfo flag: "class_labels", "widens"
    neutral: float
    key: str
    lacking: str  # what the workload lacks, in words: "has no class labels to replace"

    @property
    def type_text(self) -> str:
        return self.inner.type_text

    @property
    def here(self) -> bool:
        return getattr(self.info, self.applies)

    @property
    def expected(self) -> str:
        if self.here:
            return self.inner.expected
        where = ", ".join(sorted(n for n, w in WORKLOADS.items() if getattr(w, self.applies)))
        return (
            f"{self.neutral:g}: workload {self.info.name} {self.lacking} ({self.key} applies "
            f"to {where}); remove {self.key}"
        )

    def read(self, reporter: Reporter, path: Path_, value: Any) -> Any:
        read = self.inner.read(reporter, path, value)
        if read is not None and read != self.neutral and not self.here:
            reporter.fail(path, self.expected, value)
            return None
        return read

    def accepts(self, value: Any) -> bool:
        return self.inner.accepts(value) and (self.here or value == self.neutral)

    def schema(self) -> dict[str, Any]:
        inner = self.inner.schema()
        return inner if self.here else {"type": inner["type"], "const": self.neutral}


def label_noise_kind(info: WorkloadInfo) -> WhereItApplies:
    """A share of labels in [0, 1) for ``info``: only 0 where it has no class labels."""
    share = Number(NOISE, "a share of labels")
    return WhereItApplies(
        info, share, "class_labels", 0, "label_noise", "has no class labels to replace"
    )


def width_kind(info: WorkloadInfo) -> WhereItApplies:
    """A model width multiplier in [1, MAX_WIDTH] for ``info``: only 1 where its model has no
    width setting."""
    return WhereItApplies(info, Integer(1, MAX_WIDTH), "widens", 1, "width", "has no width setting")


@attrs.frozen
class WorkloadTable:
    """A ``[workloads.NAME]`` table as written (a declaration: the checker resolves each
    variant it selects into a :class:`~hpbench.spec.model.WorkloadRun`)."""

    size: str = setting(
        "mini",
        Depends(lambda info: Choice(info.sizes), "string"),
        "`mini`, `small` or `full` (what the workload registers)",
    )
    variant: tuple[str, ...] = setting(
        ("base",),
        Depends(lambda info: Selection(Choice(("base", *info.variants))), "string or list"),
        'which variants run: `"base"`, a held-out variant (`"layernorm"`, `"silu"`, ...) '
        "or a list of them",
        default_text='`"base"`',
    )
    target: Target | None = setting(
        None,
        Depends(TargetOf, "table (required)"),
        "`{ metric = ..., value = ..., direction = ... }`: `metric` defaults to the "
        'workload\'s main metric, `direction` (`"min"` or `"max"`) to the metric\'s, and must '
        "agree with it; `value` is required",
        default_text="none",
    )
    max_steps: int | None = setting(
        None,
        Integer(),
        "the step budget (`T = f * max_steps`)",
        default_text="the workload's registered budget at this size",
    )
    batch_size: int | None = setting(
        None,
        Integer(),
        "examples per training step; a different value changes the data stream and the "
        "compiled program (it is part of the trial id), and the registered targets were set "
        "at the registered one",
        default_text="the registered one at this size",
    )
    eval_every: int | float = setting(
        0.02,
        StepsOrFraction(),
        "evaluate every N steps (integer) or every fraction of `max_steps` (float): "
        "`eval_every = 50` vs `eval_every = 0.05`",
    )
    data: str | None = setting(
        None,
        DataPath(),
        "path of user-supplied data (size `full`, `docs/data.md`): AlgoPerf's own files or "
        "zarr arrays, told apart by the directory's contents; absolute, or relative to the "
        "directory `hpbench` runs in (without `..`); kept as written (it is part of the trial "
        "id); when training, it must lie in the spec's repository, a runner profile's "
        "`data_dirs` or `$HPBENCH_DATA_DIR` (docs/security.md)",
        default_text="none (fastmri, criteo: `$HPBENCH_DATA_DIR/fastmri`, "
        "`$HPBENCH_DATA_DIR/criteo1tb` where present)",
    )
    train_rows: int | None = setting(
        None,
        Integer(),
        "train on the first N rows of the training split (a finite set seen many times, as at "
        'full size; docs/data.md, "Data variants"); at most the rows the workload generates '
        "at this size (`hpbench list workloads`); sizes whose data hpbench generates only; "
        "part of the trial id when set; validation is never cut",
        default_text="all rows",
    )
    label_noise: float = setting(
        0.0,
        Depends(label_noise_kind, f"number in {NOISE}"),
        "the share of train AND validation labels replaced by uniformly random classes "
        "(a replaced label may keep its class), drawn from the dataset, not the trial's seed; "
        "workloads with class labels (imagenet, criteo's clicks, ogbg's present task bits, "
        "toy_mlp) at sizes whose data hpbench generates; part of the trial id when not 0",
    )
    width: int = setting(
        1,
        Depends(width_kind, f"integer in [1, {MAX_WIDTH}]"),
        "the model's feature widths times this (depth, heads and data as registered; what "
        'each model widens: docs/spec.md, "[workloads]"): workloads whose model has a width '
        "setting (`hpbench list workloads`); a target set at one width says nothing at "
        "another; part of the trial id when not 1",
    )
    skip: bool = setting(False, Flag(), "leave out a workload inherited from a suite")
    variants: dict[str, dict] = setting(
        attrs.Factory(dict),
        Depends(VariantTables, "table of tables"),
        "per-variant settings: `[workloads.NAME.variants.VARIANT]` may set "
        + ", ".join(f"`{key}`" for key in VARIANT_KEYS),
        default_text="none",
    )


def variant_settings() -> dict[str, Declared]:
    """The declared keys a variant's table may set (:data:`VARIANT_KEYS`)."""
    return settings(WorkloadTable, VARIANT_KEYS)


def workload_settings() -> dict[str, Declared]:
    """The declared keys that belong to the workload alone (not per variant)."""
    return {k: d for k, d in settings(WorkloadTable).items() if k not in VARIANT_KEYS}


def workload_schema(info: WorkloadInfo) -> dict[str, Any]:
    """The JSON Schema of ``[workloads.NAME]`` for the registered workload ``info``."""
    return table_schema(settings_schema(WorkloadTable, entry=info), info.description)

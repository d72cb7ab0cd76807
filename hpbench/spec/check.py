"""Checking a merged spec document against the language and the registries.

Each check records a :class:`~hpbench.config.errors.Problem` and carries on, so one run
reports every problem of a file; :func:`check` raises :class:`~hpbench.config.ConfigError`
at the end if there were any. Numbers are coerced to each hyperparameter's declared kind
here, which is what makes ``learning_rate = 1`` and ``learning_rate = 1.0`` the same trial.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs

from hpbench.algorithms.registry import ALGORITHMS, AlgorithmInfo
from hpbench.config.errors import ConfigError, did_you_mean, show
from hpbench.config.fields import read_settings, settings
from hpbench.config.locate import Path_
from hpbench.config.values import MISSING, REAL, Found, one_of
from hpbench.plan import Scalar, Target
from hpbench.schedules import HORIZON, WARMUP
from hpbench.spec.bounds import default_max_trials
from hpbench.spec.confine import is_data_path
from hpbench.spec.model import (
    RESERVED,
    RUN_KEYS,
    SECTIONS,
    Benchmark,
    Schedule,
    Spec,
    WorkloadRun,
)
from hpbench.spec.search import check_reserved, draw_points, point_count
from hpbench.spec.source import SpecDocument
from hpbench.spec.values import SpecReporter
from hpbench.workloads.registry import METRIC_DIRECTIONS, WORKLOADS, WorkloadInfo

WORKLOAD_KEYS = (
    "size",
    "variant",
    "target",
    "max_steps",
    "batch_size",
    "eval_every",
    "data",
    "skip",
    "variants",
)
VARIANT_KEYS = ("target", "max_steps", "batch_size", "eval_every", "data")
TARGET_KEYS = ("metric", "value", "direction")
#: Grid axes besides the algorithm's hyperparameters.
GRID_AXES = ("warmup", "horizon", "seed")
#: Default evaluation cadence: a fraction of the workload's max_steps.
EVAL_EVERY = 0.02


def check(doc: SpecDocument, max_trials: int | None = None) -> Spec:
    """The validated :class:`Spec` of ``doc``; ConfigError listing every problem otherwise
    (one is more than ``max_trials`` trials, default :func:`default_max_trials`)."""
    checker = _Checker(doc, default_max_trials() if max_trials is None else max_trials)
    spec = checker.spec()
    if checker.problems:
        raise ConfigError(checker.problems)
    return spec


class _Checker(SpecReporter):
    """The sections of the spec language, each checked and turned into model values."""

    def __init__(self, doc: SpecDocument, max_trials: int):
        super().__init__(doc)
        self.max_trials = max_trials

    # --- sections --------------------------------------------------------------------

    def spec(self) -> Spec:
        data = self.doc.data
        self.unknown_keys(
            (), data, SECTIONS, "a section (" + ", ".join(f"[{s}]" for s in SECTIONS) + ")"
        )
        for name in SECTIONS:
            if name in data and name != "workloads":
                self.table((name,), data[name])
        benchmark = self.benchmark()
        info, fixed, points = self.algorithm()
        schedule = self.schedule()
        workloads = self.workloads()
        run = self.run()
        seeds = run.get("seeds", attrs.fields(Spec).seeds.default)
        grid = self.grid(info)
        reserved = {n: data[n] for n in RESERVED if isinstance(data.get(n), dict)}
        tables = check_reserved(self, info, reserved)
        search = tables.search  # a valid [search] draws the points
        count = point_count(search) if search is not None else len(points)
        trials = self.count_trials(len(workloads), count, grid, seeds)
        if trials <= self.max_trials and search is not None:
            points = draw_points(search, info)
        return Spec(
            name=benchmark.name or Path(self.doc.file).stem,
            file=self.doc.file,
            description=benchmark.description,
            owner=benchmark.owner,
            algorithm=info.name if info else None,
            hyperparameters=fixed,
            points=points,
            schedule=schedule,
            workloads=workloads,
            **run,
            grid=grid,
            counted_trials=trials,
            reserved=reserved,
            search=search,
            select=tables.select,
            listing=tables.listing,
            document=self.doc,
        )

    def count_trials(
        self,
        workloads: int,
        points: int,
        grid: tuple[tuple[str, tuple[Scalar, ...]], ...],
        seeds: tuple[int, ...],
    ) -> int:
        """How many trials the spec expands to at most (or a calibration trains: the search
        at each horizon, then its top points rerun), counted from the sizes alone; reported
        at the largest factor when above ``max_trials``."""
        axes = dict(grid)
        has_search = "search" in self.doc.data
        factors: list[tuple[Path_, str, int]] = [
            (("workloads",), "workloads", workloads),
            (("search", "points") if has_search else ("algorithm", "points"), "points", points),
            *((("grid", k), f"grid.{k}", len(v)) for k, v in grid if k != "seed"),
            (("grid", "seed"), "seeds", len(axes["seed"]))
            if "seed" in axes
            else (("run", "seeds"), "seeds", len(seeds)),
        ]
        trials = math.prod(n for _, _, n in factors)
        calibration = self.calibration_trials(trials, workloads)
        total = max(trials, calibration)
        if total <= self.max_trials:
            return trials
        where, _, _ = max(factors, key=lambda f: f[2])
        product = " x ".join(f"{n} {name}" for _, name, n in factors)
        found = f"{total:,} ({product}" + (", calibrated" if calibration > trials else "") + ")"
        self.fail(
            where,
            f"at most {self.max_trials:,} trials (raise the limit with --max-trials)",
            Found(found),
        )
        return trials

    def calibration_trials(self, trials: int, workloads: int) -> int:
        """A ``[select]``'s trials: at each horizon the search's and top_k x seeds per
        workload (0 without a valid [select])."""
        table = self.doc.data.get("select")
        if not isinstance(table, dict):
            return 0
        horizons, seeds = table.get("horizons", [1.0]), table.get("seeds", [1, 2, 3])
        top_k = table.get("top_k", 3)
        if not (isinstance(horizons, list) and isinstance(seeds, list)):
            return 0
        if isinstance(top_k, bool) or not isinstance(top_k, int):
            return 0
        return len(horizons) * (trials + max(top_k, 0) * len(seeds) * workloads)

    def benchmark(self) -> Benchmark:
        table = self.doc.own.get("benchmark", {})
        if not isinstance(table, dict):
            return Benchmark()
        return Benchmark(**read_settings(self, ("benchmark",), table, settings(Benchmark)))

    def algorithm(
        self,
    ) -> tuple[AlgorithmInfo | None, dict[str, Scalar], tuple[dict[str, Scalar], ...]]:
        table = self.doc.data.get("algorithm")
        if not isinstance(table, dict):
            return None, {}, ({},)
        name = self.string(
            ("algorithm", "name"),
            table.get("name", MISSING),
            ALGORITHMS,
            what="a registered algorithm name",
        )
        if name is None:
            return None, {}, ({},)
        info = ALGORITHMS[name]
        allowed = ("name", "points", *info.names)
        self.unknown_keys(
            ("algorithm",),
            table,
            allowed,
            f"a hyperparameter of {name} ({', '.join(info.names)})",
            hyperparameters=True,
        )
        fixed = self.hyperparameters(
            ("algorithm",), info, {k: v for k, v in table.items() if k not in ("name", "points")}
        )
        points: tuple[dict[str, Scalar], ...] = ({},)
        if "points" in table:
            raw = table["points"]
            if not isinstance(raw, list) or not raw or not all(isinstance(p, dict) for p in raw):
                self.fail(
                    ("algorithm", "points"),
                    "a non-empty array of tables ([[algorithm.points]])",
                    raw,
                )
            else:
                points = tuple(
                    self.point(("algorithm", "points", i), info, p) for i, p in enumerate(raw)
                )
        return info, fixed, points

    def hyperparameters(
        self, path: Path_, info: AlgorithmInfo, table: dict[str, Any]
    ) -> dict[str, Scalar]:
        out = {}
        for key, value in table.items():
            h = info.hyperparameter(key)
            if h is not None:
                coerced = self.hyperparameter((*path, key), h, value)
                if coerced is not None:
                    out[key] = coerced
        return out

    def point(self, path: Path_, info: AlgorithmInfo, table: dict[str, Any]) -> dict[str, Scalar]:
        self.unknown_keys(
            path,
            table,
            (*info.names, "warmup"),
            f"a hyperparameter of {info.name} or warmup",
            hyperparameters=True,
        )
        out = self.hyperparameters(path, info, table)
        if "warmup" in table:
            warmup = self.number((*path, "warmup"), table["warmup"], WARMUP)
            if warmup is not None:
                out["warmup"] = warmup
        return out

    def schedule(self) -> Schedule:
        table = self.doc.data.get("schedule", {})
        if not isinstance(table, dict):
            return Schedule()
        return Schedule(**read_settings(self, ("schedule",), table, settings(Schedule)))

    def workloads(self) -> tuple[WorkloadRun, ...]:
        table = self.doc.data.get("workloads", {})
        if isinstance(table, list):
            expected = "a table of workloads ([workloads.NAME]); a list selects workloads of "
            self.fail(("workloads",), expected + "the suite the spec extends", table)
            return ()
        if not isinstance(table, dict):
            self.fail(("workloads",), "a table of workloads ([workloads.NAME])", table)
            return ()
        selected = self.selection()
        runs: list[WorkloadRun] = []
        for name, entry in table.items():
            if selected is not None and name not in selected:
                continue
            path: Path_ = ("workloads", name)
            if name not in WORKLOADS:
                self.fail(
                    path,
                    "a registered workload",
                    Found(f"unknown workload {show(name)}"),
                    did_you_mean(name, WORKLOADS),
                    at_key=True,
                )
                continue
            entry = self.table(path, entry)
            if entry is not None and (selected is not None or not entry.get("skip", False)):
                runs.extend(self.workload(path, WORKLOADS[name], entry))
        return tuple(runs)

    def selection(self) -> set[str] | None:
        """The names of ``workloads = [...]`` (each one of the suite's workloads; a selected
        workload runs even if the suite skips it), or None: every unskipped one runs."""
        raw = self.doc.selected
        if raw is None:
            return None
        known = self.doc.suite
        if not raw or not all(isinstance(n, str) for n in raw):
            self.fail(("workloads",), "a non-empty list of workload names", raw)
            return set()
        for i, name in enumerate(raw):
            if name not in known:
                self.fail(
                    ("workloads", i),
                    f"a workload of the suite ({one_of(known)})",
                    Found(f"unknown workload {show(name)}"),
                    did_you_mean(name, known),
                )
        return set(raw)

    def workload(self, path: Path_, info: WorkloadInfo, entry: dict[str, Any]) -> list[WorkloadRun]:
        self.unknown_keys(
            path, entry, WORKLOAD_KEYS, "a key of a workload (" + ", ".join(WORKLOAD_KEYS) + ")"
        )
        self.boolean((*path, "skip"), entry.get("skip", False))
        size = self.string((*path, "size"), entry.get("size", "mini"), info.sizes)
        variants_known = ("base", *info.variants)
        selected = entry.get("variant", "base")
        selected = [selected] if isinstance(selected, str) else selected
        if not isinstance(selected, list) or not selected:
            self.fail((*path, "variant"), "a variant name or a non-empty list of them", selected)
            return []
        overrides = entry.get("variants", {})
        if self.table((*path, "variants"), overrides) is None:
            overrides = {}
        for name, table in overrides.items():
            vpath = (*path, "variants", name)
            if name not in variants_known:
                self.fail(
                    vpath,
                    f"a variant of {info.name} ({one_of(variants_known)})",
                    Found(f"unknown variant {show(name)}"),
                    did_you_mean(name, variants_known),
                    at_key=True,
                )
            elif self.table(vpath, table) is not None:
                self.unknown_keys(
                    vpath,
                    table,
                    VARIANT_KEYS,
                    "a per-variant key (" + ", ".join(VARIANT_KEYS) + ")",
                )
        runs = []
        for i, variant in enumerate(selected):
            one = isinstance(entry.get("variant"), str | None)
            checked = self.string(
                (*path, "variant") if one else (*path, "variant", i), variant, variants_known
            )
            over = overrides.get(checked, {})
            # Check the settings even when the variant or size is wrong: report everything.
            run = self.workload_run(
                path,
                info,
                checked or "base",
                size or info.sizes[0],
                entry,
                over if isinstance(over, dict) else {},
            )
            if run is not None and checked is not None and size is not None:
                runs.append(run)
        for variant, over in overrides.items():  # settings of variants not selected to run
            if variant in variants_known and variant not in selected and isinstance(over, dict):
                self.workload_run(path, info, variant, size or info.sizes[0], entry, over)
        return runs

    def workload_run(
        self,
        path: Path_,
        info: WorkloadInfo,
        variant: str,
        size: str,
        entry: dict[str, Any],
        over: dict[str, Any],
    ) -> WorkloadRun | None:
        """One variant's settings: the workload's, with its ``variants.VARIANT`` table on top."""
        settings = {**entry, **over}

        def at(key: str) -> Path_:
            return (*path, "variants", variant, key) if key in over else (*path, key)

        def sized(key: str, defaults: dict[str, int]) -> int | None:
            if key in settings:
                return self.integer(at(key), settings[key])
            if size not in defaults:
                expected = f"{key} (workload {info.name} has no default at size {size})"
                self.fail((*path, key), expected, MISSING)
            return defaults.get(size)

        max_steps = sized("max_steps", info.max_steps)
        batch_size = sized("batch_size", info.batch_size)
        target = self.target(info, variant, settings.get("target", MISSING), at("target"))
        data = settings.get("data")
        if data is not None:
            data = self.string(at("data"), data, what="a path to the workload's data")
            if data is not None and not is_data_path(data):
                what = "a data path: absolute, or relative without .., no control characters"
                self.fail(at("data"), what, data)
        eval_every = self.eval_every(
            at("eval_every"), settings.get("eval_every", EVAL_EVERY), max_steps
        )
        if None in (max_steps, batch_size, target, eval_every):
            return None
        return WorkloadRun(
            info.name, variant, size, target, max_steps, batch_size, eval_every, data
        )

    def eval_every(self, path: Path_, value: Any, max_steps: int | None) -> int | None:
        """Steps (an integer) or a fraction of max_steps (a float in (0, 1])."""
        if isinstance(value, float):
            fraction = self.number(path, value, HORIZON)
            return (
                None
                if fraction is None or max_steps is None
                else max(1, round(fraction * max_steps))
            )
        return self.integer(path, value)

    def target(self, info: WorkloadInfo, variant: str, value: Any, path: Path_) -> Target | None:
        if value is MISSING:
            label = info.name if variant == "base" else f"{info.name} ({variant})"
            self.fail(
                path,
                f"a target for {label}, e.g. "
                f"target = {{ metric = {show(info.metric)}, value = ... }}",
                Found("none"),
            )
            return None
        table = self.table(path, value)
        if table is None:
            return None
        self.unknown_keys(path, table, TARGET_KEYS, "a key of target (metric, value, direction)")
        metric = self.string(
            (*path, "metric"), table.get("metric", info.metric), info.metrics, what="a metric name"
        )
        number = table.get("value", MISSING)
        if number is MISSING:
            self.fail((*path, "value"), "the target value", Found("none"))
            return None
        number = self.number((*path, "value"), number, REAL)
        if metric is None or number is None:
            return None
        direction = METRIC_DIRECTIONS[metric]
        given = table.get("direction", direction)
        if (
            self.string((*path, "direction"), given, ("min", "max")) is not None
            and given != direction
        ):
            self.fail((*path, "direction"), f"{show(direction)} for metric {metric}", given)
            return None
        return Target(metric, number, direction)

    def run(self) -> dict[str, Any]:
        """The valid settings of ``[run]`` (the :class:`Spec`'s defaults fill in the rest)."""
        table = self.doc.data.get("run", {})
        if not isinstance(table, dict):
            return {}
        return read_settings(self, ("run",), table, settings(Spec, RUN_KEYS))

    def grid(self, info: AlgorithmInfo | None) -> tuple[tuple[str, tuple[Scalar, ...]], ...]:
        table = self.doc.data.get("grid", {})
        if not isinstance(table, dict):
            return ()
        names = (*(info.names if info else ()), *GRID_AXES)
        if info is not None or "algorithm" not in self.doc.data:
            self.unknown_keys(
                ("grid",),
                table,
                names,
                "a hyperparameter"
                + (f" of {info.name}" if info else "")
                + ", warmup, horizon or seed",
                hyperparameters=True,
            )
        # else: the algorithm's name was already reported; its axes cannot be checked
        axes = []
        for key, values in table.items():
            path = ("grid", key)
            if key not in names:
                continue
            if not isinstance(values, list) or not values:
                self.fail(path, "a non-empty list of values", values)
                continue
            checked = [self.axis_value((*path, i), key, info, v) for i, v in enumerate(values)]
            if None not in checked:
                axes.append((key, tuple(checked)))
        return tuple(axes)

    def axis_value(
        self, path: Path_, key: str, info: AlgorithmInfo | None, value: Any
    ) -> Scalar | None:
        if key == "warmup":
            return self.number(path, value, WARMUP)
        if key == "horizon":
            return self.number(path, value, HORIZON)
        if key == "seed":
            return self.integer(path, value, low=0)
        return self.hyperparameter(path, info.hyperparameter(key), value)

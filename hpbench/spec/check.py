"""Checking a merged spec document against the language and the registries.

Each check records a :class:`~hpbench.config.errors.Problem` and carries on, so one run
reports every problem of a file; :func:`check` raises :class:`~hpbench.config.ConfigError`
at the end if there were any. Numbers are coerced to each hyperparameter's declared kind
here, which is what makes ``learning_rate = 1`` and ``learning_rate = 1.0`` the same trial.
Every key is read through its declaration (:mod:`hpbench.spec.model`,
:mod:`hpbench.spec.algorithm_table`, :mod:`hpbench.spec.workload_table`); what stays here is
what joins them: a variant's table over its workload's, a size's registered defaults, a
required target, the trial count.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import attrs

from hpbench.algorithms.registry import ALGORITHMS, AlgorithmInfo
from hpbench.config.errors import ConfigError, did_you_mean, show
from hpbench.config.fields import read_settings, read_values, settings
from hpbench.config.locate import Path_
from hpbench.config.values import MISSING, Found, one_of
from hpbench.plan import Scalar
from hpbench.spec.algorithm_table import (
    AlgorithmTable,
    GridAxes,
    hyperparameter_axis,
    hyperparameters,
)
from hpbench.spec.bounds import default_max_trials
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
from hpbench.spec.settings import Select
from hpbench.spec.source import SpecDocument
from hpbench.spec.values import SpecReporter
from hpbench.spec.workload_table import WorkloadTable, variant_settings, workload_settings
from hpbench.workloads.registry import WORKLOADS, WorkloadInfo


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
        trials = self.count_trials(len(workloads), count, grid, seeds, tables.select)
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
        select: Select | None,
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
        calibration = self.calibration_trials(trials, workloads, select)
        total = max(trials, calibration)
        if total <= self.max_trials:
            return trials
        where, _, _ = max(factors, key=lambda f: f[2])
        if calibration > trials:  # the [select] re-runs make the excess: point at them
            where = ("select",)
        product = " x ".join(f"{n} {name}" for _, name, n in factors)
        found = f"{total:,} ({product}" + (", calibrated" if calibration > trials else "") + ")"
        self.fail(
            where,
            f"at most {self.max_trials:,} trials (raise the limit with --max-trials)",
            Found(found),
        )
        return trials

    @staticmethod
    def calibration_trials(trials: int, workloads: int, select: Select | None) -> int:
        """A ``[select]``'s trials: at each horizon the search's and top_k x seeds per
        workload (0 without a [select])."""
        if select is None:
            return 0
        return len(select.horizons) * (trials + select.top_k * len(select.seeds) * workloads)

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
        own = settings(AlgorithmTable)
        path = ("algorithm", "name")
        name = own["name"].setting.kind.read(self, path, table.get("name", MISSING))
        if name is None:
            return None, {}, ({},)
        info = ALGORITHMS[name]
        self.unknown_keys(
            ("algorithm",),
            table,
            (*own, *info.names),
            f"a hyperparameter of {name} ({', '.join(info.names)})",
            hyperparameters=True,
        )
        written = {k: v for k, v in table.items() if k not in own}
        fixed = hyperparameters(self, ("algorithm",), info, written)
        values = read_values(self, ("algorithm",), table, {"points": own["points"]}, info)
        return info, fixed, values.get("points", ({},))

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
            # a skip that is not true or false is reported with the workload's settings
            skipped = entry is not None and entry.get("skip", False) is True
            if entry is not None and (selected is not None or not skipped):
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
        """The runs of the variants ``entry`` selects; the settings of every variant it
        writes are checked, selected or not."""
        declared = settings(WorkloadTable)
        self.unknown_keys(path, entry, declared, f"a key of a workload ({', '.join(declared)})")
        # size is checked even when left out: a workload without the default size names one
        own = workload_settings()
        values = read_values(self, path, {"size": own["size"].default, **entry}, own, info)
        size = values.get("size")
        if "variant" in entry and "variant" not in values:
            return []
        selected = values.get("variant", own["variant"].default)
        overrides = values.get("variants", {})
        runs = []
        for variant in selected:
            # Check the settings even when the variant or size is wrong: report everything.
            run = self.workload_run(
                path,
                info,
                variant or "base",
                size or info.sizes[0],
                entry,
                overrides.get(variant, {}),
            )
            if run is not None and variant is not None and size is not None:
                runs.append(run)
        for variant, over in overrides.items():  # settings of variants not selected to run
            if variant not in selected:
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
        written = {**entry, **over}

        def at(key: str) -> Path_:
            return (*path, "variants", variant, key) if key in over else (*path, key)

        declared = variant_settings()
        values = read_values(self, path, written, declared, info, at)

        def sized(key: str) -> int | None:
            if key in written:
                return values.get(key)
            defaults = getattr(info, key)
            if size not in defaults:
                expected = f"{key} (workload {info.name} has no default at size {size})"
                self.fail((*path, key), expected, MISSING)
            return defaults.get(size)

        max_steps, batch_size = sized("max_steps"), sized("batch_size")
        target = values.get("target")
        if "target" not in written:
            label = info.name if variant == "base" else f"{info.name} ({variant})"
            self.fail(
                at("target"),
                f"a target for {label}, e.g. "
                f"target = {{ metric = {show(info.metric)}, value = ... }}",
                Found("none"),
            )
        every = (
            values.get("eval_every") if "eval_every" in written else declared["eval_every"].default
        )
        if isinstance(every, float):  # a fraction of max_steps
            every = None if max_steps is None else max(1, round(every * max_steps))
        variant_data = self.data_variant(info, size, written, values, at)
        width = values.get("width") if "width" in written else declared["width"].default
        if None in (max_steps, batch_size, target, every, variant_data, width):
            return None
        rows, noise = variant_data
        return WorkloadRun(
            info.name,
            variant,
            size,
            target,
            max_steps,
            batch_size,
            every,
            values.get("data"),
            train_rows=rows,
            label_noise=noise,
            width=width,
        )

    def data_variant(
        self,
        info: WorkloadInfo,
        size: str,
        written: dict[str, Any],
        values: dict[str, Any],
        at: Any,
    ) -> tuple[int | None, float] | None:
        """``train_rows`` (None: all) and ``label_noise`` of one variant, checked against
        the data the workload generates at ``size``; None when one is reported."""
        keys = ("train_rows", "label_noise")
        reported = any(k in written and values.get(k) is None for k in keys)
        rows, noise = values.get("train_rows"), values.get("label_noise") or 0.0
        generated = info.train_rows.get(size)
        for key in keys if generated is None else ():
            if values.get(key):
                sizes = ", ".join(info.train_rows) or "none"
                expected = (
                    f"a size whose data hpbench generates ({sizes}): size {size} of "
                    f"{info.name} reads your data; cut or noise it before importing it, "
                    f"or remove {key}"
                )
                self.fail(at(key), expected, written[key])
                reported = True
        if generated is not None and rows is not None and rows > generated:
            expected = f"at most {generated:,} (the training rows of {info.name} at size {size})"
            self.fail(at("train_rows"), expected, written["train_rows"])
            reported = True
        return None if reported else (rows, noise)

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
        fixed = settings(GridAxes)
        names = (*(info.names if info else ()), *fixed)
        if info is not None or "algorithm" not in self.doc.data:
            self.unknown_keys(
                ("grid",),
                table,
                names,
                "a hyperparameter"
                + (f" of {info.name}" if info else "")
                + f", {', '.join(list(fixed)[:-1])} or {list(fixed)[-1]}",
                hyperparameters=True,
            )
        # else: the algorithm's name was already reported; its axes cannot be checked
        axes = []
        for key, values in table.items():
            if key in fixed:
                kind = fixed[key].setting.kind
            elif info is not None and key in info.names:
                kind = hyperparameter_axis(info.hyperparameter(key))
            else:
                continue
            read = kind.read(self, ("grid", key), values)
            if read is not None and len(read) == len(values):  # else a value is reported
                axes.append((key, read))
        return tuple(axes)

"""The numbers of a report, gathered once from specs and results, rendered by every format.

A spec's trials group into *points* (one hyperparameter configuration, all workloads and
seeds). A list (a ``[list]`` spec or a published list) is one *entry*: one algorithm label
(its ``[benchmark] name``), its points tried in priority order. Any other spec gives an
entry per point (a ``[grid]`` or ``[search]`` point is a configuration of its own),
labelled by the values that vary among its points: ``sweep: learning_rate=0.001``.
Entries are scored against each other with :func:`hpbench.scoring.score_results`; points
are scored each under its own label too, for the list tables and the learning curves.
"""

from __future__ import annotations

import functools
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from hpbench.collector import gc_paused
from hpbench.plan import Plan, Trial, point_key
from hpbench.report.provenance import Provenance, collect, spec_provenance
from hpbench.report.resolved import is_list, resolved, targets_version, toml_text
from hpbench.results.index import ResultsIndex
from hpbench.results.records import TrialResult
from hpbench.results.store import live_status
from hpbench.scoring import ScoreRow, Scores, score_results
from hpbench.scoring.lists import DEFAULT_TAU
from hpbench.scoring.spread import Spread, seed_spread
from hpbench.scoring.time_to_target import TrialScore, score_trial
from hpbench.spec import SpecError
from hpbench.spec.compile import compile_plan, load_spec
from hpbench.spec.model import Spec

#: Outcomes in the order the trial summary shows them: final ones, then those that are not
#: (yet): "interrupted" includes a "running" trial whose run is gone, "corrupt" a trial whose
#: files fail their checks (never scored), "not run" one without results.
SUMMARY_OUTCOMES = (
    "reached",
    "missed",
    "diverged",
    "failed",
    "running",
    "interrupted",
    "pending",
    "corrupt",
    "not run",
)
#: The outcomes that make a score provisional.
UNFINISHED = ("running", "interrupted", "pending", "corrupt", "not run")


@attrs.frozen
class SpecRun:
    """A compiled spec with the results of those of its trials that exist."""

    plan: Plan  # its name is the spec's label, its source the spec file
    results: Mapping[str, TrialResult]  # trial id -> result (readable ones: scored)
    #: The trials' ids, in plan order: each a SHA-256, computed once here.
    ids: tuple[str, ...] = attrs.field(
        default=attrs.Factory(lambda self: tuple(t.id for t in self.plan.trials), takes_self=True)
    )
    is_list: bool = False  # one entry with its points in priority order; else one per point
    spec: Mapping[str, Any] | None = None  # the merged spec data (None: not from a file)
    targets_version: str = "not stated"
    corrupt: Mapping[str, str] = attrs.Factory(dict)  # trial id -> "<dir>: <what is wrong>"
    results_dir: Path | None = None

    @property
    def label(self) -> str:
        return self.plan.name

    @classmethod
    @gc_paused
    def load(
        cls,
        plan: Plan,
        results_dir: Path,
        spec: Spec | None = None,
        index: ResultsIndex | None = None,
    ) -> SpecRun:
        """Read the results of ``plan``'s trials from ``results_dir``; a trial whose files
        fail their checks is corrupt: never scored, named in the report's warnings. A
        "running" trial whose run is gone reads as interrupted. ``spec`` (the checked spec
        ``plan`` compiles) says whether it is a list, and what it resolves to. ``index``:
        the results index to read through (and save to); without one, this opens and
        saves its own."""
        ids = tuple(t.id for t in plan.trials)
        done, corrupt = {}, {}
        reader = index or ResultsIndex(results_dir)
        for trial in plan.trials:  # the planned trial, so its target is this spec's
            result = reader.read(trial)
            if result is None:
                continue
            if result.damaged:
                corrupt[trial.id] = f"{Path(results_dir) / trial.id}: {result.status.reason}"
                continue
            if result.status.state == "running":  # is its run still there?
                status = live_status(Path(results_dir) / trial.id, result.status)
                result = attrs.evolve(result, status=status)
            done[trial.id] = result
        if index is None:
            reader.save()
        if spec is None:
            return cls(plan, done, ids, corrupt=corrupt, results_dir=Path(results_dir))
        data = spec.document.data if spec.document is not None else None
        return cls(
            plan,
            done,
            ids,
            is_list=is_list(spec),
            spec=data,
            targets_version=targets_version(spec),
            corrupt=corrupt,
            results_dir=Path(results_dir),
        )


@attrs.frozen
class Column:
    """A workload of the report: its key in the scores, metric, target and step budget."""

    key: str  # "criteo", "criteo/layernorm"
    workload: str
    variant: str
    metric: str
    direction: str  # "min" or "max"
    target: float
    max_steps: int
    size: str = "mini"
    batch_size: int = 0
    data_variant: str = ""  # Trial.data_variant: "" for the workload as registered


@attrs.frozen
class Point:
    """One hyperparameter configuration of a spec: what its trials share but workload and seed."""

    index: int  # 1-based, in spec order: a list's priority order
    label: str  # its label in ``Report.point_scores``
    entry: str  # the label of its entry (the spec's for a list)
    algorithm: str
    hyperparameters: Mapping[str, Any]
    options: Mapping[str, Any]
    schedule: str
    warmup: float
    horizon: float


@attrs.frozen
class Entry:
    """One spec of the report."""

    label: str
    description: str
    path: str
    points: tuple[Point, ...]
    outcomes: Mapping[str, int]  # SUMMARY_OUTCOMES -> number of trials
    spec: str = ""  # the spec's name (equal to ``label`` unless the spec has several entries)
    seeds: tuple[int, ...] = ()  # the seeds its trials train
    resolved: str = ""  # the resolved spec of this entry, as TOML ("" if not from a file)
    targets_version: str = "not stated"

    @property
    def is_list(self) -> bool:
        return len(self.points) > 1


@attrs.frozen
class Problem:
    """A trial that diverged, failed or did not finish, for the trial summary."""

    label: str
    trial_id: str
    workload: str
    point: int
    seed: int
    outcome: str
    step: int
    reason: str


@attrs.frozen(eq=False)
class Report:
    """Everything a report shows."""

    title: str
    entries: tuple[Entry, ...]  # spec order
    columns: tuple[Column, ...]  # base workloads, each followed by its variants
    scores: Scores  # one label per spec: the benchmark scores
    results: Mapping[str, TrialResult]  # every result, by trial id
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    provenance: Provenance
    integral: str = "trapezoid"
    tau: float = DEFAULT_TAU
    #: (spec label, column key) -> unfinished trials by outcome (see :func:`unfinished_text`).
    progress: Mapping[tuple[str, str], Mapping[str, int]] = attrs.Factory(dict)
    #: What :attr:`point_scores` and :attr:`spread` are computed from on first use (the
    #: score table shows neither): trial id -> its point's label, ``score_results``'
    #: options and trial scores, and the number of bootstrap resamples (0: no intervals).
    point_labels: Mapping[str, str] = attrs.Factory(dict)
    scoring: Mapping[str, Any] = attrs.Factory(dict)
    trial_scores: Mapping[str, TrialScore] | None = None
    bootstrap: int = 0

    @functools.cached_property
    @gc_paused
    def point_scores(self) -> Scores:
        """One label per point: the list tables and learning curves."""
        return score_results(
            self.results, self.point_labels, trial_scores=self.trial_scores, **self.scoring
        )

    @functools.cached_property
    @gc_paused
    def spread(self) -> Spread | None:
        """The seeds' min-max and bootstrap intervals of ``scores`` (None: no resamples)."""
        if not self.bootstrap:
            return None
        return seed_spread(self.scores, self.results, resamples=self.bootstrap)

    def score(self, entry: Entry) -> float:
        """The spec's benchmark score; NaN when none of its trials has results."""
        return self.scores.benchmark.get(entry.label, math.nan)

    @property
    def ranking(self) -> list[Entry]:
        """Entries by benchmark score, best first (ties keep spec order, no results last)."""
        return sorted(self.entries, key=lambda e: -np.nan_to_num(self.score(e), nan=-1.0))

    def row(self, entry: Entry, column: Column) -> ScoreRow | None:
        return self.scores.row(entry.label, column.key)

    def point_row(self, point: Point, column: Column) -> ScoreRow | None:
        return self.point_scores.row(point.label, column.key)

    def reached(self, entry: Entry) -> int:
        """Workloads whose target the spec reached (median over seeds)."""
        return sum(1 for c in self.columns if (r := self.row(entry, c)) and math.isfinite(r.steps))

    def fractions(self, entry: Entry) -> np.ndarray:
        """Step fractions t/T, points x columns (NaN where not run)."""
        matrix = self.point_scores.matrix("step_fraction", [c.key for c in self.columns])
        rows = {label: i for i, label in enumerate(self.point_scores.labels)}
        nothing = np.full(len(self.columns), np.nan)
        return np.array(
            [matrix[rows[p.label]] if p.label in rows else nothing for p in entry.points]
        ).reshape(len(entry.points), len(self.columns))


def compile_specs(specs: Sequence[Path]) -> list[tuple[Spec, Plan]]:
    """The checked spec and plan of every spec file; raises SpecError with the problems of
    all the specs at once."""
    compiled, problems = [], []
    for path in specs:
        try:
            spec = load_spec(path)
            compiled.append((spec, compile_plan(spec)))
        except SpecError as e:
            problems.extend(e.problems)
    if problems:
        raise SpecError(problems)
    return compiled


@gc_paused
def load_runs(specs: Sequence[Path], results_dir: Path) -> list[SpecRun]:
    """Compile every spec (see :func:`compile_specs`) and read its results (through the
    results index, see :mod:`hpbench.results.index`)."""
    index = ResultsIndex(results_dir)
    runs = [SpecRun.load(plan, results_dir, spec, index) for spec, plan in compile_specs(specs)]
    index.save()
    return runs


def _setting(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _point_names(settings: Sequence[Mapping[str, Any]]) -> list[str]:
    """The settings that vary among ``settings``, written ``name=value`` (floats short, as
    ``1e-05``, unless that makes two points look alike: then every digit)."""
    keys = [k for k in dict.fromkeys(k for s in settings for k in s)]
    varying = [k for k in keys if len({repr(s.get(k)) for s in settings}) > 1]
    for show in (_setting, repr):
        names = [", ".join(f"{k}={show(s.get(k))}" for k in varying) for s in settings]
        if len(set(names)) == len(names):
            return names
    return [f"#{i}" for i in range(1, len(settings) + 1)]


def _points(run: SpecRun, prefix: bool) -> dict[tuple, Point]:
    """The spec's points in spec order. A list's points belong to the spec's entry and are
    labelled ``name #k``; other points are entries of their own, labelled by the settings
    that vary (``name: learning_rate=0.001`` when ``prefix``, else without the name)."""
    found: dict[tuple, Trial] = {}
    for trial in run.plan.trials:
        found.setdefault(point_key(trial), trial)
    trials = list(found.values())
    settings = [
        {**t.params, **dict(t.options), "warmup": t.warmup, "horizon": t.horizon} for t in trials
    ]
    split = len(trials) > 1 and not run.is_list
    names = _point_names(settings) if split else []
    points = {}
    for index, (key, trial) in enumerate(found.items(), start=1):
        if split:
            entry = f"{run.label}: {names[index - 1]}" if prefix else names[index - 1]
            label = entry
        else:
            entry = run.label
            label = f"{run.label} #{index}"
        points[key] = Point(
            index=index,
            label=label,
            entry=entry,
            algorithm=trial.algorithm,
            hyperparameters=trial.params,
            options=dict(trial.options),
            schedule=trial.schedule,
            warmup=trial.warmup,
            horizon=trial.horizon,
        )
    return points


def _resolved_text(run: SpecRun, point: Point | None) -> str:
    """The resolved spec of ``point`` (None: of the whole spec) as TOML; "" without one."""
    if run.spec is None:
        return ""
    values = None
    if point is not None:
        values = {
            **point.hyperparameters,
            **point.options,
            "warmup": point.warmup,
            "horizon": point.horizon,
        }
    return toml_text(resolved(run.spec, values)).strip() + "\n"


def _column(key: str, trial: Trial) -> Column:
    target = trial.target
    return Column(
        key,
        trial.workload,
        trial.variant,
        target.metric,
        target.direction,
        target.value,
        trial.max_steps,
        trial.size,
        trial.batch_size,
        trial.data_variant,
    )


def _columns(
    scores: Scores, results: Mapping[str, TrialResult], runs: Sequence[SpecRun]
) -> tuple[tuple[Column, ...], list[str]]:
    """A column per workload key of the scores, plus the planned workloads nothing ran on
    (keyed as the scores key them: ``name``, ``name/variant``, ``name@size``)."""
    columns, warnings, scored = {}, [], set()
    for key in scores.workloads:
        rows = [r for r in scores.rows if r.workload == key]
        trial = results[rows[0].trial_ids[0]].trial
        columns[key] = _column(key, trial)
        scored.add((trial.workload, trial.variant, trial.size_label))
        targets = {(r.metric, r.target, r.direction) for r in rows}
        if len(targets) > 1:
            found = ", ".join(f"{r.label}: {r.metric} {r.target:g}" for r in rows)
            warnings.append(
                f"{key}: the specs use different targets ({found}); times are not comparable"
            )
    planned = {(t.workload, t.variant, t.size_label): t for run in runs for t in run.plan.trials}
    sizes = Counter(w for w, _ in {(w, s) for w, _, s in planned})
    for (workload, variant, size), trial in planned.items():
        if (workload, variant, size) in scored:
            continue
        base = workload if sizes[workload] == 1 else f"{workload}@{size}"
        key = base if variant == "base" else f"{base}/{variant}"
        columns.setdefault(key, _column(key, trial))
    order = sorted(
        columns.values(), key=lambda c: (c.key.split("/")[0], c.variant != "base", c.key)
    )
    return tuple(order), warnings


@gc_paused
def build_report(
    runs: Sequence[SpecRun],
    *,
    title: str | None = None,
    time: str = "steps",
    integral: str = "trapezoid",
    tau: float = DEFAULT_TAU,
    provenance: Provenance | None = None,
    bootstrap: int = 1000,
    budget_scale: float = 1.0,
) -> Report:
    """Score ``runs`` together (the benchmark score is relative to this pool) into a Report.

    The seeds' spread (min-max and bootstrap intervals) comes from ``bootstrap`` resamples
    of the seeds with a fixed RNG seed (0: no intervals)."""
    labels = [run.label for run in runs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        named = ", ".join(map(repr, duplicates))
        raise ValueError(f"several specs are named {named}; give each its own [benchmark] name")
    owner: dict[str, str] = {}  # trial id -> the first spec that plans it
    entry_label: dict[str, str] = {}
    point_label: dict[str, str] = {}
    index_of: dict[str, int] = {}
    entries: list[Entry] = []
    entry_ids: dict[tuple[str, str], list[str]] = {}  # (spec, entry) -> its planned trials
    shared: Counter[tuple[str, str]] = Counter()  # (first spec, later spec) -> trials
    for run in runs:
        points = _points(run, prefix=len(runs) > 1)
        ids_of: dict[str, list[str]] = {}
        for trial, trial_id in zip(run.plan.trials, run.ids, strict=True):
            point = points[point_key(trial)]
            ids_of.setdefault(point.entry, []).append(trial_id)
            if owner.setdefault(trial_id, run.label) != run.label:
                shared[(owner[trial_id], run.label)] += 1
                continue
            entry_label[trial_id], point_label[trial_id] = point.entry, point.label
            index_of[trial_id] = point.index
        for label in dict.fromkeys(p.entry for p in points.values()):
            entry_ids[(run.label, label)] = ids_of[label]
            mine = tuple(p for p in points.values() if p.entry == label)
            single = mine[0] if len(mine) == 1 and len(points) > 1 else None
            entries.append(
                Entry(
                    label=label,
                    description=run.plan.description,
                    path=run.plan.source,
                    points=mine,
                    outcomes={},
                    spec=run.label,
                    seeds=_planned_seeds(run, ids_of[label]),
                    resolved=_resolved_text(run, single),
                    targets_version=run.targets_version,
                )
            )
    entry_labels = [e.label for e in entries]
    clashes = sorted({label for label in entry_labels if entry_labels.count(label) > 1})
    if clashes:
        named = ", ".join(map(repr, clashes))
        raise ValueError(f"several report entries are named {named}; rename a spec")
    warnings = [
        f"{count} trials of {later} are also in {first}; they count for {first} only"
        for (first, later), count in shared.items()
    ] + [
        f"corrupt, never scored: {problem} (`hpbench run` moves the damaged files aside and "
        "trains the trial again)"
        for run in runs
        for problem in run.corrupt.values()
    ]
    results = {i: r for run in runs for i, r in run.results.items() if owner.get(i) == run.label}
    # By trial id: no trial is hashed again (each id is a SHA-256 of the trial's JSON);
    # each trial scored once for both poolings.
    trial_scores = {i: score_trial(r, i, budget_scale) for i, r in results.items()}
    options = {"time": time, "integral": integral, "budget_scale": budget_scale}
    scores = score_results(results, entry_label, trial_scores=trial_scores, **options)
    columns, target_warnings = _columns(scores, results, runs)
    progress = _progress(runs, scores, owner)
    run_of = {run.label: run for run in runs}
    entries = [
        attrs.evolve(e, outcomes=_outcomes(run_of[e.spec], entry_ids[(e.spec, e.label)], scores))
        for e in entries
    ]
    if provenance is None:
        provenance = collect([spec_provenance(r.plan, r.ids) for r in runs], results.values())
    return Report(
        title=title or " vs ".join(labels),
        entries=tuple(entries),
        columns=columns,
        scores=scores,
        results=results,
        problems=tuple(_problems(scores, results, index_of)),
        warnings=tuple(
            warnings + target_warnings + _notices(runs, entries, columns, scores, owner)
        ),
        progress=progress,
        provenance=provenance,
        integral=integral,
        tau=tau,
        point_labels=point_label,
        scoring=options,
        trial_scores=trial_scores,
        bootstrap=bootstrap,
    )


def _planned_seeds(run: SpecRun, ids: Sequence[str]) -> tuple[int, ...]:
    wanted = set(ids)
    return tuple(
        sorted({t.seed for t, i in zip(run.plan.trials, run.ids, strict=True) if i in wanted})
    )


def _outcome(run: SpecRun, scores: Scores, trial_id: str) -> str:
    """A trial's :data:`SUMMARY_OUTCOMES` entry: its score's outcome, an unfinished trial's
    state, or "corrupt" / "not run"."""
    if trial_id in run.corrupt:
        return "corrupt"
    if trial_id not in run.results or trial_id not in scores.trials:
        return "not run"
    outcome = scores.trials[trial_id].outcome
    return run.results[trial_id].status.state if outcome == "incomplete" else outcome


def _outcomes(run: SpecRun, ids: Sequence[str], scores: Scores) -> dict[str, int]:
    """Trials ``ids`` of ``run`` (an entry's) by outcome; trials without results are
    "not run"."""
    counts = Counter(_outcome(run, scores, i) for i in ids)
    return {outcome: counts.get(outcome, 0) for outcome in SUMMARY_OUTCOMES}


def _column_key(trial: Trial, sizes: Mapping[str, int]) -> str:
    base = trial.workload if sizes[trial.workload] == 1 else f"{trial.workload}@{trial.size_label}"
    return base if trial.variant == "base" else f"{base}/{trial.variant}"


def _progress(
    runs: Sequence[SpecRun], scores: Scores, spec_label: Mapping[str, str]
) -> dict[tuple[str, str], dict[str, int]]:
    """(spec label, column key) -> how many of its trials there are unfinished, by
    :data:`UNFINISHED` outcome (only the non-zero ones; absent when all are final)."""
    planned = {(t.workload, t.size_label) for run in runs for t in run.plan.trials}
    sizes = Counter(w for w, _ in planned)
    progress: dict[tuple[str, str], dict[str, int]] = {}
    for run in runs:
        for trial, trial_id in zip(run.plan.trials, run.ids, strict=True):
            if spec_label.get(trial_id) != run.label:
                continue
            outcome = _outcome(run, scores, trial_id)
            if outcome in UNFINISHED:
                counts = progress.setdefault((run.label, _column_key(trial, sizes)), {})
                counts[outcome] = counts.get(outcome, 0) + 1
    return progress


def unfinished_text(counts: Mapping[str, int]) -> str:
    """``{"pending": 2, "running": 1}`` as "1 running, 2 pending" (:data:`UNFINISHED` order)."""
    return ", ".join(f"{counts[o]} {o}" for o in UNFINISHED if counts.get(o))


def _notices(
    runs: Sequence[SpecRun],
    entries: Sequence[Entry],
    columns: Sequence[Column],
    scores: Scores,
    spec_label: Mapping[str, str],
) -> list[str]:
    """What makes scores meaningless or not final: a pool of one, a spec without results
    or missing workloads, and unfinished trials."""
    notices = []
    if len(entries) == 1:
        notices.append(
            f"one entry in the pool: scores are relative to the pool, so {entries[0].label} "
            "scores 1.0 on every workload it reaches; score it together with other specs to "
            "compare"
        )
    for run in runs:
        mine = [e for e in entries if e.spec == run.label]
        if not run.results:
            notices.append(
                f"{run.label}: no results yet ({len(run.ids)} trials not run); "
                f"run `hpbench run {run.plan.source}`"
            )
            continue
        if not any(spec_label.get(i) == run.label for i in run.ids):
            continue  # every trial counts for an earlier spec (warned above)
        missing = [c.key for c in columns if all(scores.row(e.label, c.key) is None for e in mine)]
        if missing:
            notices.append(f"{run.label}: no results on {', '.join(missing)}")
        totals = Counter()
        for e in mine:
            totals.update(e.outcomes)
        open_ = {o: n for o, n in totals.items() if o in UNFINISHED and n}
        if open_:
            notices.append(
                f"{run.label}: {unfinished_text(open_)} of {len(run.ids)} trials; "
                "its scores are not final"
            )
    return notices


def _problems(
    scores: Scores, results: Mapping[str, TrialResult], index_of: Mapping[str, int]
) -> list[Problem]:
    """Diverged, failed and unfinished trials, in label and workload order."""
    problems = []
    for row in scores.rows:
        for trial_id in row.trial_ids:
            score = scores.trials[trial_id]
            if score.outcome not in ("diverged", "failed", "incomplete"):
                continue
            status = results[trial_id].status
            problems.append(
                Problem(
                    label=row.label,
                    trial_id=trial_id,
                    workload=row.workload,
                    point=index_of[trial_id],
                    seed=results[trial_id].trial.seed,
                    outcome=score.outcome,
                    step=status.step,
                    reason=score.reason or status.state,
                )
            )
    return problems

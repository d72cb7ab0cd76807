"""The numbers of a report, gathered once from specs and results, rendered by every format.

Each spec is one algorithm label (its ``[benchmark] name``), scored against the report's
other specs with :func:`hpbench.scoring.score_results`. A spec's trials also group into
*points* (one hyperparameter configuration, all workloads and seeds), scored each under
its own label, for the list tables and the learning curves.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np

from hpbench.plan import Plan, Trial, point_key
from hpbench.report.provenance import Provenance, collect, spec_provenance
from hpbench.results.records import TrialResult, read_planned_trial
from hpbench.results.store import live_status
from hpbench.scoring import ScoreRow, Scores, score_results
from hpbench.scoring.lists import DEFAULT_TAU
from hpbench.spec import SpecError, load_plan

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
    corrupt: Mapping[str, str] = attrs.Factory(dict)  # trial id -> "<dir>: <what is wrong>"
    results_dir: Path | None = None

    @property
    def label(self) -> str:
        return self.plan.name

    @classmethod
    def load(cls, plan: Plan, results_dir: Path) -> SpecRun:
        """Read the results of ``plan``'s trials from ``results_dir``; a trial whose files
        fail their checks is corrupt: never scored, named in the report's warnings. A
        "running" trial whose run is gone reads as interrupted."""
        ids = tuple(t.id for t in plan.trials)
        done, corrupt = {}, {}
        for trial in plan.trials:  # the planned trial, so its target is this spec's
            result = read_planned_trial(results_dir, trial)
            if result is None:
                continue
            if result.damaged:
                corrupt[trial.id] = f"{Path(results_dir) / trial.id}: {result.status.reason}"
                continue
            status = live_status(Path(results_dir) / trial.id, result.status)
            done[trial.id] = attrs.evolve(result, status=status)
        return cls(plan, done, ids, corrupt, Path(results_dir))


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


@attrs.frozen
class Point:
    """One hyperparameter configuration of a spec: what its trials share but workload and seed."""

    index: int  # 1-based, in spec order: a list's priority order
    label: str  # its label in ``Report.point_scores``
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
    point_scores: Scores  # one label per point: list tables and learning curves
    results: Mapping[str, TrialResult]  # every result, by trial id
    problems: tuple[Problem, ...]
    warnings: tuple[str, ...]
    provenance: Provenance
    integral: str = "trapezoid"
    tau: float = DEFAULT_TAU
    #: (spec label, column key) -> unfinished trials by outcome (see :func:`unfinished_text`).
    progress: Mapping[tuple[str, str], Mapping[str, int]] = attrs.Factory(dict)

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


def compile_specs(specs: Sequence[Path]) -> list[Plan]:
    """The plan of every spec; raises SpecError with the problems of all the specs at once."""
    plans, problems = [], []
    for spec in specs:
        try:
            plans.append(load_plan(spec))
        except SpecError as e:
            problems.extend(e.problems)
    if problems:
        raise SpecError(problems)
    return plans


def load_runs(specs: Sequence[Path], results_dir: Path) -> list[SpecRun]:
    """Compile every spec (see :func:`compile_specs`) and read its results."""
    return [SpecRun.load(plan, results_dir) for plan in compile_specs(specs)]


def _points(run: SpecRun) -> dict[tuple, Point]:
    points: dict[tuple, Point] = {}
    for trial in run.plan.trials:
        key = point_key(trial)
        if key not in points:
            index = len(points) + 1
            points[key] = Point(
                index=index,
                label=f"{run.label} #{index}",
                algorithm=trial.algorithm,
                hyperparameters=trial.params,
                options=dict(trial.options),
                schedule=trial.schedule,
                warmup=trial.warmup,
                horizon=trial.horizon,
            )
    return points


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
        scored.add((trial.workload, trial.variant, trial.size))
        targets = {(r.metric, r.target, r.direction) for r in rows}
        if len(targets) > 1:
            found = ", ".join(f"{r.label}: {r.metric} {r.target:g}" for r in rows)
            warnings.append(
                f"{key}: the specs use different targets ({found}); times are not comparable"
            )
    planned = {(t.workload, t.variant, t.size): t for run in runs for t in run.plan.trials}
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


def build_report(
    runs: Sequence[SpecRun],
    *,
    title: str | None = None,
    time: str = "steps",
    integral: str = "trapezoid",
    tau: float = DEFAULT_TAU,
    provenance: Provenance | None = None,
) -> Report:
    """Score ``runs`` together (the benchmark score is relative to this pool) into a Report."""
    labels = [run.label for run in runs]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        named = ", ".join(map(repr, duplicates))
        raise ValueError(f"several specs are named {named}; give each its own [benchmark] name")
    spec_label: dict[str, str] = {}
    point_label: dict[str, str] = {}
    index_of: dict[str, int] = {}
    points_of: dict[str, tuple[Point, ...]] = {}
    shared: Counter[tuple[str, str]] = Counter()  # (first spec, later spec) -> trials
    for run in runs:
        points = _points(run)
        points_of[run.label] = tuple(points.values())
        for trial, trial_id in zip(run.plan.trials, run.ids, strict=True):
            if spec_label.setdefault(trial_id, run.label) != run.label:
                shared[(spec_label[trial_id], run.label)] += 1
                continue
            point = points[point_key(trial)]
            point_label[trial_id], index_of[trial_id] = point.label, point.index
    warnings = [
        f"{count} trials of {later} are also in {first}; they count for {first} only"
        for (first, later), count in shared.items()
    ] + [
        f"corrupt, never scored: {problem} (`hpbench run` moves the damaged files aside and "
        "trains the trial again)"
        for run in runs
        for problem in run.corrupt.values()
    ]
    results = {
        i: r for run in runs for i, r in run.results.items() if spec_label.get(i) == run.label
    }
    # By trial id: no trial is hashed again (each id is a SHA-256 of the trial's JSON).
    scores = score_results(results, spec_label, time=time, integral=integral)
    point_scores = score_results(results, point_label, time=time, integral=integral)
    columns, target_warnings = _columns(scores, results, runs)
    entries = tuple(
        Entry(
            run.label,
            run.plan.description,
            run.plan.source,
            points_of[run.label],
            _outcomes(run, scores),
        )
        for run in runs
    )
    progress = _progress(runs, scores, spec_label)
    if provenance is None:
        provenance = collect([spec_provenance(r.plan, r.ids) for r in runs], results.values())
    return Report(
        title=title or " vs ".join(labels),
        entries=entries,
        columns=columns,
        scores=scores,
        point_scores=point_scores,
        results=results,
        problems=tuple(_problems(scores, results, index_of)),
        warnings=tuple(
            warnings + target_warnings + _notices(runs, entries, columns, scores, spec_label)
        ),
        progress=progress,
        provenance=provenance,
        integral=integral,
        tau=tau,
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


def _outcomes(run: SpecRun, scores: Scores) -> dict[str, int]:
    """Trials of a spec by outcome; trials without results are "not run"."""
    counts = Counter(_outcome(run, scores, i) for i in run.ids)
    return {outcome: counts.get(outcome, 0) for outcome in SUMMARY_OUTCOMES}


def _column_key(trial: Trial, sizes: Mapping[str, int]) -> str:
    base = trial.workload if sizes[trial.workload] == 1 else f"{trial.workload}@{trial.size}"
    return base if trial.variant == "base" else f"{base}/{trial.variant}"


def _progress(
    runs: Sequence[SpecRun], scores: Scores, spec_label: Mapping[str, str]
) -> dict[tuple[str, str], dict[str, int]]:
    """(spec label, column key) -> how many of its trials there are unfinished, by
    :data:`UNFINISHED` outcome (only the non-zero ones; absent when all are final)."""
    planned = {(t.workload, t.size) for run in runs for t in run.plan.trials}
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
    if len(runs) == 1:
        notices.append(
            f"one spec in the pool: scores are relative to the pool, so {runs[0].label} scores "
            "1.0 on every workload it reaches; score it together with other specs to compare"
        )
    for run, entry in zip(runs, entries, strict=True):
        if not run.results:
            notices.append(
                f"{run.label}: no results yet ({len(run.ids)} trials not run); "
                f"run `hpbench run {run.plan.source}`"
            )
            continue
        if not any(spec_label.get(i) == run.label for i in run.ids):
            continue  # every trial counts for an earlier spec (warned above)
        missing = [c.key for c in columns if scores.row(run.label, c.key) is None]
        if missing:
            notices.append(f"{run.label}: no results on {', '.join(missing)}")
        open_ = {o: n for o, n in entry.outcomes.items() if o in UNFINISHED and n}
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

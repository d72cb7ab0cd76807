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
from hpbench.scoring import ScoreRow, Scores, score_results
from hpbench.scoring.lists import DEFAULT_TAU
from hpbench.spec import SpecError, load_plan

#: Outcomes in the order the trial summary shows them ("not run": no results yet).
SUMMARY_OUTCOMES = ("reached", "missed", "diverged", "failed", "incomplete", "not run")


@attrs.frozen
class SpecRun:
    """A compiled spec with the results of those of its trials that exist."""

    plan: Plan  # its name is the spec's label, its source the spec file
    results: Mapping[str, TrialResult]  # trial id -> result
    #: The trials' ids, in plan order: each a SHA-256, computed once here.
    ids: tuple[str, ...] = attrs.field(
        default=attrs.Factory(lambda self: tuple(t.id for t in self.plan.trials), takes_self=True)
    )
    unreadable: tuple[str, ...] = ()  # "<dir>: <why>" of trial directories that failed to parse

    @property
    def label(self) -> str:
        return self.plan.name

    @classmethod
    def load(cls, plan: Plan, results_dir: Path) -> SpecRun:
        """Read the results of ``plan``'s trials from ``results_dir``; a trial directory that
        does not parse counts as not run (and is named in the report's warnings)."""
        ids = tuple(t.id for t in plan.trials)
        done, unreadable = {}, []
        for trial in plan.trials:  # the planned trial, so its target is this spec's
            try:
                result = read_planned_trial(results_dir, trial)
            except (ValueError, KeyError, TypeError) as e:  # JSONDecodeError is a ValueError
                unreadable.append(f"{Path(results_dir) / trial.id}: {type(e).__name__}: {e}")
                continue
            if result is not None:
                done[trial.id] = result
        return cls(plan, done, ids, tuple(unreadable))


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
        f"{problem}; counted as not run (delete the directory to train the trial again)"
        for run in runs
        for problem in run.unreadable
    ]
    results = {
        i: r for run in runs for i, r in run.results.items() if spec_label.get(i) == run.label
    }
    # By trial id: no trial is hashed again (each id is a SHA-256 of the trial's JSON).
    scores = score_results(results, spec_label, time=time, integral=integral)
    point_scores = score_results(results, point_label, time=time, integral=integral)
    columns, target_warnings = _columns(scores, results, runs)
    if provenance is None:
        provenance = collect([spec_provenance(r.plan, r.ids) for r in runs], results.values())
    return Report(
        title=title or " vs ".join(labels),
        entries=tuple(
            Entry(
                run.label,
                run.plan.description,
                run.plan.source,
                points_of[run.label],
                _outcomes(run, scores),
            )
            for run in runs
        ),
        columns=columns,
        scores=scores,
        point_scores=point_scores,
        results=results,
        problems=tuple(_problems(scores, results, index_of)),
        warnings=tuple(warnings + target_warnings),
        provenance=provenance,
        integral=integral,
        tau=tau,
    )


def _outcomes(run: SpecRun, scores: Scores) -> dict[str, int]:
    """Trials of a spec by outcome; trials without results are "not run"."""
    counts = Counter(
        scores.trials[i].outcome if i in run.results and i in scores.trials else "not run"
        for i in run.ids
    )
    return {outcome: counts.get(outcome, 0) for outcome in SUMMARY_OUTCOMES}


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

"""The scores table: per (algorithm label, workload) times to target, step fractions, best
metrics, outcome counts, normalised times, performance profiles and benchmark scores.

Trials are grouped by label, then by workload, then by seed. Trials of one label that
share a workload and a seed are one AlgoPerf "study": its time is the fastest of them.
A row's times are the median over seeds (a missed seed counts as ``inf``).
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs
import numpy as np

from hpbench.plan import Trial
from hpbench.results.records import TrialResult
from hpbench.scoring.lists import speedup
from hpbench.scoring.profiles import (
    ALGOPERF_MAX_TAU,
    ALGOPERF_NUM_POINTS,
    Profile,
    performance_profile,
)
from hpbench.scoring.time_to_target import (
    OUTCOMES,
    TrialScore,
    median_best_metric,
    median_over_seeds,
    score_trial,
)

#: The time column the profile and the benchmark score use (each a ScoreRow field).
TIME_UNITS = ("steps", "seconds", "algoperf")

Labels = Mapping[str, str] | Callable[[Trial], str] | None


@attrs.frozen
class ScoreRow:
    """One algorithm on one workload: medians over seeds and outcome counts."""

    label: str
    workload: str  # key: "criteo", "criteo/layernorm" (variant), "criteo@small" (mixed sizes)
    base: str  # the key of its base workload (equal to ``workload`` for a base workload)
    variant: str  # "base" or the held-out variant's name
    metric: str
    target: float
    direction: str  # "min" or "max"
    horizon_steps: int  # T; the largest among the row's trials if they differ
    seeds: int
    trials: int
    reached: int
    missed: int
    diverged: int
    failed: int
    incomplete: int  # pending, running or interrupted
    steps: float  # median over seeds of the steps to target; inf if missed
    seconds: float  # median over seeds of the training seconds to target; inf if missed
    #: median over seeds of AlgoPerf's clock at the target within the runtime budget; inf if
    #: missed or over budget; NaN if a trial's results predate the clock
    algoperf: float
    step_fraction: float  # median over seeds of steps / T; inf if missed
    best_metric: float  # median over seeds of the best target-metric value; NaN if none
    normalized_time: float  # the profile's ratio r (after cut-off and gating); NaN for variants
    trial_ids: tuple[str, ...]


#: The ScoreRow fields that :meth:`Scores.matrix` tabulates.
NUMERIC_FIELDS = tuple(
    f.name for f in attrs.fields(ScoreRow) if f.type in ("int", "float", int, float)
)


@attrs.frozen(eq=False)
class Scores:
    """Everything a report shows, computed once from a pool of trial results."""

    labels: tuple[str, ...]  # algorithms, in label order
    workloads: tuple[str, ...]  # every workload key: each base, then its variants
    base_workloads: tuple[str, ...]  # the profile's columns
    rows: tuple[ScoreRow, ...]
    trials: Mapping[str, TrialScore]  # by trial id
    label_of: Mapping[str, str]  # trial id -> label
    time: str  # "steps", "seconds" or "algoperf": the time the profile compares
    profile: Profile  # rows in ``labels`` order, columns in ``base_workloads`` order
    benchmark: Mapping[str, float]  # label -> benchmark score in [0, 1]
    #: The keyword arguments of ``performance_profile`` that made ``profile``.
    profile_options: Mapping[str, object] = attrs.Factory(dict)

    _index: dict[tuple[str, str], ScoreRow] = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_index", {(r.label, r.workload): r for r in self.rows})

    def row(self, label: str, workload: str) -> ScoreRow | None:
        """The row of ``label`` on ``workload``; None when that algorithm did not run it."""
        return self._index.get((label, workload))

    def matrix(self, field: str, workloads: Iterable[str] | None = None) -> np.ndarray:
        """``field`` of every row as a labels x workloads array (NaN where not run)."""
        if field not in NUMERIC_FIELDS:
            raise ValueError(f"no numeric ScoreRow field {field!r}; one of {NUMERIC_FIELDS}")
        columns = self.workloads if workloads is None else tuple(workloads)
        out = np.full((len(self.labels), len(columns)), np.nan)
        for i, label in enumerate(self.labels):
            for j, workload in enumerate(columns):
                row = self.row(label, workload)
                if row is not None:
                    out[i, j] = getattr(row, field)
        return out

    def speedup(self, candidate: str, baseline: str) -> float:
        """Speedup in steps of label ``candidate`` over ``baseline`` (> 1: faster) on the base
        workloads both ran; a miss counts as the horizon T plus one step (see
        :func:`~hpbench.scoring.lists.speedup`)."""
        pairs = [
            (self.row(candidate, w), self.row(baseline, w))
            for w in self.base_workloads
            if self.row(candidate, w) and self.row(baseline, w)
        ]
        if not pairs:
            raise ValueError(f"{candidate!r} and {baseline!r} share no base workload")
        return speedup(
            np.array([c.steps for c, _ in pairs]),
            np.array([b.steps for _, b in pairs]),
            np.array([max(c.horizon_steps, b.horizon_steps) for c, b in pairs]),
        )


def default_labels(trials: Iterable[Trial]) -> dict[str, str]:
    """Trial id -> label: the algorithm name, plus the settings (hyperparameters, schedule,
    warmup, horizon, options) that differ among that algorithm's trials in the pool,
    e.g. ``nadamw`` or ``nadamw(horizon=0.33, learning_rate=0.001)``."""
    return _default_labels({t.id: t for t in trials})


def _default_labels(trials: Mapping[str, Trial]) -> dict[str, str]:
    settings = {trial_id: _settings(t) for trial_id, t in trials.items()}
    by_algorithm: dict[str, list[str]] = defaultdict(list)
    for trial_id, t in trials.items():
        by_algorithm[t.algorithm].append(trial_id)
    labels = {}
    for algorithm, ids in by_algorithm.items():
        keys = sorted({k for i in ids for k in settings[i]})
        varying = [k for k in keys if len({repr(settings[i].get(k)) for i in ids}) > 1]
        for i in ids:
            inner = ", ".join(f"{k}={settings[i].get(k)!r}" for k in varying)
            labels[i] = f"{algorithm}({inner})" if varying else algorithm
    return labels


def _settings(trial: Trial) -> dict[str, object]:
    return {
        **trial.params,
        **dict(trial.options),
        "schedule": trial.schedule,
        "warmup": trial.warmup,
        "horizon": trial.horizon,
    }


def _resolve_labels(trials: Mapping[str, Trial], labels: Labels) -> dict[str, str]:
    if callable(labels):
        return {trial_id: labels(t) for trial_id, t in trials.items()}
    if labels is not None and all(trial_id in labels for trial_id in trials):
        return {trial_id: labels[trial_id] for trial_id in trials}  # no default needed
    defaults = _default_labels(trials)
    if labels is None:
        return defaults
    return {trial_id: labels.get(trial_id, defaults[trial_id]) for trial_id in trials}


def _workload_keys(trials: Mapping[str, Trial]) -> dict[str, tuple[str, str]]:
    """Trial id -> (workload key, base key); the size (with its data variant: a noisy or cut
    set is another workload) is named only when a pool mixes them."""
    kinds = {trial_id: (t.workload, t.size_label, t.variant) for trial_id, t in trials.items()}
    sizes: dict[str, set[str]] = defaultdict(set)
    for workload, size, _ in set(kinds.values()):
        sizes[workload].add(size)
    keys = {}
    for kind in set(kinds.values()):  # a few kinds: each key built once, not per trial
        workload, size, variant = kind
        base = workload if len(sizes[workload]) == 1 else f"{workload}@{size}"
        keys[kind] = (base if variant == "base" else f"{base}/{variant}", base)
    return {trial_id: keys[kind] for trial_id, kind in kinds.items()}


def _label_order(labels: Labels, assigned: Mapping[str, str]) -> tuple[str, ...]:
    present = set(assigned.values())
    if isinstance(labels, Mapping):
        ordered = [label for label in dict.fromkeys(labels.values()) if label in present]
        return tuple(ordered + sorted(present - set(ordered)))
    return tuple(sorted(present))


#: The TrialScore times a row takes the median (over seeds) of each seed's fastest.
_TIMES = ("steps", "seconds", "algoperf", "step_fraction")
_times = operator.attrgetter(*_TIMES)


def _row(
    label: str,
    workload: str,
    base: str,
    results: list[TrialResult],
    scores: list[TrialScore],
) -> dict[str, Any]:
    """The fields of the row of ``results`` (with their ``scores``) but ``normalized_time``:
    rows are built once the profile is known (a 100,000-trial pool has 20,000 rows)."""
    trials = [r.trial for r in results]
    targets = {t.target for t in trials}  # Targets are equal when their fields are
    if len(targets) > 1:
        found = sorted((t.metric, t.value, t.direction) for t in targets)
        raise ValueError(
            f"{label!r} on {workload!r}: trials have different targets {found}; "
            "score results of one target version at a time (pass the spec's trial ids)"
        )
    (target,) = targets
    metric, value, direction = target.metric, target.value, target.direction
    by_seed: dict[int, list[TrialScore]] = defaultdict(list)
    for t, score in zip(trials, scores, strict=True):
        by_seed[t.seed].append(score)
    studies = list(by_seed.values())
    # each study's fastest time per field, then the median over seeds per field
    fastest = [
        _times(study[0])
        if len(study) == 1
        else [_fastest(t) for t in zip(*map(_times, study), strict=True)]
        for study in studies
    ]
    medians = [median_over_seeds(times) for times in zip(*fastest, strict=True)]
    bests = [
        study[0].best_metric if len(study) == 1 else target.best(s.best_metric for s in study)
        for study in studies
    ]
    outcomes = [s.outcome for s in scores]
    return dict(
        label=label,
        workload=workload,
        base=base,
        variant=trials[0].variant,
        metric=metric,
        target=value,
        direction=direction,
        horizon_steps=max(t.horizon_steps for t in trials),
        seeds=len(studies),
        trials=len(results),
        **{o: outcomes.count(o) for o in OUTCOMES},
        **dict(zip(_TIMES, medians, strict=True)),
        best_metric=median_best_metric(bests),
        trial_ids=tuple(s.trial_id for s in scores),
    )


def _fastest(times: Sequence[float]) -> float:
    """A study's time: its fastest trial's; NaN (a time unavailable) if any is NaN."""
    return math.nan if any(map(math.isnan, times)) else min(times)


def _workload_order(keys: Iterable[tuple[str, str]]) -> tuple[str, ...]:
    """Base workloads sorted by name, each followed by its variants."""
    ordered = sorted(set(keys), key=lambda kb: (kb[1], kb[0] != kb[1], kb[0]))
    return tuple(key for key, _ in ordered)


def _require_algoperf_clock(trial_scores: Mapping[str, TrialScore]) -> None:
    """ValueError naming the trials whose results have no AlgoPerf clock."""
    missing = sorted(i for i, s in trial_scores.items() if math.isnan(s.algoperf))
    if missing:
        raise ValueError(
            f"time 'algoperf' is unavailable for {len(missing)} of {len(trial_scores)} trials "
            f"(e.g. {missing[0]}): their results were written before hpbench recorded "
            "AlgoPerf's clock; train them again (`hpbench run --force`) or score with time "
            "'steps' or 'seconds'"
        )


def _within_budget(score: TrialScore) -> TrialScore:
    """On AlgoPerf's clock a trial that reached its target only past the runtime budget did
    not reach it (AlgoPerf stops evaluating at the budget): missed, at no step."""
    if score.outcome != "reached" or math.isfinite(score.algoperf):
        return score
    return attrs.evolve(
        score,
        steps=math.inf,
        seconds=math.inf,
        step_fraction=math.inf,
        outcome="missed",
        reason="reached the target only after AlgoPerf's runtime budget",
    )


def score_results(
    results: Iterable[TrialResult] | Mapping[str, TrialResult],
    labels: Labels = None,
    *,
    time: str = "steps",
    max_tau: float = ALGOPERF_MAX_TAU,
    num_points: int = ALGOPERF_NUM_POINTS,
    integral: str = "trapezoid",
    num_workloads: int | None = None,
    budget_scale: float = 1.0,
    trial_scores: Mapping[str, TrialScore] | None = None,
) -> Scores:
    """Score a pool of trial results; every label in the pool is scored against the others.

    ``results`` may be a mapping trial id -> result, which saves hashing every trial.
    ``labels`` maps trial id -> algorithm label (trials it omits get :func:`default_labels`),
    or is a function of the Trial. ``time`` picks the profile's time ("steps", as the papers;
    "seconds", training seconds; "algoperf", AlgoPerf's clock: training with its
    compilation, within the workload's runtime budget times ``budget_scale`` (``inf``: no
    budget); trials packed in one job share their clocks). ``max_tau``, ``num_points`` and
    ``integral`` are those of :func:`~hpbench.scoring.profiles.performance_profile`.
    ``time="algoperf"`` raises ValueError when a trial's results predate AlgoPerf's clock.
    ``trial_scores``: the results' :func:`score_trial` by trial id, when the caller scores
    the same pool several times (computed with the same ``budget_scale``).
    """
    if time not in TIME_UNITS:
        raise ValueError(f"time must be one of {TIME_UNITS}, got {time!r}")
    if not budget_scale > 0:
        raise ValueError(f"budget_scale must be > 0 (inf: no budget), got {budget_scale!r}")
    # each content hash computed once; a trial given twice counts once
    by_id = dict(results) if isinstance(results, Mapping) else {r.trial.id: r for r in results}
    trials = {trial_id: r.trial for trial_id, r in by_id.items()}
    label_of = _resolve_labels(trials, labels)
    keys = _workload_keys(trials)
    if trial_scores is None:
        trial_scores = {
            trial_id: score_trial(r, trial_id, budget_scale) for trial_id, r in by_id.items()
        }
    else:
        trial_scores = {trial_id: trial_scores[trial_id] for trial_id in by_id}
    if time == "algoperf":
        _require_algoperf_clock(trial_scores)
        trial_scores = {i: _within_budget(s) for i, s in trial_scores.items()}
    groups: dict[tuple[str, str], list[str]] = defaultdict(list)
    for trial_id in by_id:
        groups[(label_of[trial_id], keys[trial_id][0])].append(trial_id)
    rows = {
        (label, workload): _row(
            label,
            workload,
            keys[ids[0]][1],
            [by_id[i] for i in ids],
            [trial_scores[i] for i in ids],
        )
        for (label, workload), ids in groups.items()
    }
    ordered_labels = _label_order(labels, label_of)
    workloads = _workload_order(set(keys.values()))
    base_of_key = dict(keys.values())
    # A variant whose base workload is not in the pool gates nothing: it is left out.
    columns = [w for w in workloads if base_of_key[w] in base_of_key]
    base_columns = [w for w in columns if base_of_key[w] == w]
    times = np.array(
        [
            [rows[(a, w)][time] if (a, w) in rows else np.nan for w in columns]
            for a in ordered_labels
        ]
    ).reshape(len(ordered_labels), len(columns))
    options = {
        "max_tau": max_tau,
        "num_points": num_points,
        "integral": integral,
        "num_workloads": num_workloads,
    }
    profile = performance_profile(
        times,
        [None if w in base_columns else columns.index(base_of_key[w]) for w in columns],
        **options,
    )
    normalized = {
        (label, workload): float(profile.ratios[i, j])
        for i, label in enumerate(ordered_labels)
        for j, workload in enumerate(base_columns)
    }
    return Scores(
        labels=ordered_labels,
        workloads=workloads,
        base_workloads=tuple(base_columns),
        rows=tuple(
            ScoreRow(**rows[(label, w)], normalized_time=normalized.get((label, w), math.nan))
            for label in ordered_labels
            for w in workloads
            if (label, w) in rows
        ),
        trials=trial_scores,
        label_of=label_of,
        time=time,
        profile=profile,
        benchmark={
            label: float(s) for label, s in zip(ordered_labels, profile.scores, strict=True)
        },
        profile_options=options,
    )

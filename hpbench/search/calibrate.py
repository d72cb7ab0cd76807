"""Calibration, the lr-free paper's Section 3.2: frozen hyperparameters found by a search
across all workloads.

Per spec (one algorithm) and horizon fraction f: run the search's points on every workload,
rank them by the single-point list cost C_tau (geometric mean of step fractions, a miss
costing tau), keep the top k, re-run those with fresh seeds. Then score every candidate of
every spec together with the AlgoPerf benchmark score and keep the best per (algorithm,
horizon); a spec's calibrated point is its best over horizons (ties: the shorter horizon).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.plan import Scalar, Trial
from hpbench.search.runs import finished, point_table, point_trials, train
from hpbench.spec import Spec
from hpbench.spec.search import require
from hpbench.spec.settings import Search, Select


@attrs.frozen
class Candidate:
    """A top-k point of one (spec, horizon), re-run with the selection's seeds."""

    spec: str  # the spec's name
    horizon: float
    index: int  # 0-based index of the point in its search
    point: dict[str, Scalar]  # its trial values (hyperparameters, warmup)
    search_cost: float  # single-point C_tau in the search
    search_fractions: tuple[float, ...]  # per workload, median over the search's seeds
    trials: tuple[Trial, ...]  # the re-runs
    search_trials: tuple[Trial, ...]  # its trials in the search (the search's seeds)
    score: float = float("nan")  # benchmark score of the re-runs in the pool of all candidates
    search_score: float = float("nan")  # the same, of the search trials, among theirs

    @property
    def point_label(self) -> str:
        """``h=0.5 point 12``: the candidate within its spec."""
        return f"h={self.horizon:g} point {self.index + 1}"

    @property
    def label(self) -> str:
        return f"{self.spec} {self.point_label}"


@attrs.frozen
class SpecCalibration:
    """One spec's search, selection settings, candidates and choices."""

    spec: Spec
    search: Search
    select: Select
    candidates: tuple[Candidate, ...]
    best: dict[float, Candidate]  # per horizon, the best candidate by benchmark score
    chosen: Candidate  # the best over horizons: the calibrated point
    chosen_by_search: Candidate  # the same rule on the search trials' scores: a seed check
    #: with several re-run seeds, the same rule on each seed's re-runs alone (its own pool)
    chosen_by_seed: dict[int, Candidate] = attrs.field(factory=dict)

    @property
    def seeds_agreeing(self) -> int:
        """How many re-run seeds alone choose the calibrated point."""
        return sum(c is self.chosen for c in self.chosen_by_seed.values())


@attrs.frozen(eq=False)
class Calibration:
    """The outcome of ``hpbench calibrate``: per spec, and the scores of the whole pool."""

    specs: tuple[SpecCalibration, ...]
    workloads: tuple[str, ...]
    scores: Any  # hpbench.scoring.Scores of every candidate


def calibrate(
    specs: Sequence[Spec],
    results_dir: Path,
    pack: int | None = None,
    progress: Callable[[Any], None] | None = None,
    runner: Any = None,
) -> Calibration:
    """Run the procedure for ``specs`` (each with ``[search]`` and ``[select]``), training
    what it needs."""

    def trained(trials: list[Trial]) -> bool:
        train(trials, results_dir, pack, progress, runner)
        return True

    outcome = _procedure(specs, results_dir, trained)
    assert outcome is not None  # every trial it asked for was trained
    return outcome


def read_calibration(specs: Sequence[Spec], results_dir: Path) -> Calibration | None:
    """:func:`calibrate`'s outcome from the finished trials alone (a report's check of a
    calibration already run); None while any trial it needs has not finished."""
    return _procedure(specs, results_dir, lambda trials: finished(results_dir, trials))


def _procedure(
    specs: Sequence[Spec], results_dir: Path, ready: Callable[[list[Trial]], bool]
) -> Calibration | None:
    """The calibration of ``specs``; ``ready`` trains or checks each stage's trials and
    says whether they can be read (else None)."""
    from hpbench.results import read_planned
    from hpbench.scoring import score_results

    per_spec: list[tuple[Spec, Search, Select, list[Candidate]]] = []
    for spec in specs:
        require(spec, "select", "calibrate")
        candidates = []
        for horizon in spec.select.horizons:
            ranked = _horizon_search(spec, horizon, results_dir, ready)[1]
            if not ranked:  # its search has not finished
                return None
            candidates += ranked
        per_spec.append((spec, spec.search, spec.select, candidates))

    every = [c for *_, candidates in per_spec for c in candidates]
    if not ready([t for c in every for t in c.trials]):
        return None

    def pool_scores(trials_of: Callable[[Candidate], tuple[Trial, ...]]) -> Any:
        labels = {t.id: c.label for c in every for t in trials_of(c)}
        results = read_planned(results_dir, [t for c in every for t in trials_of(c)])
        return score_results(results, {i: labels[i] for i in results})

    scores = pool_scores(lambda c: c.trials)
    searched = pool_scores(lambda c: c.search_trials).benchmark
    several = {s for *_, select, _ in per_spec if len(select.seeds) > 1 for s in select.seeds}
    by_seed = {  # each seed's re-runs scored alone, for the specs that re-run with several
        seed: pool_scores(lambda c, s=seed: tuple(t for t in c.trials if t.seed == s)).benchmark
        for seed in sorted(several)
    }
    outcome = []
    for spec, search, select, candidates in per_spec:
        scored = [
            attrs.evolve(
                c,
                score=scores.benchmark.get(c.label, 0.0),
                search_score=searched.get(c.label, 0.0),
            )
            for c in candidates
        ]
        best = {h: _best([c for c in scored if c.horizon == h]) for h in select.horizons}
        by_search = _best(scored, lambda c: c.search_score)
        alone = {
            seed: _best(scored, lambda c, s=seed: by_seed[s].get(c.label, 0.0))
            for seed in (select.seeds if len(select.seeds) > 1 else ())
        }
        outcome.append(
            SpecCalibration(
                spec,
                search,
                select,
                tuple(scored),
                best,
                _best(list(best.values())),
                by_search,
                alone,
            )
        )
    return Calibration(tuple(outcome), scores.base_workloads, scores)


def calibration_trials(spec: Spec, results_dir: Path) -> list[Trial]:
    """Every trial ``hpbench calibrate`` trains for ``spec``: each horizon's search and, once
    all of it finished in ``results_dir``, the re-runs of its top points as those results
    choose them (a spec's plan holds only the first horizon's search). Trains nothing."""
    require(spec, "select", "calibrate")
    trials: list[Trial] = []
    for horizon in spec.select.horizons:
        searched, candidates = _horizon_search(
            spec, horizon, results_dir, lambda t: finished(results_dir, t)
        )
        trials += searched + [t for c in candidates for t in c.trials]
    return trials


def _horizon_search(
    spec: Spec,
    horizon: float,
    results_dir: Path,
    ready: Callable[[list[Trial]], bool],
) -> tuple[list[Trial], list[Candidate]]:
    """The search's trials at ``horizon`` and, when ``ready`` (which may train them) says
    they can be ranked, its top points by single-point C_tau as candidates, each with its
    re-run trials (not trained here)."""
    from hpbench.scoring import list_cost, top_points

    select = spec.select
    points = [{**p, "horizon": horizon} for p in spec.points]
    groups = [point_trials(spec, p) for p in points]
    searched = [t for g in groups for t in g]
    if not ready(searched):
        return searched, []
    table = point_table(groups, results_dir)
    candidates = [
        Candidate(
            spec=spec.name,
            horizon=horizon,
            index=index,
            point=dict(spec.points[index]),
            search_cost=list_cost(table.fractions, [index], select.tau),
            search_fractions=tuple(float(x) for x in table.fractions[index]),
            trials=tuple(point_trials(spec, points[index], seeds=select.seeds)),
            search_trials=tuple(groups[index]),
        )
        for index in top_points(table.fractions, select.top_k, select.tau)
    ]
    return searched, candidates


def _best(
    candidates: Sequence[Candidate], score: Callable[[Candidate], float] = lambda c: c.score
) -> Candidate:
    """Highest benchmark ``score`` (the re-runs', unless told another); ties: the shorter
    horizon (as fast, and cheaper to train), then the lower search cost, then the earlier
    candidate."""
    return min(candidates, key=lambda c: (-score(c), c.horizon, c.search_cost))

"""``reports/findings.md``: the papers' findings beside hpbench's numbers, a verdict each.

Reads the trials of the findings specs (:data:`MINI`: ``specs/findings/`` on the mini suite;
the shipped hyperparameters on seeds 2-6, which selected nothing) from a results store,
scores the single configurations in one pool (the lists, and the equal-budget comparison's
four calibrated algorithms, each in a pool of their own), and sets each finding of
:mod:`hpbench.report.papers` beside hpbench's number.
``python -m hpbench.report.findings [--results DIR] [--out FILE]``.
No JAX import.
"""

from __future__ import annotations

import argparse
import math
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np

from hpbench.direction import beats, sign
from hpbench.plan import Trial
from hpbench.report import papers
from hpbench.report.resolved import targets_version
from hpbench.results import read_finished, read_planned
from hpbench.results.records import TrialResult
from hpbench.scoring import Scores, leave_one_workload_out, median_over_seeds, score_results
from hpbench.scoring.spread import seed_spread
from hpbench.search.calibrate import Calibration, SpecCalibration, read_calibration
from hpbench.spec import Spec
from hpbench.spec.compile import compile_plan, load_spec

ROOT = Path(__file__).resolve().parents[2]
REPRODUCED, PARTLY, NOT, NOT_RUN = "reproduced", "partly", "not reproduced", "not run"
#: A naive arm reaching at most this share of the targets means the targets separate tuned
#: from untuned training, as AlgoPerf's do; above it a "reached" does not mean what the
#: papers' does (set before any findings run, not fitted to them).
MEANINGFUL_SHARE = 0.5
#: The target-setting budget as a fraction of max_steps (specs/targets_graded.toml).
TARGET_SETTING = 0.25
#: "Several" workloads (the lr-free paper's calibrated candidates reach 4 and 5 of 8).
SEVERAL = 3
#: The pool each kind of arm is scored in: the single configurations together (the naive
#: methods beside the calibrated ones and naive Adam), the lists apart, and the equal-budget
#: comparison's four calibrated algorithms apart (the lr-free paper's Table 6 pools only them).
SINGLES = "single configurations"
POOLS = {
    "naive": SINGLES,
    "calibrated": SINGLES,
    "reference": SINGLES,
    "list": "lists",
    "equal": "equal budget",
}
KINDS = tuple(POOLS)
#: The equal-budget comparison's learning-rate-free algorithms (the rest are its baselines).
LR_FREE_ALGORITHMS = ("mechanic", "prodigy")
#: How the runs differ from the papers' (the setup, not the results).
DEVIATIONS = (
    "Mini workloads on finite, noisy training sets (the step budgets above, seconds a trial on "
    "2 CPU cores) stand for AlgoPerf's (31,998-559,998 steps); time is counted in steps, as the "
    "papers do, not seconds.",
    "Targets `{version}` (specs/suites/algoperf_mini.toml's header says how they were set: "
    "AlgoPerf's procedure at mini size, specs/targets_graded.toml: 64 broad-space NAdamW "
    "points at horizon 1/3, the best rerun with 5 seeds at horizon 1/4, "
    "reports/targets_graded.md), not AlgoPerf's targets.",
    "The calibrated specs come from 16 points at one horizon (0.5), the top 2 re-run with 3 "
    "seeds (1, 7, 8) as the paper's, scored against `{version}` (reports/calibration.md); the "
    "paper calibrated 200 points at three horizons, its top 3 re-run. The equal-budget "
    "comparison calibrates AdamW, NAdamW, Mechanic and Prodigy with the same 16 points at two "
    "horizons (0.33 and 0.5; the paper's third, 0.66, left out for cost), the top 2 per "
    "horizon re-run with the same 3 seeds, all candidates scored "
    "together (specs/findings/equal_budget/); its arms are the chosen points on seeds 2-6, "
    "where the paper's Tables 5 and 6 report the candidates on the calibration's own seeds.",
    "Naive Mechanic keeps Mechanic's own weight decay (lambda 0.01 in its scale update, its "
    "default; the base Adam has none), as the paper keeps Mechanic's defaults.",
    "The leave-one-out lists are built from 200 broad-space points, as the paper's, on one "
    "seed (seed 0, specs/hardness_graded.toml, whose first 64 points are the search that "
    "chose the targets' points) where the paper ran each point with 5; their held-out "
    "fractions are retrained on seeds 2-6, 5 as the paper's.",
    "The learning-rate sweeps' other hyperparameters (beta1 0.9, beta2 0.999, warmup 5%, no "
    "dropout or label smoothing) are hpbench's choice: the paper does not state them. Table "
    "5's Vizier and Metz et al. rows are not reproduced; its random-search comparison (the "
    "paper's tuning curves, Section 4.1) is the chance that 5 of the 200 search points reach.",
)
#: Where the calibrated specs come from (their headers; reports/calibration.md).
CALIBRATION = (
    "the calibrated specs were calibrated on this suite from 16 points at one horizon (0.5) "
    "on seed 0, the top 2 re-run with seeds 1, 7 and 8 (reports/calibration.md, whose seed "
    "check says whether seed 0 alone, and each re-run seed alone, would have chosen the same "
    "points), the paper's on 200 points at three horizons"
)

#: How the equal-budget arms were chosen (specs/findings/equal_budget/ and its report).
EQUAL_BUDGET_CALIBRATION = (
    "each algorithm calibrated with the same 16 Halton points of the lr-free space at horizons "
    "0.33 and 0.5, the top 2 per horizon re-run with seeds 1, 7 and 8, every candidate scored "
    "in one pool (reports/calibration_equal_budget.md; the paper: 200 points at horizons 0.33, "
    "0.5 and 0.66, the top 3 re-run with 3 seeds); each arm is its algorithm's chosen point on "
    "seeds 2-6, which selected nothing (the paper's Tables 5 and 6 report the candidates on the "
    "calibration's own seeds); the report's seed check says which algorithms' points seed 0's "
    "search trials, or a re-run seed alone, would not have chosen"
)


@attrs.frozen
class Arm:
    """One single configuration run for the findings: its label, spec and role."""

    label: str
    spec: str  # path from the repository root
    kind: str  # a key of POOLS: "naive" (naive lr-free), "calibrated" (lr-free), "reference",
    # "list", or "equal" (the equal-budget comparison's calibrated algorithms)
    algorithm: str  # pairs a calibrated arm with the naive arm of the same algorithm


#: Each arm's label, spec file (in a set's directory), kind and algorithm.
_ARMS = (
    ("calibrated Mechanic", "mechanic_calibrated", "calibrated", "mechanic"),
    ("calibrated Prodigy", "prodigy_calibrated", "calibrated", "prodigy"),
    ("naive Mechanic", "naive_mechanic", "naive", "mechanic"),
    ("naive Prodigy", "naive_prodigy", "naive", "prodigy"),
    ("naive D-Adapt Adam", "naive_dadapt_adamw", "naive", "dadapt_adamw"),
    ("naive DoG", "naive_dog", "naive", "dog"),
    ("naive MoMo-Adam", "naive_momo_adam", "naive", "momo_adam"),
    ("naive Schedule-Free AdamW", "naive_schedule_free_adamw", "naive", "schedule_free_adamw"),
    ("naive Adam", "naive_adam", "reference", "adamw"),
    # a list is scored in a pool of its own, apart from the single configurations
    ("published NAdamW list", "nadamw_list5", "list", "nadamw"),
    ("LR sweep (WD 0.5)", "lr_sweep_wd_high", "list", "nadamw"),
    ("LR sweep (WD 1e-4)", "lr_sweep_wd_low", "list", "nadamw"),
    # the lr-free paper's equal-budget comparison: each calibrated with the same points and
    # horizons, scored in a pool of their own
    ("AdamW, equal budget", "equal_budget/adamw", "equal", "adamw"),
    ("NAdamW, equal budget", "equal_budget/nadamw", "equal", "nadamw"),
    ("Mechanic, equal budget", "equal_budget/mechanic", "equal", "mechanic"),
    ("Prodigy, equal budget", "equal_budget/prodigy", "equal", "prodigy"),
)
PUBLISHED = "published NAdamW list"
#: The training seeds of every arm: 5, as both papers run (none of them selected anything).
FRESH_SEEDS = (2, 3, 4, 5, 6)
#: ``2, 3, 4, 5, 6``: the seeds as the report's tables and verdicts list them.
FRESH_SEEDS_TEXT = ", ".join(map(str, FRESH_SEEDS))


def _seed_range(seeds: Sequence[int]) -> str:
    """``2-6`` for consecutive seeds, else ``2, 4, 7``."""
    if list(seeds) == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(map(str, seeds))


def _seed_words(seeds: Sequence[int]) -> str:
    """``2, 3, 4, 5 and 6``."""
    *head, last = map(str, seeds)
    return f"{', '.join(head)} and {last}" if head else last


@attrs.frozen
class Plan:
    """How to run a finding not run yet, and its cost in suite runs (one algorithm x one
    seed over the suite at horizon 1), which the measured suite seconds turn into hours."""

    command: str
    suites: float
    what: str


@attrs.frozen
class CalibrationSource:
    """The calibration that chose the points of one kind of arm: its spec files (scored
    together, as ``hpbench calibrate`` was given them) and the archive of its trials."""

    kind: str  # the arms' kind ("calibrated", "equal")
    specs: tuple[str, ...]  # paths from the repository root
    archive: str


@attrs.frozen
class FindingsSet:
    """A findings report's inputs: the arms' directory, the suite and where its targets come
    from, the search the leave-one-out lists are built from, the archives that restore the
    trials, and how the runs deviate from the papers (tests point it at synthetic stores).
    Texts may name the suite's targets version as ``{version}`` (read from the suite file)."""

    suite_label: str  # "mini suite": the report's title and table header
    directory: str  # the arms' specs, from the repository root
    suite: str  # the suite file the arms run on (its header names the targets version)
    targets_report: str  # where the targets and how they were set are written
    out: str  # the report
    archive: str  # the findings trials' archive
    search_archive: str  # the list search's trials' archive
    #: How to run the list search (its cost in suite runs and what it is).
    list_plan: Plan
    deviations: tuple[str, ...]
    calibration: str  # where the calibrated specs come from
    #: the calibrations that chose the calibrated arms' points, so the report can say how
    #: settled each choice is
    calibrations: tuple[CalibrationSource, ...] = ()

    @property
    def arms(self) -> tuple[Arm, ...]:
        return tuple(Arm(label, self.spec(f), k, a) for label, f, k, a in _ARMS)

    @property
    def list_search(self) -> str:
        """The search the leave-one-workload-out lists are built from (trains nothing
        once the targets search's trials are there)."""
        return self.spec("list_nadamw_broad")

    @property
    def list_fresh(self) -> str:
        """The leave-one-out lists' points retrained on seeds that selected nothing (the
        paper: the median of 5 seeds per held-out fraction)."""
        return self.spec("list_nadamw_broad_fresh")

    def spec(self, name: str) -> str:
        return f"{self.directory}/{name}.toml"

    @property
    def archives(self) -> tuple[str, ...]:
        """Every archive the report reads: restore them all to re-render it unchanged."""
        calibrations = (c.archive for c in self.calibrations)
        return tuple(dict.fromkeys((self.archive, self.search_archive, *calibrations)))

    def version(self, root: Path = ROOT) -> str:
        """The suite's targets version, as its header names it."""
        return targets_version(load_spec(root / self.suite))


MINI = FindingsSet(
    suite_label="mini suite",
    directory="specs/findings",
    suite="specs/suites/algoperf_mini.toml",
    targets_report="reports/targets_graded.md",
    out="reports/findings.md",
    archive="reports/findings.results.tar.xz",
    search_archive="reports/targets_graded.results.tar.xz",
    list_plan=Plan(
        "nice -n 10 hpbench run specs/hardness_graded.toml (the targets' search run to 200 "
        "points); then hpbench run specs/findings/list_nadamw_broad.toml (trains nothing after "
        "it)",
        200 / 3,
        "the lists come from the 200-point hardness_graded search (seed 0, horizon 1/3); "
        "Table 5's learning-rate sweeps are specs/findings/lr_sweep_wd_high.toml and "
        "lr_sweep_wd_low.toml (5 suite runs each)",
    ),
    deviations=DEVIATIONS,
    calibration=CALIBRATION,
    calibrations=(
        CalibrationSource(
            "calibrated",
            ("specs/calibrate_mechanic_mini.toml", "specs/calibrate_prodigy_mini.toml"),
            "reports/calibration.results.tar.xz",
        ),
        CalibrationSource(
            "equal",
            tuple(
                f"specs/findings/equal_budget/calibrate_{a}.toml"
                for a in ("mechanic", "prodigy", "adamw", "nadamw")
            ),
            "reports/calibration_equal_budget.results.tar.xz",
        ),
    ),
)
#: The shipped arms.
ARMS = MINI.arms


@attrs.frozen
class ArmResult:
    """What one arm's finished trials say: targets per seed, medians over seeds, score."""

    arm: Arm
    planned: int
    ended: int
    reached_per_seed: tuple[int, ...]  # targets reached by each seed (seeds ascending)
    workloads_reached: tuple[str, ...]  # workloads whose median time over seeds is finite
    best: Mapping[str, float]  # workload -> median over seeds of the best metric
    suite_seconds: float  # median over seeds of the suite's seconds (AlgoPerf clock)
    horizon: float  # the arm's horizon fraction f
    score: float  # benchmark score in its pool (POOLS)
    #: 95% bootstrap interval of the score over seeds (hpbench.scoring.spread)
    score_interval: tuple[float, float]
    step_fractions: Mapping[str, float]  # workload -> median over seeds of t / T
    #: workload -> steps to target of each trial (inf: missed); single configurations only
    target_steps: Mapping[str, tuple[float, ...]] = attrs.Factory(dict)

    @property
    def complete(self) -> bool:
        return self.planned > 0 and self.ended == self.planned

    @property
    def reached(self) -> int:
        """Targets reached by AlgoPerf's rule: workloads whose median time over the seeds is
        finite (the rule behind both papers' counts, Table 9's included)."""
        return len(self.workloads_reached)

    def reached_text(self, workloads: int) -> str:
        """``reached/workloads (per seed min-max)``: AlgoPerf's count beside each seed's."""
        low, high = min(self.reached_per_seed), max(self.reached_per_seed)
        return f"{self.reached}/{workloads} (per seed {low}-{high})"

    def reached_by(self, fraction: float, max_steps: Mapping[str, int]) -> tuple[str, ...]:
        """Workloads reached (median over seeds) within ``fraction`` of max_steps: with
        fraction 1/4 the target-setting budget (specs/targets_graded.toml)."""
        limits = {w: fraction * max_steps[w] for w in self.target_steps}
        return reached_within(self.target_steps, limits)


@attrs.frozen
class Verdict:
    level: str  # REPRODUCED, PARTLY, NOT or NOT_RUN
    why: str


@attrs.frozen
class Folds:
    """The NAdamW-list paper's Table 5 rows that a search gives without training: per
    workload (in ``workloads`` order) the step fraction of the greedy list built on the
    other workloads, of the search's first ``size`` points (a quasi-random search of that
    budget), and the chance that ``size`` points drawn at random from it reach the target."""

    points: int
    seeds: tuple[int, ...]
    size: int
    workloads: tuple[str, ...]
    lists: tuple[tuple[int, ...], ...]  # per held-out workload, the list built without it
    held_out: tuple[float, ...]
    first: tuple[float, ...]
    reaching: tuple[int, ...]  # per workload, the points that reach its target
    #: per held-out workload, its list's step fraction retrained on FRESH_SEEDS (median over
    #: them); empty until those trials all ended
    fresh: tuple[float, ...] = ()
    fresh_missing: str = ""  # why ``fresh`` is empty
    #: per workload, the points reaching its target that also reach two other workloads'
    #: (Table 4's third column): how readily a good point transfers between workloads
    also_two: tuple[int, ...] = ()

    @property
    def held_out_reached(self) -> int:
        return sum(map(math.isfinite, self.held_out))

    @property
    def first_reached(self) -> int:
        return sum(map(math.isfinite, self.first))

    @property
    def random_chance(self) -> tuple[float, ...]:
        return tuple(subset_chance(self.points, h, self.size) for h in self.reaching)

    @property
    def random_expected(self) -> float:
        """Expected number of workloads ``size`` points drawn at random reach."""
        return sum(self.random_chance)


def subset_chance(points: int, reaching: int, size: int) -> float:
    """The chance that ``size`` of ``points`` drawn without replacement include one of the
    ``reaching`` ones: ``1 - C(points - reaching, size) / C(points, size)``."""
    return 1 - math.comb(points - reaching, size) / math.comb(points, size)


def _missed_if_nan(fractions: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(fractions), math.inf, fractions)


def folds_of(fractions: np.ndarray, workloads: Sequence[str], size: int, tau: float) -> dict:
    """The :class:`Folds` fields of a points x workloads step-fraction table."""
    held = leave_one_workload_out(fractions, size, tau)
    reached = np.isfinite(fractions)
    return {
        "size": size,
        "workloads": tuple(workloads),
        "lists": tuple(f.points for f in held),
        "held_out": tuple(f.step_fraction for f in held),
        "first": tuple(float(v) for v in _missed_if_nan(fractions[:size]).min(axis=0)),
        "reaching": tuple(int(h) for h in reached.sum(axis=0)),
        "also_two": also_reaching(reached, 2),
    }


def also_reaching(reached: np.ndarray, others: int) -> tuple[int, ...]:
    """Per workload (a column of a points x workloads table of reaches), how many of the
    points reaching its target also reach at least ``others`` other workloads' (the
    NAdamW-list paper's Table 4, second and third columns)."""
    elsewhere = reached.sum(axis=1, keepdims=True) - reached
    return tuple(int(n) for n in (reached & (elsewhere >= others)).sum(axis=0))


def search_folds(
    results_dir: Path, root: Path = ROOT, findings: FindingsSet = MINI
) -> tuple[Folds | None, str]:
    """The folds of the set's list search from ``results_dir`` (not yet retrained on fresh
    seeds: :func:`with_fresh`), or None and why (trials not ended)."""
    spec = load_spec(root / findings.list_search)
    label = {}  # trial id -> its point, as `hpbench build-list` groups them
    for i, point in enumerate(spec.points):
        for trial in compile_plan(attrs.evolve(spec, points=(dict(point),))).trials:
            label[trial.id] = f"p{i:05d}"
    ended = read_finished(results_dir, compile_plan(spec).trials)
    if len(ended) < len(label):
        return None, f"{len(ended)} of {len(label)} search trials ended"
    scores = score_results(ended, label)
    workloads = scores.base_workloads
    fractions = np.array(
        [
            [scores.row(f"p{i:05d}", w).step_fraction for w in workloads]
            for i in range(len(spec.points))
        ]
    )
    fields = folds_of(fractions, workloads, spec.listing.size, spec.listing.tau)
    return Folds(len(spec.points), spec.seeds, **fields), ""


def with_fresh(
    folds: Folds,
    results_dir: Path,
    root: Path = ROOT,
    findings: FindingsSet = MINI,
    seeds: Sequence[int] = FRESH_SEEDS,
) -> Folds:
    """``folds`` with their held-out lists' step fractions retrained on ``seeds``, or why
    those are missing."""
    spec = load_spec(root / findings.list_search)
    fresh, missing = _fresh_fractions(spec, folds.lists, folds.workloads, results_dir, seeds)
    if not fresh:
        missing += _uncovered(spec, folds.lists, root / findings.list_fresh)
    return attrs.evolve(folds, fresh=fresh, fresh_missing=missing)


def _uncovered(spec: Spec, lists: Sequence[Sequence[int]], fresh_spec: Path) -> str:
    """What ``fresh_spec`` lacks to retrain ``lists`` (its points are written by hand from
    the lists: a search that grows or changes its targets may change them), or ""."""
    union = sorted({i for points in lists for i in points})
    one = attrs.evolve(spec, points=tuple(dict(spec.points[i]) for i in union), seeds=FRESH_SEEDS)
    planned = {t.id for t in compile_plan(load_spec(fresh_spec)).trials}
    if {t.id for t in compile_plan(one).trials} <= planned:
        return ""
    numbers = ", ".join(str(i + 1) for i in union)
    return (
        f"; {fresh_spec.name} does not hold every list's points: write the search points "
        f"{numbers} (1-based) into it first"
    )


def _fresh_fractions(
    spec: Spec,
    lists: Sequence[Sequence[int]],
    workloads: Sequence[str],
    results_dir: Path,
    seeds: Sequence[int],
) -> tuple[tuple[float, ...], str]:
    """Each held-out workload's step fraction with its list retrained on ``seeds`` (of a
    set's ``list_fresh``: FRESH_SEEDS), or () and why when they have not all ended."""
    label = {}  # trial id -> the held-out workload whose list it belongs to
    trials = []
    for workload, points in zip(workloads, lists, strict=True):
        for i in points:
            one = attrs.evolve(spec, points=(dict(spec.points[i]),), seeds=tuple(seeds))
            for trial in compile_plan(one).trials:
                if trial.workload == workload:
                    label[trial.id] = workload
                    trials.append(trial)
    ended = read_finished(results_dir, trials)
    if len(ended) < len(trials):
        return (), f"{len(ended)} of {len(trials)} trials ended"
    scores = score_results(ended, label)
    return tuple(scores.row(w, w).step_fraction for w in workloads), ""


@attrs.frozen
class Collected:
    """The arms' results, the targets, and the workloads' step budgets."""

    arms: tuple[ArmResult, ...]
    missing: Mapping[str, str]  # arm label -> why it is not in the pool
    targets: Mapping[str, tuple[str, str, float]]  # workload -> (metric, direction, value)
    max_steps: Mapping[str, int]
    folds: Folds | None = None  # the leave-one-workload-out lists; None: search not ended
    folds_missing: str = ""  # why there are no folds
    #: arm label -> what all its trials cost, in suite runs at horizon 1 (arms not in a pool)
    missing_suites: Mapping[str, float] = attrs.Factory(dict)
    findings: FindingsSet = MINI  # the set the arms come from
    version: str = "not stated"  # its suite's targets version
    #: finding key -> its verdict on each of FRESH_SEEDS alone (NOT_RUN where that seed's
    #: arms have not finished); empty for a collection of one seed
    seed_levels: Mapping[str, tuple[str, ...]] = attrs.Factory(dict)
    #: arm kind -> the calibration that chose its points, read from its trials (None: they
    #: have not all finished); kinds without a calibration source are absent
    calibrations: Mapping[str, Calibration | None] = attrs.Factory(dict)


def _clock(result: TrialResult) -> float:
    """Seconds the trial took on AlgoPerf's clock (training with compilation), else training."""
    if not result.evals:
        return 0.0
    last = result.evals[-1]
    return last.algoperf_seconds if last.algoperf_seconds is not None else last.train_seconds


def reached_within(
    steps: Mapping[str, Sequence[float]], limits: Mapping[str, float]
) -> tuple[str, ...]:
    """Workloads whose median over seeds of the steps to target (``inf``: missed) is at most
    ``limits[workload]``: at least half the seeds reach the target by then."""
    return tuple(w for w, times in steps.items() if median_over_seeds(times) <= limits[w])


def _arm_result(
    arm: Arm,
    results: Mapping[str, TrialResult],
    scores: Scores,
    score_interval: tuple[float, float],
) -> ArmResult:
    """The arm's numbers from the pool's scores (``results``: its trials, all ended)."""
    per_seed: dict[int, set[str]] = defaultdict(set)  # a list reaches where any point does
    seconds: dict[int, float] = defaultdict(float)
    steps: dict[str, list[float]] = defaultdict(list)  # workload -> steps to target per trial
    for trial_id, result in results.items():
        trial = result.trial
        seed = trial.seed
        reached = per_seed[seed]  # created for every seed, reaching or not
        if scores.trials[trial_id].outcome == "reached":
            reached.add(trial.workload)
        seconds[seed] += _clock(result)
        steps[trial.workload].append(scores.trials[trial_id].steps)
    rows = [r for r in scores.rows if r.label == arm.label]
    return ArmResult(
        arm=arm,
        planned=len(results),
        ended=len(results),
        reached_per_seed=tuple(len(per_seed[s]) for s in sorted(per_seed)),
        workloads_reached=tuple(r.workload for r in rows if math.isfinite(r.steps)),
        best={r.workload: r.best_metric for r in rows},
        suite_seconds=statistics.median(seconds.values()),
        horizon=next(iter(results.values())).trial.horizon,
        score=scores.benchmark[arm.label],
        score_interval=score_interval,
        step_fractions={r.workload: r.step_fraction for r in rows},
        target_steps={} if arm.kind == "list" else {w: tuple(t) for w, t in steps.items()},
    )


@attrs.frozen
class _Read:
    """What :func:`collect` reads once, whichever seeds it then scores: each arm's planned
    trials and their results, the list search's folds (or why there are none), and the
    suite's targets version."""

    planned: Mapping[Arm, tuple[Trial, ...]]
    found: Mapping[Arm, Mapping[str, TrialResult]]
    search: tuple[Folds | None, str]
    version: str
    calibrations: Mapping[str, Calibration | None]


def collect(
    results_dir: Path,
    arms: Sequence[Arm] | None = None,
    root: Path = ROOT,
    findings: FindingsSet = MINI,
    seeds: Sequence[int] | None = None,
) -> Collected:
    """Score every arm (default: the set's) whose trials all ended in one pool; say why the
    others are left out. ``seeds``: only these training seeds' trials; by default all of
    them, and then also each finding's verdict on each of FRESH_SEEDS alone
    (:attr:`Collected.seed_levels`). The trials are read once for all of it."""
    arms = findings.arms if arms is None else arms
    planned = {arm: compile_plan(load_spec(root / arm.spec)).trials for arm in arms}
    read = _Read(
        planned,
        {arm: read_planned(results_dir, trials) for arm, trials in planned.items()},
        search_folds(results_dir, root, findings),
        findings.version(root),
        read_calibrations(results_dir, root, findings),
    )
    collected = _collect(read, results_dir, root, findings, seeds)
    if seeds is not None:
        return collected
    alone = [verdicts(_collect(read, results_dir, root, findings, (s,))) for s in FRESH_SEEDS]
    levels = {
        key: tuple(one[key][1].level if key in one else NOT_RUN for one in alone)
        for key in verdicts(collected)
    }
    return attrs.evolve(collected, seed_levels=levels)


def _collect(
    read: _Read,
    results_dir: Path,
    root: Path,
    findings: FindingsSet,
    seeds: Sequence[int] | None,
) -> Collected:
    """:func:`collect`'s scoring of ``read`` on ``seeds`` (None: all of them)."""
    complete: dict[Arm, dict[str, TrialResult]] = {}
    missing: dict[str, str] = {}
    suites: dict[str, float] = {}  # arm label -> its trials' cost in suite runs at horizon 1
    targets: dict[str, tuple[str, str, float]] = {}
    max_steps: dict[str, int] = {}
    for arm, trials in read.planned.items():
        if seeds is not None:
            trials = tuple(t for t in trials if t.seed in seeds)
            if not trials:
                missing[arm.label] = f"no trials on seeds {', '.join(map(str, seeds))}"
                continue
        for trial in trials:
            targets[trial.workload] = (
                trial.target.metric,
                trial.target.direction,
                trial.target.value,
            )
            max_steps[trial.workload] = trial.max_steps
        found = {t.id: read.found[arm][t.id] for t in trials if t.id in read.found[arm]}
        ended = {i: r for i, r in found.items() if r.status.finished}
        if len(ended) == len(trials):
            complete[arm] = ended
        else:
            failed = sum(r.status.state == "failed" for r in found.values())
            missing[arm.label] = f"{len(ended)} of {len(trials)} trials ended" + (
                f", {failed} failed (the command retrains them)" if failed else ""
            )
            suites[arm.label] = sum(t.horizon for t in trials) / len({t.workload for t in trials})
    arms_out = []
    for pool_name in dict.fromkeys(POOLS.values()):
        members = {a: found for a, found in complete.items() if POOLS[a.kind] == pool_name}
        if not members:
            continue
        pool = {i: r for found in members.values() for i, r in found.items()}
        scores = score_results(
            pool, {i: arm.label for arm, found in members.items() for i in found}
        )
        spread = seed_spread(scores, pool)
        arms_out += [
            _arm_result(arm, found, scores, spread.score[arm.label])
            for arm, found in members.items()
        ]
    folds, folds_missing = read.search
    if folds is not None:
        fresh_seeds = FRESH_SEEDS if seeds is None else seeds
        folds = with_fresh(folds, results_dir, root, findings, fresh_seeds)
    return Collected(
        tuple(arms_out),
        missing,
        targets,
        max_steps,
        folds,
        folds_missing,
        suites,
        findings,
        read.version,
        calibrations=read.calibrations,
    )


def read_calibrations(
    results_dir: Path, root: Path, findings: FindingsSet
) -> dict[str, Calibration | None]:
    """Arm kind -> the calibration that chose its points, from its finished trials (None
    while they have not all finished); trains nothing."""
    return {
        source.kind: read_calibration([load_spec(root / f) for f in source.specs], results_dir)
        for source in findings.calibrations
    }


def selection(collected: Collected, kind: str) -> tuple[str, ...]:
    """A sentence per calibrated point of ``kind`` on how its calibration chose it (or,
    while the calibration's trials are missing, where to restore them from)."""
    if kind not in collected.calibrations:
        return ()
    outcome = collected.calibrations[kind]
    if outcome is not None:
        return tuple(selection_sentence(cal) for cal in outcome.specs)
    (source,) = [s for s in collected.findings.calibrations if s.kind == kind]
    return (
        f"how settled the calibrated points are is not said: the trials of their calibration "
        f"({', '.join(source.specs)}) have not all finished in the results store (restore "
        f"them: `hpbench results import {source.archive}`)",
    )


def best_on_calibration_seeds(collected: Collected) -> str:
    """The best-metrics finding on the paper's own basis: each of its workloads' best
    median metric over every candidate of the equal-budget calibration, on the seeds that
    chose them (the paper's Table 5); empty while that calibration has not been read."""
    outcome = collected.calibrations.get("equal")
    if outcome is None:
        return ""
    by_label = {c.label: cal.spec.algorithm for cal in outcome.specs for c in cal.candidates}
    best = {}
    for workload in papers.LR_FREE_BEST_WORKLOADS:
        rows = [outcome.scores.row(label, workload) for label in by_label]
        rows = [r for r in rows if r is not None and not math.isnan(r.best_metric)]
        if rows and workload in collected.targets:
            direction = collected.targets[workload][1]
            best[workload] = min(rows, key=lambda r: sign(direction) * r.best_metric)
    if not best:
        return ""
    values = "; ".join(f"{w} {_fmt(r.best_metric)} ({r.label})" for w, r in best.items())
    verdict = best_metric_verdict({w: by_label[r.label] for w, r in best.items()})
    return (
        f"on the paper's own basis, each workload's best over all {len(by_label)} candidates "
        f"of the equal-budget calibration on the seeds that chose them (its Table 5): "
        f"{values}; {verdict.level}: {verdict.why}"
    )


def selection_sentence(cal: SpecCalibration) -> str:
    """How ``cal`` chose its point: the margin over the runner-up, and whether the search's
    seeds and each re-run seed alone would choose the same point."""
    chosen = cal.chosen
    others = sorted((c for c in cal.candidates if c is not chosen), key=lambda c: -c.score)
    parts = [f"{cal.spec.name} chose {chosen.point_label} (benchmark score {chosen.score:.4f}"]
    if others:
        parts[0] += f"; the runner-up, {others[0].point_label}, {others[0].score:.4f}"
    parts[0] += ")"
    seeds = _seed_words(cal.spec.seeds)
    dissent = [c for c in (cal.chosen_by_search, *cal.chosen_by_seed.values()) if c is not chosen]
    parts.append(
        f"the search's seed{'s' if len(cal.spec.seeds) > 1 else ''} {seeds} alone would "
        + (
            "choose the same point"
            if cal.chosen_by_search is chosen
            else f"choose {cal.chosen_by_search.point_label}"
        )
    )
    if cal.chosen_by_seed:
        picks = ", ".join(f"seed {s} {c.point_label}" for s, c in cal.chosen_by_seed.items())
        agreeing = f"{cal.seeds_agreeing} of {len(cal.chosen_by_seed)}"
        parts.append(f"each re-run seed alone: {picks} ({agreeing})")
    if dissent:
        parts.append("so the choice changes with the seeds it is made on")
    return ", ".join(parts)


def meaningful(reference: ArmResult | None, workloads: int) -> bool | None:
    """Whether the targets separate untuned from tuned training: naive Adam (the reference)
    reaches at most MEANINGFUL_SHARE of them; None when it was not run."""
    if reference is None:
        return None
    return reference.reached <= MEANINGFUL_SHARE * workloads


def naive_verdict(reached: Mapping[str, float], union: int) -> Verdict:
    """Naive lr-free methods reach almost no targets (paper: all together 1 target).
    ``reached``: per method, the targets it reaches (AlgoPerf's rule, :attr:`ArmResult.reached`);
    ``union``: the workloads any of them reaches."""
    typical = statistics.median(reached.values())
    if union <= papers.NAIVE_TARGETS_ALL_METHODS + 1:
        return Verdict(REPRODUCED, f"together they reach {union} workload(s)")
    if typical <= 2:
        return Verdict(
            PARTLY, f"the typical method reaches {typical:g}, but together they reach {union}"
        )
    return Verdict(NOT, f"the typical naive method reaches {typical:g} targets, together {union}")


def calibrated_verdict(reached: Mapping[str, float], targets_mean: bool | None) -> Verdict:
    """Calibrated Mechanic and Prodigy train several workloads (paper: 4/8 each at 50%).
    A "reached" counts only where the targets separate untuned from tuned training."""
    several = [name for name, n in reached.items() if n >= SEVERAL]
    if len(several) < len(reached):
        level = PARTLY if several else NOT
        return Verdict(level, f"{len(several)} of {len(reached)} reach {SEVERAL} or more targets")
    return _unless_meaningless(
        Verdict(REPRODUCED, f"each reaches {SEVERAL} or more targets"), targets_mean
    )


def _unless_meaningless(verdict: Verdict, targets_mean: bool | None) -> Verdict:
    """A finding that rests on reaching targets is reproduced only where a reached target
    means what the paper's does (naive Adam does not reach most of them)."""
    if verdict.level != REPRODUCED or targets_mean:
        return verdict
    if targets_mean is None:
        why = "unchecked: naive Adam, which tells whether a reached target means what the "
        why += "paper's does, has not finished on these seeds"
    else:
        why = "so does naive Adam: a reached target does not mean what the paper's does"
    return Verdict(PARTLY, f"{verdict.why}, but {why}")


def _unless_unfinished(verdict: Verdict, unfinished: Sequence[str]) -> Verdict:
    """A finding about several arms is reproduced only when all of them finished; the
    unfinished ones are named whatever the verdict."""
    if not unfinished:
        return verdict
    level = PARTLY if verdict.level == REPRODUCED else verdict.level
    return Verdict(level, f"{verdict.why}; not finished: {', '.join(unfinished)}")


def calibration_verdict(pairs: Mapping[str, tuple[float, float, float, float]]) -> Verdict:
    """Calibration helps: per algorithm ``(calibrated targets, calibrated score, naive
    targets, naive score)``; it helps where the calibrated arm reaches more targets, or as
    many and scores higher (faster) in the pool."""
    helps = []
    for name, (cal, cal_score, naive, naive_score) in pairs.items():
        if cal > naive or (cal == naive and cal_score > naive_score):
            helps.append(name)
    if len(helps) == len(pairs):
        return Verdict(REPRODUCED, "calibration helps " + ", ".join(helps))
    if helps:
        return Verdict(PARTLY, "calibration helps " + ", ".join(helps) + " only")
    return Verdict(
        NOT, "the naive arm reaches as many targets or more, and scores as high or higher"
    )


def equal_budget_verdict(
    lr_free: Mapping[str, tuple[float, tuple[float, float]]],
    baselines: Mapping[str, float],
) -> Verdict:
    """Prodigy and Mechanic are not demonstrably better than AdamW and NAdamW at identical
    tuning budgets (paper: AdamW tops the leaderboard). ``lr_free``: label -> (score, its
    bootstrap interval over seeds); ``baselines``: label -> score, all in one pool. Reproduced
    when a baseline scores highest; partly when an lr-free arm does but its interval holds the
    best baseline's score (ahead within the seeds' spread); not when its interval lies above
    it. The rule was fixed before the runs."""
    best = max(baselines, key=baselines.__getitem__)
    top = max(lr_free, key=lambda label: lr_free[label][0])
    score, (low, high) = lr_free[top]
    versus = (
        f"the best lr-free arm, {top}, {score:.3f} (95% interval {low:.3f}-{high:.3f}); the "
        f"best baseline, {best}, {baselines[best]:.3f}"
    )
    if score <= baselines[best]:
        return Verdict(REPRODUCED, f"{best} scores highest: {versus}")
    if low <= baselines[best]:
        return Verdict(PARTLY, f"{top} scores highest, within the seeds' spread: {versus}")
    return Verdict(NOT, f"{top} scores highest, beyond the seeds' spread: {versus}")


def best_metric_verdict(sources: Mapping[str, str]) -> Verdict:
    """The best validation metrics on ImageNet and DeepSpeech come from learning-rate-free
    methods (paper: calibrated Prodigy on all three). ``sources``: workload -> the algorithm
    of the equal-budget arm with the best median best metric."""
    lr_free = [w for w, algorithm in sources.items() if algorithm in LR_FREE_ALGORITHMS]
    why = "; ".join(f"{w}: {algorithm}" for w, algorithm in sources.items())
    if len(lr_free) == len(sources):
        return Verdict(REPRODUCED, f"an lr-free method has the best metric on each ({why})")
    level = PARTLY if lr_free else NOT
    return Verdict(level, f"an lr-free method is best on {len(lr_free)} of {len(sources)} ({why})")


def list_verdict(reached: float, targets_mean: bool | None) -> Verdict:
    """The published list trains the workloads (paper: 7/8 at full size; issue 17 asks for
    at least 6/8 on the mini suite)."""
    if reached >= 6:
        return _unless_meaningless(
            Verdict(REPRODUCED, f"it reaches {reached:g} of 8"), targets_mean
        )
    return Verdict(PARTLY if reached >= 4 else NOT, f"it reaches {reached:g} of 8 (paper: 7)")


def loo_verdict(
    held_out: int, baselines: Mapping[str, float], workloads: int, targets_mean: bool | None
) -> Verdict:
    """The leave-one-out lists train most held-out workloads (more than half; paper: 7/8)
    and reach more of them than each 5-trial baseline (``baselines``: name -> workloads it
    reaches, expected or median over seeds)."""
    most = held_out > workloads / 2
    beaten = [name for name, reached in baselines.items() if held_out > reached]
    why = f"the lists reach {held_out} of {workloads} held-out targets"
    if beaten:
        why += ", more than " + ", ".join(f"{n} ({baselines[n]:.3g})" for n in beaten)
    behind = [n for n in baselines if n not in beaten]
    if behind:
        why += ", not more than " + ", ".join(f"{n} ({baselines[n]:.3g})" for n in behind)
    if most and not behind:
        return _unless_meaningless(Verdict(REPRODUCED, why), targets_mean)
    return Verdict(PARTLY if most or beaten else NOT, why)


def _fraction(value: float) -> str:
    return f"{value:.3g}" if math.isfinite(value) else "inf"


def budget_reading(quarter: float, whole: float, workloads: int) -> str:
    """What the untuned arms' typical target counts (median over the naive arms and naive
    Adam) say: ``quarter`` within the target-setting budget (a quarter of max_steps),
    ``whole`` within max_steps. Few means at most MEANINGFUL_SHARE of the targets."""
    few = MEANINGFUL_SHARE * workloads
    if whole <= few:
        return (
            "they reach few targets with either budget: the targets separate untuned from "
            "tuned training"
        )
    if quarter <= few:
        return (
            f"they reach few targets ({quarter:g}) with the target-setting budget and most "
            f"({whole:g}) with 4x its steps: the targets are not simply easy, but the mini "
            "workloads keep improving under a constant learning rate, so the whole budget "
            "buys untuned methods what a tuned schedule buys within a quarter of it. At full "
            "size max_steps is also 4x the target-setting budget (3 step hints against 0.75 of "
            "one), and with AlgoPerf's budget the paper's naive methods reach almost no targets"
        )
    return (
        f"they reach most targets ({quarter:g}) within the target-setting budget already: "
        "the targets are simply easy"
    )


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.4g}"


def _by_kind(collected: Collected, kind: str) -> list[ArmResult]:
    return [a for a in collected.arms if a.arm.kind == kind]


def better_best(a: ArmResult, b: ArmResult, targets: Mapping[str, tuple[str, str, float]]) -> int:
    """On how many workloads ``a``'s median best metric is better than ``b``'s."""
    count = 0
    for workload, (_, direction, _) in targets.items():
        mine, theirs = a.best.get(workload, math.nan), b.best.get(workload, math.nan)
        count += beats(mine, theirs, direction)
    return count


def reasons(collected: Collected) -> dict[str, str]:
    """Finding key -> why hpbench's number differs from the paper's (measured facts only)."""
    workloads = len(collected.targets)
    reference = next(iter(_by_kind(collected, "reference")), None)
    naive = {a.arm.algorithm: a for a in _by_kind(collected, "naive")}
    calibrated = _by_kind(collected, "calibrated")
    easy = (
        f"naive Adam reaches {reference.reached_text(workloads)} targets too, with the "
        "whole budget: 4x the steps the targets were set with (horizon 1/4); within the "
        "target-setting budget (max_steps/4) it reaches "
        f"{len(reference.reached_by(TARGET_SETTING, collected.max_steps))}"
        if reference is not None and meaningful(reference, workloads) is False
        else ""
    )
    out = {}
    if naive:
        quarter = statistics.median(
            len(a.reached_by(TARGET_SETTING, collected.max_steps)) for a in naive.values()
        )
        whole = statistics.median(a.reached for a in naive.values())
        budget = (
            f"the naive arms train the whole budget (horizon 1), 4x the target-setting budget; "
            f"within its first quarter they reach a median of {quarter:g} targets, with all of "
            f"it {whole:g} (the section on what a reached target means)"
        )
        out[papers.NAIVE_LR_FREE.key] = "; ".join(filter(None, [easy, budget]))
    if calibrated:
        missed = [
            f"{c.arm.label} misses "
            + (", ".join(w for w in collected.targets if w not in c.workloads_reached) or "none")
            for c in calibrated
        ]
        horizons = (
            "the candidates of Mechanic and Prodigy at horizons 0.33 and 0.5 (on the "
            "calibration's seeds) are in reports/calibration_equal_budget.md"
            if _by_kind(collected, "equal")
            else ""
        )
        out[papers.CALIBRATED_TRAIN.key] = "; ".join(
            filter(
                None,
                [
                    easy,
                    *missed,
                    collected.findings.calibration,
                    *selection(collected, "calibrated"),
                    horizons,
                ],
            )
        )
    parts = []
    for c in calibrated:
        n = naive.get(c.arm.algorithm)
        if n is not None:
            same_steps = len(n.reached_by(c.horizon * n.horizon, collected.max_steps))
            parts.append(
                f"{c.arm.label} trains horizon {c.horizon:g} ({c.horizon / n.horizon:g}x the "
                f"naive arm's steps); within those steps the naive arm reaches {same_steps} of "
                f"{workloads} targets; naive's best metric (whole budget) is better on "
                f"{better_best(n, c, collected.targets)} of {workloads} workloads"
            )
    if parts:
        out[papers.CALIBRATION_HELPS.key] = "; ".join([*parts, collected.findings.calibration])
    equal = _by_kind(collected, "equal")
    if equal:
        chosen = ", ".join(f"{a.arm.label}: {a.horizon:g}" for a in equal)
        out[papers.NOT_BETTER_THAN_BASELINES.key] = "; ".join(
            filter(
                None,
                [
                    EQUAL_BUDGET_CALIBRATION,
                    f"the chosen horizons: {chosen}",
                    *selection(collected, "equal"),
                    _lead(equal),
                ],
            )
        )
        out[papers.BEST_METRICS_LR_FREE.key] = "; ".join(
            filter(
                None,
                [
                    f"{EQUAL_BUDGET_CALIBRATION}; the paper's Table 5 takes each workload's best "
                    "over all those candidates, here the best of the four arms' medians on seeds "
                    "that selected nothing (the arms' table below has every workload)",
                    best_on_calibration_seeds(collected),
                ],
            )
        )
    folds = collected.folds
    if folds is not None:
        reaching = ", ".join(
            f"{w} {h}" for w, h in zip(folds.workloads, folds.reaching, strict=True)
        )
        starts = sorted({lst[0] + 1 for lst in folds.lists})
        out[papers.LIST_LOO.key] = "; ".join(
            filter(
                None,
                [
                    easy,
                    f"the lists come from {folds.points} broad-space points at horizon 1/3 on "
                    f"seed {', '.join(map(str, folds.seeds))} (the paper: 200 points, each "
                    "held-out fraction the median of 5 seeds); "
                    + (
                        "their held-out fractions are retrained on seeds that selected nothing"
                        if folds.fresh
                        else f"not yet retrained on fresh seeds ({folds.fresh_missing}: "
                        f"`nice -n 10 hpbench run {collected.findings.list_fresh}`)"
                    )
                    + "; the targets' search (the first points of the same seed-0 sequence) "
                    f"chose the points whose reruns set the {collected.version} targets "
                    f"({collected.findings.targets_report})",
                    f"of the {folds.points} points, these reach each target: {reaching}",
                    _transfer(folds),
                    f"every list starts with point {', '.join(map(str, starts))} (1-based, as "
                    "`hpbench build-list` numbers them)",
                    _stronger_sweeps(collected),
                ],
            )
        )
    if any(a.arm.label == PUBLISHED for a in collected.arms):
        out[papers.PUBLISHED_LIST.key] = (
            "the paper built the list on the base workloads themselves (Table 9 is in-sample: "
            "its points are among their best by construction); here it is a transfer, and it "
            "reaches a target where fewer broad-space points beat its best point than reach "
            f"the target ({collected.findings.targets_report} ranks its points among the "
            "broad search's, seed by seed: `python -m benchmarks.list_rank`)"
        )
    return out


def _transfer(folds: Folds) -> str:
    """How many of the points reaching each target also reach two other workloads', beside
    Table 4's third column, or "" when the folds do not count them."""
    if not folds.also_two:
        return ""
    paper = papers.TABLE_4_ALSO_REACHING
    counts = ", ".join(
        f"{w} {n} ({paper[w][1]} of {papers.TABLE_4_REACHING[w]})"
        for w, n in zip(folds.workloads, folds.also_two, strict=True)
        if w in paper
    )
    return (
        f"of those, these also reach two other workloads' targets: {counts} (in brackets "
        "Table 4's, of its 200 points): where good points transfer more readily than at full "
        "size, a list built on the other workloads finds the held-out one more easily"
    )


def _lead(arms: Sequence[ArmResult]) -> str:
    """Whether the top arm's lead over the runner-up holds beyond the seeds' spread (the
    top's bootstrap interval lies above the runner-up's score), or ""."""
    if len(arms) < 2:
        return ""
    top, second = sorted(arms, key=lambda a: -a.score)[:2]
    low, high = top.score_interval
    beyond = low > second.score
    return (
        f"{top.arm.label} leads {second.arm.label} by {top.score - second.score:.3f}, "
        + ("beyond" if beyond else "within")
        + f" the seeds' spread (its interval {low:.3f}-{high:.3f} "
        + ("lies above" if beyond else "holds")
        + f" {second.score:.3f})"
    )


def _stronger_sweeps(collected: Collected) -> str:
    """The learning-rate sweeps that reach more workloads here than in Table 5, or ""."""
    workloads = len(collected.targets)
    stronger = []
    for arm in _by_kind(collected, "list"):
        full_size = papers.TABLE_5.get(arm.arm.label)
        if full_size is not None:
            paper = sum(map(math.isfinite, full_size))
            if arm.reached > paper:
                stronger.append(
                    f"{arm.arm.label} {arm.reached}/{workloads} (paper {paper}/{len(full_size)})"
                )
    if not stronger:
        return ""
    return (
        "the learning-rate sweeps reach more targets here than at full size, so beating them "
        f"is a smaller margin than the paper's: {', '.join(stronger)}"
    )


def verdicts(collected: Collected) -> dict[str, tuple[str, Verdict]]:
    """Finding key -> (hpbench's number in words, verdict), for the findings run here."""
    workloads = len(collected.targets)
    reference = next(iter(_by_kind(collected, "reference")), None)
    targets_mean = meaningful(reference, workloads)
    naive = _by_kind(collected, "naive")
    calibrated = _by_kind(collected, "calibrated")
    union = sorted({w for a in naive for w in a.workloads_reached})
    arms = collected.findings.arms
    unfinished = {a.label: a.kind for a in arms if a.label in collected.missing}
    left = {kind: [label for label, k in unfinished.items() if k == kind] for kind in KINDS}
    out = {}
    if naive:
        out[papers.NAIVE_LR_FREE.key] = (
            "; ".join(f"{a.arm.label} {a.reached_text(workloads)}" for a in naive)
            + f"; together {len(union)} workload(s)"
            + (f" ({', '.join(union)})" if union else "")
            + (f"; not finished: {', '.join(left['naive'])}" if left["naive"] else ""),
            _unless_unfinished(
                naive_verdict({a.arm.label: a.reached for a in naive}, len(union)),
                left["naive"],
            ),
        )
    if calibrated:
        out[papers.CALIBRATED_TRAIN.key] = (
            "; ".join(
                f"{a.arm.label} {a.reached_text(workloads)}, score {a.score:.3f}"
                for a in calibrated
            ),
            _unless_unfinished(
                calibrated_verdict({a.arm.label: a.reached for a in calibrated}, targets_mean),
                left["calibrated"],
            ),
        )
    naive_of = {a.arm.algorithm: a for a in naive}
    pairs = {
        c.arm.algorithm: (c, naive_of[c.arm.algorithm])
        for c in calibrated
        if c.arm.algorithm in naive_of
    }
    if pairs:
        out[papers.CALIBRATION_HELPS.key] = (
            "; ".join(
                f"{name}: calibrated {c.reached_text(workloads)}, score {c.score:.3f}; "
                f"naive {n.reached_text(workloads)}, score {n.score:.3f}"
                for name, (c, n) in pairs.items()
            ),
            calibration_verdict(
                {name: (c.reached, c.score, n.reached, n.score) for name, (c, n) in pairs.items()}
            ),
        )
    out.update(_equal_budget_verdicts(collected, left["equal"]))
    folds = collected.folds
    if folds is not None:
        sweeps = [a for a in _by_kind(collected, "list") if a.arm.label != PUBLISHED]
        baselines = {
            f"the search's first {folds.size} points": float(folds.first_reached),
            f"{folds.size} random points of the {folds.points} (expected)": folds.random_expected,
            **{a.arm.label: float(a.reached) for a in sweeps},
        }
        scored = folds.fresh or folds.held_out
        reached = sum(map(math.isfinite, scored))
        held = ", ".join(
            f"{w} {_fraction(v)}" for w, v in zip(folds.workloads, scored, strict=True)
        )
        on = (
            f"retrained on seeds {FRESH_SEEDS_TEXT} (median)"
            if folds.fresh
            else "on seed 0, the search's own"
        )
        not_run = [label for label in left["list"] if label != PUBLISHED]
        if not folds.fresh:
            not_run.insert(0, f"the lists retrained on seeds {FRESH_SEEDS_TEXT}")
        out[papers.LIST_LOO.key] = (
            f"held-out step fractions {on}: {held}: {reached}/{workloads}"
            + (f" (on seed 0: {folds.held_out_reached})" if folds.fresh else "")
            + "; "
            + "; ".join(f"{name} {n:.3g}/{workloads}" for name, n in baselines.items())
            + (f"; not run: {', '.join(not_run)}" if not_run else ""),
            _unless_unfinished(loo_verdict(reached, baselines, workloads, targets_mean), not_run),
        )
    published = next((a for a in collected.arms if a.arm.label == PUBLISHED), None)
    if published is not None:
        fractions = ", ".join(f"{w} {published.step_fractions[w]:.3g}" for w in collected.targets)
        out[papers.PUBLISHED_LIST.key] = (
            f"{published.reached_text(workloads)}; step fractions (median) {fractions}",
            list_verdict(published.reached, targets_mean),
        )
    return out


def _equal_budget_verdicts(
    collected: Collected, unfinished: Sequence[str]
) -> dict[str, tuple[str, Verdict]]:
    """The equal-budget comparison's two findings (its arms' pool), once an lr-free arm and a
    baseline have finished."""
    workloads = len(collected.targets)
    equal = _by_kind(collected, "equal")
    lr_free = [a for a in equal if a.arm.algorithm in LR_FREE_ALGORITHMS]
    baselines = [a for a in equal if a.arm.algorithm not in LR_FREE_ALGORITHMS]
    if not (lr_free and baselines):
        return {}
    left = f"; not finished: {', '.join(unfinished)}" if unfinished else ""
    scores = "; ".join(
        f"{a.arm.label} (horizon {a.horizon:g}) score {a.score:.3f} "
        f"({a.score_interval[0]:.3f}-{a.score_interval[1]:.3f}), {a.reached_text(workloads)}"
        for a in sorted(equal, key=lambda a: -a.score)
    )
    ranked = equal_budget_verdict(
        {a.arm.label: (a.score, a.score_interval) for a in lr_free},
        {a.arm.label: a.score for a in baselines},
    )
    best = {
        w: _best_arm(equal, w, collected.targets[w][1])
        for w in papers.LR_FREE_BEST_WORKLOADS
        if w in collected.targets
    }
    metrics = "; ".join(f"{w} {_fmt(a.best[w])} ({a.arm.label})" for w, a in best.items())
    sources = {w: a.arm.algorithm for w, a in best.items()}
    return {
        papers.NOT_BETTER_THAN_BASELINES.key: (
            scores + left,
            _unless_unfinished(ranked, unfinished),
        ),
        papers.BEST_METRICS_LR_FREE.key: (
            f"best median metric of the equal-budget arms: {metrics}{left}",
            _unless_unfinished(best_metric_verdict(sources), unfinished),
        ),
    }


def _best_arm(arms: Sequence[ArmResult], workload: str, direction: str) -> ArmResult:
    """The arm with the best median best metric on ``workload`` (missing: worst; ties: the
    first)."""

    def key(a: ArmResult) -> float:
        value = a.best.get(workload, math.nan)
        return math.inf if math.isnan(value) else sign(direction) * value

    return min(arms, key=key)


#: The calibrations' re-run seeds (specs/calibrate_mechanic.toml's [select] seeds).
RERUN_SEEDS = (1, 7, 8)
#: 4 algorithms x (16 points + top 2 x the re-run seeds) x horizons 0.33 and 0.5, then 4 arms
#: x 5 seeds (at most horizon 0.5), less Mechanic's and Prodigy's horizon 0.5 (the shipped
#: calibration's trials, the same ids).
_CALIBRATION_TRIALS = 16 + 2 * len(RERUN_SEEDS)
_CALIBRATE_SUITES = (
    4 * _CALIBRATION_TRIALS * (0.33 + 0.5)
    + 4 * len(FRESH_SEEDS) * 0.5
    - 2 * _CALIBRATION_TRIALS * 0.5
)
#: The equal-budget arms' algorithms (their spec files are named after them).
EQUAL_BUDGET = tuple(algorithm for *_, kind, algorithm in _ARMS if kind == "equal")


def plans(findings: FindingsSet) -> dict[str, Plan]:
    """Finding key -> how to run it with the set's specs, and its cost."""
    spec = findings.spec
    n, seeds = len(FRESH_SEEDS), _seed_range(FRESH_SEEDS)
    calibrate = (
        "hpbench calibrate "
        + " ".join(spec(f"equal_budget/calibrate_{a}") for a in EQUAL_BUDGET)
        + " "
        + " ".join(f"--emit {spec(f'equal_budget/{a}_calibrated')}" for a in EQUAL_BUDGET)
        + "; then nice -n 5 hpbench run "
        + " ".join(spec(f"equal_budget/{a}") for a in EQUAL_BUDGET)
    )
    naive = f"nice -n 5 hpbench run {spec('naive_X')} (one at a time)"
    calibrated = (
        f"nice -n 5 hpbench run {spec('mechanic_calibrated')}; "
        f"nice -n 5 hpbench run {spec('prodigy_calibrated')}"
    )
    return {
        papers.NAIVE_LR_FREE.key: Plan(naive, 6 * n, f"six naive lr-free arms x seeds {seeds}"),
        papers.CALIBRATED_TRAIN.key: Plan(
            calibrated, 2 * n * 0.5, f"two calibrated arms x seeds {seeds} at horizon 0.5"
        ),
        papers.CALIBRATION_HELPS.key: Plan(
            f"{calibrated}; then {naive} for Mechanic and Prodigy",
            2 * n * 0.5 + 2 * n,
            f"the two calibrated arms and their naive arms x seeds {seeds}",
        ),
        papers.NOT_BETTER_THAN_BASELINES.key: Plan(
            calibrate,
            _CALIBRATE_SUITES,
            "AdamW, NAdamW, Mechanic and Prodigy calibrated with the same 16 Halton points of "
            "the lr-free space at horizons 0.33 and 0.5, the top 2 per horizon re-run with seeds "
            f"{_seed_words(RERUN_SEEDS)}, then each chosen point run with seeds {seeds} and "
            "scored in one pool (Mechanic's "
            "and Prodigy's horizon 0.5 is reports/calibration.md's, trained)",
        ),
        papers.BEST_METRICS_LR_FREE.key: Plan(
            calibrate, _CALIBRATE_SUITES, "the same runs as the finding above; its Table 5 layout"
        ),
        papers.LIST_LOO.key: findings.list_plan,
        papers.PUBLISHED_LIST.key: Plan(
            f"nice -n 5 hpbench run {spec('nadamw_list5')}",
            5 * n / 3,
            f"5 points x 8 workloads x seeds {seeds} at horizon 1/3 ({5 * 8 * n} trials)",
        ),
    }


def full_suite_seconds(collected: Collected) -> float:
    """Seconds of one suite run at horizon 1 (median over the arms, each scaled by its
    horizon; fixed costs such as compilation do not scale, so it is an estimate)."""
    values = [a.suite_seconds / a.horizon for a in collected.arms if a.arm.kind != "list"]
    return statistics.median(values) if values else math.nan


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    aligns = align or "l" * len(header)
    rule = ["---:" if a == "r" else "---" for a in aligns]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(rule) + " |"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def render(collected: Collected) -> str:
    """The Markdown of the set's report (reports/findings.md for the mini set)."""
    findings = collected.findings
    found = verdicts(collected)
    why = reasons(collected)
    suite = full_suite_seconds(collected)
    workloads = list(collected.targets)
    reference = next(iter(_by_kind(collected, "reference")), None)
    lines = [
        f"# The papers' findings on the {findings.suite_label}, reproduced or refuted",
        "",
        f"Issue 17, item 6. Rendered by `{render_command(findings)}` from the trials of "
        f"`{findings.directory}/` (the shipped "
        f"hyperparameters, unchanged, on training seeds {_seed_words(FRESH_SEEDS)}, which "
        "selected nothing: the calibrated specs were calibrated on seeds "
        f"{_seed_words((0, *RERUN_SEEDS))}). Restore the trials first to re-render without "
        "training: "
        + ", ".join(f"`hpbench results import {a}`" for a in findings.archives)
        + f" (the arms; the search, seed 0, that the leave-one-out lists are built from, "
        f"`{findings.list_search}`"
        + (
            ", and the calibrations that chose the calibrated points"
            if findings.calibrations
            else ""
        )
        + "). "
        "The papers' statements and numbers come from `hpbench/report/papers.py` (each cites "
        "its section and table). Single configurations are scored in one pool (AlgoPerf's "
        "benchmark score, steps), lists in another, the equal-budget arms in a third. "
        "A workload counts as reached by an arm when the median of its seeds' times to the "
        f"target is finite ({len(FRESH_SEEDS) // 2 + 1} of {len(FRESH_SEEDS)} seeds reach it): "
        "AlgoPerf's rule, by which both papers count the workloads an algorithm trains. "
        '"Targets" are that count, with the range of the counts of each seed alone.',
        "",
        f"Re-export the trials after more training: `{export_command(findings)}`.",
        "",
        "## Does a reached target mean what the paper's means?",
        "",
    ]
    if reference is None:
        lines.append("Naive Adam (the reference line) has not finished: not known.")
    else:
        share = reference.reached / len(workloads)
        lines.append(
            f"Naive Adam (Optax defaults, constant 1e-3, no schedule, the whole budget) reaches "
            f"{reference.reached_text(len(workloads))} targets. At full size an untuned "
            f"method misses most AlgoPerf targets; here a verdict that rests on reaching "
            f"targets counts only while naive Adam reaches at most {MEANINGFUL_SHARE:.0%} of "
            f"them (a rule fixed before these runs). "
            + (
                "It does not: a target reached says little more than that the method trains, "
                "since the mini budgets give 4x the target-setting steps (targets set at horizon "
                f"1/4, {findings.targets_report}), which untuned Adam uses to pass the targets."
                if share > MEANINGFUL_SHARE
                else "It does."
            )
        )
    lines += _budget_lines(collected, workloads)
    steps = ", ".join(f"{w} {collected.max_steps[w]:,}" for w in workloads)
    span = [collected.max_steps[w] for w in workloads]
    lines += [
        "",
        f"Step budgets (max_steps) are {steps}; full-size budgets are 31,998-559,998. "
        "A learning-rate-free estimator starting from d0 = 1e-6 (Prodigy, D-Adapt) or "
        f"s_init = 1e-6 (Mechanic) spends a larger share of a {min(span):,}-{max(span):,}-step "
        "run growing its step size than of a full-size one.",
        "",
        "## Summary",
        "",
    ]
    rows = []
    for finding in papers.FINDINGS:
        number, verdict = found.get(finding.key, ("not run this session", None))
        level = verdict.level if verdict else NOT_RUN
        alone = _alone_cell(level, collected.seed_levels.get(finding.key))
        rows.append(
            [f"{finding.statement} ({finding.source})", finding.number, number, level, alone]
        )
    header = [
        "finding (paper)",
        "paper's number",
        f"hpbench ({findings.suite_label})",
        "verdict",
        f"on seeds {FRESH_SEEDS_TEXT} alone",
    ]
    lines += _table(header, rows)
    if collected.seed_levels:
        lines += ["", _stability_line(found, collected.seed_levels)]
    lines += ["", "## Findings", ""]
    for finding in papers.FINDINGS:
        lines += [f"### {finding.statement}", "", f"*{finding.paper}*, {finding.source}.", ""]
        lines.append(f"- Paper: {finding.number}.")
        if finding.key in found:
            number, verdict = found[finding.key]
            lines += [f"- hpbench: {number}.", f"- Verdict: **{verdict.level}**: {verdict.why}."]
            if finding.key in collected.seed_levels:
                lines.append(f"- {_alone_text(verdict.level, collected.seed_levels[finding.key])}.")
            if why.get(finding.key):
                lines.append(f"- Why: {why[finding.key]}.")
            if finding.key == papers.NAIVE_LR_FREE.key:
                lines += _full_size_lines(collected, workloads)
            if finding.key == papers.LIST_LOO.key and collected.folds is not None:
                lines += _table5_lines(collected, collected.folds)
            if finding.key == papers.NOT_BETTER_THAN_BASELINES.key:
                lines += _table6_lines(collected, workloads)
        else:
            plan = plans(findings)[finding.key]
            if finding.key == papers.LIST_LOO.key and collected.folds_missing:
                lines.append(f"- Its search: {collected.folds_missing} ({findings.list_search}).")
            cost = f"about {plan.suites:.0f} suite runs at horizon 1"
            if math.isfinite(suite):
                hours = plan.suites * suite / 3600
                cost += f", {hours:.1f} h at the measured {suite / 60:.1f} min each"
            lines += [
                f"- Verdict: **{NOT_RUN} this session**.",
                f"- To run: `{plan.command}`: {plan.what}; {cost}.",
            ]
        lines.append("")
    lines += _arm_tables(collected, workloads, suite)
    deviations = [d.replace("{version}", collected.version) for d in findings.deviations]
    lines += ["## Deviations from the papers", "", *(f"- {d}" for d in deviations), ""]
    return "\n".join(lines)


def _same_on_each(level: str, alone: Sequence[str]) -> bool:
    """Whether a verdict's level on each seed alone is its level over all of them."""
    return all(a == level for a in alone)


def _alone_cell(level: str, alone: Sequence[str] | None) -> str:
    """The summary's cell for a verdict's levels on each seed alone."""
    if not alone:
        return "-"
    if _same_on_each(level, alone):
        return "the same on each"
    return " / ".join(alone)


def _alone_text(level: str, alone: Sequence[str]) -> str:
    """A finding's verdict on each seed alone, in words."""
    each = "; ".join(f"seed {s} {a}" for s, a in zip(FRESH_SEEDS, alone, strict=True))
    if _same_on_each(level, alone):
        return f"On each seed alone: {each}: the verdict does not hinge on one seed's draw"
    return (
        f"On each seed alone: {each}: the verdict changes with the seed, so it is within the "
        "mini suite's seed noise"
    )


def _stability_line(
    found: Mapping[str, tuple[str, Verdict]], seed_levels: Mapping[str, Sequence[str]]
) -> str:
    """How many verdicts hold on each seed alone, and why that is the test that matters."""
    judged = [key for key in found if key in seed_levels]
    stable = [k for k in judged if _same_on_each(found[k][1].level, seed_levels[k])]
    return (
        f"{len(stable)} of {len(judged)} verdicts come out the same on each of seeds "
        f"{FRESH_SEEDS_TEXT} alone (the last column: each seed's trials scored and judged by the "
        "same rules, a workload reached when that seed reaches it). At mini scale a seed's "
        "draw of initial weights moves every configuration of a workload together "
        '(benchmarks/workloads.md, "a seed\'s luck is shared"), so a verdict that changes '
        "between seeds rests on a margin within the suite's seed noise; another machine's "
        "floating point moves single trials too (benchmarks/LOG.md), and can tip such a "
        "verdict. Read those as unsettled."
    )


def render_command(findings: FindingsSet) -> str:
    """The command that renders the set's report."""
    return f"python -m hpbench.report.findings --out {findings.out}"


def export_command(findings: FindingsSet = MINI) -> str:
    """The command that writes every findings trial (the search's are archived apart)."""
    specs = " ".join([*(a.spec for a in findings.arms), findings.list_fresh])
    return f"hpbench results export {specs} --out {findings.archive}"


def _table5_lines(collected: Collected, folds: Folds) -> list[str]:
    """The NAdamW-list paper's Table 5 layout: step fractions per workload, hpbench's rows
    (the lists and the baselines run) above the paper's."""
    workloads, n = folds.workloads, len(folds.workloads)

    def row(name: str, values: Sequence[float]) -> list[str]:
        reached = sum(map(math.isfinite, values))
        return [name, *map(_fraction, values), f"{reached}/{n}"]

    rows = [
        row(f"leave-one-out lists (seed {', '.join(map(str, folds.seeds))})", folds.held_out),
        row(f"the same lists, median of seeds {FRESH_SEEDS_TEXT}", folds.fresh)
        if folds.fresh
        else [f"the same lists on seeds {FRESH_SEEDS_TEXT}: not run", *["-"] * n, "-"],
        row(f"the search's first {folds.size} points", folds.first),
        [
            f"{folds.size} random of the {folds.points} points: chance to reach",
            *(f"{c:.0%}" for c in folds.random_chance),
            f"{folds.random_expected:.2f} expected",
        ],
    ]
    ran = {a.arm.label: a for a in collected.arms}
    for sweep in (a for a in collected.findings.arms if a.kind == "list" and a.label != PUBLISHED):
        if sweep.label in ran:
            fractions = [ran[sweep.label].step_fractions.get(w, math.nan) for w in workloads]
            rows.append(row(f"{sweep.label}, median of seeds {FRESH_SEEDS_TEXT}", fractions))
        else:
            rows.append([f"{sweep.label}: not run", *["-"] * n, "-"])
    order = [papers.TABLE_5_WORKLOADS.index(w) for w in workloads]
    for name, values in papers.TABLE_5.items():
        rows.append(row(f"paper: {name}", [values[i] for i in order]))
    return [
        "",
        "Table 5's layout (step fractions; inf: missed; the paper's rows at full size, each "
        "the median of 5 seeds):",
        "",
        *_table(["row", *workloads, "reached"], rows, "l" + "r" * (n + 1)),
    ]


#: A full-size miss under this share of its target is a near miss: within the digits Table 4
#: prints, and less than a mini seed moves a best metric (reports/targets_graded.md).
NEAR_MISS = 0.01


@attrs.frozen
class Beside:
    """One naive arm on one workload: its relative miss of the mini target (median best over
    seeds; positive: short of it) beside the same method's of Table 2's target at full size."""

    arm: str
    workload: str
    mini: float
    full: float


def _counterpart_misses(result: ArmResult) -> tuple[str, dict[str, float]]:
    """The arm's Table 4 row and that row's relative misses, or ("", {}) without one."""
    row = (
        papers.TABLE_4_COUNTERPART.get(result.arm.algorithm) if result.arm.kind == "naive" else None
    )
    return (row, papers.table_4_misses(papers.TABLE_4_NAIVE_BEST[row])) if row else ("", {})


def _mini_miss(collected: Collected, result: ArmResult, workload: str) -> float:
    _, direction, target = collected.targets[workload]
    return papers.relative_miss(result.best.get(workload, math.nan), direction, target)


def naive_beside_full_size(collected: Collected) -> tuple[Beside, ...]:
    """Every (naive arm, workload) pair with a Table 4 counterpart and a finite mini best
    metric: where the mini suite lets an untuned method through that full size does not."""
    pairs = []
    for result in _by_kind(collected, "naive"):
        _, full = _counterpart_misses(result)
        for workload in collected.targets:
            mini = _mini_miss(collected, result, workload)
            if workload in full and math.isfinite(mini):
                pairs.append(Beside(result.arm.label, workload, mini, full[workload]))
    return tuple(pairs)


def full_size_reading(pairs: Sequence[Beside], workloads: Sequence[str]) -> str:
    """What the pairs say: of those full size misses, which the mini suite reaches (near
    misses at full size apart), the reverse, and how alike the two sizes rank the misses."""
    if not pairs:
        return ""
    from scipy.stats import spearmanr

    missed = [p for p in pairs if p.full > 0]
    through = [p for p in missed if p.mini <= 0]
    near = [p for p in through if p.full < NEAR_MISS]
    far = [p for p in through if p.full >= NEAR_MISS]
    reverse = sum(p.full <= 0 < p.mini for p in pairs)
    near_workloads = [w for w in workloads if any(p.workload == w for p in near)]
    far_text = "; ".join(
        f"{w} ({', '.join(f'{p.arm} {p.full:+.1%}' for p in far if p.workload == w)})"
        for w in workloads
        if any(p.workload == w for p in far)
    )
    text = (
        f"Of the {len(pairs)} (method, workload) pairs with a full-size counterpart, full size "
        f"misses {len(missed)}; the mini suite reaches {len(through)} of those: {len(near)} "
        f"that full size misses by under {NEAR_MISS:.0%}"
        + (f" ({', '.join(near_workloads)})" if near_workloads else "")
        + f", and {len(far)} that it misses by more"
        + (f" (full size's miss in brackets): {far_text}" if far_text else "")
        + f". The mini suite misses {reverse} that full size reaches."
    )
    if len(pairs) >= 3:
        rho, p = spearmanr([p.mini for p in pairs], [p.full for p in pairs])
        if math.isfinite(rho):
            text += (
                " The misses' rank correlation over the pairs, mini suite against full size: "
                f"Spearman {rho:.2f} (p {p:.2g})."
            )
    return text


def _full_size_lines(collected: Collected, workloads: Sequence[str]) -> list[str]:
    """The untuned arms' relative misses of the mini targets beside the same methods' at full
    size (the lr-free paper's Table 4 against its Table 2 targets), and what they say."""
    untuned = [a for a in collected.arms if a.arm.kind in ("naive", "reference")]
    if not untuned:
        return []
    rows = []
    for result in untuned:
        row, full = _counterpart_misses(result)
        cells = []
        for workload in workloads:
            mini = _mini_miss(collected, result, workload)
            cell = f"{mini:+.1%}" if math.isfinite(mini) else "-"
            cells.append(f"{cell} ({full[workload]:+.1%})" if workload in full else cell)
        rows.append([result.arm.label, row or "none", *cells])
    median = papers.table_4_naive_miss()
    rows.append(
        [
            "Table 4's 10 naive methods, median",
            "",
            *(f"({median[w]:+.1%})" if w in median else "-" for w in workloads),
        ]
    )
    reading = full_size_reading(naive_beside_full_size(collected), workloads)
    return [
        "",
        "How far each untuned arm ends from each target: its best metric (median over seeds) "
        "as a relative miss of the mini target (positive: short of it; negative: past it), "
        "beside, in brackets, the same method's at full size (the lr-free paper's Table 4 "
        "against its Table 2 targets):",
        "",
        *_table(["arm", "Table 4 row", *workloads], rows, "ll" + "r" * len(workloads)),
        *(["", reading] if reading else []),
    ]


def _table6_lines(collected: Collected, workloads: Sequence[str]) -> list[str]:
    """The lr-free paper's Table 6 layout: the equal-budget arms' scores (best first) with
    their step fractions per workload, above the paper's best representative per algorithm."""
    equal = sorted(_by_kind(collected, "equal"), key=lambda a: -a.score)
    rows = [
        [
            a.arm.label,
            f"{a.horizon:g}",
            f"{a.score:.3f} ({a.score_interval[0]:.3f}-{a.score_interval[1]:.3f})",
            *(_fraction(a.step_fractions.get(w, math.inf)) for w in workloads),
        ]
        for a in equal
    ]
    rows += [
        [f"paper: {algorithm}", f"{horizon:g}", f"{score:.3f}", *["-"] * len(workloads)]
        for algorithm, (horizon, score) in papers.TABLE_6_BEST.items()
    ]
    return [
        "",
        "Table 6's layout (benchmark score in the equal-budget pool with its 95% bootstrap "
        f"interval over seeds {_seed_range(FRESH_SEEDS)}; per workload the median step "
        "fraction, inf: missed; the paper's rows: each algorithm's best representative, at "
        "full size):",
        "",
        *_table(["arm", "horizon", "score", *workloads], rows, "lrr" + "r" * len(workloads)),
    ]


def _budget_lines(collected: Collected, workloads: Sequence[str]) -> list[str]:
    """The untuned arms' targets within the target-setting budget beside the whole budget's."""
    untuned = [a for a in collected.arms if a.arm.kind in ("naive", "reference")]
    if not untuned:
        return []
    rows = [
        [
            a.arm.label,
            *(
                _fraction(median_over_seeds(a.target_steps[w]) / collected.max_steps[w])
                for w in workloads
            ),
            f"{len(a.reached_by(TARGET_SETTING, collected.max_steps))}/{len(workloads)}",
            f"{a.reached}/{len(workloads)}",
        ]
        for a in untuned
    ]
    quarter = statistics.median(
        len(a.reached_by(TARGET_SETTING, collected.max_steps)) for a in untuned
    )
    whole = statistics.median(a.reached for a in untuned)
    reached = sorted(
        median_over_seeds(a.target_steps[w]) / collected.max_steps[w]
        for a in untuned
        for w in a.workloads_reached
    )
    spread = (
        f" Where they reach a target, they do so at {reached[0]:.2g}-{reached[-1]:.2g} of "
        f"max_steps (median {statistics.median(reached):.2g}): {reached[-1] / TARGET_SETTING:.2g}x "
        "the target-setting budget at most."
        if reached
        else ""
    )
    return [
        "",
        "The untuned arms have no schedule, so their first quarter of max_steps is itself a run "
        "with the target-setting budget. Per workload the first step at the target as a "
        "fraction of max_steps (median over seeds; inf: missed), and the targets each arm "
        "reaches within a quarter of max_steps and within all of it, read from the same "
        "evaluation curves (a workload counts when that median is within the budget):",
        "",
        *_table(
            ["arm", *workloads, "within max_steps/4", "within max_steps"],
            rows,
            "l" + "r" * (len(workloads) + 2),
        ),
        "",
        f"Typical (median over these arms): {quarter:g} and {whole:g} of {len(workloads)}; "
        + budget_reading(quarter, whole, len(workloads))
        + "."
        + spread,
    ]


def _arm_tables(collected: Collected, workloads: Sequence[str], suite: float) -> list[str]:
    """The per-arm tables: targets, score and cost; best metrics against the targets."""
    lines = ["## Arms", ""]
    rows = [
        [
            a.arm.label,
            a.arm.kind,
            f"{a.horizon:.3g}",
            a.reached_text(len(workloads)),
            ", ".join(a.workloads_reached) or "none",
            f"{a.score:.3f}",
            f"{a.suite_seconds / 60:.1f}",
        ]
        for a in collected.arms
    ]
    lines += _table(
        ["arm", "kind", "horizon", "targets", "reached (median)", "score", "min / suite run"],
        rows,
        "llrrlrr",
    )
    lines += [
        "",
        "Score: the AlgoPerf benchmark score in the arm's pool (single configurations "
        "together; the lists together; the equal-budget arms together). Minutes per suite "
        "run: one seed over the 8 workloads on AlgoPerf's clock (training with compilation; "
        "evaluation, data set-up and checkpoints "
        'add to the wall clock: benchmarks/LOG.md, "findings"), median over seeds.',
    ]
    singles = [a.arm.label for a in collected.arms if POOLS[a.arm.kind] == SINGLES]
    if singles:
        lines[-1] += f" The single-configuration pool: {', '.join(singles)}."
    if math.isfinite(suite):
        lines[-1] += (
            f" Scaled to horizon 1 (at the load the runs had): {suite / 60:.1f} min, about "
            f"{3600 / suite:.1f} points (one suite run each) an hour at horizon 1 and "
            f"{3 * 3600 / suite:.1f} at horizon 1/3."
        )
    if collected.missing:
        lines.append("")
    for label, why in collected.missing.items():
        spec = next(a.spec for a in collected.findings.arms if a.label == label)
        cost = f"about {collected.missing_suites[label]:.0f} suite runs at horizon 1"
        if math.isfinite(suite):
            cost += (
                f", {collected.missing_suites[label] * suite / 60:.0f} min on AlgoPerf's clock "
                "at the measured pace (wall 1.2-3x: benchmarks/LOG.md, findings)"
            )
        lines.append(
            f"- {label}: not in the pools ({why}); `nice -n 5 hpbench run {spec}`: {cost}."
        )
    lines += ["", "Best validation metric, median over seeds (bold: the median reaches):", ""]
    header = ["arm", *workloads]
    target_row = [
        "target",
        *(
            f"{collected.targets[w][0]} {collected.targets[w][2]:.4g} ({collected.targets[w][1]})"
            for w in workloads
        ),
    ]
    rows = [target_row]
    for a in collected.arms:
        cells = []
        for w in workloads:
            text = _fmt(a.best.get(w, math.nan))
            cells.append(f"**{text}**" if w in a.workloads_reached else text)
        rows.append([a.arm.label, *cells])
    lines += _table(header, rows, "l" + "r" * len(workloads))
    return lines + [""]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default="results", help="results directory")
    parser.add_argument("--out", help="write the Markdown here (default: print it)")
    args = parser.parse_args(argv)
    text = render(collect(Path(args.results)))
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text, end="")


if __name__ == "__main__":
    main()

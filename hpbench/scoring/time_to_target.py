"""Time to target of one trial, and the median over seeds.

A trial reaches its target at the first evaluation whose target metric is at or beyond
the target value (NaN never counts). Times are kept in steps, in training seconds and on
AlgoPerf's clock (its submission time, within the workload's runtime budget); a trial that
never reaches the target has time ``inf``. The step fraction is ``t / T`` with
``T = trial.horizon_steps``, the step budget the trial trained for (the papers divide by
the budget used: at horizon f = 1/3 their fractions still reach 0.95).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import attrs

from hpbench.plan import Trial
from hpbench.results.curves import Reach, reach
from hpbench.results.records import TrialResult
from hpbench.workloads.registry import WORKLOADS

#: How a trial ended, from the scores' point of view. ``reached`` wins over the trial's
#: state: a run that hit the target and diverged later still reached it (as in AlgoPerf).
OUTCOMES = ("reached", "missed", "diverged", "failed", "incomplete")


@attrs.frozen
class TrialScore:
    """Time to target and best metric of one trial."""

    trial_id: str
    steps: float  # first evaluation step at which the target was reached; inf if never
    seconds: float  # training seconds at that evaluation; inf if never
    #: AlgoPerf's submission seconds at that evaluation; inf if never or not within the
    #: runtime budget; NaN when the results predate the clock (unavailable)
    algoperf: float
    step_fraction: float  # steps / horizon_steps; inf if never
    best_metric: float  # best value of the target metric (its direction); NaN if none
    outcome: str  # one of OUTCOMES
    reason: str | None = None  # the status's reason for diverged / failed trials


def _outcome(result: TrialResult, reached: bool) -> str:
    if reached:
        return "reached"
    state = result.status.state
    if state == "done":
        return "missed"
    if state in ("diverged", "failed"):
        return state
    return "incomplete"


def runtime_budget(trial: Trial) -> float:
    """AlgoPerf's runtime budget of the trial's workload at its size, in seconds (the
    registry's ``max_runtime``); ``inf`` where none is declared."""
    info = WORKLOADS.get(trial.workload)
    return math.inf if info is None else float(info.max_runtime.get(trial.size, math.inf))


def _algoperf_time(result: TrialResult, found: Reach, budget_scale: float) -> float:
    """The AlgoPerf clock at the evaluation that reached the target (``found``): ``inf``
    when none did or at or past the budget (AlgoPerf evaluates only while the submission
    time is below it); NaN when a row has no clock (written before hpbench kept it)."""
    if not found.clocked:
        return math.nan
    if found.step is None:
        return math.inf
    budget = runtime_budget(result.trial) * budget_scale
    return found.algoperf if found.algoperf < budget else math.inf


def score_trial(
    result: TrialResult, trial_id: str | None = None, budget_scale: float = 1.0
) -> TrialScore:
    """Time to target (steps, seconds, AlgoPerf's clock, fraction of the horizon), best
    metric and outcome.

    ``trial_id`` saves recomputing the trial's content hash when the caller has it;
    ``budget_scale`` multiplies the runtime budget (``inf``: none)."""
    trial = result.trial
    found = reach(result.evals, trial.target)
    missed = found.step is None
    steps = math.inf if missed else float(found.step)
    return TrialScore(
        trial_id=trial.id if trial_id is None else trial_id,
        steps=steps,
        seconds=math.inf if missed else float(found.seconds),
        algoperf=_algoperf_time(result, found, budget_scale),
        step_fraction=steps / trial.horizon_steps,
        best_metric=float(found.best),
        outcome=_outcome(result, not missed),
        reason=result.status.reason,
    )


def median_over_seeds(times: Iterable[float]) -> float:
    """Median of per-seed times, a missed seed counting as ``inf`` (AlgoPerf's ``np.median``
    over studies: with an even count, one ``inf`` in the middle pair makes the median ``inf``)."""
    values = list(map(float, times))
    return _median(values) if values else math.inf


def median_best_metric(values: Iterable[float]) -> float:
    """Median over seeds of the best metric, ignoring seeds without any finite value."""
    kept = [float(v) for v in values if not math.isnan(v)]
    return _median(kept) if kept else math.nan


def _median(values: list[float]) -> float:
    """``np.median`` of a non-empty list, in Python: a row has a few seeds, and numpy's
    call overhead dominated scoring a 100,000-trial pool. NaN anywhere gives NaN."""
    if any(map(math.isnan, values)):
        return math.nan
    values.sort()
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2.0

"""Workload targets set by a tuned NAdamW search, modelled on AlgoPerf's target setting.

Per workload (and held-out variant), each point of the search (its trials less the seed)
gets the median over seeds of the best validation metric it reached within its horizon; the
target is the best of those medians. It is rounded at 4 significant digits toward the easy
side, so the winning point still reaches it at its median. ``write_targets`` puts the values
into a suite file in place, keeping its comments and layout, with the provenance in a
comment block.
"""

from __future__ import annotations

import datetime
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.config.locate import locate
from hpbench.plan import Plan, Scalar, Trial, point_key

#: Lines between these markers in a suite file are rewritten by ``write_targets``.
BEGIN_MARK = "# --- targets: written by `hpbench targets`; edit by rerunning it ---"
END_MARK = "# --- end of targets ---"

SIGNIFICANT_DIGITS = 4


@attrs.frozen
class WorkloadTarget:
    """The target found for one (workload, variant), with what it rests on."""

    workload: str
    variant: str
    metric: str
    direction: str  # "min" or "max"
    value: float  # the target: ``measured`` rounded toward the easy side
    measured: float  # best over points of the median over seeds of the best metric
    point: dict[str, Scalar]  # the winning point's hyperparameters and schedule
    seed_values: tuple[float, ...]  # the winning point's best metric per seed
    previous: float  # the target the search ran with
    points: int  # points compared

    @property
    def key(self) -> str:
        return self.workload if self.variant == "base" else f"{self.workload}/{self.variant}"

    @property
    def per_seed(self) -> str:
        """The winning point's best metric per seed, at 4 significant digits."""
        return ", ".join(f"{v:.4g}" for v in self.seed_values)


@attrs.frozen
class TargetSetting:
    """Every workload's target from one search spec."""

    spec: str  # the spec's name
    source: str  # the spec file
    seeds: tuple[int, ...]
    targets: tuple[WorkloadTarget, ...]


def round_toward_easy(value: float, direction: str, digits: int = SIGNIFICANT_DIGITS) -> float:
    """``value`` at ``digits`` significant digits, rounded up for a minimised metric and down
    for a maximised one, so that every value at least as good as ``value`` reaches it."""
    if not math.isfinite(value) or value == 0:
        return value
    scale = 10 ** (digits - 1 - math.floor(math.log10(abs(value))))
    rounded = (math.ceil if direction == "min" else math.floor)(round(value * scale, 6)) / scale
    return float(f"{rounded:.{digits}g}")


def _point(trial: Trial) -> dict[str, Scalar]:
    return {**trial.params, "warmup": trial.warmup, "horizon": trial.horizon}


def _median(values: Sequence[float], direction: str) -> float:
    """Median over seeds of the best metric; a seed without a finite value (diverged before
    any evaluation, or not run) counts as the worst, so a point that fails on some seeds
    cannot set the target. NaN when the median itself is such a seed."""
    import numpy as np

    worst = math.inf if direction == "min" else -math.inf
    median = float(np.median([worst if math.isnan(v) else v for v in values]))
    return median if math.isfinite(median) else math.nan


def _better(a: float, b: float, direction: str) -> bool:
    """``a`` strictly better than ``b`` (NaN is never better)."""
    if math.isnan(a):
        return False
    return math.isnan(b) or (a < b if direction == "min" else a > b)


def find_targets(plan: Plan, results: Mapping[str, Any]) -> TargetSetting:
    """The targets of ``plan``'s workloads from the ``results`` of its trials (by id).

    A seed without a result or a finite best metric counts as the worst value (``_median``).
    A workload with no finite median anywhere raises ``ValueError``.
    """
    from hpbench.scoring.time_to_target import score_trial

    by_workload: dict[tuple[str, str], dict[tuple[Any, ...], list[Trial]]] = {}
    for trial in plan.trials:
        points = by_workload.setdefault((trial.workload, trial.variant), {})
        points.setdefault(point_key(trial), []).append(trial)
    found = []
    for (workload, variant), points in by_workload.items():
        best: tuple[float, list[Trial], tuple[float, ...]] | None = None
        for trials in points.values():
            values = tuple(
                score_trial(results[t.id]).best_metric if t.id in results else math.nan
                for t in trials
            )
            direction = trials[0].target.direction
            median = _median(values, direction)
            if best is None or _better(median, best[0], direction):
                best = (median, trials, values)
        assert best is not None
        measured, trials, values = best
        lead = trials[0]
        if math.isnan(measured):
            raise ValueError(f"{workload} ({variant}): no point has a finite best metric")
        found.append(
            WorkloadTarget(
                workload=workload,
                variant=variant,
                metric=lead.target.metric,
                direction=lead.target.direction,
                value=round_toward_easy(measured, lead.target.direction),
                measured=measured,
                point=_point(lead),
                seed_values=values,
                previous=lead.target.value,
                points=len(points),
            )
        )
    seeds = tuple(sorted({t.seed for t in plan.trials}))
    return TargetSetting(plan.name, plan.source, seeds, tuple(found))


def set_targets(
    plan: Plan,
    results_dir: Path,
    pack: int | None = None,
    progress: Callable[[Any], None] | None = None,
    runner: Any = None,
) -> TargetSetting:
    """Train ``plan``'s trials (finished ones are reused) and find their targets."""
    from hpbench.results import read_planned
    from hpbench.search.runs import train

    train(plan.trials, results_dir, pack, progress, runner)
    return find_targets(plan, read_planned(results_dir, plan.trials))


def _value_span(line: str, col: int) -> tuple[int, int]:
    """Start and end (0-based, in ``line``) of the scalar written at 1-based ``col``."""
    start = end = col - 1
    while end < len(line) and line[end] not in ",]}#\n\r \t":
        end += 1
    return start, end


def _target_path(workload: str, variant: str) -> tuple[str, ...]:
    if variant == "base":
        return ("workloads", workload, "target", "value")
    return ("workloads", workload, "variants", variant, "target", "value")


def _unplaceable(metric: str, path: tuple[str, ...]) -> str:
    return (
        f"no `{'.'.join(path)}` written in the suite file; write "
        f'`target = {{ metric = "{metric}", value = ... }}` in its table'
    )


def check_writable(text: str, plan: Plan) -> list[str]:
    """The problems that would stop ``write_targets`` putting ``plan``'s targets into
    ``text``, found before anything trains."""
    positions = locate(text)
    problems = {}
    for trial in plan.trials:
        path = _target_path(trial.workload, trial.variant)
        if path not in positions:
            problems[path] = f"{trial.workload}: {_unplaceable(trial.target.metric, path)}"
    return list(problems.values())


def _describe(point: Mapping[str, Scalar], separator: str) -> str:
    """``point`` as ``name<separator>value`` pairs, floats at 4 significant digits."""
    return ", ".join(
        f"{k}{separator}{v:.4g}" if isinstance(v, float) else f"{k}{separator}{v}"
        for k, v in sorted(point.items())
    )


def provenance_lines(setting: TargetSetting, version: str, hpbench_version: str) -> list[str]:
    """The comment block recording where the targets come from."""
    today = datetime.date.today().isoformat()
    lines = [
        BEGIN_MARK,
        f'# Targets version "{version}", set on {today} with hpbench {hpbench_version} from',
        f"# {setting.source} ({setting.spec}): per workload the best over its points of the",
        "# median over seeds of the best validation metric within the horizon, rounded at",
        f"# {SIGNIFICANT_DIGITS} significant digits toward the easy side.",
        f"# Seeds: {', '.join(map(str, setting.seeds))}.",
    ]
    for t in setting.targets:
        lines.append(
            f"#   {t.key}: {t.metric} {t.value:.{SIGNIFICANT_DIGITS}g} (median {t.measured:.6g}; "
            f"seeds {t.per_seed}; best of {t.points} points: {_describe(t.point, '=')})"
        )
    lines.append(END_MARK)
    return lines


def write_targets(text: str, setting: TargetSetting, header: Sequence[str]) -> str:
    """``text`` (a suite file) with each target's value replaced and ``header`` (the
    provenance block) in place of the previous one, or above the first table.

    Raises ``ValueError`` naming a workload whose target value is not written in ``text``.
    """
    positions = locate(text)
    lines = text.splitlines(keepends=True)
    for target in setting.targets:
        path = _target_path(target.workload, target.variant)
        if path not in positions:
            raise ValueError(f"{target.key}: {_unplaceable(target.metric, path)}")
        pos = positions[path]
        line = lines[pos.value_line - 1]
        start, end = _value_span(line, pos.value_col)
        lines[pos.value_line - 1] = f"{line[:start]}{target.value!r}{line[end:]}"
    block = [line + "\n" for line in header]
    marks = [i for i, line in enumerate(lines) if line.rstrip("\n") in (BEGIN_MARK, END_MARK)]
    if len(marks) == 2:
        lines[marks[0] : marks[1] + 1] = block
    else:
        first_table = next(i for i, line in enumerate(lines) if line.lstrip().startswith("["))
        lines[first_table:first_table] = [*block, "\n"]
    return "".join(lines)


def targets_report(setting: TargetSetting, version: str) -> str:
    """A Markdown table of the targets, the previous ones and the winning points."""
    rows = [
        f"# Targets `{version}` from {setting.source}",
        "",
        f"Seeds {', '.join(map(str, setting.seeds))}; per workload the best point's median "
        "over seeds of its best validation metric within the horizon.",
        "",
        "| workload | metric | target | previous | median (unrounded) | per seed | points "
        "| best point |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in setting.targets:
        rows.append(
            f"| {t.key} | {t.metric} ({t.direction}) | {t.value:.{SIGNIFICANT_DIGITS}g} | "
            f"{t.previous:g} | {t.measured:.6g} | {t.per_seed} | {t.points} "
            f"| {_describe(t.point, ' ')} |"
        )
    return "\n".join(rows) + "\n"

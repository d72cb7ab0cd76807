"""Workload targets set by a tuned NAdamW search, modelled on AlgoPerf's target setting.

Per workload (and held-out variant), each point of the search (its trials less the seed)
gets the median over seeds of the best validation metric it reached within its horizon; the
winning point is the best of those medians. Without a ``Rerun`` the target is that median;
with one (AlgoPerf's procedure) the winning point is trained again with the rerun's seeds
over the target-setting horizon, and the target is the median of their best metrics. It is
rounded at 4 significant digits toward the easy side, so the winning point still reaches it
at its median. ``write_targets`` puts the values into a suite file in place, keeping its
comments and layout, with the provenance in a comment block.
"""

from __future__ import annotations

import datetime
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.config._toml import tomllib
from hpbench.config.locate import locate
from hpbench.config.values import as_integer
from hpbench.direction import worst
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
    selected_by: float = math.nan  # with a rerun: the winning point's median in the search

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
    seeds: tuple[int, ...]  # the seeds the targets' medians are over
    targets: tuple[WorkloadTarget, ...]
    rerun: Rerun | None = None
    search_seeds: tuple[int, ...] = ()  # with a rerun: the seeds that chose the points


def _seeds(value: Sequence[int]) -> tuple[int, ...]:
    return tuple(map(as_integer, value))  # numpy's integers as ints; floats left to refuse


@attrs.frozen
class Rerun:
    """AlgoPerf's last step of target setting: each workload's best point of the search is
    trained again with ``seeds`` over ``horizon`` (the target-setting budget, a fraction of
    max_steps; None keeps the search's), and the target is the median of their best metrics."""

    seeds: tuple[int, ...] = attrs.field(converter=_seeds)
    horizon: float | None = attrs.field(default=None)

    @seeds.validator
    def _check_seeds(self, _, seeds: tuple[int, ...]) -> None:
        integers = all(type(s) is int for s in seeds)
        if not seeds or not integers or len(set(seeds)) != len(seeds) or min(seeds) < 0:
            raise ValueError(f"rerun seeds {list(seeds)}: expected distinct integer seeds >= 0")

    @horizon.validator
    def _check_horizon(self, _, horizon: float | None) -> None:
        if horizon is not None and not 0 < horizon <= 1:
            raise ValueError(f"rerun horizon {horizon}: expected a fraction of max_steps in (0, 1]")

    def trials(self, winner: Trial) -> tuple[Trial, ...]:
        """``winner``'s point with each rerun seed, over the rerun horizon."""
        horizon = winner.horizon if self.horizon is None else self.horizon
        return tuple(attrs.evolve(winner, seed=seed, horizon=horizon) for seed in self.seeds)


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

    median = float(np.median([worst(direction) if math.isnan(v) else v for v in values]))
    return median if math.isfinite(median) else math.nan


@attrs.frozen
class _Winner:
    """A workload's best point: its median, its trials and their best metrics."""

    median: float
    trials: list[Trial]
    values: tuple[float, ...]
    points: int


def _best_metrics(trials: Sequence[Trial], results: Mapping[str, Any]) -> tuple[float, ...]:
    from hpbench.scoring.time_to_target import score_trial

    return tuple(
        score_trial(results[t.id]).best_metric if t.id in results else math.nan for t in trials
    )


def best_points(plan: Plan, results: Mapping[str, Any]) -> dict[tuple[str, str], _Winner]:
    """Per (workload, variant) of ``plan``: the point with the best median over seeds of the
    best metric, from the ``results`` of its trials (by id).

    A seed without a result or a finite best metric counts as the worst value (``_median``).
    A workload with no finite median anywhere raises ``ValueError``.
    """
    by_workload: dict[tuple[str, str], dict[tuple[Any, ...], list[Trial]]] = {}
    for trial in plan.trials:
        points = by_workload.setdefault((trial.workload, trial.variant), {})
        points.setdefault(point_key(trial), []).append(trial)
    winners = {}
    for (workload, variant), points in by_workload.items():
        target = next(iter(points.values()))[0].target
        candidates = []
        for trials in points.values():
            values = _best_metrics(trials, results)
            candidates.append(
                _Winner(_median(values, target.direction), trials, values, len(points))
            )
        best = target.best(c.median for c in candidates)
        if math.isnan(best):
            raise ValueError(f"{workload} ({variant}): no point has a finite best metric")
        winners[workload, variant] = next(c for c in candidates if c.median == best)  # the first
    return winners


def _target(winner: _Winner, selected_by: float = math.nan) -> WorkloadTarget:
    lead = winner.trials[0]
    return WorkloadTarget(
        workload=lead.workload,
        variant=lead.variant,
        metric=lead.target.metric,
        direction=lead.target.direction,
        value=round_toward_easy(winner.median, lead.target.direction),
        measured=winner.median,
        point=_point(lead),
        seed_values=winner.values,
        previous=lead.target.value,
        points=winner.points,
        selected_by=selected_by,
    )


def _seeds_of(trials: Sequence[Trial]) -> tuple[int, ...]:
    return tuple(sorted({t.seed for t in trials}))


def find_targets(plan: Plan, results: Mapping[str, Any]) -> TargetSetting:
    """The targets of ``plan``'s workloads from the ``results`` of its trials (by id): each
    workload's best median over seeds (``best_points``)."""
    found = tuple(_target(w) for w in best_points(plan, results).values())
    return TargetSetting(plan.name, plan.source, _seeds_of(plan.trials), found)


def rerun_trials(plan: Plan, results: Mapping[str, Any], rerun: Rerun) -> tuple[Trial, ...]:
    """The trials of ``rerun``: each workload's best point of the search ``plan``."""
    winners = best_points(plan, results).values()
    return tuple(t for w in winners for t in rerun.trials(w.trials[0]))


def find_rerun_targets(plan: Plan, results: Mapping[str, Any], rerun: Rerun) -> TargetSetting:
    """AlgoPerf's targets: per workload, the median of the best metrics of the best point of
    the search ``plan`` retrained by ``rerun`` (``results`` holds both, by id). A rerun seed
    without a finite best metric counts as the worst value."""
    found = []
    for winner in best_points(plan, results).values():
        trials = list(rerun.trials(winner.trials[0]))
        values = _best_metrics(trials, results)
        median = _median(values, trials[0].target.direction)
        if math.isnan(median):
            raise ValueError(
                f"{trials[0].workload} ({trials[0].variant}): the rerun of its best point has "
                "no finite median; train its trials (`hpbench targets` does)"
            )
        rerun_winner = _Winner(median, trials, values, winner.points)
        found.append(_target(rerun_winner, selected_by=winner.median))
    return TargetSetting(
        plan.name,
        plan.source,
        rerun.seeds,
        tuple(found),
        rerun=rerun,
        search_seeds=_seeds_of(plan.trials),
    )


def set_targets(
    plan: Plan,
    results_dir: Path,
    pack: int | None = None,
    progress: Callable[[Any], None] | None = None,
    runner: Any = None,
    rerun: Rerun | None = None,
) -> TargetSetting:
    """Train ``plan``'s trials (finished ones are reused) and find their targets; with a
    ``rerun``, then train each workload's best point again with its seeds."""
    from hpbench.search.runs import train

    def trained(trials: Sequence[Trial]) -> bool:
        train(trials, results_dir, pack, progress, runner)
        return True

    setting = _procedure(plan, results_dir, rerun, trained)
    assert setting is not None  # every trial it asked for was trained
    return setting


def read_targets(plan: Plan, results_dir: Path, rerun: Rerun | None = None) -> TargetSetting | None:
    """:func:`set_targets`'s targets from finished trials alone (re-rendering from an
    archive); None while any trial they need has not finished."""
    from hpbench.search.runs import finished

    return _procedure(plan, results_dir, rerun, lambda trials: finished(results_dir, trials))


def target_trials(plan: Plan, results_dir: Path, rerun: Rerun | None = None) -> list[Trial]:
    """Every trial :func:`set_targets` trains for ``plan``: the search and, once all of it
    finished in ``results_dir``, the re-runs of each workload's best point. Trains nothing."""
    from hpbench.results import read_planned
    from hpbench.search.runs import finished

    if rerun is None or not finished(results_dir, plan.trials):
        return list(plan.trials)
    return [*plan.trials, *rerun_trials(plan, read_planned(results_dir, plan.trials), rerun)]


def _procedure(
    plan: Plan,
    results_dir: Path,
    rerun: Rerun | None,
    ready: Callable[[Sequence[Trial]], bool],
) -> TargetSetting | None:
    """The targets of ``plan``; ``ready`` trains or checks each stage's trials and says
    whether they can be read (else None)."""
    from hpbench.results import read_planned

    if not ready(plan.trials):
        return None
    results = read_planned(results_dir, plan.trials)
    if rerun is None:
        return find_targets(plan, results)
    reruns = rerun_trials(plan, results, rerun)
    if not ready(reruns):
        return None
    results = {**results, **read_planned(results_dir, reruns)}
    return find_rerun_targets(plan, results, rerun)


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
        f"no `{'.'.join(path)}` written in the suite file, and no line can be added for it "
        "(a `target` written without its `value`, or the workload an inline table); write "
        f'`target = {{ metric = "{metric}", value = ... }}` in its table'
    )


def _header_names(line: str, table: tuple[str, ...]) -> bool:
    """Whether ``line`` is the ``[table]`` header itself (not a sub-table's, an inline table
    or dotted keys): the longest key path it writes is ``table``."""
    try:
        tomllib.loads(line)
    except tomllib.TOMLDecodeError:  # a line of a multi-line value
        return False
    return line.lstrip().startswith("[") and max(locate(line), key=len, default=()) == table


def _with_target_line(
    text: str, positions: Mapping[tuple[str, ...], Any], path: tuple[str, ...], metric: str
) -> str | None:
    """``text`` with a ``target = { metric = ..., value = 0.0 }`` line for ``path`` (its value
    then replaced like any other): under the workload's (or variant's) table header, or in a
    new table at the end when the file has none (``extends`` merges it over the parent's).
    None where the table is written some other way or already has a ``target``.
    ``positions``: ``locate(text)``, which the callers have already."""
    table = path[:-2]
    if path[:-1] in positions:  # a target without its value: the user's to complete
        return None
    line = f'target = {{ metric = "{metric}", value = 0.0 }}\n'
    lines = text.splitlines(keepends=True)
    header = positions.get(table)
    if header is None:
        end = "" if not lines or lines[-1].endswith("\n") else "\n"
        placed = f"{text}{end}\n[{'.'.join(table)}]\n{line}"
    elif _header_names(lines[header.line - 1], table):
        placed = "".join([*lines[: header.line], line, *lines[header.line :]])
    else:
        return None  # an inline table, dotted keys or a table only implied by a sub-table
    try:  # a new table under an inline one is not TOML
        tomllib.loads(placed)
    except tomllib.TOMLDecodeError:
        return None
    return placed


def check_writable(text: str, plan: Plan) -> list[str]:
    """The problems that would stop ``write_targets`` putting ``plan``'s targets into
    ``text``, found before anything trains."""
    positions = locate(text)
    missing = {
        _target_path(t.workload, t.variant): (t.workload, t.target.metric) for t in plan.trials
    }
    return [
        f"{workload}: {_unplaceable(metric, path)}"
        for path, (workload, metric) in missing.items()
        if path not in positions and _with_target_line(text, positions, path, metric) is None
    ]


def _describe(point: Mapping[str, Scalar], separator: str) -> str:
    """``point`` as ``name<separator>value`` pairs, floats exact (their shortest repr), so
    the winning point can be copied into a spec and trains the same trials."""
    return ", ".join(
        f"{k}{separator}{v!r}" if isinstance(v, float) else f"{k}{separator}{v}"
        for k, v in sorted(point.items())
    )


def procedure(setting: TargetSetting) -> str:
    """How ``setting``'s targets were found, in one sentence (without the final period)."""
    if setting.rerun is None:
        return (
            "per workload the best over its points of the median over seeds "
            f"{_seed_list(setting.seeds)} of the best validation metric within the horizon"
        )
    horizon = setting.rerun.horizon
    budget = "the search's horizon" if horizon is None else f"horizon {horizon:g} of max_steps"
    return (
        "per workload the best of its points (median over seeds "
        f"{_seed_list(setting.search_seeds)} of the best validation metric within the "
        f"search's horizon), retrained with seeds {_seed_list(setting.seeds)} over {budget}; "
        "the target is the median of their best validation metrics"
    )


def _seed_list(seeds: Sequence[int]) -> str:
    return ", ".join(map(str, seeds))


def provenance_lines(setting: TargetSetting, version: str, hpbench_version: str) -> list[str]:
    """The comment block recording where the targets come from."""
    today = datetime.date.today().isoformat()
    words = f"{procedure(setting)}, rounded at {SIGNIFICANT_DIGITS} significant digits toward "
    words += "the easy side."
    lines = [
        BEGIN_MARK,
        f'# Targets version "{version}", set on {today} with hpbench {hpbench_version} from',
        f"# {setting.source} ({setting.spec}):",
        *(f"# {line}" for line in textwrap.wrap(words, 88)),
    ]
    for t in setting.targets:
        searched = "" if math.isnan(t.selected_by) else f"search {t.selected_by:.6g}; "
        lines.append(
            f"#   {t.key}: {t.metric} {t.value:.{SIGNIFICANT_DIGITS}g} (median {t.measured:.6g}; "
            f"seeds {t.per_seed}; {searched}best of {t.points} points: "
            f"{_describe(t.point, '=')})"
        )
    lines.append(END_MARK)
    return lines


def write_targets(text: str, setting: TargetSetting, header: Sequence[str]) -> str:
    """``text`` (a suite file) with each target's value replaced (or its line added) and
    ``header`` (the provenance block) in place of the previous one, or above the first table.

    Raises ``ValueError`` naming a workload whose target cannot be written in ``text``.
    """
    positions = locate(text)
    for target in setting.targets:
        path = _target_path(target.workload, target.variant)
        if path not in positions:
            placed = _with_target_line(text, positions, path, target.metric)
            if placed is None:
                raise ValueError(f"{target.key}: {_unplaceable(target.metric, path)}")
            text, positions = placed, locate(placed)
    lines = text.splitlines(keepends=True)
    for target in setting.targets:
        path = _target_path(target.workload, target.variant)
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
        f"{procedure(setting)[0].upper()}{procedure(setting)[1:]}.",
        "",
        "| workload | metric | target | previous | median (unrounded) | per seed | search "
        "| points | best point |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t in setting.targets:
        searched = "" if math.isnan(t.selected_by) else f"{t.selected_by:.6g}"
        rows.append(
            f"| {t.key} | {t.metric} ({t.direction}) | {t.value:.{SIGNIFICANT_DIGITS}g} | "
            f"{t.previous:g} | {t.measured:.6g} | {t.per_seed} | {searched} | {t.points} "
            f"| {_describe(t.point, ' ')} |"
        )
    return "\n".join(rows) + "\n"

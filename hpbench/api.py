"""The Python API: spec -> plan -> run -> score -> report, what ``hpbench`` exports.

The CLI commands are thin layers over these functions, and so is the nightly run. Only
:func:`run` trains (from :mod:`hpbench.launch`, which the searches train through), so only
it imports JAX; everything else stays JAX-free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpbench.backends.prepare import prepare_process
from hpbench.launch import checkpoint_policy, make_run_jobs, resolve_runner, run, unique_trials
from hpbench.plan import Plan, Trial
from hpbench.spec import Spec, compile_plan, load_spec

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.report.data import Report
    from hpbench.results import TrialResult
    from hpbench.scoring.scores import Scores

__all__ = [
    "Results",
    "checkpoint_policy",
    "load_spec",
    "make_run_jobs",
    "plan",
    "prepare_process",
    "report",
    "run",
    "score",
    "unique_trials",
]

PathLike = str | os.PathLike[str]


def plan(spec: Spec | PathLike) -> Plan:
    """The plan of trials of ``spec``: a checked :class:`Spec`, or a spec file's path."""
    return compile_plan(spec if isinstance(spec, Spec) else load_spec(spec))


def checked_plan(spec: PathLike, runner: RunnerProfile | PathLike | None = None) -> Plan:
    """The plan of the spec file ``spec``, once its ``data`` paths are checked to lie in its
    repository, ``$HPBENCH_DATA_DIR`` or the ``data_dirs`` of ``runner`` (SpecError
    otherwise, before anything opens them): what every caller that trains a spec it did
    not write (``hpbench run``, the nightly) plans with."""
    from hpbench.spec.confine import check_data_paths

    profile = resolve_runner(runner)
    checked = load_spec(spec)
    where = profile.file or "a runner profile (hpbench run --runner PROFILE)"
    check_data_paths(
        checked,
        profile.data_dirs,
        f"allow its directory with [runner] data_dirs = [...] in {where}",
    )
    return compile_plan(checked)


def report(
    specs: PathLike | Sequence[PathLike],
    results: PathLike = "results",
    *,
    out: PathLike | None = None,
    title: str | None = None,
    **options: Any,
) -> Report:
    """The report of ``specs`` (scored together) over ``results``; written as Markdown and
    HTML under ``out`` when given. ``options``: :func:`hpbench.report.data.build_report`'s
    (``time``, ``integral``, ``bootstrap``...). Python's cyclic collector is paused
    meanwhile, as in ``hpbench report`` (its passes cost seconds at 100,000 trials)."""
    from hpbench.collector import gc_paused

    return gc_paused(_report)(specs, results, out=out, title=title, **options)


def _report(specs, results, *, out, title, **options) -> Report:
    from hpbench.report.data import build_report, load_runs

    paths = [Path(specs)] if isinstance(specs, str | os.PathLike) else [Path(s) for s in specs]
    built = build_report(load_runs(paths, Path(results)), title=title, **options)
    if out is not None:
        from hpbench.report.render import render

        render(built).write(Path(out))
    return built


def score(
    specs: PathLike | Sequence[PathLike], results: PathLike = "results", **options: Any
) -> Scores:
    """The benchmark scores of ``specs`` over ``results`` (``scores.benchmark``: label ->
    score), as ``hpbench score`` prints them."""
    return report(specs, results, **options).scores


class Results:
    """A read view over a results store: the trials there, each read and checked (damaged
    ones are read as damaged, never scored)."""

    def __init__(self, path: PathLike = "results") -> None:
        self.path = Path(path)

    def __repr__(self) -> str:
        return f"Results({str(self.path)!r})"

    def ids(self) -> list[str]:
        """The trial ids stored, sorted."""
        from hpbench.results.records import trial_directories

        return sorted(d.name for d in trial_directories(self.path)) if self.path.is_dir() else []

    def __iter__(self) -> Iterator[TrialResult]:
        """Each readable trial's result; damaged ones are left out (``hpbench status``
        names them)."""
        from hpbench.results import Damaged, read_trial

        for trial_id in self.ids():
            try:
                yield read_trial(self.path / trial_id)
            except Damaged:
                continue

    def __len__(self) -> int:
        return len(self.ids())

    def __contains__(self, trial: object) -> bool:
        trial_id = trial.id if isinstance(trial, Trial) else trial
        return isinstance(trial_id, str) and trial_id in self.ids()

    def of(self, plan: Plan | Iterable[Trial]) -> dict[str, TrialResult]:
        """The results of the planned trials that have one (trial id -> result), read with
        the planned trial's target."""
        from hpbench.results import read_planned

        trials = plan.trials if isinstance(plan, Plan) else tuple(plan)
        return dict(read_planned(self.path, list(trials)))

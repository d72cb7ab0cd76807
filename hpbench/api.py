"""The Python API: spec -> plan -> run -> score -> report, what ``hpbench`` exports.

The CLI commands are thin layers over these functions, and so are the nightly run and the
searches. Only :func:`run` trains, so only it imports JAX; everything else stays JAX-free.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpbench.backends.prepare import prepare_process
from hpbench.plan import Plan, Trial
from hpbench.spec import Spec, compile_plan, load_spec

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.report.data import Report
    from hpbench.results import TrialResult
    from hpbench.scoring.scores import Scores
    from hpbench.train.job import CheckpointPolicy, Job
    from hpbench.train.run import Progress, TrialOutcome

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

    profile = _profile(runner)
    checked = load_spec(spec)
    where = profile.file or "a runner profile (hpbench run --runner PROFILE)"
    check_data_paths(
        checked,
        profile.data_dirs,
        f"allow its directory with [runner] data_dirs = [...] in {where}",
    )
    return compile_plan(checked)


def unique_trials(plans: Iterable[Plan]) -> list[Trial]:
    """The trials of ``plans``, each once (by id), in first-seen order."""
    return list({t.id: t for p in plans for t in p.trials}.values())


def checkpoint_policy(
    plans: Iterable[Plan], every: str | CheckpointPolicy | None = None
) -> CheckpointPolicy:
    """The checkpoint cadence: ``every`` (a policy, or its text: ``"500"``, ``"30s"``), else
    the shortest ``checkpoint_seconds`` of the plans, else the engine's default."""
    from hpbench.train.job import CheckpointPolicy

    if isinstance(every, CheckpointPolicy):
        return every
    if every is not None:
        return CheckpointPolicy.parse(every)
    seconds = [s for p in plans if (s := getattr(p, "checkpoint_seconds", None))]
    return CheckpointPolicy(every_seconds=float(min(seconds))) if seconds else CheckpointPolicy()


def _profile(runner: RunnerProfile | PathLike | None) -> RunnerProfile:
    from hpbench.backends.profile import RunnerProfile, resolve_profile

    return (
        runner
        if isinstance(runner, RunnerProfile)
        else resolve_profile(None if runner is None else os.fspath(runner))
    )


def _plans(plans: Plan | Iterable[Plan]) -> list[Plan]:
    return [plans] if isinstance(plans, Plan) else list(plans)


def make_run_jobs(
    plans: Plan | Iterable[Plan],
    runner: RunnerProfile,
    *,
    pack: int | None = None,
    checkpoint: str | CheckpointPolicy | None = None,
    force: bool = False,
) -> list[Job]:
    """The jobs a run of ``plans`` on ``runner`` trains: their trials once each, packed
    ``pack`` (else the profile's, else from memory) to a job, checkpointed per
    :func:`checkpoint_policy`. A multi-host ``local`` profile joins its processes first
    (before anything starts JAX's backends: choosing the pack size from memory does)."""
    from hpbench.train.job import make_jobs
    from hpbench.train.memory import pack_size_from_memory

    plans = _plans(plans)
    policy = checkpoint_policy(plans, checkpoint)
    from hpbench.backends.registry import runs_in_lockstep

    if runs_in_lockstep(runner):
        from hpbench.backends.multihost import initialize

        initialize(runner.distributed)
    size = pack if pack is not None else runner.pack
    return make_jobs(
        unique_trials(plans),
        pack=size,
        pack_size=pack_size_from_memory,
        checkpoint=policy,
        force=force,
    )


def run(
    plans: Plan | Iterable[Plan],
    *,
    runner: RunnerProfile | PathLike | None = None,
    results: PathLike = "results",
    pack: int | None = None,
    checkpoint: str | CheckpointPolicy | None = None,
    force: bool = False,
    progress: Progress | None = None,
) -> list[TrialOutcome]:
    """Train the trials of ``plans`` into the ``results`` store on ``runner`` (a
    :class:`~hpbench.backends.profile.RunnerProfile`, a profile file, or a name in
    ``runners/``; default: local), as ``hpbench run`` does: finished trials are reused
    (``force`` retrains them), interrupted ones resume. One outcome per trial."""
    from hpbench.backends import run_jobs

    profile = _profile(runner)
    prepare_process()
    jobs = make_run_jobs(plans, profile, pack=pack, checkpoint=checkpoint, force=force)
    return run_jobs(jobs, Path(results), profile, progress=progress)


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

"""What a run answers: each trial's :class:`TrialOutcome`, and the :class:`JobUpdate`
progress reports sent while it trains (by the engine, or read back from the results
directory by a backend's watcher). No JAX import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import attrs

from hpbench.plan import Trial
from hpbench.results.records import Status


@attrs.frozen
class TrialOutcome:
    """How a trial ended in this run (for the summary table)."""

    trial: Trial
    state: str  # a Status state, or "skipped" (already finished) or "elsewhere" (claimed)
    step: int = 0
    reached_step: int | None = None
    reached_seconds: float | None = None
    reason: str | None = None
    final_metric: float | None = None
    repair: str | None = None  # what this run found damaged or missing, and did about it
    earlier: str | None = None  # skipped: the state an earlier run finished it in

    @classmethod
    def reused(cls, trial: Trial, status: Status) -> TrialOutcome:
        """A trial an earlier run finished (``status``): skipped, with what it came to."""
        return cls(
            trial,
            "skipped",
            step=status.step,
            reached_step=status.reached_step,
            reached_seconds=status.reached_seconds,
            reason=f"already {status.state}",
            earlier=status.state,
        )

    @classmethod
    def claimed(cls, trial: Trial) -> TrialOutcome:
        """A trial another live run holds: left to it, untouched by this one."""
        return cls(trial, "elsewhere", reason="claimed by another run")


@attrs.frozen
class JobUpdate:
    """Progress of a job, sent to the ``progress`` callback at each chunk boundary."""

    job_id: str
    workload: str
    pack: int
    step: int
    horizon_steps: int
    train_seconds: float
    metric: str
    best: float | None  # the best member's latest value of the target metric
    target: float
    finished: bool = False
    #: Each member's trial id and latest value of the target metric, in pack order.
    members: tuple[tuple[str, float | None], ...] = ()

    @classmethod
    def of(
        cls,
        job_id: str,
        lead: Trial,
        members: Sequence[tuple[str, float | None]],
        *,
        step: int,
        train_seconds: float,
        finished: bool = False,
    ) -> JobUpdate:
        """The update of a job led by ``lead`` whose ``members`` (trial id, latest value of
        the target metric or None) stand at ``step``: the engine's and a results watcher's."""
        values = [value for _, value in members if value is not None]
        variant = "" if lead.variant == "base" else f"/{lead.variant}"
        return cls(
            job_id=job_id,
            workload=f"{lead.workload}/{lead.size}{variant}",
            pack=len(members),
            step=step,
            horizon_steps=lead.horizon_steps,
            train_seconds=train_seconds,
            metric=lead.target.metric,
            best=lead.target.best(values) if values else None,
            target=lead.target.value,
            finished=finished,
            members=tuple(members),
        )


Progress = Callable[[JobUpdate], None]

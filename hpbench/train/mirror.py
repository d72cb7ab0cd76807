"""Multi-host mirroring: the secondary processes of a job see its trials as the primary
claimed and read them (:class:`~hpbench.results.store.MirrorTrialDir`), from the statuses
the primary shares before training; they write nothing. No JAX import.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpbench.results.records import Status
from hpbench.results.store import MirrorTrialDir, TrialDir
from hpbench.train.job import Job


def starting_statuses(members: Sequence[TrialDir]) -> dict[str, Any]:
    """The claimed trials and their recorded statuses as JSON (None: no status yet): what
    the primary shares before training, so every process decides from the same view."""
    statuses = {m.trial.id: m.read_status() for m in members}
    return {tid: s.to_json() if s is not None else None for tid, s in statuses.items()}


def mirrors(job: Job, results_dir: Path, starts: dict[str, Any]) -> list[TrialDir]:
    """A secondary process's view of the members the primary claimed (in the same order),
    writing nothing and starting from the statuses the primary read."""
    trials = sorted((t for t in job.trials if t.id in starts), key=lambda t: t.id)
    return [
        MirrorTrialDir(
            results_dir,
            t,
            Status.from_json(starts[t.id]) if starts[t.id] is not None else None,
        )
        for t in trials
    ]

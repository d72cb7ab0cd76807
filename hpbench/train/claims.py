"""Which trials of a job this run trains: claimed (a trial another live process holds is
left to it), finished (a job whose trials all finished is skipped), and repaired (a claimed
trial whose files fail their checks has them moved aside, with its job's checkpoints).
Primary process only; no JAX import.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hpbench.results.store import TrialClaim, TrialDir, claim
from hpbench.train.job import Job

log = logging.getLogger("hpbench.run")


def all_finished(job: Job, results_dir: Path) -> dict[str, Any] | None:
    """Each trial's status (JSON) when every trial of ``job`` has a final result that reads
    back whole (and ``job.force`` is off), else None. Nothing is claimed or written, so a
    finished store answers even when it is read-only."""
    if job.force:
        return None
    statuses = {t.id: TrialDir(results_dir, t).read_status() for t in job.trials}
    if not all(s is not None and s.finished for s in statuses.values()):
        return None
    return {trial_id: s.to_json() for trial_id, s in statuses.items()}


def set_damage_aside(results_dir: Path, members: Sequence[TrialDir]) -> dict[str, str]:
    """Move the files of every claimed trial that fails its checks aside (primary only),
    and then the job's checkpoints too: the job restarts from step 0. Trial id -> what was
    done, each also logged."""
    repairs = {}
    for m in members:
        result = m.read()
        if result is None or not result.damaged:
            continue
        aside = m.set_aside(f"corrupt: {result.status.reason}")
        repairs[m.trial.id] = f"corrupt ({result.status.reason}): files moved to {aside}"
        log.warning("trial %s: %s; training it again", m.trial.id, repairs[m.trial.id])
    if not repairs:
        return repairs
    job_dir = checkpoint_dir(results_dir, members)
    if job_dir.exists():
        aside = job_dir.with_name(f"{job_dir.name}.damaged-{stamp()}")
        os.replace(job_dir, aside)
        log.warning("job %s: checkpoints moved to %s; it restarts at step 0", job_dir.name, aside)
    return repairs


def claim_members(job: Job, results_dir: Path, claims: list[TrialClaim]) -> list[TrialDir]:
    """Claim every trial of ``job`` that no other live run holds (primary only), appending
    each claim to ``claims`` (the caller releases them); the claimed trials in checkpoint
    member order, reset first under ``job.force``."""
    members: list[TrialDir] = []
    for trial in job.trials:
        trial_dir = TrialDir(results_dir, trial)
        held = claim(trial_dir)
        if held is not None:
            claims.append(held)
            members.append(trial_dir)
    members.sort(key=lambda m: m.trial.id)  # the member order of checkpoints
    if job.force:
        for trial_dir in members:
            trial_dir.reset()
        shutil.rmtree(checkpoint_dir(results_dir, members), ignore_errors=True)
    return members


def stamp() -> str:
    """The time in names of what is moved aside."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def checkpoint_dir(results_dir: Path, members: Sequence[TrialDir]) -> Path:
    """Where the checkpoints of a job with exactly these members live."""
    return results_dir / "_jobs" / Job(trials=tuple(m.trial for m in members)).id

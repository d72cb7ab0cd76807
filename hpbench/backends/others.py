"""Trials this run left to concurrent runs: wait until they finish, or take them over.

A run that finds a trial claimed by another live run leaves it there ("elsewhere"). It
must not end as if that trial were trained: it waits, polling the results directory, and
reruns the trial's job as soon as the claim is free (its holder finished, or died: the
kernel drops a dead process's lock; another host's claim is taken over once its heartbeat
is stale, see :func:`hpbench.results.store.claim`). No JAX import.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from hpbench.results.store import TrialDir, claim, read_holder
from hpbench.train.job import Job
from hpbench.train.run import TrialOutcome

log = logging.getLogger("hpbench.run")

#: Seconds between two looks at the trials another run holds.
POLL_SECONDS = 5.0


def settle(
    jobs: Sequence[Job],
    outcomes: Sequence[TrialOutcome],
    results_dir: Path,
    rerun: Callable[[list[Job]], list[TrialOutcome]],
    interval: float | None = None,
) -> list[TrialOutcome]:
    """``outcomes`` with every "elsewhere" trial's replaced by what ``rerun`` of its job
    gives once its claim is free; waits (every ``interval`` seconds, default
    :data:`POLL_SECONDS`) while a live run holds one."""
    by_id = {o.trial.id: o for o in outcomes}
    told: set[str] = set()
    while waiting := [o.trial for o in by_id.values() if o.state == "elsewhere"]:
        free = {t.id for t in waiting if _claim_is_free(results_dir, t)}
        if not free:
            _tell(results_dir, [t for t in waiting if t.id not in told])
            told.update(t.id for t in waiting)
            time.sleep(POLL_SECONDS if interval is None else interval)
            continue
        again = [job for job in jobs if any(t.id in free for t in job.trials)]
        for outcome in rerun(again):
            if by_id[outcome.trial.id].state == "elsewhere":
                by_id[outcome.trial.id] = outcome
    return [by_id[o.trial.id] for o in outcomes]


def _claim_is_free(results_dir: Path, trial) -> bool:
    """Whether this run could claim ``trial`` now (taking over an abandoned claim)."""
    held = claim(TrialDir(results_dir, trial))
    if held is None:
        return False
    held.release()
    return True


def _tell(results_dir: Path, trials: list) -> None:
    if not trials:
        return
    holders = {read_holder(Path(results_dir) / t.id / "lock") for t in trials}
    who = ", ".join(sorted(h.describe() for h in holders if h is not None)) or "another run"
    log.warning(
        "waiting for %d trial(s) that %s is training; this run ends when they do, or takes "
        "them over if it dies",
        len(trials),
        who,
    )

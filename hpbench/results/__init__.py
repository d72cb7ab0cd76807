"""The results store: one directory per trial, written atomically, claimed by one run at a
time, read (and checked: damage is reported, never scored) by one reader per file."""

from hpbench.results.records import (
    Damaged,
    EvalRecord,
    Status,
    TrialResult,
    read_finished,
    read_planned,
    read_results,
    read_trial,
)
from hpbench.results.store import StoreError, TrialClaim, TrialDir, claim

__all__ = [
    "Damaged",
    "EvalRecord",
    "Status",
    "StoreError",
    "TrialClaim",
    "TrialDir",
    "TrialResult",
    "claim",
    "read_finished",
    "read_planned",
    "read_results",
    "read_trial",
]

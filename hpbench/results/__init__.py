"""The results store: one directory per trial, written atomically, read by scoring."""

from hpbench.results.records import (
    EvalRecord,
    Status,
    TrialResult,
    read_planned,
    read_results,
    read_trial,
)
from hpbench.results.store import TrialClaim, TrialDir, claim

__all__ = [
    "EvalRecord",
    "Status",
    "TrialClaim",
    "TrialDir",
    "TrialResult",
    "claim",
    "read_planned",
    "read_results",
    "read_trial",
]

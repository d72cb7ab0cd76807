"""The trial limit of an untrusted spec (its file limits are :mod:`hpbench.config.bounds`).

The number of trials a spec expands to is a product of its sizes, computed before any trial
exists (:mod:`hpbench.spec.check`); above ``max_trials`` (:data:`MAX_TRIALS`, or
``$HPBENCH_MAX_TRIALS``, or ``--max-trials``) the spec is refused.
"""

from __future__ import annotations

import os

MAX_TRIALS = 100_000
MAX_TRIALS_VARIABLE = "HPBENCH_MAX_TRIALS"


def default_max_trials() -> int:
    """``$HPBENCH_MAX_TRIALS`` when it is a positive integer, else :data:`MAX_TRIALS`."""
    text = os.environ.get(MAX_TRIALS_VARIABLE, "")
    return int(text) if text.isdigit() and int(text) > 0 else MAX_TRIALS

"""Test hooks for worker processes of the backend tests (pool workers, Ray workers).

:func:`slow_batches` makes each toy batch take ``HPBENCH_TEST_BATCH_DELAY`` seconds (so a
worker can be killed mid-trial) and, once ``HPBENCH_TEST_FORBID`` names a file holding
"PID STEP", makes every process but PID refuse batches below STEP: a replacement worker
that restarted from scratch instead of resuming from its checkpoint then fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def slow_batches() -> None:
    from hpbench.workloads import toy

    delay = float(os.environ.get("HPBENCH_TEST_BATCH_DELAY", "0"))
    forbid = os.environ.get("HPBENCH_TEST_FORBID")
    serve = toy.ToyWorkload.batch

    def batch(self, seed, step):
        if forbid and Path(forbid).exists():
            pid, below = map(int, Path(forbid).read_text().split())
            if pid != os.getpid() and 0 < step < below:
                raise RuntimeError(f"batch {step} requested: the rerun did not resume")
        time.sleep(delay)
        return serve(self, seed, step)

    toy.ToyWorkload.batch = batch


def worker_main() -> int:
    """A pool worker with slowed batches (``python -c`` entry of the pool tests)."""
    from hpbench.backends.worker import main

    slow_batches()
    return main(sys.argv[1:])

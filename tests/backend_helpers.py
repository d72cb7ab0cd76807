"""Test hooks for worker processes of the backend tests (pool workers, Ray workers).

:func:`slow_batches` makes each toy batch take ``HPBENCH_TEST_BATCH_DELAY`` seconds (so a
worker can be killed mid-trial). A worker started after the file ``HPBENCH_TEST_FORBID``
was written (holding a step) refuses batches below that step: the replacement of a killed
worker that restarted its job from scratch, instead of resuming from its checkpoint, fails.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def slow_batches() -> None:
    from hpbench.workloads import toy

    delay = float(os.environ.get("HPBENCH_TEST_BATCH_DELAY", "0"))
    forbid = Path(os.environ.get("HPBENCH_TEST_FORBID", "/nonexistent"))
    below = int(forbid.read_text()) if forbid.exists() else 0
    serve = toy.ToyWorkload.batch

    def batch(self, seed, step):
        if 0 < step < below:
            raise RuntimeError(f"batch {step} requested: the rerun did not resume")
        time.sleep(delay)
        return serve(self, seed, step)

    toy.ToyWorkload.batch = batch


def worker_main() -> int:
    """A pool worker with slowed batches (``python -c`` entry of the pool tests)."""
    from hpbench.backends.worker import main

    slow_batches()
    return main(sys.argv[1:])

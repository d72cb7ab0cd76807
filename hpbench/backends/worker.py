"""A pool worker: ``python -m hpbench.backends.worker RESULTS`` runs the jobs it reads from
stdin (one JSON :class:`~hpbench.train.job.Job` per line) and answers one JSON line per job.

Answers go to the original stdout; anything else the process prints is moved to stderr,
so a library's chatter cannot corrupt the protocol. A job stopped by SIGINT/SIGTERM (a
checkpoint is saved first) answers ``{"interrupted": signum}`` and the worker exits.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from hpbench.backends.common import dumps, outcome_to_json
from hpbench.backends.host_memory import reuse_freed_memory
from hpbench.train.job import Job
from hpbench.train.run import Interrupted, run_job


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m hpbench.backends.worker RESULTS", file=sys.stderr)
        return 2
    results = Path(argv[0])
    reuse_freed_memory()
    answers = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    for line in sys.stdin:
        job = Job.from_json(json.loads(line))
        try:
            outcomes = run_job(job, results)
        except Interrupted as stop:
            answers.write(dumps({"job": job.id, "interrupted": stop.signum}))
            return 128 + stop.signum
        answers.write(dumps({"job": job.id, "outcomes": [outcome_to_json(o) for o in outcomes]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

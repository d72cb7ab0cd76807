"""Two real ``run_job`` processes on overlapping trial sets never train a trial twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from trial_helpers import toy_trial

from hpbench.results.records import read_trial
from hpbench.train import Job

CHILD = """
import sys, time
from hpbench.workloads import toy
serve = toy.ToyWorkload.batch
def batch(self, seed, step):
    time.sleep(0.01)  # long enough for the two runs to overlap
    return serve(self, seed, step)
toy.ToyWorkload.batch = batch
from hpbench.backends.local import main
sys.exit(main(sys.argv[1:]))
"""


def test_overlapping_runs_train_each_trial_once(tmp_path):
    first, shared, last = (toy_trial(lr) for lr in (1e-2, 3e-3, 1e-3))
    results = tmp_path / "results"
    env = {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    runs = []
    for name, trials in (("a", (first, shared)), ("b", (shared, last))):
        job_file = tmp_path / f"{name}.json"
        job_file.write_text(Job(trials=trials).dumps())
        runs.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(job_file), str(results)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                env=env,
                cwd=Path(__file__).parent,
            )
        )
    trained: dict[str, list[str]] = {}
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
        for line in out.splitlines():
            outcome = json.loads(line)
            assert outcome["state"] in ("done", "elsewhere", "skipped"), outcome
            if outcome["state"] == "done":
                trained.setdefault(outcome["trial"], []).append(outcome["state"])
    assert trained == {t.id: ["done"] for t in (first, shared, last)}  # each exactly once
    for trial in (first, shared, last):
        result = read_trial(results / trial.id)
        assert result.status.state == "done"
        assert [r.step for r in result.evals] == [20, 40, 60, 80, 100]  # no step twice

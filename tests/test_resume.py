"""Resume for real: a training process killed with SIGKILL, or stopped with SIGINT, then
rerun, ends with the same records and parameters as an uninterrupted run (bitwise on CPU).

Each run is a real ``python -m hpbench.backends.local``-style subprocess on a serialised
Job. The child can slow its batches (so a signal lands mid-run) and can refuse to serve
batches below a step (so a rerun that restarted from scratch instead of resuming fails).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from trial_helpers import records, toy_trial

from hpbench.results.records import read_trial
from hpbench.train import CheckpointPolicy, Job
from hpbench.train.checkpoint import load_trained_params

CHILD = """
import sys, time
from hpbench.workloads import toy
job, results, delay, forbid_below = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
serve = toy.ToyWorkload.batch
def batch(self, seed, step):
    if 0 < step < forbid_below:
        raise RuntimeError(f"batch {step} requested: the run did not resume")
    time.sleep(delay)
    return serve(self, seed, step)
toy.ToyWorkload.batch = batch
from hpbench.backends.local import main
sys.exit(main([job, results]))
"""

TRIALS = tuple(  # with dropout, so the per-step RNG must be restored right too
    toy_trial(horizon=0.5, hyperparameters={"learning_rate": lr, "dropout": 0.1})
    for lr in (1e-2, 3e-3)
)
JOB = Job(trials=TRIALS, checkpoint=CheckpointPolicy(every_steps=40, every_seconds=None))


def start(tmp: Path, results: Path, delay: float = 0.0, forbid_below: int = 0):
    job_file = tmp / "job.json"
    job_file.write_text(JOB.dumps())
    command = [
        sys.executable,
        "-c",
        CHILD,
        str(job_file),
        str(results),
        str(delay),
        str(forbid_below),
    ]
    env = {  # share compiled programs between the runs: same executables, less waiting
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(tmp.parent / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(process: subprocess.Popen, timeout: float = 240) -> int:
    out, err = process.communicate(timeout=timeout)
    if process.returncode not in (0, 130):
        raise AssertionError(f"child failed ({process.returncode}):\n{out}\n{err}")
    return process.returncode


def saved_steps(results: Path) -> list[int]:
    """Committed checkpoint steps of the job (Orbax renames a step in when it is done)."""
    return sorted(
        int(p.parent.name)
        for p in results.glob("_jobs/*/*/commit_success.txt")
        if p.parent.name.isdigit()
    )


def wait_for_checkpoint(process: subprocess.Popen, results: Path, at_least: int) -> int:
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        steps = [s for s in saved_steps(results) if s >= at_least]
        if steps:
            return steps[0]
        assert process.poll() is None, f"child ended early: {process.communicate()}"
        time.sleep(0.05)
    raise AssertionError("no checkpoint appeared")


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    tmp = tmp_path_factory.mktemp("reference")
    finish(start(tmp, tmp / "results"))
    return tmp / "results"


def assert_same_results(results: Path, reference: Path) -> None:
    for trial in TRIALS:
        assert read_trial(results / trial.id).status.state == "done"
        assert records(results, trial) == records(reference, trial)
        ours, theirs = (
            load_trained_params(results, trial.id),
            load_trained_params(reference, trial.id),
        )
        for a, b in zip(*(sorted(_flat(t).items()) for t in (ours, theirs)), strict=True):
            assert a[0] == b[0] and np.array_equal(a[1], b[1]), a[0]


def _flat(tree, prefix=""):
    out = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            out.update(_flat(value, f"{prefix}{key}/"))
        else:
            out[prefix + key] = value
    return out


def test_sigkill_mid_run_then_rerun_equals_an_uninterrupted_run(tmp_path, reference):
    results = tmp_path / "results"
    child = start(tmp_path, results, delay=0.01)
    saved = wait_for_checkpoint(child, results, at_least=80)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    assert saved < TRIALS[0].horizon_steps
    assert read_trial(results / TRIALS[0].id).status.state == "running"
    resumed_from = max(saved_steps(results))
    # Lines past the checkpoint (evaluated, not yet saved) and a torn write: the rerun
    # must cut them, so no step appears twice.
    for trial in TRIALS:
        with open(results / trial.id / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": 10_000, "train_seconds": 0, "metrics": {}}) + "\n{torn")
    assert finish(start(tmp_path, results, forbid_below=resumed_from)) == 0
    assert_same_results(results, reference)


def test_sigint_saves_marks_interrupted_and_exits_130(tmp_path, reference):
    results = tmp_path / "results"
    child = start(tmp_path, results, delay=0.01)
    wait_for_checkpoint(child, results, at_least=40)
    child.send_signal(signal.SIGINT)
    assert finish(child) == 130
    statuses = [read_trial(results / t.id).status for t in TRIALS]
    assert {s.state for s in statuses} == {"interrupted"}
    stopped_at = statuses[0].step
    assert 40 <= stopped_at < TRIALS[0].horizon_steps
    assert max(saved_steps(results)) == stopped_at  # the checkpoint of the very step
    assert finish(start(tmp_path, results, forbid_below=stopped_at)) == 0
    assert_same_results(results, reference)
    # AlgoPerf's clock continues from the checkpoint, and the resumed run's compilation
    # counts on it (as AlgoPerf's after a preemption): its lead over the training clock grows.
    rows = read_trial(results / TRIALS[0].id).evals
    lead = {r.step: r.algoperf_seconds - r.train_seconds for r in rows}
    assert all(r.algoperf_seconds is not None for r in rows)
    assert [r.algoperf_seconds for r in rows] == sorted(r.algoperf_seconds for r in rows)
    before = max(step for step in lead if step <= stopped_at)
    after = min(step for step in lead if step > stopped_at)
    assert lead[after] > lead[before] > 0

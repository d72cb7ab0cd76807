"""Trials the engine, resume, results-store and full-size data tests share (no training in
this process: the 8-device run trains in a child)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from hpbench.plan import Target, Trial

#: The fields of a metrics row that are wall-clock times.
CLOCKS = ("train_seconds", "algoperf_seconds")


def toy_trial(learning_rate: float = 3e-3, **changes) -> Trial:
    """A toy_mlp AdamW trial of 100 steps evaluated every 20."""
    fields = dict(
        workload="toy_mlp",
        size="mini",
        variant="base",
        algorithm="adamw",
        hyperparameters={"learning_rate": learning_rate, "weight_decay": 1e-4},
        schedule="warmup_cosine",
        warmup=0.05,
        horizon=0.25,
        max_steps=400,
        batch_size=64,
        seed=0,
        eval_every=20,
        target=Target("error_rate", 0.06, "min"),
    )
    fields.update(changes)
    return Trial(**fields)


def records(results: Path, trial: Trial) -> list[dict]:
    """metrics.jsonl without the wall-clock fields (what must be reproducible)."""
    lines = (results / trial.id / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in CLOCKS} for line in lines]


_HOLD = """
import json, sys, time
from hpbench.plan import Trial
from hpbench.results.store import TrialDir, claim
held = claim(TrialDir(sys.argv[1], Trial.from_json(json.loads(sys.argv[2]))))
print("held" if held else "refused", flush=True)
time.sleep(60)
"""


def hold_claim(results: Path, trial: Trial) -> subprocess.Popen:
    """Another process that claims ``trial`` in ``results`` and keeps it for a minute; its
    first line of output says whether it got it ("held" or "refused")."""
    return subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(results), json.dumps(trial.canonical())],
        stdout=subprocess.PIPE,
        text=True,
    )


def full_trial(workload: str, data: str, target: Target) -> Trial:
    """One step of a full-size AdamW trial of batch 8 on ``data``, evaluated after it."""
    return toy_trial(
        1e-3,
        workload=workload,
        size="full",
        warmup=0.0,
        horizon=1.0,
        max_steps=1,
        batch_size=8,
        eval_every=1,
        target=target,
        data=data,
    )


_MESH_HEAD = """
import json, sys
import attrs, jax
from hpbench.results.records import read_trial
from hpbench.train import Job, run_job
from hpbench.train.program import DATA_AXIS, program_for
job = Job.from_json(json.loads(sys.argv[1]))
"""

_MESH_TAIL = """
trial = job.trials[0]
run_job(job, sys.argv[2], devices=jax.devices())
record = read_trial(f"{sys.argv[2]}/{trial.id}")
program = program_for(trial, 1, jax.devices())
print(json.dumps({
    "devices": len(jax.devices()),
    "mesh": record.status.provenance["device"],
    "data_axis": program.mesh.shape[DATA_AXIS],
    "batch_specs": [str(s.spec) for s in jax.tree.leaves(program.batch_shardings)],
    "evals": [[r.step, r.metrics, r.train_loss] for r in record.evals],
}))
"""


def eight_device_child(
    code: str, *args: str, env: Mapping[str, str] | None = None, timeout: int = 1800
) -> dict:
    """Run ``code`` with ``args`` in a Python process whose JAX sees 8 simulated CPU devices
    (the device count is fixed when JAX starts), ``env`` added to its environment; returns
    the JSON object its last line prints."""
    environ = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    environ.pop("JAX_NUM_CPU_DEVICES", None)  # it would override XLA_FLAGS' count
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env={**environ, **(env or {})},
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_on_8_devices(tmp_path: Path, trial: Trial, setup: str = "", argument: str = "") -> dict:
    """Train and evaluate ``trial`` (one step) on 8 simulated CPU devices: ``setup`` runs
    first in the child (it may shrink the models; ``sys.argv[3]`` is ``argument``). Checks
    that the run used the 8-device mesh, split every batch over its data axis and evaluated
    once with a finite training loss; returns that evaluation's metrics."""
    from hpbench.train import Job

    out = eight_device_child(
        _MESH_HEAD + setup + _MESH_TAIL,
        Job(trials=(trial,)).dumps(),
        str(tmp_path / "r"),
        argument,
        env={"HPBENCH_DATA_WORKERS": "0", "HPBENCH_DATA_DIR": str(tmp_path / "cache")},
    )
    assert out["devices"] == 8 and out["mesh"] == "8 x cpu" and out["data_axis"] == 8
    assert all("data" in spec for spec in out["batch_specs"]), out["batch_specs"]
    [(step, metrics, train_loss)] = out["evals"]
    assert step == 1 and math.isfinite(train_loss) and train_loss > 0
    return metrics

"""The sharded run (batch split over 8 simulated CPU devices, state replicated) equals the
one-device run within float tolerance. Runs in a subprocess: the device count is fixed
when JAX starts."""

from __future__ import annotations

import pytest

CHILD = """
import json, sys
import jax
import numpy as np
from hpbench.results.records import read_trial
from hpbench.train import Job, run_job
from hpbench.train.checkpoint import load_trained_params
job = Job.from_json(json.loads(sys.argv[1]))
out = {"devices": len(jax.devices())}
for name, devices in (("one", jax.devices()[:1]), ("eight", jax.devices())):
    run_job(job, f"{sys.argv[2]}/{name}", devices=devices)
for trial in job.trials:
    one, eight = (read_trial(f"{sys.argv[2]}/{n}/{trial.id}") for n in ("one", "eight"))
    evals = list(zip(one.evals, eight.evals))
    pairs = [(a.metrics[k], b.metrics[k]) for a, b in evals for k in a.metrics]
    pairs += [(a.train_loss, b.train_loss) for a, b in evals]
    params = [
        float(np.max(np.abs(a - b)))
        for a, b in zip(
            jax.tree.leaves(load_trained_params(f"{sys.argv[2]}/one", trial.id)),
            jax.tree.leaves(load_trained_params(f"{sys.argv[2]}/eight", trial.id)),
        )
    ]
    out[trial.id] = {
        "steps": [[r.step for r in one.evals], [r.step for r in eight.evals]],
        "mesh": [one.status.provenance["device"], eight.status.provenance["device"]],
        "metric_pairs": pairs,
        "max_param_diff": max(params),
    }
print(json.dumps(out))
"""


@pytest.mark.slow  # two 8-device compilations: ~20 s of CPU
def test_eight_device_run_equals_one_device_run(tmp_path):
    from trial_helpers import eight_device_child, toy_trial

    from hpbench.train import Job

    trials = tuple(  # dropout on: the random masks must not depend on the sharding
        toy_trial(hyperparameters={"learning_rate": lr, "dropout": 0.1}) for lr in (1e-2, 3e-3)
    )
    out = eight_device_child(CHILD, Job(trials=trials).dumps(), str(tmp_path), timeout=300)
    assert out["devices"] == 8
    for trial in trials:
        result = out[trial.id]
        assert result["mesh"] == ["1 x cpu", "8 x cpu"]
        assert result["steps"][0] == result["steps"][1] == [20, 40, 60, 80, 100]
        for one, eight in result["metric_pairs"]:
            assert abs(one - eight) <= 1e-4 + 1e-4 * abs(one), (one, eight)
        assert result["max_param_diff"] < 1e-4

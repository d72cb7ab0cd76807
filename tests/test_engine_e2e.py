"""End to end through the engine, parameterised over the registries (slow): every workload
trains packed and evaluates every metric; every algorithm trains packed without NaN; and
``hpbench run`` trains a spec of two real mini workloads (the CTR model and the ResNet)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hpbench.algorithms.registry import ALGORITHMS
from hpbench.cli import main
from hpbench.plan import Target, Trial
from hpbench.results.records import read_results, read_trial
from hpbench.train import make_jobs, run_job
from hpbench.workloads.registry import WORKLOADS

pytestmark = pytest.mark.slow


def short_trial(workload: str, learning_rate: float, algorithm: str = "nadamw") -> Trial:
    info = WORKLOADS[workload]
    return Trial(
        workload=workload,
        size="mini",
        variant="base",
        algorithm=algorithm,
        hyperparameters={"learning_rate": learning_rate},
        schedule="warmup_cosine",
        warmup=0.1,
        horizon=1.0,
        max_steps=10,
        batch_size=info.batch_size["mini"],
        seed=0,
        eval_every=5,
        target=Target(info.metric, 0.0 if info.direction == "min" else 1e9, info.direction),
    )


@pytest.mark.parametrize("workload", sorted(WORKLOADS))
def test_every_workload_trains_packed(workload, tmp_path):
    trials = [short_trial(workload, lr) for lr in (1e-3, 3e-3)]
    [job] = make_jobs(trials, pack=2)
    assert [o.state for o in run_job(job, tmp_path)] == ["done", "done"]
    for trial in trials:
        result = read_trial(tmp_path / trial.id)
        assert [r.step for r in result.evals] == [5, 10]
        assert set(result.evals[-1].metrics) == set(WORKLOADS[workload].metrics)
        assert all(math.isfinite(v) for r in result.evals for v in r.metrics.values())


@pytest.mark.parametrize("algorithm", sorted(ALGORITHMS))
def test_every_algorithm_trains_packed_without_nan(algorithm, tmp_path):
    peak = ALGORITHMS[algorithm].defaults()["learning_rate"]
    trials = [short_trial("toy_mlp", peak * f, algorithm) for f in (0.5, 1.0)]
    [job] = make_jobs(trials, pack=2)
    assert [o.state for o in run_job(job, tmp_path)] == ["done", "done"]
    for trial in trials:
        evals = read_trial(tmp_path / trial.id).evals
        assert all(math.isfinite(r.train_loss) for r in evals), algorithm


def test_hpbench_run_on_ctr_and_image_workloads(tmp_path, capsys):
    spec = tmp_path / "two.toml"
    spec.write_text(
        """
[benchmark]
name = "two_workloads"
description = "criteo and imagenet_resnet, briefly"
owner = "tests"

[workloads.criteo]
size = "mini"
target = { metric = "cross_entropy", value = 0.6 }
max_steps = 40
eval_every = 20

[workloads.imagenet_resnet]
size = "mini"
target = { metric = "error_rate", value = 0.95 }
max_steps = 20
eval_every = 10

[algorithm]
name = "nadamw"
learning_rate = 2e-3

[schedule]
shape = "warmup_cosine"
warmup = 0.05
horizon = 1.0

[grid]
seed = [0, 1]
"""
    )
    results = tmp_path / "results"
    assert main(["run", str(spec), "--results", str(results)]) == 0
    out = capsys.readouterr().out
    found = read_results(results)
    assert sorted(r.trial.workload for r in found) == ["criteo"] * 2 + ["imagenet_resnet"] * 2
    assert all(r.status.state == "done" and r.evals for r in found)
    assert Path(results).name in out

"""Members spread over devices: the mesh puts a pack's members on the ``members`` axis
(one group per CPU device, two in the tests), each device trains its own members, and every
member trains as it does alone, whether its device vmaps several members, runs one, or runs
its members one plain step each (on CPU, a model registered without ``vmap_on_cpu``)."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from trial_helpers import records, toy_trial

from hpbench import machine
from hpbench.plan import Target
from hpbench.results.records import read_trial
from hpbench.train import Job, run_job
from hpbench.train.program import DATA_AXIS, MEMBER_AXIS, local_devices_for, make_mesh


def mesh_shape(mesh) -> tuple[int, int]:
    return mesh.shape[MEMBER_AXIS], mesh.shape[DATA_AXIS]


def test_members_take_the_devices_first_and_the_batch_the_rest():
    cpus = jax.local_devices()
    assert len(cpus) == 2  # tests/conftest.py
    assert mesh_shape(make_mesh(cpus, batch_size=64, num_members=8)) == (2, 1)
    assert mesh_shape(make_mesh(cpus, batch_size=64, num_members=3)) == (1, 2)  # 3 on 2: data
    assert mesh_shape(make_mesh(cpus, batch_size=63, num_members=1)) == (1, 1)
    assert mesh_shape(make_mesh(cpus[:1], batch_size=64, num_members=8)) == (1, 1)


def test_on_cpu_a_job_takes_one_device_per_member_group_and_never_splits_a_batch():
    assert len(local_devices_for(1)) == 1  # a single trial: one core-device
    assert len(local_devices_for(2)) == 2
    assert len(local_devices_for(8)) == 2
    assert len(local_devices_for(3)) == 1  # 3 members do not split evenly over 2


def pack_equals_alone(trials, tmp_path, rtol: float) -> None:
    packed, alone = tmp_path / "packed", tmp_path / "alone"
    run_job(Job(trials=tuple(trials)), packed)
    for trial in trials:
        run_job(Job(trials=(trial,)), alone)
        assert read_trial(packed / trial.id).status.provenance["device"] == "2 x cpu"
        assert read_trial(alone / trial.id).status.provenance["device"] == "1 x cpu"
        assert read_trial(packed / trial.id).status.provenance["host"] == machine.describe()
        for a, b in zip(records(packed, trial), records(alone, trial), strict=True):
            assert a["step"] == b["step"]
            np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=rtol)
            for name, value in a["metrics"].items():
                np.testing.assert_allclose(value, b["metrics"][name], rtol=rtol, atol=1e-6)


@pytest.mark.parametrize("size", [2, 4])  # one member per device; two, vmapped, per device
def test_spread_members_train_as_they_do_alone(size, tmp_path):
    trials = [toy_trial(3e-3 * 1.5**i) for i in range(size)]
    pack_equals_alone(trials, tmp_path, rtol=1e-4)


@pytest.mark.slow  # 8 ResNet runs (4 alone, 4 packed): ~45 s quiet, over 2 min on loaded CI
def test_convolutional_members_train_as_they_do_alone(tmp_path):
    """Two ResNet members per device: each runs plain steps, no grouped convolution."""
    trials = [
        toy_trial(
            1e-3 * 3**i,
            workload="imagenet_resnet",
            max_steps=12,
            horizon=1.0,
            eval_every=6,
            target=Target("error_rate", 0.1, "min"),
        )
        for i in range(4)
    ]
    pack_equals_alone(trials, tmp_path, rtol=1e-4)

"""benchmarks.graded_probe's data variants: the probe's label noise and cut training set."""

import attrs
import numpy as np

from benchmarks.graded_probe import variant
from hpbench.workloads.imagenet import DataConfig, generate
from hpbench.workloads.registry import load_workload


def test_variant_cuts_train_and_replaces_labels_by_seed_leaving_the_workload_alone():
    data = generate(DataConfig(image_size=8, num_classes=10, num_train=8192, num_valid=2048))
    workload = attrs.evolve(load_workload("imagenet_resnet", "mini"), data=data)
    train = np.asarray(workload.data["train_labels"])[:4096]
    valid = np.asarray(workload.data["valid_labels"])
    noisy = variant(workload, 0.5, 4096)
    assert noisy.data["train_images"].shape[0] == len(noisy.data["train_labels"]) == 4096
    np.testing.assert_array_equal(
        noisy.data["train_images"], np.asarray(workload.data["train_images"])[:4096]
    )
    # a replaced label is a uniform class: it differs with probability 0.5 * 9/10 = 0.45
    for new, old in ((noisy.data["train_labels"], train), (noisy.data["valid_labels"], valid)):
        assert abs(np.mean(new != old) - 0.45) < 0.04
        assert new.min() >= 0 and new.max() < 10
    again = variant(workload, 0.5, 4096)
    np.testing.assert_array_equal(again.data["train_labels"], noisy.data["train_labels"])
    other = variant(workload, 0.5, 4096, seed=1)
    assert np.mean(other.data["train_labels"] != noisy.data["train_labels"]) > 0.2
    clean = variant(workload, 0.0, 0)
    np.testing.assert_array_equal(clean.data["train_labels"], workload.data["train_labels"])
    np.testing.assert_array_equal(clean.data["valid_labels"], valid)
    np.testing.assert_array_equal(np.asarray(workload.data["valid_labels"]), valid)

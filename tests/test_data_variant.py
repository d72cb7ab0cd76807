"""Data variants (``train_rows``, ``label_noise``) on the real mini data of every workload
family: rows cut, labels replaced as stated, the same for every trial seed.

Bounds on counts of changed labels are binomial, worked by hand: a label replaced by a
uniform class of K differs with probability p = noise * (K - 1) / K, so over n labels the
count has mean n p and standard deviation sqrt(n p (1 - p)); the tests allow 5 of them.
"""

from __future__ import annotations

import attrs
import numpy as np
import pytest

from hpbench.data.order import host_batch_indices
from hpbench.workloads.data_variant import Labels, vary_data, with_data_variant
from hpbench.workloads.registry import WORKLOADS, load_workload


@pytest.fixture(scope="module")
def mini():
    """Each workload's mini build (its cached generated data), once."""
    built: dict = {}

    def get(name: str):
        if name not in built:
            built[name] = load_workload(name, "mini")
        return built[name]

    return get


def changed(new: np.ndarray, old: np.ndarray) -> int:
    return int(np.sum(np.asarray(new) != np.asarray(old)))


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_train_rows_is_exactly_the_first_rows_of_every_training_array(mini, name):
    workload = mini(name)
    rows = 100
    cut = with_data_variant(workload, train_rows=rows)
    train = [k for k in workload.data if k.startswith("train_")]
    assert train and set(cut.data) == set(workload.data)
    for key, array in workload.data.items():
        if key in train:
            assert cut.data[key].shape == (rows, *array.shape[1:]), key
            np.testing.assert_array_equal(cut.data[key], array[:rows], err_msg=key)
        else:  # validation and shared arrays (word_start) are never cut
            np.testing.assert_array_equal(cut.data[key], array, err_msg=key)
    # a training batch draws from the first rows only: its rows are the cut set's
    batch = cut.batch(3, 7)
    index = host_batch_indices(3, 7, rows, workload.batch_size)
    for key, value in batch.items():
        if f"train_{key}" in workload.data:
            np.testing.assert_array_equal(value, workload.data[f"train_{key}"][index])
    assert cut.info.train_rows["mini"] == len(workload.data[train[0]])


def test_the_registry_states_the_generated_training_rows_of_every_size():
    from hpbench.workloads import criteo, fastmri, imagenet, librispeech, ogbg, toy, wmt

    configs = {
        "criteo": criteo.CONFIGS,
        "imagenet_resnet": imagenet.DATA,
        "imagenet_vit": imagenet.DATA,
        "ogbg": ogbg.CONFIGS,
        "fastmri": fastmri.CONFIGS,
        "librispeech_conformer": librispeech.DATA,
        "librispeech_deepspeech": librispeech.DATA,
        "wmt": wmt.DATA,
    }
    assert WORKLOADS["toy_mlp"].train_rows == {"mini": toy.NUM_TRAIN}
    for name, config in configs.items():
        generated = {size: c.num_train for size, c in config.items() if size != "full"}
        assert WORKLOADS[name].train_rows == generated, name


@pytest.mark.parametrize("name", sorted(WORKLOADS))
def test_class_labels_are_declared_where_the_workload_has_them(mini, name):
    labels = mini(name).class_labels
    assert (labels is not None) == WORKLOADS[name].class_labels
    if labels is not None:
        for split in ("train_", "valid_"):
            values = np.asarray(mini(name).data[split + labels.key])
            assert values.min() >= 0 and values.max() < labels.classes


def test_imagenet_noise_replaces_the_stated_share_of_train_and_valid_labels(mini):
    workload = mini("imagenet_resnet")
    noisy = with_data_variant(workload, label_noise=0.2)
    # p = 0.2 * 9/10 = 0.18; train n = 32768: mean 5898.2, sd 69.5; valid n = 2048: 368.6, 17.4
    train = changed(noisy.data["train_labels"], workload.data["train_labels"])
    valid = changed(noisy.data["valid_labels"], workload.data["valid_labels"])
    assert abs(train - 5898.2) < 5 * 69.5
    assert abs(valid - 368.6) < 5 * 17.4
    assert noisy.data["train_labels"].dtype == workload.data["train_labels"].dtype
    assert set(np.unique(noisy.data["train_labels"])) == set(range(10))
    np.testing.assert_array_equal(noisy.data["train_images"], workload.data["train_images"])
    # the data's, not a trial's: built again, and a batch of any seed, see the same labels
    again = load_workload("imagenet_resnet", "mini", label_noise=0.2)
    np.testing.assert_array_equal(again.data["train_labels"], noisy.data["train_labels"])
    np.testing.assert_array_equal(again.data["valid_labels"], noisy.data["valid_labels"])
    for seed in (0, 1):
        index = host_batch_indices(seed, 5, 32768, workload.batch_size)
        labels = noisy.batch(seed, 5)["labels"]
        np.testing.assert_array_equal(labels, noisy.data["train_labels"][index])


def test_noise_levels_nest_and_a_cut_set_keeps_the_whole_sets_labels(mini):
    workload = mini("imagenet_vit")
    low = with_data_variant(workload, label_noise=0.1)
    high = with_data_variant(workload, label_noise=0.3)
    both = with_data_variant(workload, train_rows=2048, label_noise=0.3)
    for split in ("train_labels", "valid_labels"):
        clean = workload.data[split]
        moved = low.data[split] != clean  # replaced at 0.1 and changed: the same at 0.3
        np.testing.assert_array_equal(high.data[split][moved], low.data[split][moved])
    np.testing.assert_array_equal(both.data["train_labels"], high.data["train_labels"][:2048])
    np.testing.assert_array_equal(both.data["valid_labels"], high.data["valid_labels"])
    other = with_data_variant(mini("imagenet_resnet"), label_noise=0.3)  # another dataset
    assert changed(other.data["valid_labels"], high.data["valid_labels"]) > 500


def test_toy_labels_are_noised_with_its_four_classes(mini):
    workload = mini("toy_mlp")
    noisy = with_data_variant(workload, train_rows=1024, label_noise=0.5)
    # p = 0.5 * 3/4 = 0.375; n = 1024: mean 384, sd 15.5; valid n = 512: mean 192, sd 11.0
    assert (
        abs(changed(noisy.data["train_labels"], workload.data["train_labels"][:1024]) - 384)
        < 5 * 15.5
    )
    assert abs(changed(noisy.data["valid_labels"], workload.data["valid_labels"]) - 192) < 5 * 11.0
    assert set(np.unique(noisy.data["train_labels"])) == {0, 1, 2, 3}


def test_criteo_clicks_flip_to_random_bits_and_the_true_probabilities_follow(mini):
    workload = mini("criteo")
    noisy = with_data_variant(workload, label_noise=0.2)
    # a random bit differs with p = 0.2 / 2 = 0.1; train n = 131072: mean 13107.2, sd 108.6;
    # valid n = 16384: mean 1638.4, sd 38.4
    train = changed(noisy.data["train_labels"], workload.data["train_labels"])
    valid = changed(noisy.data["valid_labels"], workload.data["valid_labels"])
    assert abs(train - 13107.2) < 5 * 108.6
    assert abs(valid - 1638.4) < 5 * 38.4
    assert set(np.unique(noisy.data["valid_labels"])) == {0.0, 1.0}
    assert noisy.data["valid_labels"].dtype == np.float32
    # P(noisy click) = 0.8 p + 0.2 * 1/2
    expected = 0.8 * workload.data["valid_probs"].astype(np.float64) + 0.1
    np.testing.assert_allclose(noisy.data["valid_probs"], expected, rtol=1e-6)
    # the noisy clicks are drawn from those probabilities: mean within 5 sd of their mean
    mean, sd = expected.mean(), np.sqrt(np.sum(expected * (1 - expected))) / len(expected)
    assert abs(noisy.data["valid_labels"].mean() - mean) < 5 * sd


def test_ogbg_noise_replaces_only_present_task_bits_and_rows_cut_whole_graphs(mini):
    workload = mini("ogbg")
    noisy = with_data_variant(workload, train_rows=4096, label_noise=0.2)
    for split, rows in (("train", 4096), ("valid", 2048)):
        old = workload.data[f"{split}_labels"][:rows]
        mask = workload.data[f"{split}_label_mask"][:rows]
        new = noisy.data[f"{split}_labels"]
        np.testing.assert_array_equal(new[~mask], old[~mask])  # missing entries untouched
        np.testing.assert_array_equal(noisy.data[f"{split}_label_mask"], mask)
        present = int(mask.sum())
        p = 0.1  # a random bit: 0.2 / 2
        mean, sd = present * p, np.sqrt(present * p * (1 - p))
        assert abs(changed(new[mask], old[mask]) - mean) < 5 * sd, split
    # every per-graph array is cut alike, so graph i keeps its nodes, edges and labels
    for key in ("node_features", "senders", "receivers", "num_nodes", "num_edges"):
        np.testing.assert_array_equal(
            noisy.data[f"train_{key}"], workload.data[f"train_{key}"][:4096]
        )


@pytest.mark.parametrize(
    "name", ["fastmri", "librispeech_conformer", "librispeech_deepspeech", "wmt"]
)
def test_label_noise_is_refused_where_there_are_no_class_labels(mini, name):
    with pytest.raises(ValueError, match=f"{name}/mini: label_noise 0.1 needs class labels"):
        with_data_variant(mini(name), label_noise=0.1)


def test_bad_variants_are_refused_with_what_to_do(mini):
    workload = mini("imagenet_resnet")
    with pytest.raises(ValueError, match=r"train_rows 40000 exceeds the training rows"):
        with_data_variant(workload, train_rows=40000)
    streamed = attrs.evolve(workload, data={}, reader=object())
    with pytest.raises(ValueError, match="not to data read from files"):
        with_data_variant(streamed, train_rows=10)
    assert with_data_variant(workload) is workload


def test_vary_data_is_pure():
    data = {
        "train_labels": np.array([0, 1, 2, 0, 1, 2]),
        "train_x": np.arange(12).reshape(6, 2),
        "valid_labels": np.array([1, 1, 1]),
    }
    copy = {k: v.copy() for k, v in data.items()}
    out = vary_data(data, Labels(3), 4, 0.9, "a dataset")
    assert out["train_x"].shape == (4, 2) and len(out["train_labels"]) == 4
    for key, value in copy.items():
        np.testing.assert_array_equal(data[key], value)
    again = vary_data(data, Labels(3), 4, 0.9, "a dataset")
    for key in out:
        np.testing.assert_array_equal(out[key], again[key])

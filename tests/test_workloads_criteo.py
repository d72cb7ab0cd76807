"""The mini criteo workload: generated click logs, DLRM-small, cross-entropy."""

from __future__ import annotations

import attrs
import jax
import numpy as np
import optax
import pytest

from hpbench.data.cache import materialize, write_arrays
from hpbench.workloads import criteo
from hpbench.workloads.registry import get_workload, load_workload
from hpbench.workloads.userdata import DataError

TINY = attrs.evolve(criteo.CONFIGS["mini"], num_train=256, num_valid=128)


@pytest.fixture(scope="module")
def workload():
    return load_workload("criteo", "mini")


def train(workload, steps: int, learning_rate: float = 3e-3):
    """Parameters after ``steps`` NAdamW steps on the workload's own batches."""
    params, model_state = workload.init(jax.random.key(0))
    tx = optax.nadamw(learning_rate)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, model_state, opt_state, batch):
        (loss, model_state), grads = jax.value_and_grad(workload.loss, has_aux=True)(
            params, model_state, batch, jax.random.key(1), dropout=0.0, label_smoothing=0.0
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), model_state, opt_state

    for i in range(steps):
        params, model_state, opt_state = step(params, model_state, opt_state, workload.batch(0, i))
    return params, model_state


def test_generation_is_deterministic_and_read_back_through_tensorstore(tmp_path, monkeypatch):
    first, again, other = (
        criteo.generate(TINY, 0),
        criteo.generate(TINY, 0),
        criteo.generate(TINY, 1),
    )
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["train_categorical"], other["train_categorical"])
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(tmp_path))
    stored = materialize("criteo-tiny", lambda: first)
    assert (tmp_path / "criteo-tiny" / "train_dense" / ".zarray").exists()
    for name in first:
        np.testing.assert_array_equal(stored[name], first[name])
        assert stored[name].dtype == first[name].dtype
    assert materialize("criteo-tiny", lambda: pytest.fail("regenerated"))["train_labels"].shape == (
        256,
    )


def test_generated_logs_are_learnable_but_noisy():
    data = criteo.generate(TINY, 0)
    assert data["train_categorical"].min() >= 0
    assert data["train_categorical"].max() < TINY.vocab_size
    assert 0.1 < data["train_labels"].mean() < 0.5
    # The Bayes loss sits well below the loss of predicting the click rate alone.
    rate = data["valid_labels"].mean()
    constant = -(rate * np.log(rate) + (1 - rate) * np.log(1 - rate))
    assert criteo.bayes_cross_entropy(data["valid_probs"]) < constant - 0.1


def test_batches_are_pure_in_seed_and_step(workload):
    batch = workload.batch(3, 17)
    again = workload.batch(3, 17)
    assert set(batch) == {"dense", "categorical", "labels"}
    for name in batch:
        np.testing.assert_array_equal(batch[name], again[name])
    assert batch["dense"].shape == (workload.batch_size, criteo.NUM_DENSE)
    assert batch["categorical"].shape == (workload.batch_size, criteo.NUM_CATEGORICAL)
    assert batch["categorical"].dtype == np.int32
    assert not np.array_equal(workload.batch(3, 18)["dense"], batch["dense"])
    assert not np.array_equal(workload.batch(4, 17)["dense"], batch["dense"])


def test_training_lowers_the_validation_cross_entropy(workload):
    params, model_state = workload.init(jax.random.key(0))
    before = workload.evaluate(params, model_state)
    assert set(before) == set(get_workload("criteo").metrics)
    after = workload.evaluate(*train(workload, 40))
    assert np.isfinite(after["cross_entropy"])
    assert after["cross_entropy"] < before["cross_entropy"] - 0.05


def test_evaluate_is_the_direct_binary_cross_entropy(workload):
    params, model_state = workload.init(jax.random.key(2))
    data = workload.data
    logits = workload.model().apply(
        {"params": params}, data["valid_dense"], data["valid_categorical"]
    )
    p = 1 / (1 + np.exp(-np.asarray(logits, np.float64)))
    y = data["valid_labels"]
    direct = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    assert workload.evaluate(params, model_state)["cross_entropy"] == pytest.approx(
        direct, rel=1e-5
    )


def test_dot_interaction_is_the_upper_triangle_of_pairwise_products():
    features = np.random.default_rng(0).normal(size=(2, 3, 4)).astype(np.float32)
    out = np.asarray(criteo.dot_interact(features))
    expected = [
        [features[b, i] @ features[b, j] for i in range(3) for j in range(i, 3)] for b in range(2)
    ]
    np.testing.assert_allclose(out, expected, rtol=1e-5)


def test_dropout_changes_the_loss_and_label_smoothing_does_not(workload):
    """AlgoPerf's Criteo loss deletes ``label_smoothing`` (criteo1tb_jax/workload.py,
    ``loss_fn``): a list point's smoothing must not move the click loss."""
    params, model_state = workload.init(jax.random.key(0))
    batch = workload.batch(0, 0)

    def loss(dropout, smoothing):
        value, _ = workload.loss(
            params,
            model_state,
            batch,
            jax.random.key(1),
            dropout=dropout,
            label_smoothing=smoothing,
        )
        return float(value)

    assert loss(0.0, 0.2) == loss(0.0, 0.0)
    assert loss(0.5, 0.0) != loss(0.0, 0.0)


def test_layernorm_variant_builds_and_trains():
    workload = load_workload("criteo", "mini", "layernorm")
    params, model_state = workload.init(jax.random.key(0))
    assert any("LayerNorm" in key for key in params)
    loss, _ = workload.loss(
        params,
        model_state,
        workload.batch(0, 0),
        jax.random.key(1),
        dropout=0.1,
        label_smoothing=0.0,
    )
    assert np.isfinite(float(loss))


def test_full_size_is_algoperf_dlrm_small():
    model = criteo.CriteoWorkload(
        info=get_workload("criteo"),
        size="full",
        variant="base",
        data={},
        config=criteo.CONFIGS["full"],
    ).model()
    shapes = jax.eval_shape(
        model.init, jax.random.key(0), np.zeros((1, 13), np.float32), np.zeros((1, 26), np.int32)
    )["params"]
    assert shapes["embedding_table"].shape == (4194304, 128)
    # Top MLP input: 128 bottom features + 27 * 28 / 2 interactions (AlgoPerf's 506).
    assert shapes["Dense_3"]["kernel"].shape == (128 + 378, 1024)


@pytest.mark.parametrize("problem", ["none", "missing", "wrong_shape"])
def test_bad_full_data_fails_before_training_naming_the_path(tmp_path, problem):
    path = tmp_path / "criteo"
    if problem == "wrong_shape":
        rows = 8
        arrays = {
            "dense": np.zeros((rows, 12), np.float32),  # 13 expected
            "categorical": np.zeros((rows, 26), np.int32),
            "labels": np.zeros(rows, np.float32),
        }
        write_arrays(path, {f"{s}_{k}": v for s in ("train", "valid") for k, v in arrays.items()})
    with pytest.raises(DataError) as error:
        load_workload("criteo", "full", data=None if problem == "none" else str(path))
    message = str(error.value)
    assert "train_dense: zarr float32 [N, 13]" in message
    assert "docs/data.md" in message
    if problem != "none":
        assert str(path) in message
    if problem == "wrong_shape":
        assert "train_dense" in message.splitlines()[0]

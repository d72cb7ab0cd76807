"""The mini ogbg workload: molecule-like graphs, a graph network, AlgoPerf's mAP."""

from __future__ import annotations

import attrs
import jax
import numpy as np
import optax
import pytest
from sklearn.metrics import average_precision_score

from hpbench.data.cache import materialize
from hpbench.workloads import ogbg
from hpbench.workloads.metrics import average_precision, mean_average_precision
from hpbench.workloads.registry import get_workload, load_workload
from hpbench.workloads.userdata import DataError

TINY = attrs.evolve(ogbg.CONFIGS["mini"], num_train=64, num_valid=32)


@pytest.fixture(scope="module")
def workload():
    return load_workload("ogbg", "mini")


@pytest.fixture(scope="module")
def initial(workload):
    return workload.init(jax.random.key(0))


# --- the metric: AlgoPerf's OGBG mAP against scikit-learn --------------------------------


def sklearn_map(labels, logits, mask):
    """AlgoPerf's definition written with scikit-learn (labelled rows, both classes present)."""
    probs = 1 / (1 + np.exp(-logits))
    values = []
    for task in range(labels.shape[1]):
        y = labels[mask[:, task], task]
        if (y == 1).any() and (y == 0).any():
            values.append(average_precision_score(y, probs[mask[:, task], task]))
    return np.mean(values)


def test_average_precision_matches_a_hand_worked_case_and_sklearn():
    # Ranked: 1 (0.9), 0 (0.8), 1 (0.7), 0 (0.1): AP = 1/2 * 1 + 1/2 * 2/3.
    labels = np.array([1, 0, 1, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert average_precision(labels, scores) == pytest.approx(0.5 + 1 / 3)
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores)
    )
    tied = np.array([0.5, 0.5, 0.5, 0.1])  # ties form one threshold, as in scikit-learn
    assert average_precision(labels, tied) == pytest.approx(average_precision_score(labels, tied))


def test_mean_average_precision_matches_sklearn_on_fixed_inputs():
    rng = np.random.default_rng(0)
    labels = (rng.random((300, 12)) < np.linspace(0.02, 0.6, 12)).astype(np.float32)
    labels[:, 3] = 0  # a task with one class only: excluded
    logits = (labels * 1.5 + rng.normal(size=labels.shape)).astype(np.float32)
    logits[:40, 5] = 0.0  # ties
    mask = rng.random(labels.shape) > 0.2
    mask[:, 7] = labels[:, 7] == 0  # labelled entries all negative: excluded
    ours = mean_average_precision(labels, logits, mask)
    assert ours == pytest.approx(sklearn_map(labels, logits, mask), abs=1e-12)
    assert 0.2 < ours < 1
    assert np.isnan(mean_average_precision(np.zeros((5, 2)), np.zeros((5, 2)), np.ones((5, 2))))


# --- data --------------------------------------------------------------------------------


def test_generation_is_deterministic_and_read_back_through_tensorstore(tmp_path, monkeypatch):
    first, again, other = (ogbg.generate(TINY, s) for s in (0, 0, 1))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["train_senders"], other["train_senders"])
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(tmp_path))
    stored = materialize("ogbg-tiny", lambda: first)
    for name in first:
        np.testing.assert_array_equal(stored[name], first[name])
        assert stored[name].dtype == first[name].dtype


def test_graphs_are_molecule_like_and_labels_are_their_substructures():
    data = ogbg.generate(TINY, 0)
    for g in range(TINY.num_train):
        n, m = data["train_num_nodes"][g], data["train_num_edges"][g]
        senders, receivers = data["train_senders"][g, :m], data["train_receivers"][g, :m]
        assert senders.max() < n and receivers.max() < n
        assert np.all(np.bincount(senders, minlength=n) <= 4)  # valence
        # Every bond is stored both ways and the graph is connected (a tree plus rings).
        edges = set(zip(senders.tolist(), receivers.tolist(), strict=True))
        assert all((r, s) in edges for s, r in edges)
        assert m // 2 >= n - 1
        assert np.all(data["train_node_features"][g, n:] == 0)
    atoms = np.array([0, 0, 0, 2])  # a triangle of carbons, one carrying an oxygen
    bonds = np.array([[0, 1], [1, 2], [0, 2], [0, 3]])
    labels = ogbg.substructure_labels(atoms, bonds, np.array([0, 0, 0, 1]))
    # ring, triangle, N-O, branching C, C=O, two S, C with two O, Cl next to a branch
    np.testing.assert_array_equal(labels, [1, 1, 0, 1, 1, 0, 0, 0])


def test_batches_are_pure_in_seed_and_step(workload):
    batch = workload.batch(3, 17)
    again = workload.batch(3, 17)
    assert set(batch) == set(ogbg.GRAPH_ARRAYS)
    for name in batch:
        np.testing.assert_array_equal(batch[name], again[name])
    b, v, e = workload.batch_size, workload.config.max_nodes, workload.config.max_edges
    assert batch["node_features"].shape == (b, v, ogbg.NODE_FEATURES)
    assert batch["senders"].shape == (b, e)
    assert batch["labels"].shape == (b, ogbg.NUM_TASKS)
    assert not np.array_equal(workload.batch(3, 18)["senders"], batch["senders"])


# --- model -------------------------------------------------------------------------------


def test_padding_does_not_change_the_predictions(workload, initial):
    """The same graphs padded to more nodes and edges give the same logits."""
    params, _ = initial
    batch = {k: v[:8] for k, v in workload.batch(0, 0).items()}
    wider = dict(batch)
    for name, extra in (
        ("node_features", 5),
        ("edge_features", 7),
        ("senders", 7),
        ("receivers", 7),
    ):
        pad = [(0, 0), (0, extra)] + [(0, 0)] * (batch[name].ndim - 2)
        wider[name] = np.pad(batch[name], pad)
    model = workload.model()

    @jax.jit
    def logits(graphs):
        return model.apply({"params": params}, ogbg.flatten_graphs(graphs))

    out, out_wider = logits(batch), logits(wider)
    np.testing.assert_allclose(out, out_wider, rtol=1e-4, atol=1e-5)


def test_evaluate_reports_every_metric(workload, initial):
    metrics = workload.evaluate(*initial)
    assert set(metrics) == set(get_workload("ogbg").metrics)
    assert 0 < metrics["map"] < 1
    assert metrics["loss"] == pytest.approx(np.log(2), abs=0.2)


def test_training_lowers_the_loss(workload, initial):
    loss_fn = jax.jit(workload.loss, static_argnames="dropout")
    batches = [workload.batch(1, i) for i in range(4)]  # another data order: held out

    def loss(params):
        return np.mean(
            [
                float(
                    loss_fn(params, {}, b, jax.random.key(1), dropout=0.0, label_smoothing=0.0)[0]
                )
                for b in batches
            ]
        )

    params, _ = initial
    tx = optax.nadamw(3e-3)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, opt_state, batch):
        grads = jax.grad(
            lambda p: loss_fn(p, {}, batch, jax.random.key(1), dropout=0.0, label_smoothing=0.0)[0]
        )(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    before = loss(params)
    for i in range(30):
        params, opt_state = step(params, opt_state, workload.batch(0, i))
    assert loss(params) < before - 0.05


def test_gelu_variant_dropout_and_label_smoothing(workload, initial):
    held_out = load_workload("ogbg", "mini", "gelu")
    params, _ = initial  # same parameter tree: only the activation differs
    batch = workload.batch(0, 0)
    base_loss = jax.jit(workload.loss, static_argnames="dropout")
    gelu_loss = jax.jit(held_out.loss, static_argnames="dropout")

    def loss(fn, dropout=0.0, smoothing=0.0):
        return float(
            fn(params, {}, batch, jax.random.key(1), dropout=dropout, label_smoothing=smoothing)[0]
        )

    base = loss(base_loss)
    assert np.isfinite(loss(gelu_loss))
    assert loss(gelu_loss) != base
    assert loss(base_loss, smoothing=0.2) != base
    assert loss(base_loss, dropout=0.3) != base


def test_label_smoothing_is_algoperfs_towards_one_over_the_task_count():
    """AlgoPerf's OGBG loss smooths with ``optax.smooth_labels`` over the task axis: a label
    y becomes (1 - s) y + s / num_tasks (not s / 2), worked here by hand in NumPy."""
    logits = np.array([[2.0, -1.0, 0.5, 0.0], [-3.0, 1.0, 0.0, 4.0]], np.float32)
    labels = np.array([[1.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 1.0]], np.float32)
    mask = np.array([[1, 1, 1, 0], [1, 1, 0, 1]], bool)
    s = 0.2
    target = (1 - s) * labels + s / 4
    log_p, log_not_p = -np.log1p(np.exp(-logits)), -np.log1p(np.exp(logits))
    expected = -(target * log_p + (1 - target) * log_not_p)
    total, count = ogbg.masked_sigmoid_cross_entropy(logits, labels, mask, s)
    np.testing.assert_allclose(float(total), expected[mask].sum(), rtol=1e-5)
    assert float(count) == mask.sum()


def test_full_size_is_algoperf_gnn():
    model = ogbg.OgbgWorkload(
        info=get_workload("ogbg"),
        size="full",
        variant="base",
        data={},
        config=ogbg.CONFIGS["full"],
    ).model()
    assert (model.latent_dim, model.hidden_dims, model.message_passing_steps) == (256, (256,), 5)
    assert model.num_outputs == 128


@pytest.mark.parametrize("problem", ["none", "not_a_directory", "missing_array"])
def test_bad_full_data_fails_before_training_naming_the_path(tmp_path, problem):
    path = tmp_path / "ogbg"
    if problem == "not_a_directory":
        path.write_text("not zarr")
    if problem == "missing_array":
        path.mkdir()
    with pytest.raises(DataError) as error:
        load_workload("ogbg", "full", data=None if problem == "none" else str(path))
    message = str(error.value)
    assert "train_senders: zarr int32 [N, N]" in message
    assert "train_labels: zarr float32 [N, 128]" in message
    if problem != "none":
        assert str(path) in message

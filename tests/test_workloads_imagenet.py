"""The mini imagenet_resnet and imagenet_vit workloads: procedural images, ResNet and ViT."""

from __future__ import annotations

import attrs
import jax
import numpy as np
import optax
import pytest

from hpbench.data.cache import materialize, write_arrays
from hpbench.workloads import imagenet
from hpbench.workloads.registry import get_workload, load_workload
from hpbench.workloads.userdata import DataError

TINY = attrs.evolve(imagenet.DATA["mini"], num_train=64, num_valid=32)
NAMES = ("imagenet_resnet", "imagenet_vit")


@pytest.fixture(scope="module", params=NAMES)
def workload(request):
    return load_workload(request.param, "mini")


@pytest.fixture(scope="module")
def initial(workload):
    """Initial (params, model_state), built once: initialisation compiles many small ops."""
    return workload.init(jax.random.key(0))


def test_generation_is_deterministic_and_read_back_through_tensorstore(tmp_path, monkeypatch):
    first, again, other = (imagenet.generate(TINY, s) for s in (0, 0, 1))
    for name in first:
        np.testing.assert_array_equal(first[name], again[name])
    assert not np.array_equal(first["train_images"], other["train_images"])
    assert first["train_images"].shape == (64, 16, 16, 3)
    assert first["train_images"].dtype == np.uint8
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(tmp_path))
    stored = materialize("imagenet-tiny", lambda: first)
    for name in first:
        np.testing.assert_array_equal(stored[name], first[name])


def test_each_class_draws_its_own_shape():
    """Noise-free images of one class agree more with each other than with other classes."""
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    images = imagenet.render_images(rng, labels, 16, noise=0.0).astype(np.float32)
    # Foreground masks (pixels differing from the corner colour) per class.
    masks = np.any(np.abs(images - images[:, :1, :1]) > 30, axis=-1).reshape(10, 20, -1)
    centroids = masks.mean(1)
    nearest = np.argmin(((masks[:, :, None] - centroids[None, None]) ** 2).sum(-1), axis=-1)
    assert (nearest == np.arange(10)[:, None]).mean() > 0.5  # chance is 0.1


def test_vit_shapes_are_brighter_so_class_means_differ():
    """imagenet_vit's data (revision 1) draws every shape brighter than its background;
    with the polarity at random per channel (imagenet_resnet's data) the class means of
    the images agree, so no linear patch feature separates the classes (why the mini ViT
    stalled at chance at learning rates >= 3e-3: benchmarks/workloads.md)."""
    labels = np.repeat(np.arange(10), 300)
    spreads = {}
    for brighter in (False, True):
        rng = np.random.default_rng(0)
        images = imagenet.render_images(rng, labels, 16, 0.0, brighter).astype(np.float32)
        images = images.reshape(10, 300, -1)
        means = images.mean(1)
        noise_floor = images.std(1).mean() / np.sqrt(300)  # spread of means from sampling
        spreads[brighter] = (means - means.mean(0)).std() / noise_floor
    assert spreads[False] < 1.5 < 3 < spreads[True]
    vit, resnet = (load_workload(n, "mini").batch(0, 0)["images"] for n in NAMES[::-1])
    assert not np.array_equal(vit, resnet)


def test_batches_are_pure_in_seed_and_step(workload):
    batch = workload.batch(3, 17)
    np.testing.assert_array_equal(batch["images"], workload.batch(3, 17)["images"])
    np.testing.assert_array_equal(batch["labels"], workload.batch(3, 17)["labels"])
    assert batch["images"].shape == (workload.batch_size, 16, 16, 3)
    assert batch["labels"].shape == (workload.batch_size,)
    assert not np.array_equal(workload.batch(3, 18)["images"], batch["images"])


def test_evaluate_reports_every_metric_at_chance_before_training(workload, initial):
    metrics = workload.evaluate(*initial)
    assert set(metrics) == set(get_workload(workload.info.name).metrics)
    assert metrics["loss"] == pytest.approx(np.log(10), abs=0.3)
    assert 0.7 < metrics["error_rate"] <= 1


def test_training_lowers_the_loss(workload, initial):
    """A few dozen NAdamW steps on one batch fit it: gradients reach every layer.

    The learning rate is 1e-2: at 3e-3 the batch-normalised ResNet needs about 50 steps to
    lose 0.3 nats, which made the 30-step check sit on its edge.
    """
    loss_fn = jax.jit(workload.loss, static_argnames="dropout")
    batch = workload.batch(0, 0)
    params, model_state = initial
    tx = optax.nadamw(1e-2)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, model_state, opt_state):
        (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            params, model_state, batch, jax.random.key(1), dropout=0.0, label_smoothing=0.0
        )
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), model_state, opt_state, loss

    losses = []
    for _ in range(30):
        params, model_state, opt_state, loss = step(params, model_state, opt_state)
        losses.append(float(loss))
    assert losses[-1] < losses[0] - 0.3


def test_resnet_batch_norm_statistics_are_model_state(workload, initial):
    if workload.info.name != "imagenet_resnet":
        params, model_state = initial
        assert model_state == {}
        return
    params, model_state = initial
    assert set(model_state) == {"batch_stats"}
    _, new_state = jax.jit(workload.loss, static_argnames="dropout")(
        params,
        model_state,
        workload.batch(0, 0),
        jax.random.key(1),
        dropout=0.0,
        label_smoothing=0.1,
    )
    changed = jax.tree.map(lambda a, b: bool(np.any(a != b)), model_state, new_state)
    assert all(jax.tree.leaves(changed))


@pytest.mark.parametrize(
    ("name", "variant"), [("imagenet_resnet", "silu"), ("imagenet_vit", "post_ln")]
)
def test_variants_build_and_differ_from_base(name, variant):
    base, held_out = load_workload(name, "mini"), load_workload(name, "mini", variant)
    images = imagenet.normalize(base.batch(0, 0)["images"])

    def logits(workload):
        params, model_state = workload.init(jax.random.key(0))
        if "head" in params:  # the ViT head starts at zero: make the features visible
            params = {**params, "head": {**params["head"], "kernel": params["head"]["kernel"] + 1}}
        apply = jax.jit(workload.model().apply)
        return np.asarray(apply({"params": params, **model_state}, images)), params

    out, params = logits(held_out)
    base_out, base_params = logits(base)
    assert np.all(np.isfinite(out))
    assert not np.allclose(out, base_out, atol=1e-4)
    if variant == "post_ln":  # Post-LN has no final encoder LayerNorm
        assert "encoder_layernorm" in base_params
        assert "encoder_layernorm" not in params


def test_vit_dropout_and_label_smoothing_change_the_loss():
    workload = load_workload("imagenet_vit", "mini")
    params, model_state = workload.init(jax.random.key(0))
    head = params["head"]["kernel"]  # zero at init, which would hide dropout
    params = {
        **params,
        "head": {**params["head"], "kernel": jax.random.normal(jax.random.key(3), head.shape)},
    }
    loss_fn = jax.jit(workload.loss, static_argnames="dropout")
    batch = workload.batch(0, 0)

    def loss(dropout, smoothing):
        return float(
            loss_fn(
                params,
                model_state,
                batch,
                jax.random.key(1),
                dropout=dropout,
                label_smoothing=smoothing,
            )[0]
        )

    assert loss(0.3, 0.0) != loss(0.0, 0.0)
    assert loss(0.0, 0.2) != loss(0.0, 0.0)


def test_full_sizes_are_algoperf_resnet50_and_vit_s16():
    def count(model):
        shapes = jax.eval_shape(model.init, jax.random.key(0), np.zeros((1, 224, 224, 3)))
        return sum(leaf.size for leaf in jax.tree.leaves(shapes["params"]))

    assert count(imagenet.resnet_model("full", 1000, "base")) == 25_557_032  # torchvision's
    vit = imagenet.vit_model("full", 1000, "base", 0.0)
    assert (vit.patch_size, vit.width, vit.depth, vit.num_heads, vit.mlp_dim) == (
        16,
        384,
        12,
        6,
        1536,
    )
    # timm's ViT-S/16 has 22,050,664 parameters; AlgoPerf's has no class token (384) and fixed
    # sine-cosine positions (197 * 384 learned in timm), but a 384x384 tanh pre-logits layer.
    assert count(vit) == 22_050_664 - 384 - 197 * 384 + 384 * 384 + 384


@pytest.mark.parametrize("problem", ["missing", "wrong_dtype"])
def test_bad_full_data_fails_before_training_naming_the_path(tmp_path, problem):
    path = tmp_path / "imagenet"
    if problem == "wrong_dtype":
        write_arrays(
            path,
            {
                "train_images": np.zeros((2, 224, 224, 3), np.float32),  # uint8 expected
                "train_labels": np.zeros(2, np.int32),
                "valid_images": np.zeros((2, 224, 224, 3), np.uint8),
                "valid_labels": np.zeros(2, np.int32),
            },
        )
    with pytest.raises(DataError) as error:
        load_workload("imagenet_vit", "full", data=str(path))
    message = str(error.value)
    assert str(path) in message
    assert "train_images: zarr uint8 [N, 224, 224, 3]" in message
    if problem == "wrong_dtype":
        assert "float32" in message.splitlines()[0]

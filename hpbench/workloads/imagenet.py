"""``imagenet_resnet`` and ``imagenet_vit``: image classification with a ResNet or a ViT.

The mini and small sizes classify procedurally drawn images (a class is a shape or a
texture; position, size, rotation, colours and pixel noise are random), so no download is
needed. imagenet_vit's shapes are always brighter than their background: with the polarity
drawn at random, no linear patch feature tells the classes apart and the mini ViT stays at
chance at learning rates >= 3e-3 (benchmarks/workloads.md, imagenet_vit). ``full`` is
AlgoPerf's ResNet-50 / ViT-S/16 on AlgoPerf's TFDS ImageNet, streamed with its
augmentation (hpbench.data.imagenet_tfds), or on user-supplied 224x224 zarr arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.data.cache import materialize
from hpbench.workloads.base import (
    Batch,
    WorkloadBase,
    array_batches,
    eval_batches,
    eval_sharding,
    train_batch,
)
from hpbench.workloads.data_variant import Labels
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import ArrayLayout, num_rows, open_user_arrays

DATA_VERSION = 2
NUM_SHAPES = 10  # procedural classes: the drawing functions of ``_shape_masks``
MEAN_RGB = (0.485, 0.456, 0.406)  # ImageNet channel statistics, as AlgoPerf normalises
STDDEV_RGB = (0.229, 0.224, 0.225)


@attrs.frozen
class DataConfig:
    image_size: int
    num_classes: int
    num_train: int
    num_valid: int
    noise: float = 0.1
    #: The shape brighter than its background in every channel; otherwise brighter or
    #: darker at random per channel (imagenet_resnet's data, version 2).
    shape_brighter: bool = False


DATA = {
    "mini": DataConfig(image_size=16, num_classes=10, num_train=32768, num_valid=2048),
    "small": DataConfig(image_size=32, num_classes=10, num_train=32768, num_valid=4096),
    "full": DataConfig(image_size=224, num_classes=1000, num_train=0, num_valid=0),
}


def full_layout(image_size: int = 224) -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` ImageNet dataset provides (see docs/data.md)."""
    image = (None, image_size, image_size, 3)
    return (
        ArrayLayout("train_images", image, "uint8", "RGB, resized and cropped"),
        ArrayLayout("train_labels", (None,), "int32", "class in [0, 1000)"),
        ArrayLayout("valid_images", image, "uint8", "RGB, resized and centre-cropped"),
        ArrayLayout("valid_labels", (None,), "int32", "class in [0, 1000)"),
    )


# --- procedural images -------------------------------------------------------------------


def _shape_masks(u: np.ndarray, v: np.ndarray, freq: np.ndarray) -> np.ndarray:
    """Boolean masks of the ten classes at shape coordinates (u, v): (10, n, H, W)."""
    r = np.hypot(u, v)
    box = np.maximum(np.abs(u), np.abs(v))
    return np.stack(
        [
            r < 0.9,  # disc
            (r > 0.55) & (r < 1.0),  # ring
            box < 0.8,  # filled square
            (box > 0.5) & (box < 0.9),  # square outline
            ((np.abs(u) < 0.3) | (np.abs(v) < 0.3)) & (box < 1.0),  # plus
            (np.abs(np.abs(u) - np.abs(v)) < 0.3) & (box < 1.0),  # diagonal cross
            (np.sin(v * freq) > 0) & (r < 1.3),  # horizontal stripes
            (np.sin(u * freq) > 0) & (r < 1.3),  # vertical stripes
            (np.sin(u * freq) * np.sin(v * freq) > 0) & (r < 1.3),  # checkerboard
            (v > -0.8) & (v < 0.8) & (np.abs(u) < (v + 0.8) * 0.6),  # triangle
        ]
    )


def placed_masks(rng: np.random.Generator, labels: np.ndarray, size: int) -> np.ndarray:
    """(n, size, size, 1) masks of the shapes of classes ``labels``, each shifted, scaled,
    rotated and textured by its own draws from ``rng`` (drawn before any colour)."""
    n = len(labels)
    coords = (np.arange(size) + 0.5) / size * 2 - 1
    yy, xx = np.meshgrid(coords, coords, indexing="ij")
    cx, cy = (rng.uniform(-0.3, 0.3, (2, n))[..., None, None]).astype(np.float32)
    scale = rng.uniform(0.55, 0.85, n)[:, None, None]
    angle = rng.uniform(-0.5, 0.5, n)[:, None, None]
    freq = rng.uniform(5.0, 7.0, n)[:, None, None]
    u = ((xx - cx) * np.cos(angle) + (yy - cy) * np.sin(angle)) / scale
    v = (-(xx - cx) * np.sin(angle) + (yy - cy) * np.cos(angle)) / scale
    return _shape_masks(u, v, freq)[labels, np.arange(n)][..., None]


def render_images(
    rng: np.random.Generator,
    labels: np.ndarray,
    size: int,
    noise: float,
    shape_brighter: bool = False,
) -> np.ndarray:
    """Images of the classes ``labels`` (< 10) as uint8 (n, size, size, 3), random otherwise."""
    n = len(labels)
    mask = placed_masks(rng, labels, size)
    if shape_brighter:
        background = rng.uniform(0, 0.4, (n, 1, 1, 3))
        foreground = background + rng.uniform(0.35, 0.6, (n, 1, 1, 3))
    else:
        background = rng.uniform(0, 1, (n, 1, 1, 3))
        sign = rng.choice([-1.0, 1.0], (n, 1, 1, 3))
        foreground = np.clip(background + sign * rng.uniform(0.35, 0.7, (n, 1, 1, 3)), 0, 1)
    image = background + (foreground - background) * mask
    image = image + rng.normal(0, noise, image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def generate(config: DataConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Train and validation splits of procedural images with balanced random labels."""
    if config.num_classes > NUM_SHAPES:
        raise ValueError(f"procedural images have {NUM_SHAPES} classes, not {config.num_classes}")
    rng = np.random.default_rng([seed, config.image_size])

    def split(count: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, config.num_classes, count).astype(np.int32)
        images = render_images(rng, labels, config.image_size, config.noise, config.shape_brighter)
        return images, labels

    train_images, train_labels = split(config.num_train)
    valid_images, valid_labels = split(config.num_valid)
    return {
        "train_images": train_images,
        "train_labels": train_labels,
        "valid_images": valid_images,
        "valid_labels": valid_labels,
    }


def normalize(images: np.ndarray | jax.Array) -> jax.Array:
    """uint8 RGB to float32 with ImageNet mean and standard deviation removed."""
    x = jnp.asarray(images, jnp.float32) / 255.0
    return (x - jnp.asarray(MEAN_RGB)) / jnp.asarray(STDDEV_RGB)


# --- ResNet ------------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual (ResNet-18/34 block)."""

    filters: int
    conv: Callable
    norm: Callable
    act: Callable
    strides: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.act(self.norm()(self.conv(self.filters, (3, 3), self.strides)(x)))
        y = self.norm(scale_init=nn.initializers.zeros)(self.conv(self.filters, (3, 3))(y))
        if x.shape != y.shape:
            x = self.norm(name="BatchNorm_proj")(
                self.conv(self.filters, (1, 1), self.strides, name="Conv_proj")(x)
            )
        return self.act(x + y)


class BottleneckBlock(nn.Module):
    """1x1 - 3x3 - 1x1 convolutions with a 4x wider residual (ResNet-50 block)."""

    filters: int
    conv: Callable
    norm: Callable
    act: Callable
    strides: int = 1

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        y = self.act(self.norm()(self.conv(self.filters, (1, 1))(x)))
        y = self.act(self.norm()(self.conv(self.filters, (3, 3), self.strides)(y)))
        y = self.norm(scale_init=nn.initializers.zeros)(self.conv(self.filters * 4, (1, 1))(y))
        if x.shape != y.shape:
            x = self.norm(name="BatchNorm_proj")(
                self.conv(self.filters * 4, (1, 1), self.strides, name="Conv_proj")(x)
            )
        return self.act(x + y)


class ResNet(nn.Module):
    """ResNet v1 with BatchNorm (AlgoPerf's, after the Flax example), stem size adjustable."""

    num_classes: int
    stage_sizes: tuple[int, ...]
    num_filters: int
    bottleneck: bool = False
    imagenet_stem: bool = False  # 7x7/2 convolution + 3x3/2 max-pool (224px inputs)
    activation: str = "relu"

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        act = {"relu": nn.relu, "silu": nn.silu}[self.activation]
        conv = functools.partial(nn.Conv, use_bias=False)
        norm = functools.partial(
            nn.BatchNorm, use_running_average=not train, momentum=0.9, epsilon=1e-5
        )
        if self.imagenet_stem:
            x = conv(self.num_filters, (7, 7), 2, padding=[(3, 3), (3, 3)], name="Conv_init")(x)
        else:
            x = conv(self.num_filters, (3, 3), name="Conv_init")(x)
        x = act(norm(name="BatchNorm_init")(x))
        if self.imagenet_stem:
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding=((1, 1), (1, 1)))
        block = BottleneckBlock if self.bottleneck else BasicBlock
        for i, size in enumerate(self.stage_sizes):
            for j in range(size):
                strides = 2 if i > 0 and j == 0 else 1
                x = block(self.num_filters * 2**i, conv, norm, act, strides)(x)
        x = jnp.mean(x, axis=(1, 2))
        return nn.Dense(self.num_classes, kernel_init=nn.initializers.normal())(x)


# --- ViT ---------------------------------------------------------------------------------


def posemb_sincos_2d(h: int, w: int, width: int, temperature: float = 10_000.0) -> jax.Array:
    """Fixed 2-D sine-cosine position embedding (MoCo v3, as in big_vision): (1, h*w, width)."""
    y, x = jnp.mgrid[:h, :w]
    omega = 1.0 / temperature ** (jnp.arange(width // 4) / (width // 4 - 1))
    y = jnp.einsum("m,d->md", y.flatten(), omega)
    x = jnp.einsum("m,d->md", x.flatten(), omega)
    return jnp.concatenate([jnp.sin(x), jnp.cos(x), jnp.sin(y), jnp.cos(y)], axis=1)[None]


class MlpBlock(nn.Module):
    mlp_dim: int
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        inits = {
            "kernel_init": nn.initializers.xavier_uniform(),
            "bias_init": nn.initializers.normal(stddev=1e-6),
        }
        y = nn.gelu(nn.Dense(self.mlp_dim, **inits)(x))
        y = nn.Dropout(self.dropout, deterministic=not train)(y)
        return nn.Dense(x.shape[-1], **inits)(y)


class EncoderBlock(nn.Module):
    """Self-attention + MLP, each residual; LayerNorm before (default) or after (Post-LN)."""

    mlp_dim: int
    num_heads: int
    post_ln: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        attention = nn.MultiHeadDotProductAttention(
            num_heads=self.num_heads, kernel_init=nn.initializers.xavier_uniform()
        )
        drop = nn.Dropout(self.dropout, deterministic=not train)
        mlp = MlpBlock(self.mlp_dim, self.dropout)
        if self.post_ln:
            x = nn.LayerNorm()(x + drop(attention(x)))
            return nn.LayerNorm()(x + drop(mlp(x, train)))
        y = nn.LayerNorm()(x)
        x = x + drop(attention(y))
        return x + drop(mlp(nn.LayerNorm()(x), train))


class ViT(nn.Module):
    """AlgoPerf's ViT: patch embedding, sincos positions, encoder, mean pool, tanh pre-logits.

    The patch embedding is a Dense layer on flattened patches, the same map as a
    convolution with kernel = stride = patch size, but fast on CPU.
    """

    num_classes: int
    patch_size: int
    width: int
    depth: int
    mlp_dim: int
    num_heads: int
    post_ln: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        n, h, w, c = x.shape
        p = self.patch_size
        patches = x.reshape(n, h // p, p, w // p, p, c).transpose(0, 1, 3, 2, 4, 5)
        x = nn.Dense(self.width, name="patch_embedding")(patches.reshape(n, -1, p * p * c))
        x = x + posemb_sincos_2d(h // p, w // p, self.width)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        for i in range(self.depth):
            x = EncoderBlock(
                self.mlp_dim, self.num_heads, self.post_ln, self.dropout, name=f"block_{i}"
            )(x, train)
        if not self.post_ln:
            x = nn.LayerNorm(name="encoder_layernorm")(x)
        x = jnp.tanh(nn.Dense(self.width, name="pre_logits")(jnp.mean(x, axis=1)))
        return nn.Dense(self.num_classes, kernel_init=nn.initializers.zeros, name="head")(x)


def resnet_model(size: str, num_classes: int, variant: str, width: int = 1) -> ResNet:
    """mini: 2 basic stages of 8, 16 filters; small: ResNet-18 at 16 filters; full: ResNet-50.
    ``width`` multiplies the filters (the stem's and every stage's); the blocks stay."""
    activation = "silu" if variant == "silu" else "relu"
    if size == "full":
        return ResNet(
            num_classes,
            (3, 4, 6, 3),
            64 * width,
            bottleneck=True,
            imagenet_stem=True,
            activation=activation,
        )
    stages, filters = {"mini": ((1, 1), 8), "small": ((2, 2, 2, 2), 16)}[size]
    return ResNet(num_classes, stages, filters * width, activation=activation)


def vit_model(size: str, num_classes: int, variant: str, dropout: float, width: int = 1) -> ViT:
    """mini: 2 blocks of width 64 on 4x4 patches; small: 4 blocks of 128; full: ViT-S/16.
    ``width`` multiplies the model width and the MLP width; patches, blocks and heads stay."""
    patch, features, depth, mlp_dim, heads = {
        "mini": (4, 64, 2, 128, 4),
        "small": (4, 128, 4, 256, 4),
        "full": (16, 384, 12, 1536, 6),
    }[size]
    return ViT(
        num_classes,
        patch,
        features * width,
        depth,
        mlp_dim * width,
        heads,
        variant == "post_ln",
        dropout,
    )


# --- the workload ------------------------------------------------------------------------


@attrs.frozen
class ImageWorkload(WorkloadBase):
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    config: DataConfig
    eval_batch_size: int = 1024
    #: hpbench.data.imagenet_tfds.ImageNetReader of AlgoPerf's TFDS shards, streamed
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)
    #: The model's feature widths times this (:func:`resnet_model`, :func:`vit_model`).
    width: int = 1

    @property
    def class_labels(self) -> Labels:
        return Labels(self.config.num_classes)

    @property
    def is_resnet(self) -> bool:
        return self.info.name == "imagenet_resnet"

    def model(self, dropout: float = 0.0) -> nn.Module:
        if self.is_resnet:
            return resnet_model(self.size, self.config.num_classes, self.variant, self.width)
        return vit_model(self.size, self.config.num_classes, self.variant, dropout, self.width)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        shape = (1, self.config.image_size, self.config.image_size, 3)
        variables = self.model().init(rng, jnp.zeros(shape))
        return variables["params"], {k: v for k, v in variables.items() if k != "params"}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        model = self.model(dropout)
        logits, new_state = model.apply(
            {"params": params, **model_state},
            normalize(batch["images"]),
            train=True,
            rngs={"dropout": rng},
            mutable=list(model_state),
        )
        labels = jax.nn.one_hot(batch["labels"], self.config.num_classes)
        if "mix_weights" in batch:  # mixup (ViT on AlgoPerf's data): mix the one-hot targets
            weights = batch["mix_weights"][:, None]
            mixed = jax.nn.one_hot(batch["mix_labels"], self.config.num_classes)
            labels = weights * labels + (1 - weights) * mixed
        labels = optax.smooth_labels(labels, label_smoothing)
        return optax.softmax_cross_entropy(logits, labels).mean(), {**model_state, **new_state}

    def batch(self, seed: int, step: int) -> Batch:
        return train_batch(self, seed, step, ("images", "labels"))

    def _valid_batches(self) -> tuple[int, Any]:
        """The validation size and its batches (``images``, ``labels``), in order."""
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = len(self.reader.valid)
            batches = valid_batches(self.reader, total, self.eval_batch_size, eval_sharding())
            return total, batches
        total = num_rows(self.data["valid_labels"])
        names = ("images", "labels")
        return total, array_batches(self.data, "valid", names, total, self.eval_batch_size)

    def evaluate(self, params, model_state) -> dict[str, float]:
        model = self.model()
        total, batches = self._valid_batches()
        loss_sum = errors = 0.0
        for batch in eval_batches(batches):
            batch_loss, batch_errors = _evaluate_batch(
                model, params, model_state, batch["images"], batch["labels"]
            )
            loss_sum += float(batch_loss)
            errors += float(batch_errors)
        return {"error_rate": errors / total, "loss": loss_sum / total}


@jax.jit(static_argnums=0)
def _evaluate_batch(model: nn.Module, params, model_state, images, labels):
    logits = model.apply({"params": params, **model_state}, normalize(images), train=False)
    losses = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    return losses.sum(), jnp.sum(jnp.argmax(logits, -1) != labels)


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> ImageWorkload:
    """``full`` reads AlgoPerf's TFDS ``imagenet2012`` (streamed; ViT adds RandAugment and
    mixup, as AlgoPerf's ViT) or zarr arrays, by what ``data`` (or
    ``$HPBENCH_DATA_DIR/imagenet``) holds; smaller sizes generate. ``width`` multiplies the
    model's features (:func:`resnet_model`, :func:`vit_model`)."""
    from hpbench.data.formats import data_root

    config = DATA[size]
    reader = None
    if size != "full":
        if info.name == "imagenet_vit":
            config = attrs.evolve(config, shape_brighter=True)
        polarity = "-brighter" if config.shape_brighter else ""
        key = f"imagenet-{size}{polarity}-v{DATA_VERSION}"
        arrays = materialize(key, functools.partial(generate, config))
    elif (root := data_root(data, "imagenet")) is not None and _is_tfds(root):
        from hpbench.data.imagenet_tfds import ImageNetReader

        vit = info.name == "imagenet_vit"
        from hpbench.data.cache import cache_dir

        index = cache_dir() / "imagenet-record-index"
        reader = ImageNetReader.open(root, info.batch_size[size], vit=vit, cache=index)
        arrays = {}
    else:
        path = data if root is None else str(root)
        arrays = open_user_arrays(path, full_layout(config.image_size), info.name)
    return ImageWorkload(
        info=info,
        size=size,
        variant=variant,
        data=arrays,
        config=config,
        reader=reader,
        width=width,
    )


def _is_tfds(root) -> bool:
    """Whether ``root`` holds AlgoPerf's TFDS ImageNet; then the reader's extra is needed."""
    from hpbench.data.imagenet_tfds import is_imagenet_dir

    if not is_imagenet_dir(root):
        return False
    for module in ("grain", "PIL", "simplejpeg"):
        try:
            __import__(module)
        except ImportError as error:
            raise ImportError(
                f"reading AlgoPerf's ImageNet needs {module}: pip install 'hpbench[algoperf-data]'"
            ) from error
    return True

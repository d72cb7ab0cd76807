"""``fastmri``: MRI reconstruction from undersampled k-space with AlgoPerf's U-Net.

Mini data are random phantoms (ellipses on a textured body) whose k-space is undersampled
by a random column mask (4x acceleration, 8% fully sampled centre, as fastMRI); the input
is the zero-filled magnitude image. Inputs and targets are normalised by the input's mean
and standard deviation (AlgoPerf's preprocessing); the loss is L1 and the metric the SSIM
of the de-normalised reconstruction against the target, with the target's maximum as the
data range. ``full`` reads AlgoPerf's h5 volumes (hpbench.data.fastmri_h5) or zarr arrays.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from hpbench.data.cache import materialize
from hpbench.workloads import metrics
from hpbench.workloads.base import (
    Batch,
    WorkloadBase,
    array_batches,
    eval_batches,
    eval_sharding,
    train_batch,
)
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import ArrayLayout, num_rows, open_user_arrays

DATA_VERSION = 1
EVAL_KEYS = ("inputs", "targets", "mean", "std", "volume_max")
CENTER_FRACTION = 0.08
ACCELERATION = 4


@attrs.frozen
class Config:
    image_size: int
    channels: int  # of the first U-Net block, doubled at each pooling
    pool_layers: int
    num_train: int = 0  # generated sizes only
    num_valid: int = 0
    eval_batch_size: int = 256

    def widened(self, width: int) -> Config:
        """This model with ``width`` times its channels (every block's, as ``channels``
        sets them); the pooling layers, image size and data stay."""
        return attrs.evolve(self, channels=self.channels * width)


CONFIGS = {
    "mini": Config(image_size=32, channels=8, pool_layers=2, num_train=2048, num_valid=256),
    "small": Config(image_size=64, channels=16, pool_layers=3, num_train=4096, num_valid=256),
    # AlgoPerf: 320x320 single-coil knee slices, 32 channels, 4 pooling layers.
    "full": Config(image_size=320, channels=32, pool_layers=4, eval_batch_size=32),
}


def full_layout(image_size: int = 320) -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` fastMRI dataset provides (see docs/data.md)."""
    image = (None, image_size, image_size)
    return (
        ArrayLayout("train_inputs", image, "float32", "normalised zero-filled magnitude"),
        ArrayLayout("train_targets", image, "float32", "normalised target magnitude"),
        ArrayLayout("valid_inputs", image, "float32", "normalised zero-filled magnitude"),
        ArrayLayout("valid_targets", image, "float32", "normalised target magnitude"),
        ArrayLayout("valid_mean", (None,), "float32", "normalisation mean per slice"),
        ArrayLayout("valid_std", (None,), "float32", "normalisation std per slice"),
        ArrayLayout("valid_volume_max", (None,), "float32", "max of the target volume"),
    )


# --- phantoms and k-space --------------------------------------------------------------


def phantoms(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """(count, size, size) images: a textured elliptical body with 6 inner ellipses."""
    coords = np.linspace(-1, 1, size, dtype=np.float64)
    y, x = coords[None, :, None], coords[None, None, :]

    def ellipse(cx, cy, ax, ay, angle):
        c, s = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
        dx, dy = x - cx[:, None, None], y - cy[:, None, None]
        u, v = (c * dx + s * dy) / ax[:, None, None], (-s * dx + c * dy) / ay[:, None, None]
        return (u**2 + v**2 <= 1).astype(np.float64)

    def uniform(low, high):
        return rng.uniform(low, high, count)

    body = ellipse(uniform(-0.1, 0.1), uniform(-0.1, 0.1), uniform(0.6, 0.9),
                   uniform(0.6, 0.9), uniform(0, np.pi))  # fmt: skip
    images = body.copy()
    for _ in range(6):
        inner = ellipse(uniform(-0.5, 0.5), uniform(-0.5, 0.5), uniform(0.05, 0.35),
                        uniform(0.05, 0.35), uniform(0, np.pi))  # fmt: skip
        images += uniform(-0.5, 0.6)[:, None, None] * inner * body
    freqs = np.arange(1, 4)
    texture = np.zeros_like(images)
    for fy in freqs:
        for fx in freqs:
            amp, phase = uniform(0, 0.08 / (fx * fy)), uniform(0, 2 * np.pi)
            texture += amp[:, None, None] * np.cos(np.pi * (fx * x + fy * y) + phase[:, None, None])
    return np.clip(images * (1 + texture), 0, None)


def column_masks(rng: np.random.Generator, count: int, size: int) -> np.ndarray:
    """(count, size) random k-space column masks: a fully sampled centre, 1/4 of all lines."""
    num_low = max(2, round(size * CENTER_FRACTION))
    prob = (size / ACCELERATION - num_low) / (size - num_low)
    masks = rng.uniform(size=(count, size)) < prob
    start = (size - num_low + 1) // 2
    masks[:, start : start + num_low] = True
    return np.fft.ifftshift(masks, axes=-1)  # centre columns to the low frequencies


def zero_filled(images: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The magnitude of the inverse FFT of the masked k-space."""
    kspace = np.fft.fft2(images) * masks[:, None, :]
    return np.abs(np.fft.ifft2(kspace))


def generate(config: Config, seed: int = 0) -> dict[str, np.ndarray]:
    """Train and validation splits, normalised as AlgoPerf does (by the input's statistics)."""
    rng = np.random.default_rng(seed)
    out = {}
    for split, count in (("train", config.num_train), ("valid", config.num_valid)):
        targets = phantoms(rng, count, config.image_size)
        inputs = zero_filled(targets, column_masks(rng, count, config.image_size))
        mean = inputs.mean(axis=(1, 2), keepdims=True)
        std = inputs.std(axis=(1, 2), keepdims=True) + 1e-6
        out[f"{split}_inputs"] = np.clip((inputs - mean) / std, -6, 6).astype(np.float32)
        out[f"{split}_targets"] = np.clip((targets - mean) / std, -6, 6).astype(np.float32)
        if split == "valid":
            out["valid_mean"] = mean.reshape(-1).astype(np.float32)
            out["valid_std"] = std.reshape(-1).astype(np.float32)
            out["valid_volume_max"] = targets.max(axis=(1, 2)).astype(np.float32)
    return out


# --- the U-Net (AlgoPerf's, flax.linen) --------------------------------------------------


def _instance_norm(x: jax.Array, epsilon: float = 1e-5) -> jax.Array:
    mean = jnp.mean(x, axis=(1, 2), keepdims=True)
    var = jnp.maximum(0.0, jnp.mean(jnp.square(x), axis=(1, 2), keepdims=True) - mean**2)
    return (x - mean) / jnp.sqrt(var + epsilon)


def _activation(use_tanh: bool):
    return jnp.tanh if use_tanh else functools.partial(jax.nn.leaky_relu, negative_slope=0.2)


class ConvBlock(nn.Module):
    """Two 3x3 convolutions, each normalised (instance or layer norm), activated, dropped."""

    features: int
    dropout: float = 0.0
    use_layer_norm: bool = False
    use_tanh: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool) -> jax.Array:
        for _ in range(2):
            x = nn.Conv(self.features, (3, 3), use_bias=False)(x)
            x = (
                nn.LayerNorm(reduction_axes=(1, 2, 3))(x)
                if self.use_layer_norm
                else _instance_norm(x)
            )
            x = _activation(self.use_tanh)(x)
            # Dropout2d: one mask per channel, as the reference implementation
            x = nn.Dropout(self.dropout, broadcast_dims=(1, 2), deterministic=not train)(x)
        return x


class TransposeConvBlock(nn.Module):
    """2x up-sampling by a transposed convolution, instance norm and activation."""

    features: int
    use_tanh: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.ConvTranspose(self.features, (2, 2), strides=(2, 2), use_bias=False)(x)
        return _activation(self.use_tanh)(_instance_norm(x))


class UNet(nn.Module):
    """U-Net (Ronneberger et al. 2015) as in AlgoPerf's fastMRI workload; (N, H, W) -> (N, H, W)."""

    channels: int = 32
    pool_layers: int = 4
    dropout: float = 0.0
    use_layer_norm: bool = False
    use_tanh: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        block = functools.partial(
            ConvBlock,
            dropout=self.dropout,
            use_layer_norm=self.use_layer_norm,
            use_tanh=self.use_tanh,
        )
        skips = []
        x = x[..., None]
        features = self.channels
        for _ in range(self.pool_layers):
            x = block(features)(x, train)
            skips.append(x)
            x = nn.avg_pool(x, (2, 2), strides=(2, 2))
            features *= 2
        x = block(features)(x, train)
        for _ in range(self.pool_layers):
            features //= 2
            x = TransposeConvBlock(features, use_tanh=self.use_tanh)(x)
            x = jnp.concatenate([x, skips.pop()], axis=-1)
            x = block(features)(x, train)
        return nn.Conv(1, (1, 1))(x)[..., 0]


# --- the workload --------------------------------------------------------------------------


@attrs.frozen
class FastMRIWorkload(WorkloadBase):
    config: Config
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    #: hpbench.data.fastmri_h5.FastMRIReader of AlgoPerf's h5 volumes, streamed
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)

    def model(self, dropout: float = 0.0) -> UNet:
        return UNet(
            channels=self.config.channels,
            pool_layers=self.config.pool_layers,
            dropout=dropout,
            use_layer_norm=self.variant == "layernorm",
        )

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        size = self.config.image_size
        params = self.model().init(rng, jnp.zeros((1, size, size)))["params"]
        return params, {}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        del label_smoothing  # a regression loss has no labels to smooth
        outputs = self.model(dropout).apply(
            {"params": params}, batch["inputs"], train=True, rngs={"dropout": rng}
        )
        return jnp.mean(jnp.abs(outputs - batch["targets"])), model_state

    def batch(self, seed: int, step: int) -> Batch:
        return train_batch(self, seed, step, ("inputs", "targets"))

    def _valid_batches(self) -> tuple[int, Any]:
        """The validation size and its batches (dicts of ``EVAL_KEYS``), in order."""
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = self.reader.valid.num_slices
            batches = valid_batches(
                self.reader, total, self.config.eval_batch_size, eval_sharding()
            )
            return total, batches
        total = num_rows(self.data["valid_inputs"])
        size = self.config.eval_batch_size
        return total, array_batches(self.data, "valid", EVAL_KEYS, total, size)

    def evaluate(self, params, model_state) -> dict[str, float]:
        total, batches = self._valid_batches()
        loss_sum = ssim_sum = 0.0
        for batch in eval_batches(batches):
            arrays = [batch[key] for key in EVAL_KEYS]
            batch_loss, batch_ssim = _evaluate_batch(self.model(), params, *arrays)
            loss_sum += float(batch_loss)
            ssim_sum += float(batch_ssim)
        return {"ssim": ssim_sum / total, "loss": loss_sum / total}


@jax.jit(static_argnums=0)
def _evaluate_batch(model: UNet, params, inputs, targets, mean, std, volume_max):
    outputs = model.apply({"params": params}, inputs)
    losses = jnp.mean(jnp.abs(outputs - targets), axis=(1, 2))
    scale, shift = std[:, None, None], mean[:, None, None]
    ssims = metrics.ssim(outputs * scale + shift, targets * scale + shift, volume_max)
    return losses.sum(), ssims.sum()


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> FastMRIWorkload:
    """``full`` reads AlgoPerf's h5 volumes (streamed) or zarr arrays, by what ``data`` (or
    ``$HPBENCH_DATA_DIR/fastmri``) holds (hpbench.data.formats); smaller sizes generate.
    ``width`` multiplies the model's channels (:meth:`Config.widened`)."""
    from hpbench.data.formats import data_root, detect, require_extra

    config = CONFIGS[size]
    reader = None
    if size != "full":
        arrays = materialize(f"fastmri-{size}-v{DATA_VERSION}", functools.partial(generate, config))
    elif detect(root := data_root(data, "fastmri")) == "fastmri_h5":
        require_extra()
        from hpbench.data.fastmri_h5 import FastMRIReader

        arrays, reader = {}, FastMRIReader.open(root, info.batch_size[size])
    else:
        path = data if root is None else str(root)
        arrays = open_user_arrays(path, full_layout(config.image_size), info.name)
    return FastMRIWorkload(
        info=info,
        size=size,
        variant=variant,
        config=config.widened(width),
        data=arrays,
        reader=reader,
    )

"""``criteo``: click-through prediction with DLRM-small, scored by binary cross-entropy.

The mini and small sizes learn click logs drawn from a hidden model: 13 log-transformed
count features and 26 hashed categorical features whose values have their own effects and
pairwise (factorisation-machine) interactions. ``full`` is AlgoPerf's DLRM-small on
Criteo 1TB: AlgoPerf's day files (hpbench.data.criteo_tsv) or user-supplied arrays.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
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

DATA_VERSION = 1
NUM_DENSE = 13
NUM_CATEGORICAL = 26


@attrs.frozen
class Config:
    """Data and model sizes of one workload size."""

    num_train: int
    num_valid: int
    max_cardinality: int  # distinct raw values of the widest categorical feature
    vocab_size: int  # rows of the single hashed embedding table
    embed_dim: int
    bottom: tuple[int, ...]  # bottom MLP widths; the last equals embed_dim
    top: tuple[int, ...]  # top MLP widths; the last is 1 (the logit)

    def widened(self, width: int) -> Config:
        """This model with ``width`` times its features (the embedding and every MLP width
        but the logit's); the data, vocabulary and layers stay."""
        return attrs.evolve(
            self,
            embed_dim=self.embed_dim * width,
            bottom=tuple(features * width for features in self.bottom),
            top=(*(features * width for features in self.top[:-1]), self.top[-1]),
        )


CONFIGS = {
    "mini": Config(131072, 16384, 200, 4096, 8, (32, 16, 8), (64, 32, 1)),
    "small": Config(1048576, 131072, 5000, 65536, 32, (128, 64, 32), (256, 128, 64, 1)),
    "full": Config(0, 0, 0, 4194304, 128, (512, 256, 128), (1024, 1024, 512, 256, 1)),
}


def full_layout() -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` Criteo dataset provides (see docs/data.md)."""
    layouts = []
    for split in ("train", "valid"):
        layouts += [
            ArrayLayout(f"{split}_dense", (None, NUM_DENSE), "float32", "log(1 + count)"),
            ArrayLayout(
                f"{split}_categorical", (None, NUM_CATEGORICAL), "int32", "hashed ids >= 0"
            ),
            ArrayLayout(f"{split}_labels", (None,), "float32", "click: 0 or 1"),
        ]
    return tuple(layouts)


# --- synthetic click logs ----------------------------------------------------------------


def generate(config: Config, seed: int = 0) -> dict[str, np.ndarray]:
    """Click logs sampled from a hidden logistic model with feature interactions.

    Each categorical feature has a Zipf-distributed raw value, a main effect per value and a
    4-d factor per value (pairwise interactions as in a factorisation machine); dense
    features enter through a small random tanh network. Raw values are hashed into
    ``vocab_size`` ids (with collisions, as in Criteo). Also stores each example's true
    click probability of the validation split, whose entropy is the Bayes-optimal loss.
    """
    rng = np.random.default_rng([seed, config.num_train])
    cardinality = np.geomspace(3, config.max_cardinality, NUM_CATEGORICAL).astype(int)
    effect_scale = rng.uniform(0.0, 0.8, NUM_CATEGORICAL)
    effects = [rng.normal(0, s, c) for s, c in zip(effect_scale, cardinality, strict=True)]
    factors = [rng.normal(0, 0.2, (c, 4)) for c in cardinality]
    offsets = np.concatenate([[0], np.cumsum(cardinality)[:-1]])
    w1 = rng.normal(0, 0.6, (NUM_DENSE, 16))
    w2 = rng.normal(0, 0.5, 16)
    count_rate = rng.uniform(0.5, 50, NUM_DENSE)

    def split(count: int) -> dict[str, np.ndarray]:
        ranks = np.arange(1, cardinality.max() + 1)
        raw = np.empty((count, NUM_CATEGORICAL), np.int64)
        logit = np.full(count, -1.6)
        factor_sum = np.zeros((count, 4))
        factor_square = np.zeros(count)
        for f, c in enumerate(cardinality):
            p = 1.0 / ranks[:c] ** 1.1
            raw[:, f] = rng.choice(c, count, p=p / p.sum())
            logit += effects[f][raw[:, f]]
            factor_sum += factors[f][raw[:, f]]
            factor_square += np.sum(factors[f][raw[:, f]] ** 2, axis=1)
        logit += 0.5 * (np.sum(factor_sum**2, axis=1) - factor_square)  # sum_{f<g} <v_f, v_g>
        dense = np.log1p(rng.exponential(count_rate, (count, NUM_DENSE)))
        logit += np.tanh((dense - dense.mean(0)) @ w1) @ w2
        prob = 1 / (1 + np.exp(-logit))
        hashed = (raw + offsets) * 2654435761 % config.vocab_size
        return {
            "dense": dense.astype(np.float32),
            "categorical": hashed.astype(np.int32),
            "labels": (rng.random(count) < prob).astype(np.float32),
            "probs": prob.astype(np.float32),
        }

    arrays = {}
    for name, count in (("train", config.num_train), ("valid", config.num_valid)):
        arrays |= {f"{name}_{key}": value for key, value in split(count).items()}
    del arrays["train_probs"]
    return arrays


def bayes_cross_entropy(probs: np.ndarray) -> float:
    """Expected cross-entropy of the true click probabilities: the best reachable value."""
    p = np.clip(probs.astype(np.float64), 1e-12, 1 - 1e-12)
    return float(np.mean(-p * np.log(p) - (1 - p) * np.log1p(-p)))


# --- DLRM-small --------------------------------------------------------------------------


def dot_interact(features: jax.Array) -> jax.Array:
    """Upper triangle (with diagonal) of the pairwise dot products of (B, F, D) features."""
    products = jnp.einsum("bfd,bgd->bfg", features, features)
    rows, cols = np.triu_indices(features.shape[1])
    return products[:, rows, cols]


class DLRMSmall(nn.Module):
    """AlgoPerf's DLRM-small: bottom MLP, one hashed embedding table, dot interaction, top MLP."""

    vocab_size: int
    embed_dim: int
    bottom: Sequence[int]
    top: Sequence[int]
    layer_norm: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, dense: jax.Array, categorical: jax.Array, train: bool = False):
        x = dense
        for width in self.bottom:
            x = nn.Dense(
                width,
                kernel_init=nn.initializers.glorot_uniform(),
                bias_init=nn.initializers.normal(stddev=1.0 / np.sqrt(width)),
            )(x)
            x = nn.relu(x)
            if self.layer_norm:
                x = nn.LayerNorm()(x)
        scale = 1 / np.sqrt(self.vocab_size)
        table = self.param(
            "embedding_table",
            lambda key, shape: jax.random.uniform(key, shape) * scale,
            (self.vocab_size, self.embed_dim),
        )
        embedded = table[categorical % self.vocab_size]
        if self.layer_norm:
            embedded = nn.LayerNorm()(embedded)
        stack = jnp.concatenate([x[:, None, :], embedded], axis=1)
        y = jnp.concatenate([x, dot_interact(stack)], axis=-1)
        for i, width in enumerate(self.top):
            fan_in = y.shape[-1]
            y = nn.Dense(
                width,
                kernel_init=nn.initializers.normal(stddev=np.sqrt(2.0 / (fan_in + width))),
                bias_init=nn.initializers.normal(stddev=np.sqrt(1.0 / width)),
            )(y)
            if i < len(self.top) - 1:
                y = nn.relu(y)
                if self.layer_norm:
                    y = nn.LayerNorm()(y)
            if i == len(self.top) - 2:
                y = nn.Dropout(self.dropout, deterministic=not train)(y)
        return y[:, 0]


# --- the workload ------------------------------------------------------------------------


@attrs.frozen
class CriteoWorkload(WorkloadBase):
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    config: Config
    eval_batch_size: int = 16384
    #: hpbench.data.criteo_tsv.CriteoReader of AlgoPerf's day_* TSV files, streamed
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)
    #: The table (4,194,304 x 128 at full size, 2 GiB, plus optimizer state) is split by
    #: rows over the data axis; AlgoPerf replicates it (one copy fits its accelerators).
    row_sharded = ("embedding_table",)

    @property
    def class_labels(self) -> Labels:
        """Clicks (0 or 1); the validation split's true click probabilities follow the noise."""
        return Labels(2, probs="probs")

    def model(self, dropout: float = 0.0) -> DLRMSmall:
        c = self.config
        return DLRMSmall(
            c.vocab_size, c.embed_dim, c.bottom, c.top, self.variant == "layernorm", dropout
        )

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        dense = jnp.zeros((1, NUM_DENSE))
        categorical = jnp.zeros((1, NUM_CATEGORICAL), jnp.int32)
        return self.model().init(rng, dense, categorical)["params"], {}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        del label_smoothing  # AlgoPerf's Criteo loss ignores it (its loss_fn deletes it)
        logits = self.model(dropout).apply(
            {"params": params},
            batch["dense"],
            batch["categorical"],
            train=True,
            rngs={"dropout": rng},
        )
        return optax.sigmoid_binary_cross_entropy(logits, batch["labels"]).mean(), model_state

    def batch(self, seed: int, step: int) -> Batch:
        return train_batch(self, seed, step, ("dense", "categorical", "labels"))

    def evaluate(self, params, model_state) -> dict[str, float]:
        model = self.model()
        names = ("dense", "categorical", "labels")
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = self.reader.num_valid
            batches = valid_batches(self.reader, total, self.eval_batch_size, eval_sharding())
        else:
            total = num_rows(self.data["valid_labels"])
            batches = array_batches(self.data, "valid", names, total, self.eval_batch_size)
        loss_sum = 0.0
        for batch in eval_batches(batches):
            loss_sum += float(_summed_loss(model, params, batch))
        return {"cross_entropy": loss_sum / total}


@jax.jit(static_argnums=0)
def _summed_loss(model: DLRMSmall, params, batch: Batch):
    logits = model.apply({"params": params}, batch["dense"], batch["categorical"])
    return optax.sigmoid_binary_cross_entropy(logits, batch["labels"]).sum()


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> CriteoWorkload:
    """``full`` reads AlgoPerf's day_* TSV files (streamed) or zarr arrays, by what ``data``
    (or ``$HPBENCH_DATA_DIR/criteo1tb``) holds (hpbench.data.formats); smaller sizes generate.
    ``width`` multiplies the model's features (:meth:`Config.widened`)."""
    from hpbench.data.cache import cache_dir
    from hpbench.data.formats import data_root, detect, require_extra

    config = CONFIGS[size]
    reader = None
    if size != "full":
        arrays = materialize(f"criteo-{size}-v{DATA_VERSION}", functools.partial(generate, config))
    elif detect(root := data_root(data, "criteo1tb")) == "criteo_tsv":
        require_extra()
        from hpbench.data.criteo_tsv import CriteoReader

        index_cache = cache_dir() / "criteo-line-index"
        arrays, reader = {}, CriteoReader.open(root, info.batch_size[size], index_cache)
    else:
        path = data if root is None else str(root)
        arrays = open_user_arrays(path, full_layout(), info.name)
    return CriteoWorkload(
        info=info,
        size=size,
        variant=variant,
        data=arrays,
        config=config.widened(width),
        reader=reader,
    )

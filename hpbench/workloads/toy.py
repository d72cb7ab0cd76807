"""``toy_mlp``: Gaussian-blob classification with a two-layer MLP.

Trains in seconds; used to check algorithms and the engine end to end. It is also the
smallest complete example of the workload interface (:mod:`hpbench.workloads.base`).
"""

from __future__ import annotations

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.data.cache import materialize
from hpbench.data.order import host_batch_indices
from hpbench.workloads.base import Batch, WorkloadBase, eval_batches
from hpbench.workloads.data_variant import Labels
from hpbench.workloads.registry import WorkloadInfo

NUM_CLASSES = 4
NUM_FEATURES = 8
NUM_TRAIN = 2048
NUM_VALID = 512
DATA_VERSION = 2  # 2: arrays named train_* and valid_*, as the other workloads'


def generate(seed: int = 0) -> dict[str, np.ndarray]:
    """Four overlapping Gaussian blobs in 8 dimensions (a non-trivial but learnable task)."""
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(NUM_CLASSES, NUM_FEATURES)) * 1.5

    def split(n: int) -> tuple[np.ndarray, np.ndarray]:
        labels = rng.integers(0, NUM_CLASSES, size=n)
        features = centers[labels] + rng.normal(size=(n, NUM_FEATURES))
        return features.astype(np.float32), labels.astype(np.int32)

    x_train, y_train = split(NUM_TRAIN)
    x_valid, y_valid = split(NUM_VALID)
    return {
        "train_x": x_train,
        "train_labels": y_train,
        "valid_x": x_valid,
        "valid_labels": y_valid,
    }


class MLP(nn.Module):
    hidden: int = 32
    activation: str = "relu"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
        act = {"relu": nn.relu, "tanh": jnp.tanh}[self.activation]
        x = act(nn.Dense(self.hidden)(x))
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return nn.Dense(NUM_CLASSES)(x)


@attrs.frozen
class ToyWorkload(WorkloadBase):
    data: dict[str, np.ndarray]

    @property
    def class_labels(self) -> Labels:
        return Labels(NUM_CLASSES)

    def model(self, dropout: float = 0.0) -> MLP:
        return MLP(activation="tanh" if self.variant == "tanh" else "relu", dropout=dropout)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        params = self.model().init(rng, jnp.zeros((1, NUM_FEATURES)))["params"]
        return params, {}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        logits = self.model(dropout).apply(
            {"params": params}, batch["x"], train=True, rngs={"dropout": rng}
        )
        labels = optax.smooth_labels(jax.nn.one_hot(batch["y"], NUM_CLASSES), label_smoothing)
        return optax.softmax_cross_entropy(logits, labels).mean(), model_state

    def batch(self, seed: int, step: int) -> Batch:
        rows = len(self.data["train_labels"])
        idx = host_batch_indices(seed, step, rows, self.batch_size)
        return {"x": self.data["train_x"][idx], "y": self.data["train_labels"][idx]}

    def evaluate(self, params, model_state) -> dict[str, float]:
        valid = {"x": self.data["valid_x"], "y": self.data["valid_labels"]}
        loss = errors = 0.0
        for batch in eval_batches([valid]):
            batch_loss, batch_errors = _evaluate(self.model(), params, batch["x"], batch["y"])
            loss += float(batch_loss)
            errors += float(batch_errors)
        total = len(valid["y"])
        return {"loss": loss / total, "error_rate": errors / total}


@jax.jit(static_argnums=0)
def _evaluate(model: MLP, params, x, y):
    """Summed loss and error count (sums: batches split over devices add up exactly)."""
    logits = model.apply({"params": params}, x)
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).sum()
    return loss, jnp.sum(jnp.argmax(logits, -1) != y)


def build(info: WorkloadInfo, size: str, variant: str, data: str | None) -> ToyWorkload:
    arrays = materialize(f"toy_mlp-v{DATA_VERSION}", generate)
    return ToyWorkload(info=info, size=size, variant=variant, data=arrays)

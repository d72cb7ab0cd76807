"""``ogbg``: multi-label property prediction on molecule-like graphs with a graph network.

The mini and small sizes draw random molecule-like graphs (atoms of six types on a random
tree of valence at most 4, closed into rings by extra bonds, bond types single, double or
aromatic) whose labels say which substructures occur, with some label noise and some
missing labels. ``full`` is AlgoPerf's GNN on AlgoPerf's TFDS ogbg_molpcba (streamed,
packed by its node/edge budgets) or on user-supplied ogbg-molpcba arrays. Generated and
zarr graphs are padded one by one to a fixed node and edge count, so that every batch has
one shape under jit.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.data.cache import cache_dir, materialize
from hpbench.data.graph_packing import Budget, pack, stack_shards
from hpbench.data.order import host_batch_indices
from hpbench.workloads.base import (
    Batch,
    WorkloadBase,
    array_batches,
    eval_batches,
    eval_sharding,
    gathered,
)
from hpbench.workloads.data_variant import Labels
from hpbench.workloads.metrics import mean_average_precision
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import (
    ArrayLayout,
    DataError,
    num_rows,
    open_user_arrays,
    take,
    take_split,
)

DATA_VERSION = 1
NUM_ATOM_TYPES = 6  # C, N, O, S, Cl, F in spirit; index 0 is the most common
NODE_FEATURES = 9  # as ogbg-molpcba: here a one-hot atom type and three uninformative values
EDGE_FEATURES = 3  # one-hot bond type
NUM_TASKS = 8
GRAPH_ARRAYS = (
    "node_features",
    "edge_features",
    "senders",
    "receivers",
    "num_nodes",
    "num_edges",
    "labels",
    "label_mask",
)


@attrs.frozen
class Config:
    """Data and model sizes of one workload size."""

    num_train: int
    num_valid: int
    max_nodes: int  # per graph, padded
    latent_dim: int
    hidden_dims: tuple[int, ...]
    message_passing_steps: int
    num_outputs: int = NUM_TASKS

    @property
    def max_edges(self) -> int:  # directed: a tree plus up to 3 ring bonds, both ways
        return 2 * (self.max_nodes + 2)

    def widened(self, width: int) -> Config:
        """This model with ``width`` times its features (the latent embedding and the MLPs'
        hidden widths); the message-passing steps, outputs and data stay."""
        return attrs.evolve(
            self,
            latent_dim=self.latent_dim * width,
            hidden_dims=tuple(features * width for features in self.hidden_dims),
        )


CONFIGS = {
    "mini": Config(8192, 2048, 16, 32, (32,), 3),
    "small": Config(32768, 4096, 24, 128, (128,), 5),
    "full": Config(0, 0, 0, 256, (256,), 5, num_outputs=128),
}


def full_layout() -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` ogbg-molpcba dataset provides (see docs/data.md).

    Graphs are padded per graph: V (max nodes) and E (max directed edges) are free sizes.
    """
    layouts = []
    for split in ("train", "valid"):
        layouts += [
            ArrayLayout(
                f"{split}_node_features",
                (None, None, NODE_FEATURES),
                "float32",
                "atom features, padded rows zero",
            ),
            ArrayLayout(
                f"{split}_edge_features",
                (None, None, EDGE_FEATURES),
                "float32",
                "bond features, padded rows zero",
            ),
            ArrayLayout(f"{split}_senders", (None, None), "int32", "node index within graph"),
            ArrayLayout(f"{split}_receivers", (None, None), "int32", "node index within graph"),
            ArrayLayout(f"{split}_num_nodes", (None,), "int32", "real nodes per graph"),
            ArrayLayout(f"{split}_num_edges", (None,), "int32", "real directed edges per graph"),
            ArrayLayout(f"{split}_labels", (None, 128), "float32", "0 or 1"),
            ArrayLayout(f"{split}_label_mask", (None, 128), "bool", "label present"),
        ]
    return tuple(layouts)


# --- molecule-like graphs ----------------------------------------------------------------


def random_molecule(rng: np.random.Generator, max_nodes: int):
    """Atom types, undirected bonds (i, j) and bond types of one random molecule-like graph."""
    n = int(rng.integers(max(4, max_nodes // 3), max_nodes + 1))
    atoms = rng.choice(NUM_ATOM_TYPES, n, p=[0.55, 0.15, 0.15, 0.06, 0.05, 0.04])
    adjacency = np.zeros((n, n), bool)
    for node, u in zip(range(1, n), rng.random(n - 1), strict=True):
        free = np.flatnonzero(adjacency[:node, :node].sum(1) < 4)
        parent = free[int(u * len(free))]
        adjacency[parent, node] = adjacency[node, parent] = True
    for i, j in rng.integers(0, n, (int(rng.integers(0, 3)), 2)):  # ring closures
        degree = adjacency.sum(1)
        if i != j and not adjacency[i, j] and degree[i] < 4 and degree[j] < 4:
            adjacency[i, j] = adjacency[j, i] = True
    bonds = np.argwhere(np.triu(adjacency))
    bond_types = rng.choice(3, len(bonds), p=[0.7, 0.2, 0.1])
    return atoms, bonds, bond_types


def substructure_labels(atoms: np.ndarray, bonds: np.ndarray, bond_types: np.ndarray):
    """Which of the eight substructures occur (the tasks), as 0/1 floats."""
    n = len(atoms)
    adjacency = np.zeros((n, n), int)
    adjacency[bonds[:, 0], bonds[:, 1]] = adjacency[bonds[:, 1], bonds[:, 0]] = 1
    double = np.zeros((n, n), bool)
    double[bonds[bond_types == 1, 0], bonds[bond_types == 1, 1]] = True
    double |= double.T
    degree = adjacency.sum(1)
    carbon, nitrogen, oxygen, sulfur, chlorine = (atoms == t for t in range(5))
    return np.array(
        [
            len(bonds) >= n,  # a ring: connected with more bonds than a tree
            np.trace(np.linalg.matrix_power(adjacency, 3)) > 0,  # a triangle
            adjacency[np.ix_(nitrogen, oxygen)].any(),  # an N-O bond
            np.any(carbon & (degree >= 3)),  # a branching carbon
            double[np.ix_(carbon, oxygen)].any(),  # a carbonyl (C=O)
            np.sum(sulfur) >= 2,  # two sulfurs
            np.any(carbon & (adjacency[:, oxygen].sum(1) >= 2)),  # a carbon with two oxygens
            np.any(chlorine & (adjacency[:, degree >= 3].sum(1) > 0)),  # Cl next to a branch
        ],
        dtype=np.float32,
    )


def generate(config: Config, seed: int = 0) -> dict[str, np.ndarray]:
    """Padded graph arrays and noisy, partly missing substructure labels, per split."""
    rng = np.random.default_rng([seed, config.max_nodes])
    v, e = config.max_nodes, config.max_edges

    def split(count: int) -> dict[str, np.ndarray]:
        out = {
            "node_features": np.zeros((count, v, NODE_FEATURES), np.float32),
            "edge_features": np.zeros((count, e, EDGE_FEATURES), np.float32),
            "senders": np.zeros((count, e), np.int32),
            "receivers": np.zeros((count, e), np.int32),
            "num_nodes": np.zeros(count, np.int32),
            "num_edges": np.zeros(count, np.int32),
            "labels": np.zeros((count, NUM_TASKS), np.float32),
        }
        for g in range(count):
            atoms, bonds, bond_types = random_molecule(rng, v)
            n, m = len(atoms), 2 * len(bonds)
            out["node_features"][g, np.arange(n), atoms] = 1.0
            out["node_features"][g, :n, NUM_ATOM_TYPES:] = rng.normal(size=(n, 3))
            out["senders"][g, :m] = np.r_[bonds[:, 0], bonds[:, 1]]
            out["receivers"][g, :m] = np.r_[bonds[:, 1], bonds[:, 0]]
            out["edge_features"][g, np.arange(m), np.r_[bond_types, bond_types]] = 1.0
            out["num_nodes"][g], out["num_edges"][g] = n, m
            out["labels"][g] = substructure_labels(atoms, bonds, bond_types)
        flip = rng.random(out["labels"].shape) < 0.05
        out["labels"] = np.where(flip, 1 - out["labels"], out["labels"]).astype(np.float32)
        out["label_mask"] = rng.random(out["labels"].shape) > 0.1
        return out

    arrays = {}
    for name, count in (("train", config.num_train), ("valid", config.num_valid)):
        arrays |= {f"{name}_{key}": value for key, value in split(count).items()}
    return arrays


# --- graph network -----------------------------------------------------------------------


@attrs.frozen
class Graphs:
    """A batch of B padded graphs flattened into one graph: static shapes for jit."""

    nodes: jax.Array  # (B*V, node features)
    edges: jax.Array  # (B*E, edge features)
    senders: jax.Array  # (B*E,) global node index
    receivers: jax.Array
    node_mask: jax.Array  # (B*V,) real node
    edge_mask: jax.Array  # (B*E,) real edge
    node_graph: jax.Array  # (B*V,) graph of each node
    edge_graph: jax.Array
    num_graphs: int


def flatten_graphs(batch: Batch) -> Graphs:
    """Merge a batch of padded graphs into one disconnected graph with masks."""
    b, v, _ = batch["node_features"].shape
    e = batch["senders"].shape[1]
    offsets = (jnp.arange(b) * v)[:, None]
    return Graphs(
        nodes=jnp.reshape(batch["node_features"], (b * v, -1)),
        edges=jnp.reshape(batch["edge_features"], (b * e, -1)),
        senders=jnp.reshape(batch["senders"] + offsets, -1),
        receivers=jnp.reshape(batch["receivers"] + offsets, -1),
        node_mask=jnp.reshape(jnp.arange(v) < batch["num_nodes"][:, None], -1),
        edge_mask=jnp.reshape(jnp.arange(e) < batch["num_edges"][:, None], -1),
        node_graph=jnp.repeat(jnp.arange(b), v),
        edge_graph=jnp.repeat(jnp.arange(b), e),
        num_graphs=b,
    )


class MLP(nn.Module):
    """Dense - LayerNorm - activation - dropout per hidden width (AlgoPerf's GNN MLP)."""

    hidden_dims: tuple[int, ...]
    activation: str = "relu"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, *inputs: jax.Array, train: bool) -> jax.Array:
        x = jnp.concatenate(inputs, axis=-1)
        for width in self.hidden_dims:
            x = nn.LayerNorm()(nn.Dense(width)(x))
            x = {"relu": nn.relu, "gelu": nn.gelu}[self.activation](x)
            x = nn.Dropout(self.dropout, deterministic=not train)(x)
        return x


class GNN(nn.Module):
    """AlgoPerf's GNN: embed, then full graph-network blocks (edge, node, global), decode globals.

    Each block is jraph's ``GraphNetwork``: edges see their endpoints and graph; nodes see
    the sums of their sent and received edges; the graph sees the sums of its nodes and
    edges. Padding is masked out of every sum.
    """

    num_outputs: int
    latent_dim: int
    hidden_dims: tuple[int, ...]
    message_passing_steps: int
    activation: str = "relu"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, graphs: Graphs, train: bool = False) -> jax.Array:
        node_mask = graphs.node_mask[:, None].astype(jnp.float32)
        edge_mask = graphs.edge_mask[:, None].astype(jnp.float32)
        nodes = nn.Dense(self.latent_dim, name="node_embedding")(graphs.nodes) * node_mask
        edges = nn.Dense(self.latent_dim, name="edge_embedding")(graphs.edges) * edge_mask
        globals_ = jnp.zeros((graphs.num_graphs, self.num_outputs))
        n, b = nodes.shape[0], graphs.num_graphs
        mlp = functools.partial(MLP, self.hidden_dims, self.activation, self.dropout)
        for _ in range(self.message_passing_steps):
            edges = (
                mlp()(
                    edges,
                    nodes[graphs.senders],
                    nodes[graphs.receivers],
                    globals_[graphs.edge_graph],
                    train=train,
                )
                * edge_mask
            )
            sent = jax.ops.segment_sum(edges, graphs.senders, n)
            received = jax.ops.segment_sum(edges, graphs.receivers, n)
            nodes = mlp()(nodes, sent, received, globals_[graphs.node_graph], train=train)
            nodes = nodes * node_mask
            node_sum = jax.ops.segment_sum(nodes, graphs.node_graph, b)
            edge_sum = jax.ops.segment_sum(edges, graphs.edge_graph, b)
            globals_ = mlp()(node_sum, edge_sum, globals_, train=train)
        return nn.Dense(self.num_outputs, name="decoder")(globals_)


def masked_sigmoid_cross_entropy(logits, labels, mask, label_smoothing=0.0):
    """Summed binary cross-entropy over the labelled entries and their count. Smoothing is
    AlgoPerf's (``optax.smooth_labels`` over the task axis): targets move towards 1/num_tasks,
    not 1/2."""
    targets = optax.smooth_labels(labels, label_smoothing)
    losses = optax.sigmoid_binary_cross_entropy(logits, targets)
    return jnp.sum(losses * mask), jnp.sum(mask)


# --- the workload ------------------------------------------------------------------------


@attrs.frozen
class OgbgWorkload(WorkloadBase):
    data: dict
    config: Config
    eval_batch_size: int = 1024

    @property
    def class_labels(self) -> Labels:
        """One bit per task; only the labels present (``label_mask``) are replaced."""
        return Labels(2, mask="label_mask")

    def model(self, dropout: float = 0.0) -> GNN:
        c = self.config
        activation = "gelu" if self.variant == "gelu" else "relu"
        return GNN(
            c.num_outputs, c.latent_dim, c.hidden_dims, c.message_passing_steps, activation, dropout
        )

    def _rows(self, split: str, rows) -> Batch:
        return take_split(self.data, split, GRAPH_ARRAYS, rows)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        example = self._rows("train", slice(0, 1))
        return self.model().init(rng, self.flatten(example))["params"], {}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        logits = self.model(dropout).apply(
            {"params": params}, self.flatten(batch), train=True, rngs={"dropout": rng}
        )
        labels, mask = graph_targets(batch)
        total, count = masked_sigmoid_cross_entropy(logits, labels, mask, label_smoothing)
        return total / jnp.maximum(count, 1.0), model_state

    @property
    def flatten(self):
        """How a batch becomes one graph: one padded graph per row here."""
        return flatten_graphs

    def batch(self, seed: int, step: int) -> Batch:
        idx = host_batch_indices(seed, step, num_rows(self.data["train_labels"]), self.batch_size)
        return self._rows("train", idx)

    def evaluate(self, params, model_state) -> dict[str, float]:
        model = self.model()
        total = num_rows(self.data["valid_labels"])
        logits, loss_sum, count = [], 0.0, 0.0
        valid = array_batches(self.data, "valid", GRAPH_ARRAYS, total, self.eval_batch_size)
        for batch in eval_batches(valid):
            batch_logits, batch_loss, batch_count = _evaluate_batch(
                model, self.flatten, params, batch
            )
            logits.append(gathered(batch_logits))  # mAP needs every row at once
            loss_sum += float(batch_loss)
            count += float(batch_count)
        labels = take(self.data["valid_labels"], slice(None))
        mask = take(self.data["valid_label_mask"], slice(None))
        mean_ap = mean_average_precision(labels, np.concatenate(logits), mask)
        return {"map": mean_ap, "loss": loss_sum / max(count, 1.0)}


def graph_targets(batch: Batch) -> tuple[jax.Array, jax.Array]:
    """Labels and label mask, one row per graph (slot) of the flattened batch."""
    labels, mask = batch["labels"], batch["label_mask"]
    return jnp.reshape(labels, (-1, labels.shape[-1])), jnp.reshape(mask, (-1, mask.shape[-1]))


@jax.jit(static_argnums=(0, 1))
def _evaluate_batch(model: GNN, flatten, params, batch: Batch):
    logits = model.apply({"params": params}, flatten(batch))
    loss_sum, count = masked_sigmoid_cross_entropy(logits, *graph_targets(batch))
    return logits, loss_sum, count


# --- full size: AlgoPerf's TFDS data, batched by node and edge budgets --------------------


def flatten_packed(batch: Batch) -> Graphs:
    """Merge S packed shards (hpbench.data.graph_packing) into one graph: shard s's indices
    offset by s times its size."""
    s, n, _ = batch["node_features"].shape
    e, g = batch["senders"].shape[1], batch["labels"].shape[1]
    node_offsets, graph_offsets = (jnp.arange(s) * n)[:, None], (jnp.arange(s) * g)[:, None]
    return Graphs(
        nodes=jnp.reshape(batch["node_features"], (s * n, -1)),
        edges=jnp.reshape(batch["edge_features"], (s * e, -1)),
        senders=jnp.reshape(batch["senders"] + node_offsets, -1),
        receivers=jnp.reshape(batch["receivers"] + node_offsets, -1),
        node_mask=jnp.reshape(batch["node_mask"], -1),
        edge_mask=jnp.reshape(batch["edge_mask"], -1),
        node_graph=jnp.reshape(batch["node_graph"] + graph_offsets, -1),
        edge_graph=jnp.reshape(batch["edge_graph"] + graph_offsets, -1),
        num_graphs=s * g,
    )


@attrs.frozen
class OgbgTfdsWorkload(OgbgWorkload):
    """``full`` on AlgoPerf's ogbg_molpcba, streamed: ``reader`` (an
    hpbench.data.ogbg_tfds.OgbgReader) packs each host's shards of a batch in grain's
    workers; evaluation reads each host's shards of the planned validation batches."""

    eval_batch_size: int = 32768  # AlgoPerf's
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def num_shards(self) -> int:
        """Sub-batches per batch (AlgoPerf: one per device), each with its own budget."""
        return math.gcd(self.batch_size, self.reader.devices)

    @property
    def global_rows(self) -> int:
        return self.num_shards

    @property
    def flatten(self):
        return flatten_packed

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        example = stack_shards([pack([], Budget(1))])  # parameter shapes ignore the sizes
        return self.model().init(rng, flatten_packed(example))["params"], {}

    def batch(self, seed: int, step: int) -> Batch:
        from hpbench.data.stream import train_stream

        return train_stream(self.streams, self.reader, self.batch_size).batch(seed, step)

    def evaluate(self, params, model_state) -> dict[str, float]:
        from hpbench.data.stream import valid_batches

        reader = attrs.evolve(
            self.reader, batch_size=self.batch_size, eval_batch_size=self.eval_batch_size
        )
        plan = reader.valid_plan()
        batches = valid_batches(reader, len(plan), reader.num_shards, eval_sharding())
        logits, labels, masks, loss_sum, count = [], [], [], 0.0, 0.0
        for batch in eval_batches(batches):
            batch_logits, batch_loss, batch_count = _evaluate_batch(
                self.model(), flatten_packed, params, batch
            )
            batch = {key: gathered(value) for key, value in batch.items()}  # host bookkeeping
            real = np.zeros(batch["labels"].shape[:2], bool)  # the slots holding a graph
            for shard, graph_ids in enumerate(batch["node_graph"]):
                real[shard, np.unique(graph_ids[batch["node_mask"][shard]])] = True
            real = real.reshape(-1)
            logits.append(gathered(batch_logits)[real])
            labels.append(batch["labels"].reshape(-1, 128)[real])
            masks.append(batch["label_mask"].reshape(-1, 128)[real])
            loss_sum += float(batch_loss)
            count += float(batch_count)
        mean_ap = mean_average_precision(
            np.concatenate(labels), np.concatenate(logits), np.concatenate(masks)
        )
        return {"map": mean_ap, "loss": loss_sum / max(count, 1.0)}


def is_tfds_dir(data: str | Path | None) -> bool:
    """Whether ``data`` holds AlgoPerf's TFDS ogbg_molpcba (else: zarr arrays)."""
    from hpbench.data import ogbg_tfds
    from hpbench.data.tfrecord import TfdsError

    if not data:
        return False
    try:
        ogbg_tfds.dataset_dir(data)
    except TfdsError:
        return False
    return True


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> OgbgWorkload:
    """``full`` streams AlgoPerf's TFDS ogbg_molpcba or reads zarr arrays, by what ``data``
    (or ``$HPBENCH_DATA_DIR/ogbg``) holds; smaller sizes generate. ``width`` multiplies the
    model's features (:meth:`Config.widened`)."""
    from hpbench.data.formats import data_root, require_extra

    config = CONFIGS[size]
    root = data_root(data, "ogbg") if size == "full" else None
    if is_tfds_dir(root):
        require_extra(("grain",))
        from hpbench.data import ogbg_tfds
        from hpbench.data.tfrecord import TfdsError

        index = cache_dir() / "ogbg-record-index"
        batch_size = info.batch_size[size]
        try:
            reader = ogbg_tfds.OgbgReader.open(root, batch_size, jax.device_count(), index)
        except TfdsError as error:
            raise DataError(f"ogbg (size full): {error}") from error
        return OgbgTfdsWorkload(
            info=info,
            size=size,
            variant=variant,
            data={},
            config=config.widened(width),
            reader=reader,
        )
    if size == "full":
        try:
            arrays = open_user_arrays(data if root is None else str(root), full_layout(), info.name)
        except DataError as error:
            raise DataError(
                f"{error}\nOr AlgoPerf's TFDS directory: ogbg_molpcba/0.1.3/dataset_info.json "
                "and its TFRecord shards under the data path."
            ) from error
    else:
        arrays = materialize(f"ogbg-{size}-v{DATA_VERSION}", functools.partial(generate, config))
    return OgbgWorkload(
        info=info, size=size, variant=variant, data=arrays, config=config.widened(width)
    )

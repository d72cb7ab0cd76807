"""AlgoPerf's OGBG batching without jraph: graphs packed into shards of fixed node, edge and
graph budgets, as ``jraph.dynamically_batch`` packs them with the budgets AlgoPerf's
``input_pipeline.py`` sets. Pure NumPy, so grain's worker processes pack without JAX.

A graph is a dict of ogbg_molpcba's TFDS features (``hpbench.data.ogbg_tfds``); a packed
shard is one padded graph whose padding is masked (it never reaches a real graph).
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs
import numpy as np

from hpbench.data.tfrecord import TfdsError

AVG_NODES_PER_GRAPH, AVG_EDGES_PER_GRAPH = 26, 56  # AlgoPerf's input_pipeline budgets
NODE_FEATURES, EDGE_FEATURES, NUM_TASKS = 9, 3, 128

Batch = dict[str, np.ndarray]


@attrs.frozen
class Budget:
    """``jraph.dynamically_batch``'s limits for one shard of ``graphs`` average graphs, as
    AlgoPerf sets them: room for one padding graph and one padding node."""

    graphs: int = attrs.field(validator=attrs.validators.ge(1))

    @property
    def nodes(self) -> int:
        return AVG_NODES_PER_GRAPH * self.graphs + 1

    @property
    def edges(self) -> int:
        return AVG_EDGES_PER_GRAPH * self.graphs

    @property
    def slots(self) -> int:
        return self.graphs + 1

    def fits(self, nodes: int, edges: int, graphs: int) -> bool:
        """Whether real graphs of these totals fit (jraph keeps a padding node and graph)."""
        return nodes <= self.nodes - 1 and edges <= self.edges and graphs <= self.slots - 1


def graph_size(graph: dict) -> tuple[int, int]:
    """Nodes and directed edges (each bond both ways) of a TFDS graph."""
    return int(graph["num_nodes"][0]), 2 * len(graph["edge_index"])


def fitting_prefix(sizes: Sequence[tuple[int, int]] | np.ndarray, budget: Budget) -> int:
    """How many leading graphs of these (nodes, directed edges) ``sizes`` one shard holds:
    jraph closes a shard at the first graph that would overflow it. A graph larger than
    the budget on its own is an error."""
    sizes = np.asarray(sizes, np.int64).reshape(-1, 2)[: budget.graphs + 1]
    totals = np.cumsum(sizes, axis=0)
    over = (totals[:, 0] > budget.nodes - 1) | (totals[:, 1] > budget.edges)
    over |= np.arange(1, len(sizes) + 1) > budget.graphs
    if not over.any():
        return len(sizes)
    first = int(np.argmax(over))
    nodes, edges = (int(x) for x in sizes[first])
    if not budget.fits(nodes, edges, 1):
        raise TfdsError(f"ogbg: a graph of {nodes} nodes, {edges} edges exceeds the batch budget")
    return first


def pack(graphs: Sequence[dict], budget: Budget) -> Batch:
    """One shard: the graphs merged into one padded graph of the budget's fixed sizes.

    Node and edge indices are local to the shard; padding is masked; labels not measured
    (NaN) and padding slots get label mask 0.
    """
    if fitting_prefix([graph_size(g) for g in graphs], budget) < len(graphs):
        raise TfdsError(f"ogbg: {len(graphs)} graphs overflow a shard's budget {budget}")
    n_max, e_max, slots = budget.nodes, budget.edges, budget.slots
    out = {
        "node_features": np.zeros((n_max, NODE_FEATURES), np.float32),
        "edge_features": np.zeros((e_max, EDGE_FEATURES), np.float32),
        "senders": np.full(e_max, n_max - 1, np.int32),
        "receivers": np.full(e_max, n_max - 1, np.int32),
        "node_graph": np.full(n_max, slots - 1, np.int32),
        "edge_graph": np.full(e_max, slots - 1, np.int32),
        "node_mask": np.zeros(n_max, bool),
        "edge_mask": np.zeros(e_max, bool),
        "labels": np.zeros((slots, NUM_TASKS), np.float32),
        "label_mask": np.zeros((slots, NUM_TASKS), bool),
    }
    node = edge = 0
    for slot, graph in enumerate(graphs):
        n, e = graph_size(graph)
        index = graph["edge_index"].astype(np.int32) + node
        nodes, edges = slice(node, node + n), slice(edge, edge + e)
        out["node_features"][nodes] = graph["node_feat"]
        out["edge_features"][edges] = np.concatenate([graph["edge_feat"]] * 2)
        out["senders"][edges] = np.r_[index[:, 0], index[:, 1]]
        out["receivers"][edges] = np.r_[index[:, 1], index[:, 0]]
        out["node_graph"][nodes], out["edge_graph"][edges] = slot, slot
        out["node_mask"][nodes], out["edge_mask"][edges] = True, True
        measured = ~np.isnan(graph["labels"])
        out["labels"][slot] = np.where(measured, graph["labels"], 0.0)
        out["label_mask"][slot] = measured
        node, edge = node + n, edge + e
    return out


def stack_shards(shards: Sequence[Batch]) -> Batch:
    """Shards along a leading axis: the axis the engine splits over the data mesh."""
    return {key: np.stack([shard[key] for shard in shards]) for key in shards[0]}


def sequential_shards(sizes: np.ndarray, budget: Budget, multiple: int = 1) -> np.ndarray:
    """(first, stop) graph ranges of the shards that pack every graph once, in order, as
    ``jraph.dynamically_batch`` packs a stream; empty shards (first == stop) fill the count
    up to a ``multiple``. Evaluation is planned from the graphs' sizes alone, so a host
    reads only the graphs of its own shards."""
    sizes = np.asarray(sizes, np.int64).reshape(-1, 2)
    ranges, start = [], 0
    while start < len(sizes):
        stop = start + fitting_prefix(sizes[start:], budget)
        ranges.append((start, stop))
        start = stop
    ranges += [(len(sizes), len(sizes))] * (-len(ranges) % multiple)
    return np.asarray(ranges, np.int64).reshape(-1, 2)

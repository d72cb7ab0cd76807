"""ogbg_molpcba as AlgoPerf's ``dataset_setup.py`` leaves it (TFDS ``ogbg_molpcba/0.1.3``),
read without TensorFlow (hpbench.data.tfrecord) by random access, and streamed: a host reads
and packs only its shards of each batch (:class:`OgbgReader`, run by hpbench.data.stream).
Also writes that layout (test fixtures, synthetic data in the real format).

A graph is a dict of the TFDS features ``node_feat`` (n, 9) float32, ``edge_feat`` (m, 3)
float32, ``edge_index`` (m, 2) int64 (each bond once), ``labels`` (128,) float32 (NaN: not
measured) and ``num_nodes`` (1,) int64.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import attrs
import numpy as np

from hpbench.data.graph_packing import (
    Budget,
    fitting_prefix,
    graph_size,
    pack,
    sequential_shards,
    stack_shards,
)
from hpbench.data.stream import ONE_HOST, Batch, HostShard
from hpbench.data.tfrecord import (
    SplitRecords,
    TfdsError,
    encode_example,
    parse_example,
    write_split,
)

NAME, VERSION = "ogbg_molpcba", "0.1.3"
#: TFDS split names; AlgoPerf's "validation" is hpbench's "valid".
SPLITS = ("train", "validation", "test")
FEATURES = {  # name: (trailing shape, dtype), as the TFDS builder declares them
    "node_feat": ((9,), np.float32),
    "edge_feat": ((3,), np.float32),
    "edge_index": ((2,), np.int64),
    "labels": ((), np.float32),
    "num_nodes": ((), np.int64),
}


# --- the TFDS directory ---------------------------------------------------------------------


def dataset_dir(path: str | Path) -> Path:
    """The ``ogbg_molpcba/0.1.3`` directory under ``path`` (AlgoPerf's data dir, the
    ``ogbg_molpcba`` folder or the version folder itself)."""
    root = Path(path).expanduser()
    for candidate in (root / NAME / VERSION, root / VERSION, root):
        if (candidate / "dataset_info.json").is_file():
            return candidate
    raise TfdsError(
        f"{str(path)!r}: no {NAME}/{VERSION}/dataset_info.json under it "
        "(the TFDS layout AlgoPerf's dataset_setup.py writes; see docs/data.md)"
    )


def _graph(flat: Mapping[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    graph = {}
    for name, (trailing, dtype) in FEATURES.items():
        if name not in flat:
            raise TfdsError(f"{where}: feature {name!r} missing")
        width = int(np.prod(trailing)) if trailing else 1
        if flat[name].size % width:
            raise TfdsError(f"{where}: feature {name!r} of {flat[name].size} values")
        graph[name] = flat[name].astype(dtype).reshape((-1, *trailing))
    if graph["labels"].shape != (128,) or graph["num_nodes"].shape != (1,):
        raise TfdsError(f"{where}: labels or num_nodes of the wrong size")
    nodes = int(graph["num_nodes"][0])
    index = graph["edge_index"]
    if len(graph["node_feat"]) != nodes or len(graph["edge_feat"]) != len(index):
        raise TfdsError(f"{where}: feature rows disagree with num_nodes / edge_index")
    if index.size and (index.min() < 0 or index.max() >= nodes):
        raise TfdsError(f"{where}: edge_index outside the graph's {nodes} nodes")
    return graph


@attrs.frozen
class GraphSplit(SplitRecords):
    """The graphs of one split, addressed by a global number and read by random access
    (:class:`~hpbench.data.tfrecord.SplitRecords`), so a host reads only its graphs."""

    @classmethod
    def open(cls, path: str | Path, split: str, cache: Path | None = None) -> GraphSplit:
        """Every shard of ``split``, its record count checked against dataset_info.json."""
        return cls.of_split(dataset_dir(path), NAME, split, cache)

    def graph(self, number: int) -> dict[str, np.ndarray]:
        """Graph ``number``'s features, checked for consistency."""
        record, where = self.record(number)
        return _graph(parse_example(record), where)

    def sizes(self) -> np.ndarray:
        """(nodes, directed edges) of every graph, in order (reads the whole split)."""
        return np.asarray([graph_size(self.graph(i)) for i in range(len(self))], np.int64)


@attrs.frozen
class OgbgReader:
    """Batches of AlgoPerf's ogbg_molpcba packed by its node/edge budgets
    (:mod:`hpbench.data.graph_packing`): a global batch of ``batch_size`` graphs is
    ``num_shards`` shards, one per device (``gcd(batch_size, devices)``), of which a host
    packs only its own (``shard``: rows of the shard axis).

    Training batch ``step`` takes positions ``[step B, (step + 1) B)`` of per-epoch
    permutations seeded by (seed, epoch), one slice of B / S per shard; each shard keeps
    the longest prefix of its slice that fits (jraph's rule; the rest is skipped). Evaluation
    packs every validation graph once, in order, into shards of budget
    ``ceil(min(eval_batch_size, n) / S)`` planned from ``valid_sizes`` (read when opened).
    """

    train: GraphSplit
    valid: GraphSplit
    valid_sizes: np.ndarray = attrs.field(eq=False, repr=False)
    batch_size: int = 512
    devices: int = 1
    eval_batch_size: int = 32768  # AlgoPerf's
    shard: HostShard = ONE_HOST

    @classmethod
    def open(cls, path: str | Path, batch_size: int, devices: int, cache: Path | None = None):
        """The TFDS directory under ``path``; record offsets cached under ``cache``."""
        train, valid = (
            GraphSplit.open(path, "train", cache),
            GraphSplit.open(path, "validation", cache),
        )
        return cls(train, valid, valid.sizes(), batch_size, devices)

    @property
    def num_shards(self) -> int:
        """Shards per batch: one per device, as many as divide the batch."""
        return math.gcd(self.batch_size, self.devices)

    def __call__(self, seed: int, step: int) -> Batch:
        """This host's shards of training batch ``step``, stacked."""
        from hpbench.data.order import batch_indices

        shards = self.num_shards
        budget = Budget(self.batch_size // shards)
        numbers = batch_indices(seed, step, len(self.train), self.batch_size)
        first, count = self.shard.rows(shards)
        out = []
        for chunk in np.split(numbers, shards)[first : first + count]:
            graphs = [self.train.graph(int(n)) for n in chunk]
            keep = fitting_prefix([graph_size(g) for g in graphs], budget)
            out.append(pack(graphs[:keep], budget))
        return stack_shards(out)

    def valid_budget(self) -> Budget:
        """One evaluation shard's budget: AlgoPerf's evaluation batch (at most the split)
        over the shards."""
        graphs = min(self.eval_batch_size, len(self.valid))
        return Budget(max(1, math.ceil(graphs / self.num_shards)))

    def valid_plan(self) -> np.ndarray:
        """(first, stop) validation graphs of every evaluation shard, a multiple of
        ``num_shards`` of them (``num_shards`` per evaluation batch)."""
        return sequential_shards(self.valid_sizes, self.valid_budget(), self.num_shards)

    def valid_batch(self, rows: slice) -> Batch:
        """Evaluation shards ``rows`` of :meth:`valid_plan`, packed and stacked."""
        budget, plan = self.valid_budget(), self.valid_plan()
        return stack_shards(
            [
                pack([self.valid.graph(n) for n in range(*plan[k])], budget)
                for k in range(rows.start, rows.stop)
            ]
        )


def write_dataset(path: str | Path, splits: Mapping[str, list], num_shards: int = 2) -> Path:
    """Write graphs (dicts of the features above) in the TFDS layout; returns the version dir."""
    root = Path(path) / NAME / VERSION
    root.mkdir(parents=True, exist_ok=True)
    split_infos = [
        write_split(root, NAME, split, graphs, lambda g, i, j: encode_example(g), num_shards)
        for split, graphs in splits.items()
    ]
    info = {"name": NAME, "version": VERSION, "fileFormat": "tfrecord", "splits": split_infos}
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2))
    features = {
        name: {"shape": [None, *trailing] if name != "labels" else [128], "dtype": dtype.__name__}
        for name, (trailing, dtype) in FEATURES.items()
    }
    (root / "features.json").write_text(json.dumps({"features": features}, indent=2))
    return root

"""ogbg_molpcba as AlgoPerf's ``dataset_setup.py`` leaves it (TFDS ``ogbg_molpcba/0.1.3``),
read without TensorFlow (hpbench.data.tfrecord). Also writes that layout (test fixtures,
synthetic data in the real format).

Each split is a source of graphs: ``len(source)`` and ``source[i]`` give a dict of the
TFDS features ``node_feat`` (n, 9) float32, ``edge_feat`` (m, 3) float32, ``edge_index``
(m, 2) int64 (each bond once), ``labels`` (128,) float32 (NaN: not measured) and
``num_nodes`` (1,) int64.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from hpbench.data.tfrecord import (
    TfdsError,
    check_count,
    encode_example,
    parse_example,
    read_records,
    split_shards,
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


def read_split(path: str | Path, split: str) -> list[dict[str, np.ndarray]]:
    """Every graph of ``split`` in file order; shard counts checked against dataset_info."""
    root = dataset_dir(path)
    graphs = []
    for shard, expected in split_shards(root, NAME, split):
        count = 0
        for count, record in enumerate(read_records(shard), 1):
            graphs.append(_graph(parse_example(record), f"{shard} record {count}"))
        check_count(shard, count, expected)
    return graphs


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

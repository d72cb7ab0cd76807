"""OGBG input-pipeline throughput (graphs/s per CPU core) of AlgoPerf's ogbg_molpcba reader.

Writes synthetic molecules of ogbg_molpcba's mean size (26 atoms, ~27 bonds; its 9 node and
3 edge integer features, 128 labels ~40% missing) into real TFDS ogbg_molpcba TFRecord
shards, then times, per CPU-second of this process (so a loaded machine's share does not
enter): a host's training batches (random-access read, CRC check, Example decode and
packing into AlgoPerf's node/edge budgets, batch 512 as 8 shards), evaluation shards, and
the opening scans (record offsets, the validation graphs' sizes); and training through 2
grain worker processes, by the wall clock. From the per-core rate it prints the host cores
an 8-accelerator host needs at AlgoPerf's batch of 512. Needs the algoperf-data extra.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import parser

BATCH, DEVICES = 512, 8  # AlgoPerf's batch on an 8-accelerator host: 8 shards of 64 graphs
GRAPHS = 4096
#: AlgoPerf's pace: 240,000 steps (its step hint) in 12,011 s (hpbench.workloads.registry).
PACE = 240_000 / 12_011


def molecule(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """A molecule-like graph of ogbg_molpcba's mean size with its features' value ranges."""
    from hpbench.workloads.ogbg import random_molecule

    atoms, bonds, bond_types = random_molecule(rng, 40)  # 13-40 atoms: 26.5 on average
    n = len(atoms)
    labels = (rng.random(128) < 0.1).astype(np.float32)
    labels[rng.random(128) < 0.4] = np.nan
    return {
        "node_feat": np.c_[atoms, rng.integers(0, 5, (n, 8))].astype(np.float32),
        "edge_feat": np.c_[bond_types, rng.integers(0, 2, (len(bonds), 2))].astype(np.float32),
        "edge_index": bonds.astype(np.int64),
        "labels": labels,
        "num_nodes": np.array([n], np.int64),
    }


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    import attrs

    from benchmarks.bench_input import rate, stream_rate
    from hpbench.data.ogbg_tfds import GraphSplit, OgbgReader, write_dataset
    from hpbench.data.stream import HostShard

    cpu = time.process_time  # graphs per CPU-second of this process: the per-core rate
    rng = np.random.default_rng(0)
    graphs = [molecule(rng) for _ in range(GRAPHS)]
    atoms = np.mean([g["num_nodes"][0] for g in graphs])
    bonds = np.mean([len(g["edge_index"]) for g in graphs])
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp), {"train": graphs, "validation": graphs}, num_shards=8)
        start = time.process_time()
        valid = GraphSplit.open(tmp, "validation")
        offsets = GRAPHS / (time.process_time() - start)
        start = time.process_time()
        valid.sizes()
        sizes = GRAPHS / (time.process_time() - start)
        reader = OgbgReader.open(tmp, BATCH, DEVICES)
        half = attrs.evolve(reader, shard=HostShard(0, 2))
        plan = reader.valid_plan()
        rows = [
            ("train, one host: read, decode, pack 8 shards", "1 core (CPU s)",
             rate(lambda s: reader(0, s), 6, BATCH, cpu)),
            ("train, host 0 of 2: its 4 shards", "1 core (CPU s)",
             rate(lambda s: half(0, s), 6, BATCH // 2, cpu)),
            ("eval: 8 shards of the validation plan", "1 core (CPU s)",
             rate(lambda s: reader.valid_batch(slice(0, DEVICES)), 2,
                  int(plan[DEVICES - 1][1] - plan[0][0]), cpu)),
            ("train", "2 workers (wall)", stream_rate(reader, 24, BATCH, 2)),
        ]  # fmt: skip
    print(f"synthetic molecules: {atoms:.1f} atoms, {bonds:.1f} bonds on average")
    print(f"opening, per CPU s: record offsets {offsets:,.0f} graphs/s, validation sizes"
          f" {sizes:,.0f} graphs/s")  # fmt: skip
    for name, how, per_second in rows:
        print(f"{name:46s} {how:16s} {per_second:8,.0f} graphs/s")
    per_core = rows[0][2]
    for steps in (5, 10, PACE, 40):
        print(
            f"batch {BATCH} at {steps:.0f} steps/s: {steps * BATCH:,.0f} graphs/s ="
            f" {steps * BATCH / per_core:.1f} cores"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

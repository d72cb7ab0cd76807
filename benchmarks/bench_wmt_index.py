"""Opening AlgoPerf's WMT training split: the TFRecord header walk for record offsets, the
first time and from the offset cache (``hpbench.data.wmt_tfds.TextPairs.open``).

Writes a wmt17_translate train split of ``PAIRS`` synthetic pairs (10-40 words a side,
~450 bytes a record: a little longer than WMT17's) in 16 TFDS shards, then times
``TextPairs.open`` without a cache, with an empty cache (walk + save) and with the filled
cache, and scales both to WMT17's 5.9 M pairs (the cached open is mostly per shard: an
overestimate). The shards were just written, so they are in the page cache: the walk is
CPU-bound here; a cold disk adds one read of the headers' pages.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import parser

PAIRS = 300_000
WMT17_PAIRS = 5_906_184  # wmt17_translate/de-en train (TFDS)


def _pairs(count: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefghiklmnoprstuwy"), 7)) for _ in range(4096)]
    picks = rng.integers(0, len(words), (count, 2, 40))
    lengths = rng.integers(10, 41, (count, 2))
    return [
        tuple(" ".join(words[w] for w in picks[i, side, : lengths[i, side]]) for side in (0, 1))
        for i in range(count)
    ]


def _open(root: Path, cache: Path | None) -> tuple[float, int]:
    from hpbench.data.wmt_tfds import TextPairs

    start = time.perf_counter()
    pairs = TextPairs.open(root, "train", cache)
    return time.perf_counter() - start, len(pairs)


def main(argv: Sequence[str] = ()) -> None:
    options = parser(__doc__)
    options.add_argument("pairs", nargs="?", type=int, default=PAIRS, help="sentence pairs")
    pairs = options.parse_args(argv).pairs
    from hpbench.data.wmt_tfds import write_dataset

    with tempfile.TemporaryDirectory() as tmp:
        root, cache = Path(tmp) / "wmt", Path(tmp) / "index"
        directory = write_dataset(root, "wmt17_translate", {"train": _pairs(pairs)}, 16)
        size = sum(f.stat().st_size for f in directory.glob("*.tfrecord-*"))
        walk, count = _open(root, None)
        first, _ = _open(root, cache)
        cached, _ = _open(root, cache)
    scale = WMT17_PAIRS / count
    print(f"{count:,} pairs in 16 shards, {size / 2**20:.0f} MiB ({size / count:.0f} B a record)")
    rate = f"{count / walk:,.0f} records/s, {size / walk / 2**20:,.0f} MiB/s"
    print(f"walk, no cache:      {walk:6.2f} s ({rate})")
    print(f"walk + save offsets: {first:6.2f} s")
    print(f"from the cache:      {cached:6.3f} s ({count / cached:,.0f} records/s)")
    scaled = f"walk {walk * scale:.0f} s, cached {cached * scale:.2f} s"
    print(f"WMT17's {WMT17_PAIRS:,} pairs, scaled: {scaled}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main(sys.argv[1:])

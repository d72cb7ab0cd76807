"""WMT training rows: AlgoPerf's streaming packer vs the reader's windows (issue 19).

AlgoPerf packs its shuffled stream greedily (``pack_dataset``, ported as
``hpbench.data.packing.pack_examples``: groups of 256 pairs, a new 256-token row when
either side would overflow). ``WMTReader`` packs each block of ``R`` rows by the same rule
from its own window of ``R * E`` pairs (``pack_rows``) so that batch ``k`` needs no earlier
batch; the pair that would open row ``R + 1`` and those after it are left out. Measured on
pair lengths that are, by default, synthetic: source tokens log-normal with median 27 and
sigma 0.75 (mean ~35), target/source ratio log-normal with median 0.9 and sigma 0.2 (an
assumption for WMT17 de-en under a 32k SentencePiece model, not a measurement of it);
``--data $DATA/wmt`` tokenizes the first 20,000 pairs of the reader's epoch-0 order instead.
Per packer: pairs per row, token fill per side, the share of the stream trained on, and
the mean target length of the pairs trained on (all pairs': the window's length bias).
"""

from __future__ import annotations

import sys

import numpy as np

from benchmarks import parser

PAIRS = 20_000
LENGTH = 256
#: (rows per window, pairs read per row): the reader's default first.
WINDOWS = ((8, 8), (1, 8), (1, 16), (4, 8), (8, 10), (16, 8))


def synthetic_lengths(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(source, target) token counts, EOS included, of ``count`` pairs; pairs over 256
    tokens are filtered out as AlgoPerf filters them."""
    rng = np.random.default_rng(seed)
    source = np.maximum(2, np.round(rng.lognormal(np.log(27), 0.75, count))).astype(int)
    target = np.maximum(2, np.round(source * rng.lognormal(np.log(0.9), 0.2, count))).astype(int)
    keep = np.maximum(source, target) <= LENGTH
    return source[keep], target[keep]


def data_lengths(root: str, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Token counts of the first ``count`` pairs of the reader's epoch-0 order, filtered."""
    from hpbench.data.order import batch_indices
    from hpbench.data.wmt_tfds import WMTReader, fits

    reader = WMTReader.open(root, batch_size=128)
    indices = batch_indices(0, 0, len(reader.train), min(count, len(reader.train)))
    pairs = [tuple(map(reader.tokenizer.tokenize, reader.train.text(int(i)))) for i in indices]
    pairs = [pair for pair in pairs if fits(*pair)]
    return np.array([len(s) for s, _ in pairs]), np.array([len(t) for _, t in pairs])


def _examples(source: np.ndarray, target: np.ndarray) -> list[dict[str, np.ndarray]]:
    return [
        {"inputs": np.ones(s, np.int32), "targets": np.ones(t, np.int32)}
        for s, t in zip(source, target, strict=True)
    ]


def _row(name: str, rows: list[dict], trained: np.ndarray, total: int, all_mean: float) -> str:
    fill = [np.mean([np.count_nonzero(r[k]) / LENGTH for r in rows]) for k in ("inputs", "targets")]
    return (
        f"| {name} | {len(trained) / len(rows):.2f} | {fill[0]:.3f} / {fill[1]:.3f} | "
        f"{len(trained) / total:.3f} | {trained.mean():.1f} ({all_mean:.1f}) |"
    )


def measure(source: np.ndarray, target: np.ndarray) -> list[str]:
    """Markdown table rows: AlgoPerf's packer, then each window shape of ``WINDOWS``."""
    from hpbench.data.packing import pack_examples, pack_rows

    examples = _examples(source, target)
    out = [_row("AlgoPerf pack_dataset", list(pack_examples(examples, LENGTH)), target,
                len(target), target.mean())]  # fmt: skip
    for rows_per_window, per_row in WINDOWS:
        size = rows_per_window * per_row
        rows, trained = [], []
        for start in range(0, len(examples) - size + 1, size):
            packed = pack_rows(iter(examples[start : start + size]), rows_per_window, LENGTH)
            used = sum(int(r["targets_segmentation"].max()) for r in packed)
            rows += packed
            trained.append(target[start : start + used])
        covered = len(rows) // rows_per_window * size
        name = f"windows of {rows_per_window} rows x {per_row} pairs"
        out.append(_row(name, rows, np.concatenate(trained), covered, target[:covered].mean()))
    return out


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("--data", help="$DATA/wmt (AlgoPerf's TFDS layout) for real lengths")
    options.add_argument("--pairs", type=int, default=PAIRS)
    args = options.parse_args(argv or [])
    source, target = (
        data_lengths(args.data, args.pairs) if args.data else synthetic_lengths(args.pairs)
    )
    print(f"{len(target):,} pairs: mean tokens source {source.mean():.1f}, "
          f"target {target.mean():.1f}")  # fmt: skip
    print("| packer | pairs per row | token fill inputs / targets | share of stream trained on"
          " | mean target length trained on (of all) |")  # fmt: skip
    print("|---|---|---|---|---|")
    for line in measure(source, target):
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Sequence packing for translation training, as AlgoPerf's WMT input pipeline packs.

A port of ``pack_dataset`` (``algoperf/workloads/wmt/input_pipeline.py``, from
mesh-tensorflow) to NumPy: the stream of examples is cut into groups of ``length``
examples; within a group, examples are appended to the current row while every key
still fits in ``length`` tokens, else the row is written and a new one begun; the last
row of a group is written even if short. Each packed row carries, per key, the example
(segment 1, 2, ...; 0 = padding) and the position within it that each token has.
``pack_rows`` fills a fixed number of rows by the same rule from a finite window of
examples, so that a training batch can be packed without replaying the stream before it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

Example = dict[str, np.ndarray]

#: The keys a packed translation batch adds to ``inputs`` and ``targets``.
PACKING_KEYS = (
    "inputs_position", "targets_position", "inputs_segmentation", "targets_segmentation",
)  # fmt: skip


def pack_examples(
    examples: Iterable[Example], length: int, keys: Sequence[str] = ("inputs", "targets")
) -> Iterator[Example]:
    """Packed rows of ``length`` tokens per key, with ``<key>_segmentation`` and
    ``<key>_position`` (int32), from examples of 1-D token arrays (0 is padding)."""
    if length < 1:
        raise ValueError(f"packing length must be positive, found {length}")
    group: list[Example] = []
    for example in examples:
        group.append(example)
        if len(group) == length:  # AlgoPerf's padded_batch(length) before packing
            yield from _pack_group(group, length, keys)
            group = []
    if group:
        yield from _pack_group(group, length, keys)


def pack_rows(
    examples: Iterable[Example], rows: int, length: int, keys: Sequence[str] = ("inputs", "targets")
) -> list[Example]:
    """``rows`` packed rows filled from ``examples`` in order as ``pack_examples`` fills a
    group; reading stops at the example that would open row ``rows + 1`` (it and the rest
    are left out). Rows the examples do not reach are all padding."""
    if rows < 1 or length < 1:
        raise ValueError(f"packing needs positive rows and length, found {rows} and {length}")
    packed = list(itertools.islice(_pack_group(examples, length, keys), rows))
    empty = {k: [] for k in keys}
    return packed + [_write_row(empty, length) for _ in range(rows - len(packed))]


def _pack_group(group: Iterable[Example], length: int, keys: Sequence[str]) -> Iterator[Example]:
    tokens: dict[str, list[np.ndarray]] = {k: [] for k in keys}
    for example in group:
        ids = {}
        for k in keys:
            if np.ndim(example[k]) != 1:
                raise ValueError(f"packing needs 1-D token arrays; {k!r} has shape "
                                 f"{np.shape(example[k])}")  # fmt: skip
            row = np.asarray(example[k])[:length]
            ids[k] = row[: np.count_nonzero(row)]  # as AlgoPerf: the nonzero count
        if any(sum(map(len, tokens[k])) + len(ids[k]) > length for k in keys):
            yield _write_row(tokens, length)
            tokens = {k: [] for k in keys}
        for k in keys:
            tokens[k].append(ids[k])
    yield _write_row(tokens, length)


def _write_row(tokens: dict[str, list[np.ndarray]], length: int) -> Example:
    row = {}
    for k, parts in tokens.items():
        ids = np.zeros(length, np.int32)
        positions = np.zeros(length, np.int32)
        end = sum(map(len, parts))
        ids[:end] = np.concatenate(parts) if parts else []
        positions[:end] = np.concatenate([np.arange(len(p)) for p in parts]) if parts else []
        row[k] = ids
        row[f"{k}_position"] = positions
        row[f"{k}_segmentation"] = (np.cumsum(positions == 0) * (ids != 0)).astype(np.int32)
    return row

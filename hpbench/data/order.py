"""The order of training examples: a pure function of (seed, step), shared by the mini
workloads and the full-size readers, so a resumed trial sees the same batches."""

from __future__ import annotations

import functools

import numpy as np


@functools.lru_cache(maxsize=8)
def _epoch_permutation(seed: int, epoch: int, num_examples: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def batch_indices(seed: int, step: int, num_examples: int, batch_size: int) -> np.ndarray:
    """Example indices of training batch ``step``: epochs of fresh permutations of the data.

    A pure function of its arguments (the permutation of epoch e is seeded by (seed, e)),
    so data order never depends on how a run was interrupted.
    """
    start = step * batch_size
    positions = np.arange(start, start + batch_size)
    epochs, offsets = np.divmod(positions, num_examples)
    out = np.empty(batch_size, dtype=np.int64)
    for epoch in np.unique(epochs):
        mask = epochs == epoch
        out[mask] = _epoch_permutation(seed, int(epoch), num_examples)[offsets[mask]]
    return out


def host_batch_indices(seed: int, step: int, num_examples: int, batch_size: int) -> np.ndarray:
    """This process's part of :func:`batch_indices`: rows ``[p n, (p + 1) n)`` of process
    ``p`` (``hpbench.data.stream.host_shard``, as the streaming readers split a batch), so
    that each host reads only its rows of zarr or generated arrays."""
    from hpbench.data.stream import host_shard

    first, count = host_shard().rows(batch_size)
    return batch_indices(seed, step, num_examples, batch_size)[first : first + count]

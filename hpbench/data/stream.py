"""The streaming input pipeline: batch ``step`` of a host is a pure function of (seed, step).

A reader is a picklable callable ``reader(seed, step) -> Batch`` that reads and decodes this
host's rows of global batch ``step``. ``StepStream`` runs it on grain: a ``MapDataset`` over
step numbers, ``worker_count`` processes (0: in this process) and a prefetch buffer, started
at any step, so a resumed trial reads exactly the batches an uninterrupted one would.
A worker reads one step at a time, writing large arrays straight into shared memory
(:func:`batch_array`), which grain hands to the training process without a copy.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import numpy as np

Batch = dict[str, np.ndarray]
#: Steps a stream covers: far beyond any step budget (grain wants a finite range).
MAX_STEPS = 2**40


@attrs.frozen
class HostShard:
    """This host's share of every global batch: rows ``[index * n, (index + 1) * n)`` with
    ``n = batch_size // count`` (``jax.process_index()`` and ``jax.process_count()``)."""

    index: int = attrs.field(default=0, validator=attrs.validators.ge(0))
    count: int = attrs.field(default=1, validator=attrs.validators.ge(1))

    def __attrs_post_init__(self):
        if self.index >= self.count:
            raise ValueError(f"host {self.index} of {self.count} does not exist")

    def rows(self, batch_size: int) -> tuple[int, int]:
        """(first row, row count) of this host in a global batch of ``batch_size``."""
        if batch_size % self.count:
            raise ValueError(f"batch size {batch_size} does not split over {self.count} hosts")
        per_host = batch_size // self.count
        return self.index * per_host, per_host


ONE_HOST = HostShard()


def host_shard() -> HostShard:
    """This process's shard, from JAX's process index and count."""
    import jax

    return HostShard(jax.process_index(), jax.process_count())


@attrs.frozen
class _Load:
    """grain's map function: the reader's batch of one step (picklable for workers)."""

    reader: Callable[[int, int], Batch]
    seed: int

    def __call__(self, step: int) -> Batch:
        return self.reader(self.seed, int(step))


def stream(
    reader: Callable[[int, int], Batch],
    seed: int,
    start: int,
    *,
    worker_count: int = 0,
    prefetch: int = 2,
    stop: int = MAX_STEPS,
) -> Iterator[Batch]:
    """Batches ``start, start + 1, ... stop - 1`` of ``reader`` under ``seed``, decoded by
    ``worker_count`` grain worker processes (0: a reader thread) ``prefetch`` ahead."""
    import grain

    dataset = grain.MapDataset.range(start, stop).map(_Load(reader, seed))
    if worker_count == 0:
        threaded = grain.ReadOptions(num_threads=1, prefetch_buffer_size=prefetch)
        return iter(dataset.to_iter_dataset(threaded))
    _parse_absl_flags()
    # grain's default ReadOptions would read 500 steps ahead on 16 threads in each worker
    # (500 LibriSpeech batches are 41 GB): each worker reads the next of its steps only
    # when its ``prefetch`` buffer has room
    one_by_one = dataset.to_iter_dataset(grain.ReadOptions(num_threads=0))
    workers = grain.MultiprocessingOptions(worker_count, per_worker_buffer_size=prefetch)
    return iter(one_by_one.mp_prefetch(workers, worker_init_fn=_enter_worker))


_in_worker = False


def _enter_worker(index: int, count: int) -> None:
    """grain's worker start hook: batches this process makes go to shared memory."""
    global _in_worker
    _in_worker = True


def batch_array(shape: tuple[int, ...], dtype, fill: float = 0) -> np.ndarray:
    """An array of ``fill`` for a reader to write a batch into: in a grain worker it lives
    in grain's shared memory, which grain passes to the training process as is (an ordinary
    array would be copied there first: the copy costs about as much as reading LibriSpeech)."""
    if not _in_worker:
        return np.zeros(shape, dtype) if fill == 0 else np.full(shape, fill, dtype)
    from grain.multiprocessing import SharedMemoryArray

    out = SharedMemoryArray(shape, dtype)
    out.fill(fill)
    return out


def _parse_absl_flags() -> None:
    """grain's workers read absl flags, which a program without absl never parses: their
    defaults are meant."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS.mark_as_parsed()


@attrs.define
class StepStream:
    """``batch(seed, step)`` served from a running stream: the next step comes from the
    prefetched iterator; any other step (a resume, a shape probe) restarts it there."""

    reader: Callable[[int, int], Batch]
    worker_count: int = 0
    prefetch: int = 2
    _iterator: Iterator[Batch] | None = None
    _next: tuple[int, int] | None = None  # (seed, step) the iterator yields next
    _last: tuple[tuple[int, int], Batch] | None = None
    _lock: Any = attrs.Factory(threading.Lock)

    def batch(self, seed: int, step: int) -> Batch:
        with self._lock:
            if self._last is not None and self._last[0] == (seed, step):
                return self._last[1]
            if self._iterator is None or self._next != (seed, step):
                self._iterator = stream(
                    self.reader,
                    seed,
                    step,
                    worker_count=self.worker_count,
                    prefetch=self.prefetch,
                )
            out = next(self._iterator)
            self._next = (seed, step + 1)
            self._last = ((seed, step), out)
            return out


def data_workers() -> int:
    """Decoding worker processes per stream: ``$HPBENCH_DATA_WORKERS``, default 4 (0: decode
    in a thread of the training process)."""
    value = os.environ.get("HPBENCH_DATA_WORKERS", "4")
    if not value.isdigit():
        raise ValueError(f"HPBENCH_DATA_WORKERS={value!r}: expected a worker count >= 0")
    return int(value)


def train_stream(streams: dict, reader: Any, batch_size: int) -> StepStream:
    """The (cached) training stream of ``reader`` at ``batch_size``, reading this host's
    rows of each batch (:func:`host_shard`): ``streams`` is the workload's cache, one
    stream per batch size (a spec may override it)."""
    if batch_size not in streams:
        streams[batch_size] = StepStream(
            attrs.evolve(reader, batch_size=batch_size, shard=host_shard()), data_workers()
        )
    return streams[batch_size]


@attrs.frozen
class _ValidLoad:
    """Validation batch ``step``: rows ``[step B, (step + 1) B)`` of the reader's split."""

    reader: Any
    total: int
    batch_size: int

    def __call__(self, seed: int, step: int) -> Batch:
        del seed  # validation is fixed
        start = step * self.batch_size
        return self.reader.valid_batch(slice(start, min(start + self.batch_size, self.total)))


def valid_batches(reader: Any, total: int, batch_size: int) -> Iterator[Batch]:
    """The whole validation split of ``reader`` (``total`` examples) in order, in batches of
    at most ``batch_size``, decoded by the workers like training batches."""
    count = -(-total // batch_size)
    load = _ValidLoad(reader, total, batch_size)
    return stream(load, 0, 0, worker_count=min(data_workers(), count), stop=count)

"""The streaming input pipeline: batch ``step`` of a host is a pure function of (seed, step).

A reader is a picklable callable ``reader(seed, step) -> Batch`` that reads and decodes this
host's rows of global batch ``step``. ``StepStream`` runs it on grain: a ``MapDataset`` over
step numbers, ``worker_count`` processes (0: in this process) and a prefetch buffer, started
at any step, so a resumed trial reads exactly the batches an uninterrupted one would.
A worker reads one step at a time; a reader may split its work (:func:`stages`) so that
workers send compact arrays and the training process expands them.
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
    expand: Callable[[Batch], Batch] | None = None,
) -> Iterator[Batch]:
    """Batches ``start, start + 1, ... stop - 1`` of ``reader`` under ``seed``, decoded by
    ``worker_count`` grain worker processes (0: a reader thread) ``prefetch`` ahead; with
    ``expand``, each is ``expand(reader(seed, step))``, expanded in a thread of this process."""
    import grain

    dataset = grain.MapDataset.range(start, stop).map(_Load(reader, seed))
    if worker_count == 0:
        threaded = grain.ReadOptions(num_threads=1, prefetch_buffer_size=prefetch)
        return iter((dataset.map(expand) if expand else dataset).to_iter_dataset(threaded))
    _parse_absl_flags()
    # grain's default ReadOptions would read 500 steps ahead on 16 threads in each worker
    # (500 LibriSpeech batches are 41 GB): each worker reads the next of its steps only
    # when its ``prefetch`` buffer has room
    one_by_one = dataset.to_iter_dataset(grain.ReadOptions(num_threads=0))
    workers = grain.MultiprocessingOptions(worker_count, per_worker_buffer_size=prefetch)
    sent = one_by_one.mp_prefetch(workers)
    if expand is None:
        return iter(sent)
    expanded = sent.map(expand)  # padded here, in a thread, while the workers read on
    return iter(
        grain.experimental.ThreadPrefetchIterDataset(expanded, prefetch_buffer_size=prefetch)
    )


def stages(reader: Any) -> tuple[Callable[[int, int], Batch], Callable[[Batch], Batch] | None]:
    """(what the workers run, what the training process runs on their output) for
    :func:`stream`: ``reader.compact`` and ``reader.expand`` for a reader that has them
    (``reader(s, k) == reader.expand(reader.compact(s, k))``: its workers send fewer bytes,
    since grain's shared memory costs more per byte than padding does), else ``reader``."""
    if hasattr(reader, "expand"):
        return reader.compact, reader.expand
    return reader, None


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
                load, expand = stages(self.reader)
                self._iterator = stream(
                    load,
                    seed,
                    step,
                    worker_count=self.worker_count,
                    prefetch=self.prefetch,
                    expand=expand,
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
class HostRows:
    """One evaluation batch of ``count`` rows as this process reads it (:func:`valid_batches`):
    ``local``, its own rows of the first ``split`` rows (split by rows over the evaluation
    devices), and ``rest``, rows ``[split, count)`` that every process reads whole (they are
    evaluated replicated); ``None`` where there are no such rows."""

    count: int
    split: int
    local: Batch | None
    rest: Batch | None


def split_rows(count: int, sharding: Any) -> tuple[int, slice]:
    """(split, this process's rows of ``[0, split)``) of an evaluation batch of ``count``
    rows over ``sharding`` (None: one device): the first ``count - count % n`` rows split
    over its ``n`` devices along its first axis, the rest replicated (AlgoPerf pads the
    last batch instead; summed metrics are the same)."""
    import jax

    size = 1 if sharding is None else sharding.mesh.shape[sharding.spec[0]]
    split = count - count % size if size > 1 else 0
    if not split:
        return 0, slice(0, 0)
    here = {
        index[0].indices(split)[:2]
        for device, index in sharding.devices_indices_map((split,)).items()
        if device.process_index == jax.process_index()
    }
    if not here:
        raise RuntimeError(f"process {jax.process_index()} has no device in the evaluation mesh")
    first, stop = min(a for a, _ in here), max(b for _, b in here)
    if sum(b - a for a, b in here) != stop - first:
        raise RuntimeError(
            f"process {jax.process_index()}: its evaluation devices hold rows {sorted(here)}"
            " of a batch, not one contiguous block; order the mesh's devices by process"
        )
    return split, slice(first, stop)


@attrs.frozen
class _ValidLoad:
    """This process's pieces of validation batch ``step`` (``pieces[step]``: name ->
    (first, stop) rows of the split), ``valid_compact`` of them when ``compact`` (see
    :func:`stages`)."""

    reader: Any
    pieces: tuple[dict[str, tuple[int, int]], ...]
    compact: bool = False

    def __call__(self, seed: int, step: int) -> dict[str, Batch]:
        del seed  # validation is fixed
        read = self.reader.valid_compact if self.compact else self.reader.valid_batch
        return {name: read(slice(*rows)) for name, rows in self.pieces[step].items()}


@attrs.frozen
class _ExpandPieces:
    """The reader's ``expand`` applied to each piece of a :class:`_ValidLoad` output."""

    expand: Callable[[Batch], Batch]

    def __call__(self, pieces: dict[str, Batch]) -> dict[str, Batch]:
        return {name: self.expand(batch) for name, batch in pieces.items()}


def valid_batches(
    reader: Any, total: int, batch_size: int, sharding: Any = None
) -> Iterator[HostRows]:
    """The validation split of ``reader`` (``total`` examples) in order, in batches of at
    most ``batch_size``, decoded by the workers like training batches: of each, only the
    rows this process evaluates on its devices of ``sharding`` (:func:`split_rows`, the
    evaluation placement ``hpbench.workloads.base.eval_batches`` uses) and the replicated
    rest."""
    plans, pieces = [], []
    for start in range(0, total, batch_size):
        count = min(batch_size, total - start)
        split, local = split_rows(count, sharding)
        piece = {"local": (start + local.start, start + local.stop)} if split else {}
        if split < count:
            piece["rest"] = (start + split, start + count)
        plans.append((count, split))
        pieces.append(piece)
    _, expand = stages(reader)
    load = _ValidLoad(reader, tuple(pieces), compact=expand is not None)
    workers = min(data_workers(), len(plans))
    expand_pieces = _ExpandPieces(expand) if expand is not None else None
    read = stream(load, 0, 0, worker_count=workers, stop=len(plans), expand=expand_pieces)
    for (count, split), batch in zip(plans, read, strict=True):
        yield HostRows(count, split, batch.get("local"), batch.get("rest"))

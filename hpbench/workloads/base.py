"""The interface every workload implements, and the pure data-order helper.

A workload is four pure pieces that the engine composes; it never knows about backends,
packing or checkpoints:

- ``init(rng) -> (params, model_state)``: initial parameters and non-trained state
  (e.g. BatchNorm statistics; ``{}`` when there is none).
- ``loss(params, model_state, batch, rng, *, dropout, label_smoothing) -> (loss,
  model_state)``: the mean training loss of one batch in training mode. ``dropout`` is a
  Python float (it shapes the program); ``label_smoothing`` may be a traced scalar (it is
  packed across trials).
- ``batch(seed, step) -> dict[str, np.ndarray]``: the training batch of ``step``, a pure
  function of (seed, step), so a resumed run sees exactly the batches it would have seen.
- ``evaluate(params, model_state) -> dict[str, float]``: every metric of
  ``info.metrics`` over the whole validation split, from per-batch sums and counts over
  :func:`eval_batches` (which splits each batch over the engine's devices). A metric
  computed on the host counts only this process's rows (:func:`host_rows`) and sums the
  counts over the processes (:func:`process_sum`): arrays of a multi-host evaluation are
  not whole on any one process.

``row_sharded`` names parameters the engine splits by rows over the mesh's data axis (with
their optimizer state), e.g. DLRM's embedding table; the others are replicated.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterable, Iterator
from typing import Any, ClassVar, Protocol

import attrs
import numpy as np

from hpbench.data.order import host_batch_indices
from hpbench.data.stream import HostRows, split_rows, train_stream
from hpbench.workloads.data_variant import Labels
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import num_rows, take_split

Batch = dict[str, np.ndarray]


class Workload(Protocol):
    info: WorkloadInfo
    size: str
    variant: str
    batch_size: int
    global_rows: int
    max_steps: int
    row_sharded: tuple[str, ...]

    def init(self, rng: Any) -> tuple[Any, Any]: ...

    def loss(
        self,
        params: Any,
        model_state: Any,
        batch: Batch,
        rng: Any,
        *,
        dropout: float,
        label_smoothing: Any,
    ) -> tuple[Any, Any]: ...

    def batch(self, seed: int, step: int) -> Batch: ...

    def evaluate(self, params: Any, model_state: Any) -> dict[str, float]: ...


@attrs.frozen
class WorkloadBase:
    """What every built workload holds: its registry entry, size and variant, and the
    batch size and step budget they fix. Workload classes extend it with their data."""

    info: WorkloadInfo
    size: str
    variant: str
    #: A spec's ``batch_size``, when it differs from the registered one for this size.
    batch_override: int | None = attrs.field(default=None, kw_only=True)
    #: Parameters split by rows over the data axis (see the module docstring).
    row_sharded: ClassVar[tuple[str, ...]] = ()

    @property
    def batch_size(self) -> int:
        return self.batch_override or self.info.batch_size[self.size]

    @property
    def global_rows(self) -> int:
        """The rows of a global batch's leading axis, which hosts and devices split: one per
        example, except where examples are packed (OGBG: one per shard)."""
        return self.batch_size

    @property
    def max_steps(self) -> int:
        return self.info.max_steps[self.size]

    @property
    def class_labels(self) -> Labels | None:
        """The class labels in ``data`` that label noise replaces
        (:mod:`hpbench.workloads.data_variant`); None: the workload has none."""
        return None


def train_batch(workload: Any, seed: int, step: int, arrays: tuple[str, ...]) -> Batch:
    """The training batch of (``seed``, ``step``) of a workload that reads its streamed
    ``reader`` (full size) or else holds arrays ``train_<name>`` for ``arrays`` in ``data``,
    drawn from as many rows as ``train_labels`` has (else the first array)."""
    if workload.reader is not None:
        return train_stream(workload.streams, workload.reader, workload.batch_size).batch(
            seed, step
        )
    rows = num_rows(workload.data[f"train_{'labels' if 'labels' in arrays else arrays[0]}"])
    idx = host_batch_indices(seed, step, rows, workload.batch_size)  # this host's rows
    return take_split(workload.data, "train", arrays, idx)


def row_slices(total: int, batch_size: int) -> Iterator[slice]:
    """Consecutive row ranges of at most ``batch_size`` covering ``total`` rows (evaluation)."""
    for start in range(0, total, batch_size):
        yield slice(start, min(start + batch_size, total))


def array_batches(
    data: dict, split: str, names: tuple[str, ...], total: int, batch_size: int
) -> Iterator[HostRows]:
    """Rows ``[0, total)`` of the arrays ``<split>_<name>`` of ``data`` (zarr or in memory)
    in evaluation batches of at most ``batch_size``, each read as the streaming readers
    read one (``hpbench.data.stream.valid_batches``): only this process's rows of the part
    split over the evaluation devices, and the replicated rest."""
    for rows in row_slices(total, batch_size):
        count = rows.stop - rows.start
        cut, mine = split_rows(count, _EVAL_SHARDING.get())
        first = rows.start + mine.start
        local = take_split(data, split, names, slice(first, first + mine.stop - mine.start))
        rest = take_split(data, split, names, slice(rows.start + cut, rows.stop))
        yield HostRows(count, cut, local if cut else None, rest if cut < count else None)


#: The placement of evaluation batches while the engine evaluates (see ``evaluating_on``).
_EVAL_SHARDING: contextvars.ContextVar[Any] = contextvars.ContextVar("eval_sharding", default=None)


@contextlib.contextmanager
def evaluating_on(sharding: Any) -> Iterator[None]:
    """Within: :func:`eval_batches` splits evaluation batches by rows with ``sharding`` (a
    ``NamedSharding`` whose spec splits axis 0 over the mesh's data axis). The engine sets
    it around ``Workload.evaluate``, per thread."""
    token = _EVAL_SHARDING.set(sharding)
    try:
        yield
    finally:
        _EVAL_SHARDING.reset(token)


def eval_sharding() -> Any:
    """The sharding :func:`eval_batches` places evaluation batches with (None: outside the
    engine's evaluation), for readers that read only this process's rows
    (``hpbench.data.stream.valid_batches``)."""
    return _EVAL_SHARDING.get()


def eval_batches(batches: Iterable[Batch | HostRows]) -> Iterator[Batch]:
    """Evaluation batches for data-parallel evaluation: each batch's rows split over the
    engine's evaluation devices (the largest prefix that divides evenly; the rest of the
    rows follow as a batch replicated on those devices). A workload sums its per-batch sums
    and counts over what this yields. Batches pass unchanged outside the engine, on one
    device, or when their leaves do not share a row count (they are evaluated replicated).
    A :class:`~hpbench.data.stream.HostRows` holds only this process's rows of its split
    prefix: the global batch is assembled from every process's rows."""
    sharding = _EVAL_SHARDING.get()
    size = 1 if sharding is None else sharding.mesh.shape[sharding.spec[0]]
    for batch in batches:
        if isinstance(batch, HostRows):
            if batch.split:
                yield _place_local(batch.local, batch.split, sharding)
            if batch.rest is not None:
                yield batch.rest if size == 1 else _place(batch.rest, slice(None), sharding, True)
            continue
        rows = {np.shape(x)[0] if np.ndim(x) else -1 for x in batch.values()}
        if size == 1 or len(rows) != 1 or -1 in rows:
            yield batch
            continue
        (count,) = rows
        split = count - count % size
        if split:
            yield _place(batch, slice(0, split), sharding)
        if split < count:
            yield _place(batch, slice(split, count), sharding, replicated=True)


def _place_local(local: Batch, rows: int, sharding: Any) -> Batch:
    """Global arrays of ``rows`` rows split with ``sharding``, of which ``local`` holds this
    process's rows (``jax.make_array_from_process_local_data``, as training batches)."""
    import jax

    return {
        key: jax.make_array_from_process_local_data(sharding, leaf, (rows, *np.shape(leaf)[1:]))
        for key, leaf in local.items()
    }


def _place(batch: Batch, rows: slice, sharding: Any, replicated: bool = False) -> Batch:
    """Rows ``rows`` of ``batch`` as global arrays with ``sharding`` (or replicated on its
    mesh), built from host arrays every process holds whole (``make_array_from_callback``
    takes each device's part; it also works when the mesh spans several processes)."""
    import jax

    if replicated:
        sharding = jax.sharding.NamedSharding(sharding.mesh, jax.sharding.PartitionSpec())

    def put(leaf: np.ndarray) -> Any:
        part = np.asarray(leaf)[rows]
        return jax.make_array_from_callback(part.shape, sharding, lambda index: part[index])

    return {key: put(leaf) for key, leaf in batch.items()}


def batch_rows(batch: Batch | HostRows) -> int:
    """The number of examples of an evaluation batch (all processes' rows of a ``HostRows``)."""
    if isinstance(batch, HostRows):
        return batch.count
    return len(next(iter(batch.values())))


def host_rows(array: Any) -> np.ndarray:
    """The rows of an evaluation array (inputs or outputs) this process counts in host-side
    metrics: the rows its devices hold, each row counted by the lowest process holding it,
    so that per-process counts summed by :func:`process_sum` count every row once. A host
    array is counted whole (one process)."""
    import jax

    if not isinstance(array, jax.Array):
        return np.asarray(array)
    total = array.shape[0]
    owner: dict[tuple[int, int], int] = {}
    for device, index in array.sharding.devices_indices_map(array.shape).items():
        span = index[0].indices(total)[:2]
        owner[span] = min(owner.get(span, device.process_index), device.process_index)
    here = {s.index[0].indices(total)[:2]: s.data for s in array.addressable_shards}
    mine = sorted(span for span, process in owner.items() if process == jax.process_index())
    if not mine:
        return np.zeros((0, *array.shape[1:]), array.dtype)
    return np.concatenate([np.asarray(here[span]) for span in mine])


def process_sum(counts: Any) -> np.ndarray:
    """Integer counts summed over the processes of a multi-host job (every process gets the
    same sums): how host-side metrics (BLEU's n-gram statistics, word errors) combine the
    rows each process counted (:func:`host_rows`)."""
    import jax

    counts = np.asarray(counts, np.int64)
    if jax.process_count() == 1:
        return counts
    from jax.experimental import multihost_utils

    if counts.size and np.abs(counts).max() >= 2**31:  # gathered as int32 without jax x64
        raise OverflowError(f"counts {counts} do not fit int32 for the gather across processes")
    gathered = multihost_utils.process_allgather(counts.astype(np.int32))
    return np.asarray(gathered, np.int64).sum(0)


def gathered(array: Any) -> np.ndarray:
    """The whole of an evaluation array on every process (``process_allgather``), for a
    metric that needs every row at once (OGBG's mean average precision)."""
    import jax

    if not isinstance(array, jax.Array) or array.is_fully_addressable:
        return np.asarray(array)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(array, tiled=True))

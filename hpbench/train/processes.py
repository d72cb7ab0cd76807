"""Which JAX process this is, and the decisions the processes of a multi-host job share.

Every process of a multi-host job (a TPU slice, a multi-node Slurm task) runs the same job
in lockstep on the global device mesh. Only the *primary* process (``jax.process_index()
== 0``) touches the results directory: it claims the trials, writes ``trial.json``,
``metrics.jsonl``, ``status.json`` and reports progress. Whatever changes control flow
(which trials are claimed or finished, the checkpoint to resume from, when to save or
stop) is decided on the primary and shared, so that every process takes the same branch
and meets the others in the same collectives. With one process nothing is exchanged: no
collective is ever called, and the engine behaves exactly as a plain local run.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

import attrs


class Channel(Protocol):
    """How JSON values travel between the processes of a job (a test can inject one)."""

    def broadcast(self, value: Any) -> Any:
        """Process 0's ``value`` on every process (the others pass None)."""

    def allgather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in process order, on every process."""


class JaxChannel:
    """:class:`Channel` over ``jax.experimental.multihost_utils`` (JSON as uint8 arrays)."""

    def broadcast(self, value: Any) -> Any:
        import jax
        import numpy as np
        from jax.experimental import multihost_utils

        data = _encode(value) if jax.process_index() == 0 else np.zeros(0, np.uint8)
        size = int(multihost_utils.broadcast_one_to_all(np.int32(data.size)))
        if data.size != size:
            data = np.zeros(size, np.uint8)
        return _decode(np.asarray(multihost_utils.broadcast_one_to_all(data)))

    def allgather(self, value: Any) -> list[Any]:
        import numpy as np
        from jax.experimental import multihost_utils

        data = _encode(value)
        sizes = np.asarray(multihost_utils.process_allgather(np.int32(data.size)))
        padded = np.zeros(int(sizes.max()), np.uint8)
        padded[: data.size] = data
        rows = np.asarray(multihost_utils.process_allgather(padded))
        return [_decode(row[:size]) for row, size in zip(rows, sizes.tolist(), strict=True)]


def _encode(value: Any) -> Any:
    import numpy as np

    return np.frombuffer(json.dumps(value, sort_keys=True).encode(), np.uint8).copy()


def _decode(data: Any) -> Any:
    return json.loads(bytes(data.astype("uint8")).decode())


@attrs.frozen
class Processes:
    """This process's place in its job: ``index`` of ``count`` processes, and the
    :class:`Channel` the shared decisions travel on (used only when ``count > 1``)."""

    index: int = 0
    count: int = 1
    channel: Channel = attrs.field(factory=JaxChannel, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.index < self.count:
            raise ValueError(f"process index {self.index} is not in 0..{self.count - 1}")

    @property
    def primary(self) -> bool:
        """True on process 0, the one that writes results (and the only one of a
        single-process run)."""
        return self.index == 0

    def share(self, value: Any) -> Any:
        """The primary's ``value`` (JSON) on every process; ``value`` itself when alone."""
        if self.count == 1:
            return value
        return self.channel.broadcast(value if self.primary else None)

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value`` (JSON), in process order; ``[value]`` when alone."""
        if self.count == 1:
            return [value]
        return self.channel.allgather(value)


def current() -> Processes:
    """This process in its job: index and count from JAX once ``jax.distributed`` joined
    several processes; otherwise the single (primary) process, without touching JAX's
    backends."""
    import jax

    if not jax.distributed.is_initialized():
        return Processes()
    return Processes(jax.process_index(), jax.process_count())

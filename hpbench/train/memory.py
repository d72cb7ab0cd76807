"""The default pack size: as many members as fit in a share of the device memory.

The estimate needs no compilation: each member's training state (parameters, optimizer and
model state, from ``jax.eval_shape``) as each device holds it (a row-sharded embedding
table counts its share of rows) times a factor for gradients, updates and temporaries,
plus an allowance for activations proportional to a device's share of the batch.
``--pack`` (or a runner profile's ``pack``) overrides it; :func:`check_fits` stops a job
whose state alone cannot fit before it compiles.
"""

from __future__ import annotations

import os
from typing import Any

from hpbench.plan import Trial

#: State copies alive during a step: state, gradients, updates, the new state.
STATE_COPIES = 4
#: Activation memory per member, in multiples of one batch's input bytes (rough).
ACTIVATION_FACTOR = 64
#: The share of device memory packs may take.
MEMORY_SHARE = 0.5
#: The largest pack chosen automatically (``--pack`` may go higher). On 2 CPU cores packs
#: beyond 8 stop paying; on accelerators memory is usually the limit first.
DEFAULT_MAX_PACK = 8


def device_memory_bytes() -> int:
    """Memory of the first local device (host RAM for CPU devices)."""
    import jax

    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def state_bytes_per_device(abstract_state: Any, shardings: Any) -> int:
    """Bytes of the training state one device holds: each leaf's shard under its sharding
    (a ``NamedSharding`` on a real or abstract mesh)."""
    import jax
    import numpy as np

    leaves = zip(jax.tree.leaves(abstract_state), jax.tree.leaves(shardings), strict=True)
    return sum(int(np.prod(s.shard_shape(x.shape))) * np.dtype(x.dtype).itemsize for x, s in leaves)


def job_devices() -> list[Any]:
    """The devices a job trains on: the global mesh's in a multi-host job, else this
    process's."""
    import jax

    return jax.devices() if jax.process_count() > 1 else jax.local_devices()


def member_bytes(trial: Trial) -> int:
    """Estimated bytes one pack member of ``trial``'s job needs on each device, training
    alone on :func:`job_devices` (an upper bound per member for a pack: members spread
    over devices share them)."""
    import jax
    import numpy as np

    from hpbench.train.program import DATA_AXIS, Program, make_mesh
    from hpbench.workloads.registry import trial_workload

    workload = trial_workload(trial)
    program = Program(workload, trial, 1, make_mesh(job_devices(), workload.batch_size))
    state = state_bytes_per_device(program.abstract_state, program.state_shardings)
    batch = sum(
        int(np.prod(x.shape)) * np.dtype(x.dtype).itemsize
        for x in jax.tree.leaves(program.abstract_batch)
    )
    return STATE_COPIES * state + ACTIVATION_FACTOR * batch // program.mesh.shape[DATA_AXIS]


def check_fits(program: Any) -> None:
    """Raise :class:`PackTooLarge` when the training state of ``program``'s members (state,
    gradients, updates, new state: ``STATE_COPIES``) exceeds a device's memory: a pack
    given by hand (``--pack``, a runner profile) that cannot fit fails at once, with the
    pack that would, instead of running out of memory after compiling."""
    state = state_bytes_per_device(program.abstract_state, program.state_shardings)
    need, have = STATE_COPIES * state, device_memory_bytes()
    if need > have:
        members = program.num_members
        fits = max(1, members * have // need)
        raise PackTooLarge(
            f"{members} members of {program.lead.workload} ({program.lead.size}) need about"
            f" {need / 2**30:.1f} GiB per device for their training state, and a device has"
            f" {have / 2**30:.1f} GiB: use a pack of at most {fits} (--pack, or the runner"
            " profile's pack), or leave pack unset to size packs from device memory"
        )


class PackTooLarge(ValueError):
    """A job's members cannot fit the device memory (see :func:`check_fits`)."""


def pack_size_from_memory(trial: Trial, max_pack: int = DEFAULT_MAX_PACK) -> int:
    """How many members of ``trial``'s kind fit in ``MEMORY_SHARE`` of device memory; on
    CPU, for a workload without ``WorkloadInfo.vmap_on_cpu``, one per CPU device (core):
    more would train one after another on a device (see
    :meth:`hpbench.train.program.Program._all_members`) and only lengthen compilation."""
    import jax

    from hpbench.workloads.registry import get_workload

    if jax.default_backend() == "cpu" and not get_workload(trial.workload).vmap_on_cpu:
        return min(max_pack, len(jax.local_devices()))
    fits = int(MEMORY_SHARE * device_memory_bytes() // max(1, member_bytes(trial)))
    return max(1, min(max_pack, fits))

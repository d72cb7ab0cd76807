"""The default pack size: as many members as fit in a share of the device memory.

The estimate needs no compilation: each member's training state (parameters, optimizer and
model state, from ``jax.eval_shape``) times a factor for gradients, updates and temporaries,
plus an allowance for activations proportional to the batch. ``--pack`` overrides it.
"""

from __future__ import annotations

import os

from hpbench.plan import Trial
from hpbench.train.job import DEFAULT_MAX_PACK

#: State copies alive during a step: state, gradients, updates, the new state.
STATE_COPIES = 4
#: Activation memory per member, in multiples of one batch's input bytes (rough).
ACTIVATION_FACTOR = 64
#: The share of device memory packs may take.
MEMORY_SHARE = 0.5


def device_memory_bytes() -> int:
    """Memory of the first local device (host RAM for CPU devices)."""
    import jax

    stats = jax.local_devices()[0].memory_stats() or {}
    if "bytes_limit" in stats:
        return int(stats["bytes_limit"])
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def member_bytes(trial: Trial) -> int:
    """Estimated device bytes one pack member of ``trial``'s job needs."""
    import jax
    import numpy as np

    from hpbench.train.program import Program, make_mesh
    from hpbench.workloads.registry import load_workload

    workload = load_workload(
        trial.workload, trial.size, trial.variant, trial.data, batch_size=trial.batch_size
    )
    program = Program(workload, trial, 1, make_mesh(jax.local_devices()[:1], trial.batch_size))
    state = sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(program.abstract_state))
    batch = sum(np.asarray(x).nbytes for x in jax.tree.leaves(workload.batch(trial.seed, 0)))
    return STATE_COPIES * state + ACTIVATION_FACTOR * batch


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

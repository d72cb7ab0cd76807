"""How many CPU devices a training process's JAX exposes: one per core it may use.

XLA's CPU backend exposes a single device by default, so a pack's members would share one
device. With one device per core, the engine spreads a pack's members over the cores
(:func:`hpbench.train.program.make_mesh`), which trains them side by side; a single trial
still trains on one device. The count is read when JAX starts, so it is set in the
environment before: by the ``hpbench`` command for its own process, and by the pool for
each CPU worker (its share of the cores). No JAX import here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

#: JAX's setting for the number of CPU devices (it overrides XLA_FLAGS' device count).
CPU_DEVICES = "JAX_NUM_CPU_DEVICES"
_XLA_DEVICE_COUNT = "--xla_force_host_platform_device_count"


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def cpu_device_environment(
    cores: int | None = None, environ: Mapping[str, str] = os.environ
) -> dict[str, str]:
    """The variables to add for a process training on ``cores`` CPU cores (default: this
    process's), or none when the user already fixed the CPU device count."""
    if CPU_DEVICES in environ or _XLA_DEVICE_COUNT in environ.get("XLA_FLAGS", ""):
        return {}
    return {CPU_DEVICES: str(max(1, cores if cores is not None else usable_cores()))}

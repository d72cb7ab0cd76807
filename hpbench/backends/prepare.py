"""Set up a training process before JAX starts: its CPU devices and its allocator.

Both are read when JAX starts, so the ``hpbench`` command, :func:`hpbench.run` and the
nightly run call :func:`prepare_process` first. No JAX import.
"""

from __future__ import annotations

import os
import sys


def prepare_process() -> bool:
    """One CPU device per usable core (:mod:`hpbench.backends.cpus`) and an allocator that
    keeps freed memory (:mod:`hpbench.backends.host_memory`). Once JAX is imported this does
    nothing (training still works, on the devices JAX already has); returns whether it set
    anything."""
    if "jax" in sys.modules:
        return False
    from hpbench.backends.cpus import cpu_device_environment
    from hpbench.backends.host_memory import reuse_freed_memory

    os.environ.update(cpu_device_environment())
    reuse_freed_memory()
    return True

"""The C allocator of a training process: freed memory kept for the next execution.

XLA's CPU runtime allocates every execution's buffers afresh. glibc maps an allocation
above its mmap threshold (at most 32 MiB), or one above 64 MiB from a thread's own arena,
as fresh pages and unmaps it when freed, so each execution faults all its pages in again:
a mini Criteo evaluation's 73 MB buffer cost 3.8 million page faults, a quarter to a third
of a 16-point search's CPU time (benchmarks/README.md, engine section). One arena that
neither maps nor trims keeps freed memory for reuse. Set before JAX starts its threads (a
thread keeps the arena of its first allocation): by the ``hpbench`` command, a pool worker
and a remote task. glibc only (Linux); elsewhere, or where the user tuned glibc's
allocator through its environment variables, nothing changes. No JAX import.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Mapping

# mallopt's parameters (glibc's malloc.h).
_M_TRIM_THRESHOLD = -1
_M_MMAP_MAX = -4
_M_ARENA_MAX = -8

#: Settings of glibc's allocator a user may have chosen; any of them leaves it alone.
USER_SETTINGS = (
    "GLIBC_TUNABLES",
    "MALLOC_ARENA_MAX",
    "MALLOC_MMAP_MAX_",
    "MALLOC_MMAP_THRESHOLD_",
    "MALLOC_TRIM_THRESHOLD_",
    "MALLOC_TOP_PAD_",
)

#: The largest value mallopt takes (a C int): freed memory is returned to the system only
#: beyond 2 GiB free at the top of the heap.
_NEVER_TRIM = 2**31 - 1


def reuse_freed_memory(environ: Mapping[str, str] = os.environ) -> bool:
    """Make glibc's allocator serve every thread from one arena, without fresh mappings,
    and keep freed memory for reuse; whether it did (glibc present, the user's own
    allocator settings absent)."""
    if any(name in environ for name in USER_SETTINGS) or "malloc" in environ.get("LD_PRELOAD", ""):
        return False  # the user's settings, or another allocator (jemalloc, tcmalloc)
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the process's C library
    except (OSError, AttributeError, TypeError):  # no glibc (macOS, Windows)
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = ((_M_ARENA_MAX, 1), (_M_MMAP_MAX, 0), (_M_TRIM_THRESHOLD, _NEVER_TRIM))
    return all(mallopt(parameter, value) == 1 for parameter, value in settings)

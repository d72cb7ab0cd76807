"""JAX's persistent compilation cache for the engine's programs, per machine.

A search trains the same programs in many processes: the next ``hpbench run`` of a spec,
a resumed job, the pool's workers, the nightly run, a calibration's re-runs with fresh
seeds. With the cache each loads a program compiled before instead of compiling it again
(a mini workload's packed chunk takes 5-25 s to compile on 2 cores). A loaded program is
the same executable, so results do not change. The user's own JAX settings win: a
``JAX_COMPILATION_CACHE_DIR`` (or ``jax_compilation_cache_dir``) is used as it is, and
``JAX_ENABLE_COMPILATION_CACHE=false`` turns the cache off.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

import jax

#: Moves the cache's root, as ``HPBENCH_DATA_DIR`` moves the data cache.
ROOT_VARIABLE = "HPBENCH_COMPILE_CACHE_DIR"


def default_cache_dir() -> Path:
    """``$HPBENCH_COMPILE_CACHE_DIR``, default ``~/.cache/hpbench/compiled``, then one
    directory per machine: XLA's CPU code targets the host's instruction set, so a home
    directory shared by a cluster's nodes keeps their programs apart."""
    root = os.environ.get(ROOT_VARIABLE) or Path.home() / ".cache" / "hpbench" / "compiled"
    return Path(root) / (platform.node() or "localhost")


def use_compilation_cache() -> None:
    """Point JAX's persistent compilation cache at :func:`default_cache_dir` unless the
    user chose a directory. Takes effect at the next compilation (JAX opens the cache
    lazily), so it may be called after JAX has started."""
    if jax.config.jax_compilation_cache_dir is None:
        jax.config.update("jax_compilation_cache_dir", str(default_cache_dir()))

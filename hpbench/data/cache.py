"""Datasets on disk as tensorstore zarr arrays: generated mini data and user data alike.

A generated dataset is materialised once under the data cache (``$HPBENCH_DATA_DIR``,
default ``~/.cache/hpbench/data``) and always read back through tensorstore, the same path
that user-supplied ``full`` data takes.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

COMPLETE_MARKER = ".complete"


def cache_dir() -> Path:
    """Where generated datasets live."""
    return Path(os.environ.get("HPBENCH_DATA_DIR", Path.home() / ".cache" / "hpbench" / "data"))


def _spec(path: Path) -> dict:
    return {"driver": "zarr", "kvstore": {"driver": "file", "path": str(path)}}


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write each array as ``path/<name>`` (a zarr array), chunked along the first axis."""
    import tensorstore as ts

    path.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        array = np.ascontiguousarray(array)
        rows = max(1, min(len(array), (1 << 22) // max(1, array[:1].nbytes))) if array.ndim else 1
        chunks = [rows, *array.shape[1:]] if array.ndim else []
        store = ts.open(
            {
                **_spec(path / name),
                "metadata": {
                    "shape": list(array.shape),
                    "dtype": array.dtype.str,
                    "chunks": chunks,
                },
            },
            create=True,
            delete_existing=True,
        ).result()
        store.write(array).result()


def read_arrays(path: Path, names: list[str] | None = None) -> dict[str, np.ndarray]:
    """Read the zarr arrays under ``path`` (all of them, or ``names``) into memory."""
    import tensorstore as ts

    path = Path(path)
    if names is None:
        names = sorted(p.name for p in path.iterdir() if (p / ".zarray").exists())
    return {name: ts.open(_spec(path / name)).result().read().result() for name in names}


def materialize(key: str, generate: Callable[[], dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The dataset ``key`` from the cache, generating and writing it first if missing.

    ``key`` must change whenever the generator's output would (name, seed, version, size).
    Writes go to a temporary directory renamed into place, so a killed process never
    leaves a half-written dataset behind.
    """
    path = cache_dir() / key
    if not (path / COMPLETE_MARKER).exists():
        tmp = path.with_name(f"{path.name}.tmp-{uuid.uuid4().hex[:8]}")
        write_arrays(tmp, generate())
        (tmp / COMPLETE_MARKER).touch()
        try:
            tmp.rename(path)
        except OSError:  # another process finished first; keep its copy
            shutil.rmtree(tmp, ignore_errors=True)
    return read_arrays(path)

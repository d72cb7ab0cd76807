"""User-supplied ``full`` datasets: check the layout before training, read rows lazily.

A ``full`` workload reads zarr arrays (one per name) from the directory given in the spec.
Every problem (missing directory, unreadable array, wrong rank, size or dtype) becomes one
``DataError`` naming the path and the whole expected layout, so a bad path fails at build
time, not hours into a run. The arrays stay on disk as tensorstore handles; ``take`` reads
the rows of one batch (and works on in-memory NumPy arrays alike, for generated data).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import numpy as np


@attrs.frozen
class ArrayLayout:
    """One expected array: ``shape`` uses ``None`` for a free size (e.g. the example count)."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str
    description: str = ""

    def render(self) -> str:
        dims = ", ".join("N" if d is None else str(d) for d in self.shape)
        note = f"  ({self.description})" if self.description else ""
        return f"  {self.name}: zarr {self.dtype} [{dims}]{note}"


class DataError(ValueError):
    """A user dataset that does not have the layout its workload needs."""


def open_user_arrays(
    path: str | Path | None, layouts: Sequence[ArrayLayout], workload: str
) -> dict[str, Any]:
    """Tensorstore handles of the arrays ``layouts`` under ``path``, each checked.

    Raises DataError naming ``path`` and the expected layout (see docs/data.md) when the
    directory or an array is missing or unreadable, or a rank, size or dtype differs.
    """
    import tensorstore as ts

    def fail(problem: str) -> DataError:
        expected = "\n".join(layout.render() for layout in layouts)
        return DataError(
            f"{workload} (size full): data path {str(path)!r}: {problem}.\n"
            f"Expected a directory of zarr arrays (docs/data.md, section {workload}):\n"
            f"{expected}\n"
            "Convert NumPy arrays with `hpbench data import`, and set `data` in the spec."
        )

    if path is None:
        raise fail("no data path given (size full reads user data)")
    root = Path(path).expanduser()
    if not root.is_dir():
        raise fail("not a directory")
    missing = [layout.name for layout in layouts if not (root / layout.name / ".zarray").exists()]
    if missing:
        raise fail(f"missing array(s) {', '.join(missing)}")
    arrays = {}
    for layout in layouts:
        spec = {"driver": "zarr", "kvstore": {"driver": "file", "path": str(root / layout.name)}}
        try:
            store = ts.open(spec, open=True, read=True).result()
        except Exception as error:  # tensorstore raises its own error types
            raise fail(f"array {layout.name} is unreadable ({error})") from error
        shape, dtype = tuple(store.shape), store.dtype.numpy_dtype
        if dtype != np.dtype(layout.dtype):
            raise fail(f"array {layout.name} has dtype {dtype}, expected {layout.dtype}")
        if len(shape) != len(layout.shape) or any(
            want is not None and want != got for want, got in zip(layout.shape, shape, strict=False)
        ):
            raise fail(f"array {layout.name} has shape {list(shape)}")
        if shape[0] == 0:
            raise fail(f"array {layout.name} is empty")
        arrays[layout.name] = store
    return arrays


def num_rows(array: Any) -> int:
    """The number of examples (first-axis length) of a NumPy array or tensorstore handle."""
    return int(array.shape[0])


def take(array: Any, rows: np.ndarray | slice) -> np.ndarray:
    """Rows of ``array`` (NumPy or tensorstore) as a NumPy array, by index array or slice."""
    if isinstance(array, np.ndarray):
        return array[rows]
    if isinstance(rows, slice):
        return np.asarray(array[rows].read().result())
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    values = np.asarray(array[rows[order]].read().result())
    out = np.empty_like(values)
    out[order] = values
    return out


def take_split(
    data: dict, split: str, names: tuple[str, ...], rows: np.ndarray | slice
) -> dict[str, np.ndarray]:
    """The ``rows`` of the arrays ``<split>_<name>`` of a workload's data, by ``name``."""
    return {name: take(data[f"{split}_{name}"], rows) for name in names}

"""NumPy arrays (``.npy``/``.npz`` files) into a ``full`` workload's zarr dataset.

The work of ``hpbench data import``. Everything that can be checked is checked before a
byte is written: names, ranks, fixed sizes and dtypes against the workload's full layout
(from the array headers, without reading the data), the row count of each split, then
every value of an array whose dtype must be converted (float64 to float32, int64 to int32,
...), which is allowed only when no value changes. The dataset is written into a hidden
sibling directory, re-opened with :func:`open_user_arrays` exactly as training will open
it, and only then renamed into place, so a failure never leaves a half-written directory
where the spec points. Nothing here imports JAX at module level (the layouts live in the
workload modules, imported by :func:`full_layout_of` on use).
"""

from __future__ import annotations

import importlib
import os
import shutil
import uuid
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO

import attrs
import numpy as np

from hpbench.data.cache import write_arrays
from hpbench.workloads.registry import get_workload
from hpbench.workloads.userdata import ArrayLayout, DataError, open_user_arrays

#: The splits whose arrays (``<split>_<name>``) must hold one row per example.
SPLITS = ("train", "valid")
#: For each target dtype kind, the source kinds that may be converted to it (values permitting).
CONVERTIBLE_KINDS = {"f": "fiub", "i": "iub", "u": "iub", "b": "biu"}
#: Elements converted and compared at a time when checking values (bounds the memory used).
CHECK_CHUNK_ELEMENTS = 1 << 24


class ImportProblem(ValueError):
    """Inputs that cannot become the dataset: each problem names its file and the fix;
    ``expected`` is the layout, when the problems are about the arrays."""

    def __init__(self, *problems: str, expected: str = "") -> None:
        super().__init__("\n".join([*problems, expected]).rstrip())
        self.problems = problems
        self.expected = expected


@attrs.frozen
class SourceArray:
    """One array of a source file, known by its header; ``load`` reads the values."""

    name: str
    path: Path
    shape: tuple[int, ...]
    dtype: np.dtype
    member: str | None = None  # the member of an .npz file; None for an .npy file

    @property
    def origin(self) -> str:
        return f"{self.path}" if self.member is None else f"{self.path} [{self.name}]"

    def load(self) -> np.ndarray:
        """The values: memory-mapped for ``.npy`` (read as used), in memory for ``.npz``."""
        if self.member is None:
            return np.load(self.path, mmap_mode="r", allow_pickle=False)
        with np.load(self.path, allow_pickle=False) as npz:
            return npz[self.name]


@attrs.frozen
class WrittenArray:
    """One array of the written dataset, for the summary."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    converted_from: np.dtype | None

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * self.dtype.itemsize


# --- the workload's layout -----------------------------------------------------------------


def full_layout_of(workload: str) -> tuple[ArrayLayout, ...]:
    """The layout that ``size = "full"`` of ``workload`` reads (imports its module, and JAX).

    Mirrors each family's ``build``: fastMRI and ImageNet pass their full config's image
    size to ``full_layout``; the others take no parameter.
    """
    family = get_workload(workload).family
    module = importlib.import_module(f"hpbench.workloads.{family}")
    if family == "fastmri":
        return module.full_layout(module.CONFIGS["full"].image_size)
    if family == "imagenet":
        return module.full_layout(module.DATA["full"].image_size)
    return module.full_layout()


def dims(layout: ArrayLayout) -> str:
    """The shape of ``layout`` as docs/data.md writes it: ``[N, 13]``."""
    return "[" + ", ".join("N" if size is None else str(size) for size in layout.shape) + "]"


def render_layout(layouts: Sequence[ArrayLayout]) -> str:
    return "\n".join(layout.render() for layout in layouts)


# --- reading the sources (headers only) -----------------------------------------------------


def _read_header(file: IO[bytes]) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from an ``.npy`` header, leaving the data unread."""
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
    else:
        shape, fortran_order, dtype = np.lib.format.read_array_header_2_0(file)
    return tuple(int(n) for n in shape), np.dtype(dtype)


def _npy_arrays(path: Path) -> list[SourceArray]:
    with path.open("rb") as file:
        shape, dtype = _read_header(file)
    return [SourceArray(path.stem, path, shape, dtype)]


def _npz_arrays(path: Path) -> list[SourceArray]:
    arrays = []
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            with archive.open(member) as file:
                shape, dtype = _read_header(file)
            arrays.append(SourceArray(member.removesuffix(".npy"), path, shape, dtype, member))
    return arrays


def read_source(path: Path) -> list[SourceArray]:
    """The arrays of one ``.npy`` or ``.npz`` file, from their headers."""
    if not path.exists():
        raise ImportProblem(f"{path}: no such file")
    if path.suffix not in (".npy", ".npz"):
        raise ImportProblem(f"{path}: expected a .npy or .npz file (numpy.save / numpy.savez)")
    try:
        return _npy_arrays(path) if path.suffix == ".npy" else _npz_arrays(path)
    except (OSError, ValueError, zipfile.BadZipFile) as error:
        raise ImportProblem(f"{path}: not a readable {path.suffix} file ({error})") from None


def read_sources(paths: Iterable[Path]) -> dict[str, SourceArray]:
    """Every array of ``paths`` by name; a name given twice is a problem."""
    arrays: dict[str, SourceArray] = {}
    for path in paths:
        for array in read_source(path):
            if array.name in arrays:
                raise ImportProblem(
                    f"array {array.name} is given twice: in {arrays[array.name].origin} "
                    f"and in {array.origin}; give each array once"
                )
            arrays[array.name] = array
    return arrays


# --- structural checks (headers only) ------------------------------------------------------


def name_problems(sources: dict[str, SourceArray], layouts: Sequence[ArrayLayout]) -> list[str]:
    """Arrays the layout needs that no source gives, and source arrays it does not know."""
    expected = [layout.name for layout in layouts]
    missing = [name for name in expected if name not in sources]
    unknown = [array for name, array in sources.items() if name not in expected]
    problems = [f"missing array {name}: give it in a SOURCE file" for name in missing]
    problems += [
        f"{array.origin}: unknown array {array.name}: the layout has no such array; "
        "rename or leave it out"
        for array in unknown
    ]
    return problems


def can_convert(source: np.dtype, target: np.dtype) -> bool:
    """Whether ``source`` values may become ``target`` values (if each fits exactly)."""
    return source.kind in CONVERTIBLE_KINDS.get(target.kind, "")


def shape_fits(shape: tuple[int, ...], layout: ArrayLayout) -> bool:
    """Same rank as ``layout``, and its fixed sizes where it has them."""
    return len(shape) == len(layout.shape) and all(
        want is None or want == got for want, got in zip(layout.shape, shape, strict=True)
    )


def array_problems(array: SourceArray, layout: ArrayLayout) -> list[str]:
    """Rank, fixed sizes, emptiness and dtype of one array against its layout."""
    problems = []
    if not shape_fits(array.shape, layout):
        problems.append(f"{array.origin}: shape {list(array.shape)}; expected {dims(layout)}")
    elif array.shape[0] == 0:
        problems.append(f"{array.origin}: no rows; every array needs at least one")
    target = np.dtype(layout.dtype)
    if not can_convert(array.dtype, target):
        problems.append(
            f"{array.origin}: dtype {array.dtype}, which does not convert to {target}; "
            f"save it as {target}"
        )
    return problems


def split_of(name: str) -> str | None:
    split = name.split("_", 1)[0]
    return split if split in SPLITS else None


def row_problems(arrays: Iterable[SourceArray]) -> list[str]:
    """Splits whose arrays disagree on the number of rows (one row per example)."""
    rows: dict[str, dict[str, int]] = {}
    for array in arrays:
        split = split_of(array.name)
        if split is not None and array.shape:
            rows.setdefault(split, {})[array.name] = array.shape[0]
    problems = []
    for split, counts in rows.items():
        if len(set(counts.values())) > 1:
            listed = ", ".join(f"{name} {count}" for name, count in counts.items())
            problems.append(
                f"split {split}: row counts differ ({listed}); "
                f"every {split}_* array needs one row per {split} example"
            )
    return problems


def structure_problems(
    sources: dict[str, SourceArray], layouts: Sequence[ArrayLayout]
) -> list[str]:
    """Every problem the headers show: names, shapes, dtypes, row counts."""
    problems = name_problems(sources, layouts)
    known = [layout for layout in layouts if layout.name in sources]
    for layout in known:
        problems += array_problems(sources[layout.name], layout)
    problems += row_problems(sources[layout.name] for layout in known)
    return problems


# --- values (read only where a dtype is converted) -----------------------------------------


def row_chunks(array: np.ndarray) -> Iterator[np.ndarray]:
    """Slices of ``array`` along its first axis of about CHECK_CHUNK_ELEMENTS elements."""
    row_size = max(1, int(np.prod(array.shape[1:], dtype=np.int64)))
    rows = max(1, CHECK_CHUNK_ELEMENTS // row_size)
    for start in range(0, len(array), rows):
        yield np.asarray(array[start : start + rows])


def fits_exactly(values: np.ndarray, target: np.dtype) -> bool:
    """Whether converting ``values`` to ``target`` keeps every value (NaN stays NaN)."""
    if values.size == 0 or values.dtype == target:
        return True
    if target.kind == "b":
        return bool(np.isin(values, (0, 1)).all())
    if target.kind in "iu":
        info = np.iinfo(target)
        return bool(info.min <= values.min() and values.max() <= info.max)
    with np.errstate(over="ignore", invalid="ignore"):
        back = values.astype(target).astype(values.dtype)
    return np.array_equal(back, values, equal_nan=values.dtype.kind == "f")


def value_problem(array: SourceArray, layout: ArrayLayout) -> str | None:
    """Why ``array`` cannot be converted to the layout's dtype, or None if it can."""
    target = np.dtype(layout.dtype)
    if array.dtype == target:
        return None
    if all(fits_exactly(chunk, target) for chunk in row_chunks(array.load())):
        return None
    return (
        f"{array.origin}: dtype {array.dtype} with values that {target} cannot hold exactly; "
        f"save it as {target} (e.g. numpy's astype) if the rounding is acceptable"
    )


# --- the output directory ------------------------------------------------------------------


def is_zarr_dataset(path: Path) -> bool:
    """Whether ``path`` holds only zarr arrays (what an import writes), so may be replaced."""
    return all(entry.is_dir() and (entry / ".zarray").exists() for entry in path.iterdir())


def output_problem(out: Path, force: bool) -> str | None:
    """Why ``out`` cannot receive the dataset, or None. ``--force`` replaces only a
    dataset, never a directory holding other files (a mistyped --out must not wipe it)."""
    if out.exists() and not out.is_dir():
        return f"--out {out}: is a file; give a directory"
    if not out.is_dir() or not any(out.iterdir()):
        return None
    if not force:
        return f"--out {out}: not empty; choose a new directory, or pass --force to replace it"
    if not is_zarr_dataset(out):
        return (
            f"--out {out}: holds files that are not zarr arrays; --force replaces only a "
            "dataset, so choose a new or empty directory"
        )
    return None


def replace_directory(new: Path, out: Path) -> None:
    """Put ``new`` at ``out``: a rename, after moving away what is there (removed last)."""
    if out.is_dir() and not any(out.iterdir()):
        out.rmdir()
    old = None
    if out.exists():
        old = out.with_name(f".{out.name}.replaced-{uuid.uuid4().hex[:8]}")
        out.rename(old)
    try:
        new.rename(out)
    except OSError:
        if old is not None:
            old.rename(out)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


# --- the import ----------------------------------------------------------------------------


def convert(array: np.ndarray, dtype: str) -> np.ndarray:
    """``array`` in ``dtype`` (native byte order); a view when nothing changes."""
    return np.asarray(array).astype(np.dtype(dtype), copy=False)


def import_arrays(
    workload: str, paths: Sequence[Path], out: Path, force: bool = False
) -> list[WrittenArray]:
    """Check ``paths`` against the full layout of ``workload`` and write the dataset at ``out``.

    Raises ImportProblem (nothing written) when a source, the output directory, or any
    array does not fit; returns the written arrays in layout order.
    """
    problem = output_problem(out, force)
    if problem:
        raise ImportProblem(problem)
    layouts = full_layout_of(workload)
    sources = read_sources(paths)
    problems = structure_problems(sources, layouts)
    if not problems:
        problems = [p for p in (value_problem(sources[lay.name], lay) for lay in layouts) if p]
    if problems:
        expected = f"{workload} (size full) expects:\n{render_layout(layouts)}"
        raise ImportProblem(*problems, expected=expected)
    return write_dataset(workload, layouts, sources, out)


def write_dataset(
    workload: str,
    layouts: Sequence[ArrayLayout],
    sources: dict[str, SourceArray],
    out: Path,
) -> list[WrittenArray]:
    """Write checked ``sources`` next to ``out``, open them as training will, rename into place.

    One array is in memory at a time. A failure removes the partial copy; ``out`` is only
    ever replaced by a complete dataset that loads.
    """
    out = Path(os.path.abspath(out))  # "." or "data/" still have a parent and a name
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.importing-{uuid.uuid4().hex[:8]}")
    try:
        for layout in layouts:
            write_arrays(partial, {layout.name: convert(sources[layout.name].load(), layout.dtype)})
        try:
            stores = open_user_arrays(partial, layouts, workload)
        except DataError as error:  # a bug here, not the user's: the checks should match
            raise ImportProblem(f"the written dataset does not load: {error}") from error
        replace_directory(partial, out)
    finally:
        if partial.exists():
            shutil.rmtree(partial, ignore_errors=True)
    return [written_array(layout, sources[layout.name], stores[layout.name]) for layout in layouts]


def written_array(layout: ArrayLayout, source: SourceArray, store) -> WrittenArray:
    """The summary of one written array (``store``: its tensorstore handle)."""
    dtype = np.dtype(layout.dtype)
    converted_from = None if source.dtype == dtype else source.dtype
    return WrittenArray(layout.name, tuple(store.shape), dtype, converted_from)


def disk_bytes(path: Path) -> int:
    """The bytes of the files under ``path``."""
    return sum(
        (Path(root) / name).stat().st_size for root, _, names in os.walk(path) for name in names
    )

"""Which layout a ``full`` workload's data directory holds, and where it is by default.

``data`` in the spec names the directory; without it, a workload looks in
``$HPBENCH_DATA_DIR/<AlgoPerf's directory name>`` (``fastmri``, ``criteo1tb``,
``librispeech``, ``wmt``, ``ogbg``), where
AlgoPerf's ``dataset_setup.py --data_dir=$HPBENCH_DATA_DIR`` puts them. The layout is
detected from the directory's contents: AlgoPerf's own files, else zarr arrays.
"""

from __future__ import annotations

from pathlib import Path


def data_root(data: str | None, algoperf_name: str) -> Path | None:
    """The spec's ``data`` directory, else AlgoPerf's directory under the data cache, if it
    exists (None: no directory to read)."""
    if data is not None:
        return Path(data).expanduser()
    from hpbench.data.cache import cache_dir

    default = cache_dir() / algoperf_name
    return default if default.is_dir() else None


def detect(root: Path | None) -> str:
    """``"fastmri_h5"``, ``"criteo_tsv"``, ``"librispeech_npy"``, ``"wmt_tfds"`` or
    ``"zarr"`` (the fallback, whose reader names every problem with the directory)."""
    if root is None or not root.is_dir():
        return "zarr"
    from hpbench.data.criteo_tsv import is_criteo_dir
    from hpbench.data.fastmri_h5 import is_fastmri_dir
    from hpbench.data.librispeech_npy import is_librispeech_dir
    from hpbench.data.wmt_tfds import is_wmt_dir

    if is_fastmri_dir(root):
        return "fastmri_h5"
    if is_criteo_dir(root):
        return "criteo_tsv"
    if is_librispeech_dir(root):
        return "librispeech_npy"
    if is_wmt_dir(root):
        return "wmt_tfds"
    return "zarr"


def require_extra(modules: tuple[str, ...] = ("grain", "h5py")) -> None:
    """Fail clearly when AlgoPerf's formats are present but the extra that reads them is not."""
    missing = []
    for module in modules:
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ImportError(
            f"reading AlgoPerf's data files needs {', '.join(missing)}:"
            " pip install 'hpbench[algoperf-data]'"
        )

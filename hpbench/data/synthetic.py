"""Synthetic datasets in AlgoPerf's on-disk formats (fastMRI h5 volumes, Criteo day TSVs):
random values in the real keys, attributes, file names and field layout, for tests,
throughput benchmarks and trying a setup before the real data is at hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FASTMRI_WIDTH = 368  # k-space columns of a real knee volume (640 x 368)


def write_fastmri_volume(path: Path, rng: np.random.Generator, slices: int, width: int) -> None:
    """One volume as fastMRI's knee_singlecoil files: kspace, reconstruction_esc, attrs."""
    import h5py

    kspace = rng.normal(size=(slices, 640, width)) + 1j * rng.normal(size=(slices, 640, width))
    target = rng.uniform(0, 1e-4, size=(slices, 320, 320)).astype(np.float32)
    with h5py.File(path, "w") as file:
        file.create_dataset("kspace", data=(kspace * 1e-5).astype(np.complex64))
        file.create_dataset("reconstruction_esc", data=target)
        file.create_dataset("ismrmrd_header", data=b"<ismrmrdHeader/>")
        file.attrs["max"] = float(target.max())
        file.attrs["norm"] = float(np.linalg.norm(target))
        file.attrs["acquisition"] = "CORPD_FBK"


def write_fastmri(root: Path, train: tuple[int, ...] = (3, 2), valid: tuple[int, ...] = (2, 1)):
    """``root/knee_singlecoil_{train,val}/file*.h5`` with the given slice counts."""
    rng = np.random.default_rng(0)
    for split, counts in (("knee_singlecoil_train", train), ("knee_singlecoil_val", valid)):
        (root / split).mkdir(parents=True)
        for i, count in enumerate(counts):
            write_fastmri_volume(root / split / f"file{1000000 + i}.h5", rng, count, FASTMRI_WIDTH)
    return root


def criteo_lines(rng: np.random.Generator, count: int) -> str:
    """``count`` click-log lines: label, 13 counts, 26 hex values; ~10% of fields empty."""
    labels = (rng.random(count) < 0.25).astype(int)
    counts = rng.integers(-2, 5000, (count, 13))
    hexes = rng.integers(0, 2**32, (count, 26))
    empty = rng.random((count, 39)) < 0.1
    lines = []
    for i in range(count):
        fields = [str(labels[i])]
        fields += ["" if empty[i, j] else str(counts[i, j]) for j in range(13)]
        fields += ["" if empty[i, 13 + j] else f"{hexes[i, j]:08x}" for j in range(26)]
        lines.append("\t".join(fields) + "\n")
    return "".join(lines)


def write_criteo(root: Path, train_lines: tuple[int, ...] = (40, 25, 30), valid_lines: int = 20):
    """``day_<d>_00`` training files (one per entry of ``train_lines``) and the validation
    files day_23_19 .. day_23_35 (the first two holding lines), as dataset_setup.py names them."""
    rng = np.random.default_rng(1)
    root.mkdir(parents=True, exist_ok=True)
    for day, count in enumerate(train_lines):
        (root / f"day_{day}_00").write_text(criteo_lines(rng, count))
    for n in range(19, 36):
        count = valid_lines // 2 if n in (19, 20) else 0
        (root / f"day_23_{n:02d}").write_text(criteo_lines(rng, count))
    (root / "day_23_00").write_text(criteo_lines(rng, 1))  # AlgoPerf's test split: unread
    return root

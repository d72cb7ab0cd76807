"""AlgoPerf's fastMRI single-coil knee data: the h5 volumes its ``dataset_setup.py`` unpacks.

Layout (``<data>/knee_singlecoil_train/*.h5``, ``<data>/knee_singlecoil_val/*.h5``): each
file is one volume with ``kspace`` (slices, 640, W) complex64, ``reconstruction_esc``
(slices, 320, 320) float32 and the attribute ``max`` (the target volume's maximum). A slice
becomes an example as in AlgoPerf's ``input_pipeline.py``: a random 4x column mask with an
8% fully sampled centre, the centred orthonormal inverse FFT, a 320x320 centre crop, the
magnitude, and input and target normalised by the input's mean and standard deviation,
clipped to [-6, 6]. Validation is the first 100 sorted volumes, one fixed mask (seed 0).
"""

from __future__ import annotations

from pathlib import Path

import attrs
import numpy as np

from hpbench.data.stream import ONE_HOST, Batch, HostShard

TRAIN_DIR = "knee_singlecoil_train"
VAL_DIR = "knee_singlecoil_val"
NUM_VALID_VOLUMES = 100
CENTER_FRACTION = np.float32(0.08)
ACCELERATION = np.float32(4.0)
EVAL_SEED = 0
TRAIN_KEYS = ("inputs", "targets")
EVAL_KEYS = ("inputs", "targets", "mean", "std", "volume_max")


class FastMRIDataError(ValueError):
    """A fastMRI directory or volume that is not in AlgoPerf's layout."""


def is_fastmri_dir(path: Path) -> bool:
    """Whether ``path`` holds AlgoPerf's fastMRI layout (both split directories)."""
    return (path / TRAIN_DIR).is_dir() and (path / VAL_DIR).is_dir()


def column_mask(num_cols: int, rng: np.random.Generator) -> np.ndarray:
    """AlgoPerf's k-space column mask: the centre ``int(0.08 W)`` columns always, every other
    column with the probability that makes 1/4 of all columns sampled."""
    num_low = int(np.float32(num_cols) * CENTER_FRACTION)
    center = np.zeros(num_cols, np.float32)
    pad = (num_cols - num_low + 1) // 2
    center[pad : pad + num_low] = 1.0
    prob = (np.float32(num_cols) / ACCELERATION - num_low) / np.float32(num_cols - num_low)
    random = (rng.uniform(size=num_cols) < prob).astype(np.float32)
    return np.maximum(center, random)


def process_slice(
    kspace: np.ndarray, target: np.ndarray, volume_max: float, mask: np.ndarray
) -> Batch:
    """One example from one slice (AlgoPerf's ``_process_example``, in NumPy)."""
    masked = kspace * mask[None, :].astype(np.complex64)
    image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(masked, axes=(0, 1))), axes=(0, 1))
    image = image * np.sqrt(kspace.shape[0] * kspace.shape[1])
    w_from = (kspace.shape[0] - target.shape[0]) // 2
    h_from = (kspace.shape[1] - target.shape[1]) // 2
    image = image[w_from : w_from + target.shape[0], h_from : h_from + target.shape[1]]
    magnitude = np.abs(image).astype(np.float32)
    mean, std = magnitude.mean(), magnitude.std()
    return {
        "inputs": np.clip((magnitude - mean) / std, -6, 6).astype(np.float32),
        "targets": np.clip((target - mean) / std, -6, 6).astype(np.float32),
        "mean": np.float32(mean),
        "std": np.float32(std),
        "volume_max": np.float32(volume_max),
    }


def _volumes(directory: Path) -> tuple[tuple[str, int], ...]:
    """(path, slice count) of each sorted ``*.h5`` volume, every one checked."""
    import h5py

    out = []
    for path in sorted(directory.glob("*.h5")):
        try:
            with h5py.File(path, "r") as file:
                kspace, target = file["kspace"], file["reconstruction_esc"]
                if kspace.ndim != 3 or target.shape[1:] != (320, 320):
                    raise FastMRIDataError(
                        f"{path}: kspace {kspace.shape}, reconstruction_esc {target.shape};"
                        " expected (slices, 640, W) and (slices, 320, 320)"
                    )
                if kspace.shape[0] != target.shape[0]:
                    raise FastMRIDataError(f"{path}: kspace and target slice counts differ")
                out.append((str(path), int(kspace.shape[0])))
        except (OSError, KeyError) as error:
            raise FastMRIDataError(f"{path}: not a fastMRI volume ({error})") from error
    if not out:
        raise FastMRIDataError(f"{directory}: no .h5 volumes")
    return tuple(out)


@attrs.frozen
class FastMRISplit:
    """The slices of one split, addressed by a global slice number (volume order)."""

    volumes: tuple[tuple[str, int], ...]
    starts: np.ndarray = attrs.field(eq=False)

    @classmethod
    def open(cls, directory: Path, limit: int | None = None) -> FastMRISplit:
        volumes = _volumes(directory)[:limit]
        starts = np.cumsum([0] + [count for _, count in volumes])
        return cls(volumes, starts)

    @property
    def num_slices(self) -> int:
        return int(self.starts[-1])

    def read(self, slices: np.ndarray, seeds: list[list[int]]) -> Batch:
        """Examples of global slice numbers ``slices``, slice i masked by ``seeds[i]``."""
        import h5py

        examples = []
        for number, seed in zip(slices, seeds, strict=True):
            volume = int(np.searchsorted(self.starts, number, side="right")) - 1
            path, _ = self.volumes[volume]
            with h5py.File(path, "r") as file:
                index = int(number - self.starts[volume])
                kspace = file["kspace"][index]
                target = file["reconstruction_esc"][index]
                volume_max = float(file.attrs.get("max", 0.0))
            mask = column_mask(kspace.shape[1], np.random.default_rng(seed))
            examples.append(process_slice(kspace, target, volume_max, mask))
        return {key: np.stack([e[key] for e in examples]) for key in EVAL_KEYS}


@attrs.frozen
class FastMRIReader:
    """Training batches and validation batches of one fastMRI directory.

    Training batch ``step`` holds the slices at positions ``[step B, (step + 1) B)`` of
    per-epoch permutations seeded by (seed, epoch); each slice's mask is seeded by (seed,
    slice), so a slice keeps its mask across epochs, as in AlgoPerf.
    """

    train: FastMRISplit
    valid: FastMRISplit
    batch_size: int
    shard: HostShard = HostShard()

    @classmethod
    def open(cls, root: Path, batch_size: int, shard: HostShard = ONE_HOST) -> FastMRIReader:
        if not is_fastmri_dir(root):
            raise FastMRIDataError(
                f"{root}: expected AlgoPerf's fastMRI layout, {TRAIN_DIR}/ and {VAL_DIR}/"
                " holding the single-coil knee .h5 volumes"
            )
        train = FastMRISplit.open(root / TRAIN_DIR)
        valid = FastMRISplit.open(root / VAL_DIR, NUM_VALID_VOLUMES)
        return cls(train, valid, batch_size, shard)

    def __call__(self, seed: int, step: int) -> Batch:
        from hpbench.data.order import batch_indices

        first, count = self.shard.rows(self.batch_size)
        slices = batch_indices(seed, step, self.train.num_slices, self.batch_size)
        slices = slices[first : first + count]
        batch = self.train.read(slices, [[seed, int(s)] for s in slices])
        return {key: batch[key] for key in TRAIN_KEYS}

    def valid_batch(self, rows: slice) -> Batch:
        """Validation slices ``rows`` (all with the fixed evaluation mask)."""
        slices = np.arange(rows.start, rows.stop)
        return self.valid.read(slices, [[EVAL_SEED]] * len(slices))

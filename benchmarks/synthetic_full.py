"""Synthetic in-memory data in the real shapes of a ``full`` workload, for speed measurements.

A ``full`` workload reads the user's zarr arrays (``hpbench.workloads.userdata``); a speed
benchmark needs no real data, only batches of the real shapes and value ranges. Inside
:func:`synthetic_full_data` the workload's family module gets NumPy arrays of its
``full_layout`` in place of the opened zarr arrays (``take`` reads both alike), so the
engine and the workload code run unchanged. Free sizes (sequence lengths) are AlgoPerf's.
"""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator

import numpy as np

#: Free (``None``) sizes after the example axis, per workload and split: AlgoPerf's WMT
#: sequences of 256 tokens; LibriSpeech's utterances padded to 320,000 samples (20 s at
#: 16 kHz) with transcripts of up to 256 tokens. Validation is short: evaluation is not
#: measured.
FREE_SIZES = {
    "wmt": {"train": {"inputs": 256, "targets": 256}, "valid": {"inputs": 32, "targets": 32}},
    "librispeech_conformer": {
        "train": {
            "audio": 320_000,
            "audio_paddings": 320_000,
            "labels": 256,
            "label_paddings": 256,
        },
        "valid": {"audio": 32_000, "audio_paddings": 32_000, "labels": 32, "label_paddings": 32},
    },
}
FREE_SIZES["librispeech_deepspeech"] = FREE_SIZES["librispeech_conformer"]
#: Validation examples: one short evaluation batch.
VALID_ROWS = 8
#: Upper bounds of integer ids (exclusive), by array name without its split.
ID_RANGES = {
    "imagenet": {"labels": (0, 1000)},
    "criteo": {"categorical": (0, 4_194_304)},
    "wmt": {"inputs": (3, 32_000), "targets": (3, 32_000)},
    "librispeech": {"labels": (1, 1024)},
}
SUPPORTED = ("imagenet_resnet", "imagenet_vit", "criteo", "wmt", "librispeech_conformer")


def synthetic_arrays(workload: str, batch_size: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Arrays of ``workload``'s full layout: ``batch_size`` training rows (one batch, drawn
    in a fresh order every step), :data:`VALID_ROWS` validation rows."""
    from hpbench.workloads.importer import full_layout_of
    from hpbench.workloads.registry import get_workload

    if workload not in SUPPORTED:
        raise ValueError(f"no synthetic full data for {workload!r}; known: {SUPPORTED}")
    family = get_workload(workload).family
    rng = np.random.default_rng(seed)
    arrays = {}
    for layout in full_layout_of(workload):
        split, _, name = layout.name.partition("_")
        if split not in ("train", "valid"):  # a table without examples (word_start)
            split, name = "", layout.name
        free = FREE_SIZES.get(workload, {}).get(split, {})
        rows = batch_size if split == "train" else VALID_ROWS
        shape = [rows if split else layout.shape[0]]
        shape += [free[name] if d is None else d for d in layout.shape[1:]]
        arrays[layout.name] = _values(family, name, layout.dtype, tuple(shape), rng)
    return arrays


def _values(family: str, name: str, dtype: str, shape: tuple[int, ...], rng) -> np.ndarray:
    """Values in the range the layout's description asks for."""
    if dtype == "uint8":
        return rng.integers(0, 256, shape, dtype=np.uint8)
    if dtype == "bool":
        return rng.random(shape) < 0.3
    if dtype == "int32":
        low, high = ID_RANGES[family][name]
        ids = rng.integers(low, high, shape, dtype=np.int32)
        if family == "wmt":  # EOS then padding in the last eighth
            ids[:, -shape[1] // 8] = 2
            ids[:, -shape[1] // 8 + 1 :] = 0
        return ids
    if name.endswith("paddings"):  # the last tenth of each sequence is padding
        paddings = np.zeros(shape, np.float32)
        paddings[:, shape[1] - shape[1] // 10 :] = 1.0
        return paddings
    if name == "audio":  # 16-bit samples
        return np.clip(rng.normal(0, 3000, shape).round(), -32768, 32767).astype(np.float32)
    if family == "criteo" and name == "labels":
        return (rng.random(shape) < 0.25).astype(np.float32)
    values = rng.standard_normal(shape, dtype=np.float32)
    return np.abs(values) if family == "criteo" else values


@contextlib.contextmanager
def synthetic_full_data(workload: str, batch_size: int) -> Iterator[dict[str, np.ndarray]]:
    """While open, building ``workload`` at size ``full`` (any data path) gives it
    :func:`synthetic_arrays` instead of the user's zarr arrays."""
    from hpbench.workloads.registry import get_workload

    arrays = synthetic_arrays(workload, batch_size)
    module = importlib.import_module(f"hpbench.workloads.{get_workload(workload).family}")
    original = module.open_user_arrays
    module.open_user_arrays = lambda path, layouts, name: arrays
    try:
        yield arrays
    finally:
        module.open_user_arrays = original

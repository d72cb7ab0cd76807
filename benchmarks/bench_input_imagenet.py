"""ImageNet input-pipeline throughput (images/s per CPU core), augmentation on.

Writes synthetic JPEGs the size of a typical ImageNet photo (500 x 375, smooth colour
fields with texture, ~110 KB at quality 90 like ImageNet's) into real TFDS imagenet2012
TFRecord shards, then times each reader in one process: ResNet training (decode,
random-resized crop, bicubic resize, flip), ViT training (also RandAugment and mixup) and
evaluation (centre crop), per CPU-second of the process (so a loaded machine's share does
not enter); and the ResNet reader through 2 grain worker processes, by the wall clock.
From the per-core rate it prints the host cores an 8-accelerator host needs at AlgoPerf's batch of
1024 for a few steps/s. Needs the algoperf-data extra.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import parser

BATCH = 32
IMAGES = 64


def synthetic_jpeg(rng: np.random.Generator, height: int = 375, width: int = 500) -> bytes:
    """A photo-like JPEG: low-frequency colour fields plus fine texture."""
    from PIL import Image

    coarse = rng.uniform(0, 255, (7, 9, 3))
    y = np.linspace(0, 5, height)[:, None]
    x = np.linspace(0, 7, width)[None, :]
    yi, xi = y.astype(int), x.astype(int)
    fy, fx = (y - yi)[..., None], (x - xi)[..., None]
    field = (
        coarse[yi, xi] * (1 - fy) * (1 - fx)
        + coarse[yi + 1, xi] * fy * (1 - fx)
        + coarse[yi, xi + 1] * (1 - fy) * fx
        + coarse[yi + 1, xi + 1] * fy * fx
    )
    pixels = np.clip(field + rng.normal(0, 18, field.shape), 0, 255).astype(np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    from benchmarks.bench_input import rate, stream_rate
    from hpbench.data.imagenet_tfds import ImageNetReader, write_dataset

    def cpu_rate(load) -> float:  # images per CPU-second of this process
        return rate(load, 6, BATCH, time.process_time)

    rng = np.random.default_rng(0)
    examples = [(synthetic_jpeg(rng), int(rng.integers(0, 1000))) for _ in range(IMAGES)]
    mean_kb = np.mean([len(data) for data, _ in examples]) / 1024
    with tempfile.TemporaryDirectory() as tmp:
        write_dataset(Path(tmp), {"train": examples, "validation": examples}, num_shards=4)
        resnet = ImageNetReader.open(Path(tmp), BATCH)
        vit = ImageNetReader.open(Path(tmp), BATCH, vit=True)
        rows = [
            ("resnet train (decode, crop, resize, flip)", "1 core (CPU s)",
             cpu_rate(lambda s: resnet(0, s))),
            ("vit train (+ RandAugment, mixup)", "1 core (CPU s)", cpu_rate(lambda s: vit(0, s))),
            ("eval (decode, centre crop, resize)", "1 core (CPU s)",
             cpu_rate(lambda s: resnet.valid_batch(slice(0, BATCH)))),
            ("resnet train", "2 workers (wall)", stream_rate(resnet, 16, BATCH, 2)),
        ]  # fmt: skip
    print(f"synthetic JPEGs: 500 x 375, {mean_kb:.0f} KB on average")
    for name, how, per_second in rows:
        print(f"{name:44s} {how:16s} {per_second:8,.0f} images/s")
    per_core = rows[0][2]
    for steps in (2, 4, 8):
        print(
            f"batch 1024 at {steps} steps/s: {steps * 1024:,} images/s ="
            f" {steps * 1024 / per_core:.0f} cores at the ResNet rate,"
            f" {steps * 1024 / rows[1][2]:.0f} at the ViT rate"
        )


if __name__ == "__main__":
    main(sys.argv[1:])

"""ImageNet as AlgoPerf's ``dataset_setup.py`` leaves it: TFDS ``imagenet2012/5.1.0`` with
``imagenet2012-{train,validation}.tfrecord-NNNNN-of-MMMMM`` shards of ``tf.train.Example``
records (``image``: JPEG bytes, ``label``: int64, ``file_name``: bytes), read without
TensorFlow and by random access: each shard's record offsets are found once by walking its
length headers (cached on disk by path, size and mtime), so batch ``k`` never reads what
comes before it.

Training batch ``step`` holds the images at positions ``[step B, (step + 1) B)`` of
per-epoch permutations seeded by (seed, epoch); each image's crop, flip and (ViT)
RandAugment draws are seeded by (seed, step, row), the batch's mixup weight by (seed,
step). Images leave as float32 pixel values (0-255 scale, unnormalised: the model
normalises on the device, as for every ImageNet layout).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs
import numpy as np

from hpbench.data import image_ops
from hpbench.data.stream import ONE_HOST, Batch, HostShard
from hpbench.data.tfrecord import (
    SplitRecords,
    TfdsError,
    delimited,
    encode_varint,
    fields,
    varint,
    write_split,
)

NAME, VERSION = "imagenet2012", "5.1.0"
TRAIN, VALID = "train", "validation"
NUM_CLASSES = 1000
MIXUP_TAG = 0x6D69  # separates the mixup stream from the per-image streams


def dataset_dir(path: str | Path) -> Path:
    """The ``imagenet2012/5.1.0`` directory under ``path`` (AlgoPerf's data dir, its
    ``imagenet/jax`` folder, ``imagenet2012/`` or the version folder itself)."""
    root = Path(path).expanduser()
    for candidate in (
        root / NAME / VERSION,
        root / "jax" / NAME / VERSION,
        root / "imagenet" / "jax" / NAME / VERSION,
        root / VERSION,
        root,
    ):
        if (candidate / "dataset_info.json").is_file() and any(candidate.glob(f"{NAME}-*")):
            return candidate
    raise TfdsError(
        f"{str(path)!r}: no {NAME}/{VERSION}/ with dataset_info.json and {NAME}-*.tfrecord-*"
        " shards under it (the TFDS layout AlgoPerf's dataset_setup.py --dataset imagenet"
        " writes; see docs/data.md)"
    )


def is_imagenet_dir(path: Path) -> bool:
    try:
        dataset_dir(path)
    except TfdsError:
        return False
    return True


# --- tf.train.Example with bytes and int64 features ----------------------------------------


def parse_image_example(data: bytes, where: str) -> tuple[bytes, int]:
    """(JPEG bytes, label) of one serialized ``tf.train.Example``."""
    image = label = None
    for number, _, features in fields(data):
        if number != 1:
            continue
        for _, _, entry in fields(features):
            parts = {n: v for n, _, v in fields(entry)}
            name = bytes(parts.get(1, b"")).decode()
            for kind, _, values in fields(parts.get(2, b"")):
                if name == "image" and kind == 1:  # bytes_list
                    image = next((bytes(v) for n, _, v in fields(values) if n == 1), None)
                elif name == "label" and kind == 3:  # int64_list, packed or not
                    label = _first_int(values)
    if image is None or label is None:
        raise TfdsError(f"{where}: an Example without an 'image' (bytes) and a 'label' (int64)")
    if not 0 <= label < NUM_CLASSES:
        raise TfdsError(f"{where}: label {label} outside [0, {NUM_CLASSES})")
    return image, label


def _first_int(values: bytes) -> int:
    for _, wire, value in fields(values):
        return value if wire == 0 else varint(value, 0)[0]
    raise TfdsError("an empty int64_list")


def encode_image_example(image: bytes, label: int, file_name: str) -> bytes:
    """A ``tf.train.Example`` as TFDS's imagenet2012 builder writes one."""

    def entry(name: str, kind: int, values: bytes) -> bytes:  # kind 1: bytes, 3: int64
        feature = delimited(kind, values)
        return delimited(1, delimited(1, name.encode()) + delimited(2, feature))

    entries = (
        entry("file_name", 1, delimited(1, file_name.encode()))
        + entry("image", 1, delimited(1, image))
        + entry("label", 3, delimited(1, encode_varint(label)))
    )
    return delimited(1, entries)


# --- shards and random access ---------------------------------------------------------------


@attrs.frozen
class ImageSplit(SplitRecords):
    """The examples of one split, addressed by a global number (shards in file order)."""

    @classmethod
    def open(cls, root: Path, split: str, cache: Path | None = None) -> ImageSplit:
        """Every shard of ``split``, its record count checked against dataset_info.json."""
        return cls.of_split(root, NAME, split, cache)

    def example(self, number: int) -> tuple[bytes, int]:
        """(JPEG bytes, label) of example ``number``."""
        return parse_image_example(*self.record(number))


@attrs.frozen
class ImageNetReader:
    """Training and validation batches of AlgoPerf's ImageNet: ResNet's augmentation
    (random-resized crop, flip), and for ViT (``vit=True``) also RandAugment and mixup."""

    train: ImageSplit
    valid: ImageSplit
    batch_size: int
    vit: bool = False
    shard: HostShard = HostShard()

    @classmethod
    def open(
        cls,
        path: Path,
        batch_size: int,
        vit: bool = False,
        shard: HostShard = ONE_HOST,
        cache: Path | None = None,
    ) -> ImageNetReader:
        """The TFDS directory under ``path``; record offsets cached under ``cache``."""
        root = dataset_dir(path)
        train, valid = ImageSplit.open(root, TRAIN, cache), ImageSplit.open(root, VALID, cache)
        return cls(train, valid, batch_size, vit, shard)

    def _example(self, seed: int, step: int, row: int, number: int) -> tuple[np.ndarray, int]:
        """Row ``row`` of batch ``step``: example ``number``, augmented by its own draws."""
        data, label = self.train.example(number)
        rng = np.random.default_rng([seed, step, row])
        return image_ops.preprocess_train(data, rng, randaugment=self.vit), label

    def __call__(self, seed: int, step: int) -> Batch:
        from hpbench.data.order import batch_indices

        numbers = batch_indices(seed, step, len(self.train), self.batch_size)
        first, count = self.shard.rows(self.batch_size)
        rows = range(first, first + count)
        examples = [self._example(seed, step, row, int(numbers[row])) for row in rows]
        batch = {
            "images": np.stack([image for image, _ in examples]),
            "labels": np.asarray([label for _, label in examples], np.int32),
        }
        if self.vit:  # mixup with the previous row of the global batch (tf.roll by 1)
            previous = (first - 1) % self.batch_size
            before = (
                examples[-1]
                if count == self.batch_size
                else self._example(seed, step, previous, int(numbers[previous]))
            )
            weight = image_ops.mixup_weight(np.random.default_rng([MIXUP_TAG, seed, step]))
            rolled = np.concatenate([before[0][None], batch["images"][:-1]])
            batch["images"] = weight * batch["images"] + (1 - weight) * rolled
            batch["mix_labels"] = np.concatenate([[before[1]], batch["labels"][:-1]]).astype(
                np.int32
            )
            batch["mix_weights"] = np.full(count, weight, np.float32)
        return batch

    def valid_batch(self, rows: slice) -> Batch:
        """Validation examples ``rows``: centre crop, no augmentation."""
        examples = [self.valid.example(n) for n in range(rows.start, rows.stop)]
        return {
            "images": np.stack([image_ops.crop_for_eval(data) for data, _ in examples]),
            "labels": np.asarray([label for _, label in examples], np.int32),
        }


def write_dataset(
    path: str | Path, splits: Mapping[str, Sequence[tuple[bytes, int]]], num_shards: int = 2
) -> Path:
    """Write (JPEG bytes, label) examples in the TFDS layout; returns the version dir."""
    root = Path(path) / NAME / VERSION
    root.mkdir(parents=True, exist_ok=True)

    def encode(example: tuple[bytes, int], shard: int, index: int) -> bytes:
        image, label = example
        return encode_image_example(image, label, f"n{label:08d}_{shard}_{index}.JPEG")

    split_infos = [
        write_split(root, NAME, split, examples, encode, num_shards)
        for split, examples in splits.items()
    ]
    info = {"name": NAME, "version": VERSION, "fileFormat": "tfrecord", "splits": split_infos}
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2))
    features = {
        "image": {"shape": [None, None, 3], "dtype": "uint8", "encoding": "jpeg"},
        "label": {"shape": [], "dtype": "int64", "num_classes": NUM_CLASSES},
        "file_name": {"shape": [], "dtype": "string"},
    }
    (root / "features.json").write_text(json.dumps({"features": features}, indent=2))
    return root

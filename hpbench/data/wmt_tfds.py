"""AlgoPerf's WMT data: the TFDS directories ``dataset_setup.py --wmt`` prepares, read
without TensorFlow, and its SentencePiece model.

Layout (``$DATA/wmt``): ``wmt17_translate/de-en/1.0.0/`` (training: split ``train``) and
``wmt14_translate/de-en/1.0.0/`` (``validation`` = newstest2013, ``test`` = newstest2014),
each with ``dataset_info.json``, ``features.json`` and the shards
``<name>-<split>.tfrecord-NNNNN-of-MMMMM`` of ``tf.train.Example``s holding one Text
feature per language; and ``wmt_sentencepiece_model`` (32,000 pieces). As in AlgoPerf's
``input_pipeline.py``: the supervised keys (de, en) become inputs and targets, each is
tokenized with EOS appended, pairs longer than 256 tokens (either side) are filtered out,
training pairs are packed into 256-token rows (per window, :class:`WMTReader`) and
validation rows are zero-padded to 256.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path

import attrs
import numpy as np

from hpbench.data.packing import pack_rows
from hpbench.data.sentencepiece_tokenizer import SentencePieceTokenizer
from hpbench.data.stream import ONE_HOST, Batch, HostShard
from hpbench.data.tfrecord import (
    SplitRecords,
    TfdsError,
    encode_example,
    parse_example,
    write_split,
)

CONFIG, VERSION = "de-en", "1.0.0"
#: AlgoPerf's split -> (TFDS dataset, TFDS split) (input_pipeline.get_wmt_dataset).
SPLITS = {
    "train": ("wmt17_translate", "train"),
    "validation": ("wmt14_translate", "validation"),
    "test": ("wmt14_translate", "test"),
}
MAX_LENGTH = 256
TOKENIZER = "wmt_sentencepiece_model"


def is_wmt_dir(path: Path) -> bool:
    """Whether ``path`` holds AlgoPerf's WMT TFDS directories."""
    return all(
        (path / name / CONFIG / VERSION / "dataset_info.json").is_file()
        for name, _ in SPLITS.values()
    )


def supervised_keys(info: dict, where: Path) -> tuple[str, str]:
    """(input language, target language) from dataset_info.json, in either of the forms
    TFDS versions write (``{"input", "output"}`` or ``{"tuple": {"items": [...]}}``)."""
    keys = info.get("supervisedKeys", {})
    if "input" in keys and "output" in keys:
        return keys["input"], keys["output"]
    items = keys.get("tuple", {}).get("items", [])
    if len(items) == 2 and all("featureKey" in item for item in items):
        return items[0]["featureKey"], items[1]["featureKey"]
    raise TfdsError(f"{where}: dataset_info.json names no supervised keys (input, target)")


@attrs.frozen
class TextPairs(SplitRecords):
    """The sentence pairs of one TFDS split, addressable by index (shard order, record
    order) by random access (:class:`~hpbench.data.tfrecord.SplitRecords`): the offsets
    are walked once per shard file when ``cache`` is given (WMT17's 5.9 M training headers
    are a pass over ~1.3 GB); ``keys``: the (source, target) features."""

    keys: tuple[str, str]

    @classmethod
    def open(cls, root: Path, split: str, cache: Path | None = None) -> TextPairs:
        name, tfds_split = SPLITS[split]
        directory = root / name / CONFIG / VERSION
        info_path = directory / "dataset_info.json"
        if not info_path.is_file():
            raise TfdsError(f"{info_path}: missing (AlgoPerf's dataset_setup.py --wmt writes it)")
        keys = supervised_keys(json.loads(info_path.read_text()), info_path)
        return cls.of_split(directory, name, tfds_split, cache, keys=keys)

    def text(self, index: int) -> tuple[bytes, bytes]:
        """(source, target) text of pair ``index``."""
        record, where = self.record(index)
        example = parse_example(record)
        try:
            return tuple(bytes(example[key][0]) for key in self.keys)
        except (KeyError, IndexError) as error:
            raise TfdsError(f"{where}: no text {error}") from error


def pad_rows(sequences: list[np.ndarray], length: int = MAX_LENGTH) -> np.ndarray:
    """int32 (len(sequences), length), each zero-padded (AlgoPerf's ``padded_batch``)."""
    out = np.zeros((len(sequences), length), np.int32)
    for row, ids in enumerate(sequences):
        out[row, : len(ids)] = ids
    return out


def fits(source: np.ndarray, target: np.ndarray) -> bool:
    """AlgoPerf's length filter: both sides at most ``MAX_LENGTH`` tokens (EOS included)."""
    return max(len(source), len(target)) <= MAX_LENGTH


@attrs.frozen
class WMTReader:
    """Training batch ``step``: ``batch_size`` rows of 256 tokens packed as AlgoPerf packs
    (``pack_dataset``), each block of ``window_rows`` rows from its own window of
    ``window_rows * examples_per_row`` pairs of per-epoch permutations seeded by
    (seed, epoch), so a block needs no other block (:meth:`window`); pairs over 256 tokens
    are skipped (AlgoPerf filters them out). Validation is tokenized and filtered once,
    when the reader is opened, and kept in order (unpacked)."""

    train: TextPairs
    valid_inputs: np.ndarray = attrs.field(eq=False)
    valid_targets: np.ndarray = attrs.field(eq=False)
    tokenizer: SentencePieceTokenizer
    batch_size: int
    shard: HostShard = ONE_HOST
    #: rows packed from one window (fewer when the batch is smaller: their gcd)
    window_rows: int = attrs.field(default=8, validator=attrs.validators.ge(1))
    #: pairs a window holds per row it fills (AlgoPerf's rows hold ~6.3 real-length pairs)
    examples_per_row: int = attrs.field(default=8, validator=attrs.validators.ge(1))

    @classmethod
    def open(
        cls, root: Path, batch_size: int, shard: HostShard = ONE_HOST, cache: Path | None = None
    ) -> WMTReader:
        """The reader of ``root``; its shards' record offsets kept under ``cache``."""
        root = Path(root).expanduser()
        if not is_wmt_dir(root):
            raise TfdsError(
                f"{root}: expected AlgoPerf's WMT data: wmt17_translate/{CONFIG}/{VERSION}/,"
                f" wmt14_translate/{CONFIG}/{VERSION}/ (TFDS) and {TOKENIZER}"
            )
        tokenizer = SentencePieceTokenizer.open(root / TOKENIZER)
        valid = TextPairs.open(root, "validation", cache)
        pairs = [tuple(map(tokenizer.tokenize, valid.text(i))) for i in range(len(valid))]
        pairs = [pair for pair in pairs if fits(*pair)]
        return cls(
            TextPairs.open(root, "train", cache),
            pad_rows([s for s, _ in pairs]),
            pad_rows([t for _, t in pairs]),
            tokenizer,
            batch_size,
            shard,
        )

    def __call__(self, seed: int, step: int) -> Batch:
        first, count = self.shard.rows(self.batch_size)
        block = self.block_rows
        if first % block or count % block:
            raise ValueError(
                f"wmt packing: {count} rows per host do not split into blocks of {block} "
                f"(window_rows); use a batch size whose share per host is a multiple of it"
            )
        start = (step * self.batch_size + first) // block
        rows = [row for w in range(start, start + count // block) for row in self.window(seed, w)]
        return {key: np.stack([row[key] for row in rows]) for key in rows[0]}

    @property
    def block_rows(self) -> int:
        """Rows packed from one window: ``window_rows``, or fewer for a batch not a multiple."""
        return math.gcd(self.window_rows, self.batch_size)

    def window(self, seed: int, number: int) -> list[dict[str, np.ndarray]]:
        """Packed rows of block ``number`` of the training stream: pairs ``[number M,
        (number + 1) M)`` of the epoch permutations (``M = rows * examples_per_row``),
        packed in order into ``rows`` rows; the pair that would open one more row, and the
        pairs after it, are not read."""
        from hpbench.data.order import batch_indices

        rows = self.block_rows
        indices = batch_indices(seed, number, len(self.train), rows * self.examples_per_row)
        return pack_rows(self._examples(indices), rows, MAX_LENGTH)

    def _examples(self, indices: np.ndarray) -> Iterator[dict[str, np.ndarray]]:
        """The tokenized pairs at ``indices`` that pass AlgoPerf's length filter, read lazily."""
        for index in indices:
            source, target = map(self.tokenizer.tokenize, self.train.text(int(index)))
            if fits(source, target):
                yield {"inputs": source, "targets": target}

    def valid_batch(self, rows: slice) -> Batch:
        return {"inputs": self.valid_inputs[rows], "targets": self.valid_targets[rows]}

    def detokenize(self, ids) -> str:
        """The text of a decoded row as AlgoPerf's ``_decode_tokens``: the ids up to and
        including the first EOS (only the first id when there is none), detokenized."""
        ids = np.asarray(ids)
        return self.tokenizer.detokenize(ids[: np.argmax(ids == self.tokenizer.eos_id) + 1])


def _encode_pair(pair: tuple[str, str], shard: int, index: int) -> bytes:
    de, en = pair
    return encode_example({"de": de, "en": en})


def write_dataset(root: Path, name: str, splits: dict[str, list[tuple[str, str]]],
                  num_shards: int = 2) -> Path:  # fmt: skip
    """Write (de, en) text pairs per TFDS split as TFDS does for ``name`` (a wmt
    translate dataset, config de-en); returns the version directory."""
    directory = Path(root) / name / CONFIG / VERSION
    directory.mkdir(parents=True, exist_ok=True)
    infos = [
        write_split(directory, name, split, pairs, _encode_pair, num_shards)
        for split, pairs in splits.items()
    ]
    info = {
        "name": name,
        "version": VERSION,
        "configName": CONFIG,
        "fileFormat": "tfrecord",
        "splits": infos,
        "supervisedKeys": {"tuple": {"items": [{"featureKey": "de"}, {"featureKey": "en"}]}},
    }
    (directory / "dataset_info.json").write_text(json.dumps(info, indent=2))
    features = {
        "pythonClassName": "tensorflow_datasets.core.features.translation_feature.Translation",
        "translation": {"languages": ["de", "en"]},
    }
    (directory / "features.json").write_text(json.dumps(features, indent=2))
    return directory

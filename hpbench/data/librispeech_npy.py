"""AlgoPerf's preprocessed LibriSpeech: the npy files ``datasets/librispeech_preprocess.py``
writes, read as AlgoPerf's ``LibriSpeechDataset`` (librispeech_conformer/input_pipeline.py)
reads them.

Layout (``$DATA/librispeech``): ``<split>.csv`` per LibriSpeech split (pandas' ``to_csv``
of a column ``id``: a header ``,id``, then ``<row>,<utterance id>``),
``<split>/<utterance>_audio.npy`` (int64 16 kHz samples, at most 320,000),
``<split>/<utterance>_targets.npy`` (int32 SentencePiece ids ending in EOS, from a
transcript of at most 256 characters) and the tokenizer ``spm_model.vocab`` (a
SentencePiece model despite its name). An example is the audio as float32 zero-padded to
320,000 samples with ``audio_paddings`` (1.0 on padding), and the targets zero-padded to
256 with ``label_paddings``. Worker processes send the utterances unpadded (int16), and the
training process pads them: shared memory costs more per byte than padding.
"""

from __future__ import annotations

import csv
from pathlib import Path

import attrs
import numpy as np

from hpbench.data.sentencepiece_tokenizer import SentencePieceTokenizer
from hpbench.data.stream import ONE_HOST, Batch, HostShard

#: AlgoPerf's split names (workload.py ``_build_input_queue``) -> LibriSpeech subsets.
SPLITS = {
    "train": ("train-clean-100", "train-clean-360", "train-other-500"),
    "validation": ("dev-clean", "dev-other"),
    "test": ("test-clean",),
}
AUDIO_LENGTH = 320_000  # librispeech_preprocess.AUDIO_MAX_LENGTH
TARGET_LENGTH = 256  # the input pipeline's target padding
TOKENIZER = "spm_model.vocab"
KEYS = ("audio", "audio_paddings", "labels", "label_paddings")


class LibriSpeechDataError(ValueError):
    """A LibriSpeech directory or file that is not in AlgoPerf's layout."""


def is_librispeech_dir(path: Path) -> bool:
    """Whether ``path`` holds AlgoPerf's preprocessed LibriSpeech (its validation csvs)."""
    return all((path / f"{subset}.csv").is_file() for subset in SPLITS["validation"])


def read_ids(root: Path, subset: str) -> list[str]:
    """The utterance ids of ``subset``, as ``'<subset>/<utterance>'`` (csv column 1)."""
    path = root / f"{subset}.csv"
    if not path.is_file():
        raise LibriSpeechDataError(
            f"{path}: missing (AlgoPerf's librispeech_preprocess.py writes one csv per split)"
        )
    with open(path, newline="") as file:
        rows = list(csv.reader(file))
    if not rows or len(rows[0]) < 2 or rows[0][1] != "id":
        raise LibriSpeechDataError(f"{path}: expected the header ',id' (pandas' to_csv)")
    for number, row in enumerate(rows[1:], 2):
        if len(row) < 2 or not row[1]:
            raise LibriSpeechDataError(f"{path}:{number}: expected '<row>,<utterance id>'")
    return [f"{subset}/{row[1]}" for row in rows[1:]]


def load_arrays(root: Path, example_id: str) -> tuple[np.ndarray, np.ndarray]:
    """The audio samples and target ids of one utterance, their shapes checked."""
    try:
        audio = np.load(root / f"{example_id}_audio.npy")
        targets = np.load(root / f"{example_id}_targets.npy")
    except (OSError, ValueError) as error:
        raise LibriSpeechDataError(f"{root / example_id}: unreadable ({error})") from error
    if audio.ndim != 1 or len(audio) > AUDIO_LENGTH:
        raise LibriSpeechDataError(
            f"{root / example_id}_audio.npy: shape {audio.shape}, expected (n <= {AUDIO_LENGTH},)"
        )
    if targets.ndim != 1 or len(targets) > TARGET_LENGTH:
        raise LibriSpeechDataError(
            f"{root / example_id}_targets.npy: shape {targets.shape},"
            f" expected (n <= {TARGET_LENGTH},)"
        )
    return audio, targets


def read_compact(root: Path, example_ids: list[str]) -> Batch:
    """The utterances as stored, end to end, with their lengths: ``audio`` as int16 when
    every sample fits (LibriSpeech's FLAC is 16-bit; else float32, exact to 2**24), and
    ``labels``; a seventh of the padded batch's bytes, for a worker to send."""
    arrays = [load_arrays(root, example_id) for example_id in example_ids]
    audio = [a for a, _ in arrays] or [np.zeros(0, np.int64)]
    fits = all(a.size == 0 or (a.min() >= -(2**15) and a.max() < 2**15) for a in audio)
    return {  # cast while concatenating: no int64 copy of the batch
        "audio": np.concatenate(audio, dtype=np.int16 if fits else np.float32, casting="unsafe"),
        "audio_lengths": np.array([len(a) for a, _ in arrays], np.int64),
        "labels": np.concatenate([t for _, t in arrays] or [np.zeros(0)]).astype(np.int32),
        "label_lengths": np.array([len(t) for _, t in arrays], np.int64),
    }


def pad_compact(compact: Batch) -> Batch:
    """The padded batch of :func:`read_compact`'s arrays, each example exactly as AlgoPerf's
    ``LibriSpeechDataset.__getitem__`` gives it (written in place: no per-example copies)."""
    n = len(compact["audio_lengths"])
    out = {
        "audio": np.zeros((n, AUDIO_LENGTH), np.float32),
        "audio_paddings": np.ones((n, AUDIO_LENGTH), np.float32),
        "labels": np.zeros((n, TARGET_LENGTH), np.int32),
        "label_paddings": np.ones((n, TARGET_LENGTH), np.float32),
    }
    for key, prefix in (("audio", "audio"), ("labels", "label")):
        lengths = compact[f"{prefix}_lengths"]
        for row, (end, length) in enumerate(zip(np.cumsum(lengths), lengths, strict=True)):
            out[key][row, :length] = compact[key][end - length : end]
            out[f"{prefix}_paddings"][row, :length] = 0.0
    return out


@attrs.frozen
class LibriSpeechSplit:
    """The examples of one AlgoPerf split (its subsets concatenated in AlgoPerf's order)."""

    root: Path
    ids: tuple[str, ...]

    @classmethod
    def open(cls, root: Path, split: str) -> LibriSpeechSplit:
        ids = [i for subset in SPLITS[split] for i in read_ids(root, subset)]
        if not ids:
            raise LibriSpeechDataError(f"{root}: the {split} split lists no utterances")
        return cls(root, tuple(ids))

    def __len__(self) -> int:
        return len(self.ids)

    def read(self, rows) -> Batch:
        """The compact examples at ``rows`` (:func:`read_compact`)."""
        return read_compact(self.root, [self.ids[int(i)] for i in rows])


@attrs.frozen
class LibriSpeechReader:
    """Training batch ``step``: rows ``[step B, (step + 1) B)`` of per-epoch permutations
    seeded by (seed, epoch), as AlgoPerf's shuffled, last-dropping DataLoader; validation is
    dev-clean + dev-other in order."""

    train: LibriSpeechSplit
    valid: LibriSpeechSplit
    tokenizer: SentencePieceTokenizer
    batch_size: int
    shard: HostShard = ONE_HOST

    @classmethod
    def open(cls, root: Path, batch_size: int, shard: HostShard = ONE_HOST) -> LibriSpeechReader:
        root = Path(root).expanduser()
        if not is_librispeech_dir(root):
            raise LibriSpeechDataError(
                f"{root}: expected AlgoPerf's preprocessed LibriSpeech: dev-clean.csv,"
                f" dev-other.csv, train-*.csv, the <split>/ npy folders and {TOKENIZER}"
            )
        train = LibriSpeechSplit.open(root, "train")
        valid = LibriSpeechSplit.open(root, "validation")
        return cls(train, valid, SentencePieceTokenizer.open(root / TOKENIZER), batch_size, shard)

    def __call__(self, seed: int, step: int) -> Batch:
        return pad_compact(self.compact(seed, step))

    def compact(self, seed: int, step: int) -> Batch:
        """This host's rows of batch ``step`` unpadded: what a worker sends (the stream pads
        them in the training process with :meth:`expand`)."""
        from hpbench.data.order import batch_indices

        first, count = self.shard.rows(self.batch_size)
        rows = batch_indices(seed, step, len(self.train), self.batch_size)
        return self.train.read(rows[first : first + count])

    def valid_batch(self, rows: slice) -> Batch:
        return pad_compact(self.valid_compact(rows))

    def valid_compact(self, rows: slice) -> Batch:
        return self.valid.read(range(rows.start, rows.stop))

    @staticmethod
    def expand(compact: Batch) -> Batch:
        return pad_compact(compact)


def write_split(root: Path, subset: str, examples: dict[str, tuple[np.ndarray, np.ndarray]]):
    """Write utterances ``{id: (int audio samples, token ids)}`` of ``subset`` as
    ``librispeech_preprocess.py`` does (npy files and the pandas csv)."""
    (root / subset).mkdir(parents=True, exist_ok=True)
    for utterance, (audio, targets) in examples.items():
        np.save(root / subset / f"{utterance}_audio.npy", np.asarray(audio, np.int64))
        np.save(root / subset / f"{utterance}_targets.npy", np.asarray(targets, np.int32))
    lines = [",id"] + [f"{row},{utterance}" for row, utterance in enumerate(examples)]
    (root / f"{subset}.csv").write_text("\n".join(lines) + "\n")

"""Input-pipeline throughput of the LibriSpeech and WMT readers (examples/s per CPU core).

Writes synthetic data in AlgoPerf's layouts to a temporary directory: LibriSpeech npy
utterances of 3-20 s (int64, 16 kHz; LibriSpeech's mean is ~12 s) with SentencePiece
targets, and a WMT TFDS directory of sentence pairs of 10-40 words; each with a
SentencePiece model trained on the generated text (LibriSpeech 256 pieces, WMT 4,000
pieces: AlgoPerf's are 1,024 and 32,000). Then times each reader in one process (read,
decode, tokenize, pad: the per-core rate) and through ``stream`` with 2 grain workers.
WMT's rate counts packed 256-token rows (~2.9 of these long synthetic pairs per row).
Needs the algoperf-data extra.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.bench_input import print_rows, reader_rows

SPEECH_BATCH = 32
WMT_BATCH = 128


def _text(rng: np.random.Generator, lexicon: list[str], low: int, high: int) -> str:
    return " ".join(rng.choice(lexicon, rng.integers(low, high + 1)))


def _lexicon(rng: np.random.Generator, size: int, upper: bool) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPRSTUWY" if upper else "abcdefghiklmnoprstuwyzäöü"))
    return ["".join(rng.choice(letters, rng.integers(2, 10))) for _ in range(size)]


def write_librispeech(root: Path, count: int) -> Path:
    from hpbench.data import librispeech_npy
    from hpbench.data.sentencepiece_tokenizer import SentencePieceTokenizer, train_model

    rng = np.random.default_rng(0)
    lexicon = _lexicon(rng, 2000, upper=True)
    texts = [_text(rng, lexicon, 8, 40) for _ in range(count)]
    root.mkdir(parents=True)
    train_model(texts, root / librispeech_npy.TOKENIZER, vocab_size=256)
    tokenizer = SentencePieceTokenizer.open(root / librispeech_npy.TOKENIZER)
    for subset in [s for split in librispeech_npy.SPLITS.values() for s in split]:
        examples = {}
        for i, text in enumerate(texts if subset == "train-clean-100" else texts[:2]):
            audio = rng.integers(-3000, 3000, int(rng.uniform(3, 20) * 16_000))
            examples[f"1-2-{i:04d}"] = (audio, tokenizer.tokenize(text)[:256])
        librispeech_npy.write_split(root, subset, examples)
    return root


def write_wmt(root: Path, count: int) -> Path:
    from hpbench.data import wmt_tfds
    from hpbench.data.sentencepiece_tokenizer import train_model

    rng = np.random.default_rng(1)
    de, en = _lexicon(rng, 5_000, upper=False), _lexicon(rng, 5_000, upper=False)
    pairs = [(_text(rng, de, 10, 40), _text(rng, en, 10, 40)) for _ in range(count)]
    wmt_tfds.write_dataset(root, "wmt17_translate", {"train": pairs}, num_shards=4)
    wmt_tfds.write_dataset(root, "wmt14_translate", {"validation": pairs[:8], "test": pairs[:8]})
    lines = [text for pair in pairs[:2000] for text in pair]
    train_model(lines, root / wmt_tfds.TOKENIZER, vocab_size=4000)
    return root


def main() -> None:
    from hpbench.data.librispeech_npy import LibriSpeechReader
    from hpbench.data.wmt_tfds import WMTReader

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        speech = LibriSpeechReader.open(write_librispeech(root / "librispeech", 256), SPEECH_BATCH)
        wmt_dir = write_wmt(root / "wmt", 4_000)
        start = time.perf_counter()
        wmt = WMTReader.open(wmt_dir, WMT_BATCH)
        opened = time.perf_counter() - start
        rows = [
            *reader_rows("librispeech", "npy -> float32, pad to 320000", speech,
                         SPEECH_BATCH, 6, 16),
            *reader_rows("wmt packed rows", "TFRecord Example -> SentencePiece ids, packed to 256",
                         wmt, WMT_BATCH, 12, 40),
        ]  # fmt: skip
    print_rows(rows)
    print(f"wmt open (offset index of 4,000 records, validation tokenized): {opened:.2f} s")


if __name__ == "__main__":
    main()

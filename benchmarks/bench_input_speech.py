"""Input-pipeline throughput of the LibriSpeech and WMT readers (examples/s per CPU core).

Writes synthetic data in AlgoPerf's layouts to a temporary directory: LibriSpeech npy
utterances of 3-20 s (int64, 16 kHz; LibriSpeech's mean is ~12 s) with SentencePiece
targets, and a WMT TFDS directory of sentence pairs of 10-40 words; each with a
SentencePiece model trained on the generated text (LibriSpeech 256 pieces, WMT 4,000
pieces: AlgoPerf's are 1,024 and 32,000). Then times each reader in one process (read,
decode, tokenize, pad) and through ``stream`` in a thread (0 workers) and with 2 grain
worker processes. Each row gives examples per wall-clock second and per CPU-second of the
whole process tree (the training process and its workers: the per-core rate, which a
loaded machine does not skew), and the training process's own CPU per batch (what feeding
costs the process that drives the accelerator). WMT's rate counts packed 256-token rows
(~2.9 of these long synthetic pairs per row). Needs the algoperf-data extra.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks import parser

SPEECH_BATCH = 32
WMT_BATCH = 128


def _cpu_seconds() -> tuple[float, float]:
    """(CPU seconds of this process, of it and its live child processes), from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    own = sum(os.times()[:2])
    children = 0.0
    for entry in os.listdir("/proc"):
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # not a process, or one that just ended
        if int(fields[1]) == os.getpid():  # field 4, ppid (fields[0] is field 3)
            children += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return own, own + children


def _measure(next_batch, steps: int, batch: int) -> tuple[float, float, float]:
    """(examples per wall second, per CPU-second of the process tree, this process's CPU
    seconds per batch) over ``steps`` calls of ``next_batch`` after two warm-up calls."""
    next_batch()
    next_batch()
    own, tree = _cpu_seconds()
    start = time.perf_counter()
    for _ in range(steps):
        next_batch()
    wall = time.perf_counter() - start
    own_end, tree_end = _cpu_seconds()
    return steps * batch / wall, steps * batch / (tree_end - tree), (own_end - own) / steps


def _in_process(reader, steps: int, batch: int) -> tuple[float, float, float]:
    step = iter(range(10**9))
    return _measure(lambda: reader(0, next(step)), steps, batch)


def _streamed(reader, steps: int, batch: int, workers: int) -> tuple[float, float, float]:
    from hpbench.data.stream import stages, stream

    load, expand = stages(reader)
    batches = stream(load, 0, 0, worker_count=workers, prefetch=2, expand=expand)
    for _ in range(2 * workers):  # every worker has started and filled its buffer
        next(batches)
    return _measure(lambda: next(batches), steps, batch)


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


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    from hpbench.data.librispeech_npy import LibriSpeechReader
    from hpbench.data.wmt_tfds import WMTReader

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        speech = LibriSpeechReader.open(write_librispeech(root / "librispeech", 256), SPEECH_BATCH)
        speech_bytes = sum(a.nbytes for a in speech(0, 0).values())
        wmt_dir = write_wmt(root / "wmt", 4_000)
        start = time.perf_counter()
        wmt = WMTReader.open(wmt_dir, WMT_BATCH)
        opened = time.perf_counter() - start
        rows = [
            ("librispeech (npy -> float32, pad to 320000)", "1 process",
             _in_process(speech, 6, SPEECH_BATCH)),
            ("librispeech", "stream, 0 workers", _streamed(speech, 8, SPEECH_BATCH, 0)),
            ("librispeech", "2 grain workers", _streamed(speech, 16, SPEECH_BATCH, 2)),
            ("wmt packed rows (TFRecord Example -> SentencePiece ids, packed to 256)", "1 process",
             _in_process(wmt, 12, WMT_BATCH)),
            ("wmt", "stream, 0 workers", _streamed(wmt, 12, WMT_BATCH, 0)),
            ("wmt", "2 grain workers", _streamed(wmt, 40, WMT_BATCH, 2)),
        ]  # fmt: skip
    print(f"{'':56s} {'':18s} {'examples/s':>10s} {'per CPU-s':>10s} {'own CPU/batch':>14s}")
    for name, how, (wall, per_cpu, own) in rows:
        print(f"{name:56s} {how:18s} {wall:10,.0f} {per_cpu:10,.0f} {own * 1e3:11,.0f} ms")
    print(f"librispeech batch of {SPEECH_BATCH}: {speech_bytes / 2**20:.0f} MiB")
    print(f"wmt open (offset index of 4,000 records, validation tokenized): {opened:.2f} s")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Full-size librispeech (Conformer, DeepSpeech) and wmt trials fed by AlgoPerf-format
fixtures (librispeech_preprocess.py's npy files and csvs; TFDS wmt TFRecord shards; tiny
SentencePiece models) through the streaming readers, on 8 simulated CPU devices: one
training step and one evaluation with decoding (CTC greedy; cached beam search), the batches
split over the mesh's data axis. Reduced model widths, same readers and model code."""

from __future__ import annotations

import numpy as np
import pytest
from trial_helpers import full_trial, run_on_8_devices

from hpbench.plan import Target

pytest.importorskip("grain")
pytest.importorskip("sentencepiece")

SETUP = """
from hpbench.workloads import librispeech, wmt
models = librispeech.MODELS
models["conformer", "full"] = attrs.evolve(
    models["conformer", "full"], encoder_dim=16, num_heads=2, num_layers=1, ff_expansion=2,
    subsample_channels=4,
)
models["deepspeech", "full"] = attrs.evolve(
    models["deepspeech", "full"], encoder_dim=16, num_layers=1, num_ffn_layers=1,
)
full = wmt.ModelConfig
small = dict(emb_dim=16, num_heads=2, num_layers=1, mlp_dim=32, eval_batch_size=8)
wmt.ModelConfig = lambda **kw: full(**{**kw, **small, "vocab_size": int(sys.argv[3])})
"""

ENGLISH = [
    "HE HOPED THERE WOULD BE STEW FOR DINNER",
    "TURNIPS AND CARROTS AND BRUISED POTATOES",
    "OPEN SOURCE ROCKS",
    "THE QUICK BROWN FOX JUMPS OVER THE LAZY DOG",
]
GERMAN = [
    "er hoffte es gäbe eintopf zum abendessen",
    "rüben und karotten und zerdrückte kartoffeln",
    "offene software ist großartig",
    "der schnelle braune fuchs springt über den faulen hund",
]


def _librispeech(root) -> int:
    """$DATA/librispeech as dataset_setup.py leaves it (every split AlgoPerf reads)."""
    from hpbench.data import librispeech_npy
    from hpbench.data.sentencepiece_tokenizer import SentencePieceTokenizer, train_model

    root.mkdir(parents=True)
    train_model(ENGLISH * 3, root / librispeech_npy.TOKENIZER, vocab_size=40)
    tokenizer = SentencePieceTokenizer.open(root / librispeech_npy.TOKENIZER)
    rng = np.random.default_rng(0)
    subsets = [s for split in librispeech_npy.SPLITS.values() for s in split]
    for number, subset in enumerate(subsets):
        examples = {}
        for i in range(5):
            audio = rng.integers(-(2**15), 2**15, rng.integers(800, 4000))
            text = ENGLISH[(number + i) % len(ENGLISH)]
            examples[f"{19 + number}-198-{i:04d}"] = (audio, tokenizer.tokenize(text))
        librispeech_npy.write_split(root, subset, examples)
    return tokenizer.vocab_size


def _wmt(root) -> int:
    """$DATA/wmt: wmt17 (train), wmt14 (validation, test) and the SentencePiece model."""
    from hpbench.data import wmt_tfds
    from hpbench.data.sentencepiece_tokenizer import train_model

    pairs = [(g, e.lower()) for g, e in zip(GERMAN, ENGLISH, strict=True)] * 3
    wmt_tfds.write_dataset(root, "wmt17_translate", {"train": pairs}, num_shards=2)
    wmt_tfds.write_dataset(root, "wmt14_translate", {"validation": pairs[:10], "test": pairs[:2]})
    train_model([t for p in pairs for t in p] * 3, root / wmt_tfds.TOKENIZER, vocab_size=48)
    return 48


def _run(tmp_path, workload: str) -> dict:
    if workload == "wmt":
        data, vocab = tmp_path / "wmt", _wmt(tmp_path / "wmt")
        target = Target("bleu", 100.0, "max")
    else:
        data, vocab = tmp_path / "librispeech", _librispeech(tmp_path / "librispeech")
        target = Target("wer", 0.0, "min")
    return run_on_8_devices(tmp_path, full_trial(workload, str(data), target), SETUP, str(vocab))


@pytest.mark.slow  # compiling a train step and the decoding on 8 CPU devices: minutes
@pytest.mark.parametrize("workload", ["librispeech_conformer", "librispeech_deepspeech"])
def test_reduced_speech_model_trains_and_decodes_from_algoperf_files_on_8_devices(
    tmp_path, workload
):
    metrics = _run(tmp_path, workload)
    assert metrics["wer"] >= 0.0 and np.isfinite(metrics["loss"]) and metrics["loss"] > 0


@pytest.mark.slow  # compiling a train step and the 256-step beam search on 8 CPU devices
def test_reduced_transformer_trains_and_beam_decodes_from_algoperf_files_on_8_devices(tmp_path):
    metrics = _run(tmp_path, "wmt")
    assert 0.0 <= metrics["bleu"] <= 100.0 and np.isfinite(metrics["loss"]) and metrics["loss"] > 0

"""Full-size librispeech (Conformer, DeepSpeech) and wmt trials fed by AlgoPerf-format
fixtures (librispeech_preprocess.py's npy files and csvs; TFDS wmt TFRecord shards; tiny
SentencePiece models) through the streaming readers, on 8 simulated CPU devices: one
training step and one evaluation with decoding (CTC greedy; cached beam search), the batches
split over the mesh's data axis. Reduced model widths, same readers and model code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("grain")
pytest.importorskip("sentencepiece")

CHILD = """
import json, sys
import attrs, jax
from hpbench.results.records import read_trial
from hpbench.train import Job, run_job
from hpbench.train.program import DATA_AXIS, program_for
from hpbench.workloads import librispeech, wmt
job = Job.from_json(json.loads(sys.argv[1]))
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
trial = job.trials[0]
run_job(job, sys.argv[2], devices=jax.devices())
record = read_trial(f"{sys.argv[2]}/{trial.id}")
program = program_for(trial, 1, jax.devices())
print(json.dumps({
    "devices": len(jax.devices()),
    "mesh": record.status.provenance["device"],
    "data_axis": program.mesh.shape[DATA_AXIS],
    "batch_specs": [str(s.spec) for s in jax.tree.leaves(program.batch_shardings)],
    "evals": [[r.step, r.metrics, r.train_loss] for r in record.evals],
}))
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
    from hpbench.plan import Target, Trial
    from hpbench.train import Job

    if workload == "wmt":
        data, vocab = tmp_path / "wmt", _wmt(tmp_path / "wmt")
        target = Target("bleu", 100.0, "max")
    else:
        data, vocab = tmp_path / "librispeech", _librispeech(tmp_path / "librispeech")
        target = Target("wer", 0.0, "min")
    trial = Trial(
        workload=workload, size="full", variant="base", algorithm="adamw",
        hyperparameters={"learning_rate": 1e-3, "weight_decay": 1e-4},
        schedule="warmup_cosine", warmup=0.0, horizon=1.0, max_steps=1, batch_size=8,
        seed=0, eval_every=1, target=target, data=str(data),
    )  # fmt: skip
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=8"}
    env.pop("JAX_NUM_CPU_DEVICES", None)  # it would override XLA_FLAGS' count
    env |= {"HPBENCH_DATA_WORKERS": "0", "HPBENCH_DATA_DIR": str(tmp_path / "cache")}
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            Job(trials=(trial,)).dumps(),
            str(tmp_path / "r"),
            str(vocab),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["devices"] == 8 and out["mesh"] == "8 x cpu" and out["data_axis"] == 8
    assert all("data" in spec for spec in out["batch_specs"]), out["batch_specs"]
    [(step, metrics, train_loss)] = out["evals"]
    assert step == 1 and np.isfinite(train_loss) and train_loss > 0
    return metrics


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

"""Data-parallel evaluation of imagenet (ResNet, ViT), librispeech (Conformer, DeepSpeech),
wmt (mini greedy decoding; full-size beam search from AlgoPerf-format TFDS files) and ogbg
(AlgoPerf's TFDS files) on 8 simulated CPU devices equals the same evaluation on one
device: batches split by rows (uneven ones included), metrics from sums and counts. Runs in
a subprocess (the device count is fixed when JAX starts) with reduced models."""

from __future__ import annotations

import pytest
from trial_helpers import eight_device_child

pytest.importorskip("grain")
pytest.importorskip("sentencepiece")

CHILD = """
import json, sys, time
from pathlib import Path
import attrs, jax, numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from hpbench.data import ogbg_tfds, wmt_tfds
from hpbench.data.sentencepiece_tokenizer import train_model
from hpbench.workloads import metrics, ogbg, wmt
from hpbench.workloads.base import evaluating_on
from hpbench.workloads.registry import load_workload

root = Path(sys.argv[1])
rows = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), P("data"))


def mini(name, **config):
    workload = load_workload(name, size="mini")
    if config:
        workload = attrs.evolve(workload, config=attrs.evolve(workload.config, **config))
    return workload


def wmt_full():
    pairs = [("er hoffte es gäbe eintopf", "he hoped there would be stew"),
             ("offene software ist großartig", "open source rocks"),
             ("der schnelle braune fuchs", "the quick brown fox")] * 4
    wmt_tfds.write_dataset(root / "wmt", "wmt17_translate", {"train": pairs[:8]})
    wmt_tfds.write_dataset(root / "wmt", "wmt14_translate",
                           {"validation": pairs[:11], "test": pairs[:2]})
    train_model([t for p in pairs for t in p] * 3, root / "wmt" / wmt_tfds.TOKENIZER,
                vocab_size=48)
    workload = load_workload("wmt", size="full", data=str(root / "wmt"), batch_size=8)
    small = wmt.ModelConfig(vocab_size=48, emb_dim=16, num_heads=2, num_layers=1, mlp_dim=32,
                            max_length=256, eval_batch_size=11)
    decoding = attrs.evolve(workload.decoding, max_decode_len=12)
    return attrs.evolve(workload, config=small, decoding=decoding)


def ogbg_full():
    rng = np.random.default_rng(0)

    def molecule():
        atoms, bonds, bond_types = ogbg.random_molecule(rng, 20)
        n = len(atoms)
        labels = (rng.random(128) < 0.3).astype(np.float32)
        labels[rng.random(128) < 0.4] = np.nan
        return {"node_feat": np.c_[atoms, rng.integers(0, 5, (n, 8))].astype(np.float32),
                "edge_feat": np.c_[bond_types, rng.integers(0, 2, (len(bonds), 2))].astype(
                    np.float32),
                "edge_index": bonds.astype(np.int64), "labels": labels,
                "num_nodes": np.array([n], np.int64)}

    splits = {s: [molecule() for _ in range(k)] for s, k in
              (("train", 16), ("validation", 37), ("test", 4))}
    ogbg_tfds.write_dataset(root / "ogbg", splits)
    return load_workload("ogbg", "full", data=str(root / "ogbg"), batch_size=16)


CASES = {
    "imagenet_resnet": lambda: mini("imagenet_resnet"),
    "imagenet_vit": lambda: mini("imagenet_vit"),
    "librispeech_conformer": lambda: mini("librispeech_conformer"),
    "librispeech_deepspeech": lambda: mini("librispeech_deepspeech"),
    "wmt_mini": lambda: mini("wmt"),
    "wmt_full_beam": wmt_full,
    "ogbg_tfds": ogbg_full,
}
decoded = {}  # what each evaluation scores: the decodes must match, not only the metric
for function in ("text_bleu_statistics", "bleu_statistics", "word_errors",
                 "transcript_word_errors"):  # the counts each batch (part) adds
    def scored(hypotheses, references, _count=getattr(metrics, function), _name=function):
        decoded.setdefault(_name, []).extend(repr(h) for h in hypotheses)
        return _count(hypotheses, references)
    setattr(metrics, function, scored)
out = {"devices": len(jax.devices())}
for name in sys.argv[2].split(","):
    start = time.perf_counter()
    workload = CASES[name]()
    params, state = workload.init(jax.random.PRNGKey(0))
    decoded.clear()
    one = workload.evaluate(params, state)
    one_decoded = dict(decoded)
    decoded.clear()
    with evaluating_on(rows):
        eight = workload.evaluate(params, state)
    out[name] = {"one": one, "eight": eight, "decoded": [one_decoded, dict(decoded)],
                 "seconds": time.perf_counter() - start}
print(json.dumps(out))
"""

CASES = [
    "imagenet_resnet",
    "imagenet_vit",
    "librispeech_conformer",
    "librispeech_deepspeech",
    "wmt_mini",
    "wmt_full_beam",
    "ogbg_tfds",
]


@pytest.fixture(scope="module")
def evaluations(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("data")
    out = eight_device_child(CHILD, str(root), ",".join(CASES), env={"HPBENCH_DATA_WORKERS": "0"})
    assert out["devices"] == 8
    return out


@pytest.mark.slow  # seven workloads compiled twice each on CPU: minutes
@pytest.mark.parametrize("case", CASES)
def test_sharded_evaluation_equals_the_one_device_evaluation(evaluations, case):
    one, eight = evaluations[case]["one"], evaluations[case]["eight"]
    assert one.keys() == eight.keys()
    for metric, value in one.items():
        assert eight[metric] == pytest.approx(value, rel=1e-4, abs=1e-6), metric
    one_decoded, eight_decoded = evaluations[case]["decoded"]
    if case.startswith(("librispeech", "wmt")):  # the same hypotheses, in the same order
        assert one_decoded and one_decoded == eight_decoded

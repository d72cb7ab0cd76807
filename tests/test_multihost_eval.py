"""Evaluation in a multi-host job: two real ``jax.distributed`` CPU processes (gloo
collectives) evaluate a reduced full-size Criteo DLRM (day TSV files; a metric from device
sums) and a reduced full-size WMT Transformer (TFDS TFRecord shards and a SentencePiece
model; beam search, BLEU counted on the host) and the mini WMT (greedy decoding, BLEU over
its words) through the engine's ``Program.evaluate``.
Each process reads only its rows of every validation batch (the reader is asked for them)
plus the replicated rest, and both get the metrics one process computes alone."""

from __future__ import annotations

import subprocess

import pytest
from process_helpers import host_outputs, last_json, start_hosts

pytest.importorskip("grain")
pytest.importorskip("sentencepiece")

HOST = """
import json, sys
import attrs, jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
port, process, processes, criteo_dir, wmt_dir = sys.argv[1:]
process, processes = int(process), int(processes)
if processes > 1:
    jax.distributed.initialize(f"localhost:{port}", num_processes=processes, process_id=process)
from hpbench.data import criteo_tsv, wmt_tfds
from hpbench.plan import Target, Trial
from hpbench.train.program import Program, make_mesh, member_values
from hpbench.workloads import criteo, wmt
from hpbench.workloads.registry import load_workload

asked = {"criteo": [], "wmt": []}
for name, reader in (("criteo", criteo_tsv.CriteoReader), ("wmt", wmt_tfds.WMTReader)):
    def spy(self, rows, read=reader.valid_batch, name=name):
        asked[name].append([rows.start, rows.stop])
        return read(self, rows)
    reader.valid_batch = spy

criteo.CONFIGS["full"] = attrs.evolve(
    criteo.CONFIGS["full"], vocab_size=512, embed_dim=4, bottom=(8, 4), top=(8, 1)
)
small = wmt.ModelConfig(vocab_size=48, emb_dim=16, num_heads=2, num_layers=1, mlp_dim=32,
                        max_length=256, eval_batch_size=3)
out = {"asked": asked}
cases = (
    ("criteo", "full", criteo_dir, Target("cross_entropy", 0.0, "min"), 8),
    ("wmt", "full", wmt_dir, Target("bleu", 100.0, "max"), 16),  # 8 packed rows per host
    ("wmt", "mini", None, Target("bleu", 100.0, "max"), 8),
)
for name, size, data, target, batch_size in cases:
    workload = load_workload(name, size, "base", data, batch_size=batch_size)
    if name == "criteo":
        workload = attrs.evolve(workload, eval_batch_size=3)
    elif size == "full":
        decoding = attrs.evolve(workload.decoding, max_decode_len=12)
        workload = attrs.evolve(workload, config=small, decoding=decoding)
    else:  # 256 rows in batches of 99: 98 split + 1 replicated, twice, then 58 split
        workload = attrs.evolve(workload, config=attrs.evolve(workload.config, eval_batch_size=99))
    trial = Trial(
        workload=name, size=size, variant="base", algorithm="adamw",
        hyperparameters={"learning_rate": 1e-3, "weight_decay": 1e-4},
        schedule="warmup_cosine", warmup=0.0, horizon=1.0, max_steps=1, batch_size=batch_size,
        seed=0, eval_every=1, target=target, data=data,
    )
    program = Program(workload, trial, 1, make_mesh(jax.devices(), batch_size, 1))
    values = program.place(member_values([trial]))
    out[f"{name}-{size}"] = program.evaluate(program.init(values), [0])[0]
print(json.dumps(out), flush=True)
"""

PAIRS = [
    ("er hoffte es gäbe eintopf zum abendessen", "he hoped there would be stew for dinner"),
    ("rüben und karotten", "turnips and carrots"),
    ("offene software ist großartig", "open source rocks"),
    ("der schnelle braune fuchs springt", "the quick brown fox jumps"),
    ("der hund schläft", "the dog sleeps"),
]


def _data(root) -> tuple[str, str]:
    """Criteo day files (10 validation lines) and WMT's TFDS directories (10 validation
    pairs) with a SentencePiece model, in AlgoPerf's layouts."""
    from hpbench.data import wmt_tfds
    from hpbench.data.sentencepiece_tokenizer import train_model
    from hpbench.data.synthetic import write_criteo

    criteo = write_criteo(root / "criteo1tb", train_lines=(20, 12), valid_lines=10)
    wmt = root / "wmt"
    pairs = PAIRS * 2
    wmt_tfds.write_dataset(wmt, "wmt17_translate", {"train": pairs})
    wmt_tfds.write_dataset(wmt, "wmt14_translate", {"validation": pairs, "test": pairs[:2]})
    train_model([t for p in pairs for t in p] * 3, wmt / wmt_tfds.TOKENIZER, vocab_size=48)
    return str(criteo), str(wmt)


def _hosts(tmp_path, processes: int) -> list[subprocess.Popen]:
    """``processes`` JAX processes of one device each, joined by jax.distributed."""
    data = _data(tmp_path / f"data{processes}")
    return start_hosts(
        HOST,
        processes,
        str(processes),
        *data,
        env=lambda process: {
            "HPBENCH_DATA_WORKERS": "0",  # the reader runs in this process: the spy sees it
            "HPBENCH_DATA_DIR": str(tmp_path / f"cache{processes}-{process}"),
        },
    )


@pytest.mark.slow  # three JAX processes compile a DLRM, a beam search and a greedy decode: ~3 min
def test_each_host_evaluates_its_rows_and_every_host_gets_the_one_process_metrics(tmp_path):
    children = _hosts(tmp_path, 2) + _hosts(tmp_path, 1)
    first, second, alone = map(last_json, host_outputs(children, timeout=900))

    # 10 rows in batches of 3 over 2 devices: rows [0, 2) split (one each), row 2 replicated, ...
    for p, host in enumerate((first, second)):
        split = [[s + p, s + p + 1] for s in (0, 3, 6)]
        rest = [[2, 3], [5, 6], [8, 9], [9, 10]]
        want = [split[0], rest[0], split[1], rest[1], split[2], rest[2], rest[3]]
        assert host["asked"] == {"criteo": want, "wmt": want}, p
    assert alone["asked"]["criteo"] == [[0, 3], [3, 6], [6, 9], [9, 10]]  # one host: all rows

    for name in ("criteo-full", "wmt-full", "wmt-mini"):
        assert first[name] == second[name], name  # every host gets the same metrics
        for metric, value in alone[name].items():
            assert first[name][metric] == pytest.approx(value, rel=1e-5), (name, metric)
    assert first["criteo-full"]["cross_entropy"] > 0 and first["wmt-full"]["loss"] > 0
    # an untrained model's full-size decodes have no EOS: AlgoPerf's detokenisation keeps
    # their first token, a corpus without bigrams scores 0; the mini BLEU counts every word
    assert first["wmt-full"]["bleu"] == 0.0 and 0 < first["wmt-mini"]["bleu"] < 100

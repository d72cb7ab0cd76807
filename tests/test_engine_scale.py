"""The engine at scale, on 8 simulated CPU devices: DLRM's embedding table split by rows
over the data axis (a step equals the one-device step), evaluation split over the data
axis (equal to the one-device evaluation, uneven batches included), and the batches read
ahead onto the devices. Runs in a subprocess: the device count is fixed when JAX starts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from trial_helpers import eight_device_child

ROOT = Path(__file__).resolve().parent.parent
#: The 8-device checks share one subprocess compiling two meshes: ~20 s of CPU.
slow = pytest.mark.slow

CHILD = """
import json, sys
import jax, numpy as np, optax
from jax.sharding import NamedSharding, PartitionSpec as P
from hpbench.plan import Target, Trial
from hpbench.train.program import DATA_AXIS, Program, make_mesh, member_values
from hpbench.workloads import criteo
from hpbench.workloads.base import eval_batches, evaluating_on
from hpbench.workloads.registry import get_workload

# A reduced DLRM (same model code as full size) on generated click logs; 600 validation
# rows in batches of 300: each batch leaves rows over after a split into 8 (300 = 8 * 37 + 4).
config = criteo.Config(4096, 600, 50, 4096, 8, (16, 8), (16, 1))
workload = criteo.CriteoWorkload(
    info=get_workload("criteo"), size="mini", variant="base",
    data=criteo.generate(config, seed=3), config=config, eval_batch_size=300,
)
trial = Trial(
    workload="criteo", size="mini", variant="base", algorithm="adamw",
    hyperparameters={"learning_rate": 3e-2, "weight_decay": 1e-4},
    schedule="warmup_cosine", warmup=0.0, horizon=1.0, max_steps=8, batch_size=64,
    seed=0, eval_every=8, target=Target("cross_entropy", 0.0, "min"),
)
out = {"devices": len(jax.devices())}
for name, devices in (("one", jax.devices()[:1]), ("eight", jax.devices())):
    program = Program(workload, trial, 1, make_mesh(devices, 64, 1))
    values = program.place(member_values([trial]))
    state = program.init(values)
    initial = np.asarray(state["params"]["embedding_table"])
    state = program.train(state, values, 0, 1, next_count=1)  # reads step 1 ahead
    ahead = program._ahead[:2]
    state = program.train(state, values, 1, 1)
    table = state["params"]["embedding_table"]
    out[name] = {
        "ahead": list(ahead),
        "table_spec": str(table.sharding.spec),
        "moment_specs": sorted(
            str(x.sharding.spec) for x in jax.tree.leaves(state["opt_state"])
            if x.shape == table.shape
        ),
        "moved": float(np.max(np.abs(np.asarray(table) - initial))),
        "dense_spec": str(state["params"]["Dense_0"]["kernel"].sharding.spec),
        "table_shard": list(table.addressable_shards[0].data.shape),
        "params": [np.asarray(x).tolist() for x in jax.tree.leaves(state["params"])[:4]],
        "table": np.asarray(table).tolist(),
        "eval": program.evaluate(state, [0])[0],
        "mesh": dict(program.mesh.shape),
    }
    if name == "one":  # the whole split in one call, a plain mean: the reference
        params = jax.tree.map(lambda x: np.asarray(x)[0], state["params"])
        valid = workload.data
        logits = workload.model().apply(
            {"params": params}, valid["valid_dense"], valid["valid_categorical"]
        )
        losses = optax.sigmoid_binary_cross_entropy(logits, valid["valid_labels"])
        out["reference"] = float(np.mean(np.asarray(losses, np.float64)))
    if name == "eight":
        rows = NamedSharding(program.mesh, P(DATA_AXIS))
        with evaluating_on(rows):
            parts = list(eval_batches([{"x": np.arange(20.0), "y": np.arange(20)}]))
        out["parts"] = [
            [str(p["x"].sharding.spec), p["x"].shape[0], np.asarray(p["x"]).tolist()]
            for p in parts
        ]
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def eight() -> dict:
    return eight_device_child(CHILD, timeout=600)


@slow
def test_dlrm_table_and_its_adam_moments_are_split_by_rows_over_the_data_axis(eight):
    assert eight["devices"] == 8
    assert eight["eight"]["mesh"] == {"members": 1, "data": 8}
    split = "P('members', 'data')"
    assert eight["eight"]["table_spec"] == split
    assert eight["eight"]["moment_specs"] == [split, split]  # Adam's mu and nu
    assert eight["eight"]["table_shard"] == [1, 4096 // 8, 8]  # each device holds 1/8 of the rows
    assert eight["eight"]["dense_spec"] == "P('members',)"  # the MLPs are replicated
    assert eight["one"]["table_shard"] == [1, 4096, 8]


@slow
def test_a_step_with_the_split_table_equals_the_one_device_step(eight):
    one, split = eight["one"], eight["eight"]
    np.testing.assert_allclose(split["table"], one["table"], rtol=1e-4, atol=1e-6)
    for a, b in zip(one["params"], split["params"], strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-6)
    assert one["moved"] > 1e-4 and split["moved"] > 1e-4  # the steps changed the table


@slow
def test_sharded_evaluation_equals_the_one_device_evaluation(eight):
    one, split = eight["one"]["eval"], eight["eight"]["eval"]
    assert split["cross_entropy"] == pytest.approx(one["cross_entropy"], rel=1e-5)
    # both are the mean over the 600 rows (sums / count, not a mean of batch means)
    assert one["cross_entropy"] == pytest.approx(eight["reference"], rel=1e-5)


@slow
def test_eval_batches_split_the_divisible_rows_and_replicate_the_rest(eight):
    (head_spec, head_rows, head), (tail_spec, tail_rows, tail) = eight["parts"]
    assert (head_spec, head_rows) == ("P('data',)", 16)
    assert (tail_spec, tail_rows) == ("P()", 4)
    assert head + tail == list(range(20))  # every row once, in order


@slow
def test_the_next_chunk_is_read_ahead(eight):
    assert eight["one"]["ahead"] == eight["eight"]["ahead"] == [1, 1]


def test_a_host_batch_of_its_share_of_rows_stands_for_the_global_batch():
    """Pure shape rule (fast, in process): with 4 processes a leaf of 16 of 64 rows is a
    host's share; a whole batch, a leaf of other rows or one process keep their shape."""
    from hpbench.train.program import global_shape

    assert global_shape((2, 16, 13), 64, 4) == (2, 64, 13)
    assert global_shape((2, 64, 13), 64, 4) == (2, 64, 13)
    assert global_shape((2, 7), 64, 4) == (2, 7)
    assert global_shape((2, 16, 13), 16, 1) == (2, 16, 13)


def test_full_dlrm_packs_of_8_fit_a_32_gib_chip_only_with_the_table_split():
    """The old TPU profile's case: 8 full-size DLRM members (AdamW) per chip of a 16-chip
    slice. Replicated, their state is ~51 GB per chip (~200 GB with STATE_COPIES); split by
    rows over 16 chips it fits in the share of 32 GiB that packs may take.
    Abstract shapes: no device bytes."""
    import jax
    from jax.sharding import AbstractMesh

    from hpbench.train.memory import MEMORY_SHARE, STATE_COPIES, state_bytes_per_device
    from hpbench.train.program import state_shardings
    from hpbench.workloads import criteo
    from hpbench.workloads.registry import get_workload

    workload = criteo.CriteoWorkload(
        info=get_workload("criteo"), size="full", variant="base", data={},
        config=criteo.CONFIGS["full"],
    )  # fmt: skip
    params = jax.eval_shape(lambda: workload.init(jax.random.key(0))[0])
    members = jax.tree.map(lambda x: jax.ShapeDtypeStruct((8, *x.shape), x.dtype), params)
    state = {"params": members, "opt_state": {"mu": members, "nu": members}}
    mesh = AbstractMesh((1, 16), ("members", "data"))
    table = 4194304 * 128 * 4  # bytes of one table (float32)
    replicated = STATE_COPIES * state_bytes_per_device(state, state_shardings(mesh, state))
    split = STATE_COPIES * state_bytes_per_device(
        state, state_shardings(mesh, state, workload.row_sharded)
    )
    assert replicated > 8 * 3 * 4 * table > 32 * 2**30  # 8 x (param + 2 moments) x 4 copies
    assert split < MEMORY_SHARE * 32 * 2**30
    assert split < replicated / 15  # the table is nearly all of it; the MLPs stay whole


def test_the_tpu_slice_profile_sizes_packs_from_chip_memory():
    from hpbench.backends.profile import load_profile

    assert load_profile(ROOT / "runners" / "tpu_pod.toml").pack is None


def test_a_pack_whose_state_cannot_fit_fails_before_compiling(monkeypatch):
    import jax
    from trial_helpers import toy_trial

    from hpbench.train import memory
    from hpbench.train.program import program_for

    program = program_for(toy_trial(), 4, jax.local_devices()[:1])
    state = memory.state_bytes_per_device(program.abstract_state, program.state_shardings)
    monkeypatch.setattr(memory, "device_memory_bytes", lambda: 2 * state)  # half of 4 copies
    with pytest.raises(memory.PackTooLarge, match="use a pack of at most 2"):
        memory.check_fits(program)
    monkeypatch.setattr(memory, "device_memory_bytes", lambda: 4 * state)
    memory.check_fits(program)  # exactly fits


HOSTS = """
import json, sys
import attrs, jax, numpy as np
jax.config.update("jax_cpu_collectives_implementation", "gloo")
port, process, data = sys.argv[1], int(sys.argv[2]), sys.argv[3]
jax.distributed.initialize(f"localhost:{port}", num_processes=2, process_id=process)
from jax.experimental import multihost_utils
from hpbench.data.stream import ONE_HOST
from hpbench.plan import Target, Trial
from hpbench.train.program import Program, make_mesh, member_values
from hpbench.workloads import criteo
from hpbench.workloads.registry import load_workload

criteo.CONFIGS["full"] = attrs.evolve(
    criteo.CONFIGS["full"], vocab_size=512, embed_dim=4, bottom=(8, 4), top=(8, 1)
)
trial = Trial(
    workload="criteo", size="full", variant="base", algorithm="adamw",
    hyperparameters={"learning_rate": 1e-3, "weight_decay": 1e-4}, schedule="warmup_cosine",
    warmup=0.0, horizon=1.0, max_steps=2, batch_size=8, seed=0, eval_every=2,
    target=Target("cross_entropy", 0.0, "min"), data=data,
)
workload = load_workload("criteo", "full", "base", data, batch_size=8)
program = Program(workload, trial, 1, make_mesh(jax.devices(), 8, 1))
local = program.batches(1, 1)  # this host's rows of step 1
whole = attrs.evolve(workload.reader, batch_size=8, shard=ONE_HOST)(0, 1)  # all 8 rows
gathered = multihost_utils.process_allgather(program.device_batches(1, 1), tiled=True)
values = program.place(member_values([trial]))
state = program.train(program.init(values), values, 0, 2)
loss = multihost_utils.process_allgather(state["loss_sum"], tiled=True)
print(json.dumps({
    "local_rows": local["dense"].shape[1],
    "mine": bool(np.array_equal(local["dense"][0], whole["dense"][4 * process : 4 * process + 4])),
    "global": bool(all(np.array_equal(gathered[k][0], whole[k]) for k in whole)),
    "loss": np.asarray(loss).tolist(),
}))
"""


@pytest.mark.slow  # two jax.distributed processes: ~1 min of CPU
def test_each_of_two_processes_reads_only_its_rows_and_the_global_batch_is_whole(tmp_path):
    """Criteo day files (the real TSV layout) read by two ``jax.distributed`` CPU
    processes: each reads 4 of the 8 rows of a batch (its own), the assembled global batch
    equals the batch one host reads whole, and a step trains on it."""
    pytest.importorskip("grain")
    from process_helpers import run_hosts

    from hpbench.data.synthetic import write_criteo

    data = write_criteo(tmp_path / "criteo1tb", train_lines=(20, 12), valid_lines=10)
    outs = run_hosts(
        HOSTS,
        2,
        str(data),
        env=lambda process: {
            "HPBENCH_DATA_WORKERS": "0",
            "HPBENCH_DATA_DIR": str(tmp_path / f"cache{process}"),  # own line index
        },
    )
    for out in outs:
        assert out["local_rows"] == 4 and out["mine"] and out["global"]
        assert np.isfinite(out["loss"]).all() and out["loss"][0] > 0
    assert outs[0]["loss"] == outs[1]["loss"]  # one global step, seen alike by both

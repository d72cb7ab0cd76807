"""Full-size ogbg from AlgoPerf's TFDS ogbg_molpcba: TFRecord framing, tf.train.Example
decoding (checked against protobuf itself), AlgoPerf's node/edge budget batching, and a
full trial on 8 simulated devices."""

from __future__ import annotations

import functools
import json
import pickle
import threading

import attrs
import jax
import numpy as np
import pytest

from hpbench.data import ogbg_tfds, tfrecord
from hpbench.data.graph_packing import Budget, fitting_prefix, pack, stack_shards
from hpbench.workloads import ogbg
from hpbench.workloads.metrics import mean_average_precision
from hpbench.workloads.registry import load_workload
from hpbench.workloads.userdata import DataError


def molecule(rng: np.random.Generator, max_nodes: int = 30) -> dict[str, np.ndarray]:
    """A molecule-like graph with ogbg_molpcba's features (OGB's integer codes as floats)."""
    atoms, bonds, bond_types = ogbg.random_molecule(rng, max_nodes)
    n = len(atoms)
    node_feat = np.c_[atoms, rng.integers(0, 5, (n, 8))].astype(np.float32)
    edge_feat = np.c_[bond_types, rng.integers(0, 2, (len(bonds), 2))].astype(np.float32)
    labels = (rng.random(128) < 0.3).astype(np.float32)
    labels[rng.random(128) < 0.4] = np.nan
    return {
        "node_feat": node_feat,
        "edge_feat": edge_feat,
        "edge_index": bonds.astype(np.int64),
        "labels": labels,
        "num_nodes": np.array([n], np.int64),
    }


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("tfds")
    splits = {
        "train": [molecule(rng) for _ in range(96)],
        "validation": [molecule(rng) for _ in range(40)],
        "test": [molecule(rng) for _ in range(8)],
    }
    ogbg_tfds.write_dataset(root, splits, num_shards=3)
    return root, splits


# --- the file format -----------------------------------------------------------------------


def test_crc32c_matches_the_standard_check_value():
    assert tfrecord.crc32c(b"123456789") == 0xE3069283  # RFC 3720's CRC32C check value
    assert tfrecord._crc32c_python(b"") == 0


def test_tfrecords_round_trip_and_corruption_is_refused(tmp_path):
    path = tmp_path / "x.tfrecord"
    records = [b"", b"abc", bytes(range(256)) * 3]
    tfrecord.write_records(path, records)
    assert list(tfrecord.read_records(path)) == records
    good = path.read_bytes()
    raw = bytearray(good)
    raw[30] ^= 1  # inside the second record's payload
    path.write_bytes(bytes(raw))
    with pytest.raises(tfrecord.TfdsError, match="CRC mismatch"):
        list(tfrecord.read_records(path))
    path.write_bytes(good[:-2])
    with pytest.raises(tfrecord.TfdsError, match="truncated"):
        list(tfrecord.read_records(path))


def example_class():
    """tf.train.Example built from its .proto definition with protobuf (no TensorFlow)."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    f = descriptor_pb2.FileDescriptorProto(name="example.proto", package="tf", syntax="proto3")
    lab = descriptor_pb2.FieldDescriptorProto
    rep, opt = lab.LABEL_REPEATED, lab.LABEL_OPTIONAL

    def message(name, *fields):
        m = f.message_type.add(name=name)
        for number, (field, label, kind, type_name) in enumerate(fields, 1):
            m.field.add(name=field, number=number, label=label, type=kind, type_name=type_name)
        return m

    message("BytesList", ("value", rep, lab.TYPE_BYTES, None))
    message("FloatList", ("value", rep, lab.TYPE_FLOAT, None))
    message("Int64List", ("value", rep, lab.TYPE_INT64, None))
    feature = message(
        "Feature",
        ("bytes_list", opt, lab.TYPE_MESSAGE, ".tf.BytesList"),
        ("float_list", opt, lab.TYPE_MESSAGE, ".tf.FloatList"),
        ("int64_list", opt, lab.TYPE_MESSAGE, ".tf.Int64List"),
    )
    feature.oneof_decl.add(name="kind")
    for field in feature.field:
        field.oneof_index = 0
    features = message("Features", ("feature", rep, lab.TYPE_MESSAGE, ".tf.Features.FeatureEntry"))
    entry = features.nested_type.add(name="FeatureEntry")
    entry.options.map_entry = True
    entry.field.add(name="key", number=1, label=opt, type=lab.TYPE_STRING)
    entry.field.add(
        name="value", number=2, label=opt, type=lab.TYPE_MESSAGE, type_name=".tf.Feature"
    )
    message("Example", ("features", opt, lab.TYPE_MESSAGE, ".tf.Features"))
    pool = descriptor_pool.DescriptorPool()
    pool.Add(f)
    return message_factory.GetMessageClass(pool.FindMessageTypeByName("tf.Example"))


def test_examples_agree_with_protobuf_both_ways():
    graph = molecule(np.random.default_rng(1))
    graph["edge_index"][0, 0] = -3  # negative int64s: ten-byte varints
    Example = example_class()
    ours = Example.FromString(tfrecord.encode_example(graph))
    for name, value in graph.items():
        kind = ours.features.feature[name].WhichOneof("kind")
        got = getattr(ours.features.feature[name], kind).value
        np.testing.assert_array_equal(np.asarray(got, value.dtype), value.reshape(-1))
    theirs = Example()
    for name, value in graph.items():
        if value.dtype == np.float32:
            theirs.features.feature[name].float_list.value.extend(value.reshape(-1).tolist())
        else:
            theirs.features.feature[name].int64_list.value.extend(value.reshape(-1).tolist())
    parsed = tfrecord.parse_example(theirs.SerializeToString())
    for name, value in graph.items():
        np.testing.assert_array_equal(parsed[name], value.reshape(-1))


def test_the_tfds_directory_reads_back_in_order(dataset):
    root, splits = dataset
    version_dir = root / "ogbg_molpcba" / "0.1.3"
    assert len(list(version_dir.glob("ogbg_molpcba-train.tfrecord-*-of-00003"))) == 3
    for path in (root, root / "ogbg_molpcba", version_dir):
        split = ogbg_tfds.GraphSplit.open(path, "validation")
        assert len(split) == 40
        for number in (39, 0, 13, 14, 27):  # random access, across the 3 shards' borders
            got, want = split.graph(number), splits["validation"][number]
            for name in want:
                np.testing.assert_array_equal(got[name], want[name])


def test_inconsistent_directories_are_refused(dataset, tmp_path):
    with pytest.raises(tfrecord.TfdsError, match="dataset_info.json"):
        ogbg_tfds.dataset_dir(tmp_path)
    with pytest.raises(DataError, match="Or AlgoPerf's TFDS directory"):
        load_workload("ogbg", "full", data=str(tmp_path))
    root = ogbg_tfds.write_dataset(tmp_path, {"train": dataset[1]["train"][:4]}, num_shards=2)
    info = json.loads((root / "dataset_info.json").read_text())
    info["splits"][0]["shardLengths"] = ["2", "3"]
    (root / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(DataError, match="3"):
        load_workload("ogbg", "full", data=str(tmp_path))


def test_the_data_directory_default_is_hpbench_data_dir_ogbg(dataset, tmp_path, monkeypatch):
    (tmp_path / "ogbg").symlink_to(dataset[0], target_is_directory=True)
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(tmp_path))  # AlgoPerf's --data_dir
    workload = load_workload("ogbg", "full")
    assert (len(workload.reader.train), len(workload.reader.valid)) == (96, 40)
    assert len(list((tmp_path / "ogbg-record-index").glob("*.npy"))) == 6  # offsets, cached


# --- AlgoPerf's batching ---------------------------------------------------------------------


def test_budgets_are_algoperfs():
    budget = Budget(512 // 8)  # AlgoPerf's global batch 512 on 8 devices
    assert (budget.nodes, budget.edges, budget.slots) == (26 * 64 + 1, 56 * 64, 65)


def test_a_shard_closes_at_the_first_graph_that_overflows():
    budget = Budget(2)  # 52 nodes, 112 directed edges, 2 graphs; sizes: (nodes, 2 x bonds)
    assert fitting_prefix([(30, 20), (22, 20), (1, 0)], budget) == 2
    assert fitting_prefix([(30, 20), (23, 2), (1, 0)], budget) == 1
    assert fitting_prefix([(10, 56), (10, 56), (1, 0)], budget) == 2
    assert fitting_prefix([(10, 56), (10, 58)], budget) == 1
    assert fitting_prefix([(10, 56), (10, 58), (99, 0)], budget) == 1  # closed before 99
    with pytest.raises(tfrecord.TfdsError, match="exceeds"):
        fitting_prefix([(53, 0)], budget)


@pytest.fixture(scope="module")
def workload(dataset):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HPBENCH_DATA_WORKERS", "0")  # a reader thread; workers: the stream test
        yield load_workload("ogbg", "full", data=str(dataset[0]), batch_size=16)


@functools.partial(jax.jit, static_argnums=0)
def apply(model, params, batch):
    return model.apply({"params": params}, ogbg.flatten_packed(batch))


def alone_logits(model, params, graphs: list[dict]) -> np.ndarray:
    """Each graph's logits with the graph alone in its shard (one shard per graph)."""
    shards = stack_shards([pack([g], Budget(2)) for g in graphs])
    logits = apply(model, params, shards)
    return np.asarray(logits).reshape(len(graphs), 3, -1)[:, 0]


def test_a_packed_graph_is_predicted_as_if_alone(workload, dataset):
    """Padding and neighbours in a shard do not reach a graph: its logits equal those of
    the graph packed on its own (as AlgoPerf's jraph padding graph guarantees)."""
    params, _ = workload.init(jax.random.key(0))
    model, graphs = workload.model(), dataset[1]["validation"][:5]
    packed = stack_shards([pack(graphs, Budget(5))])
    together = apply(model, params, packed)
    np.testing.assert_allclose(
        together[:5], alone_logits(model, params, graphs), rtol=1e-4, atol=1e-5
    )


def test_batches_are_pure_and_have_fixed_shapes(workload):
    shards = workload.num_shards
    a, b, c = workload.batch(0, 3), workload.batch(0, 3), workload.batch(0, 4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        assert a[key].shape == c[key].shape
    per_shard = 16 // shards
    assert a["node_features"].shape == (shards, 26 * per_shard + 1, 9)
    assert a["labels"].shape == (shards, per_shard + 1, 128)
    graphs = sum(len(np.unique(g[m])) for g, m in zip(a["node_graph"], a["node_mask"], strict=True))
    assert 0 < graphs <= 16
    measured = a["label_mask"].sum()
    assert measured > 0 and not np.isnan(a["labels"]).any()


def test_evaluation_sees_every_validation_graph_once(workload, dataset):
    params, state = workload.init(jax.random.key(0))
    metrics = workload.evaluate(params, state)
    logits = alone_logits(workload.model(), params, dataset[1]["validation"])
    labels = np.stack([g["labels"] for g in dataset[1]["validation"]])
    mask = ~np.isnan(labels)
    labels = np.nan_to_num(labels)
    expected = mean_average_precision(labels, logits, mask)
    assert metrics["map"] == pytest.approx(expected, abs=1e-4)
    bce = labels * np.logaddexp(0, -logits) + (1 - labels) * np.logaddexp(0, logits)
    assert metrics["loss"] == pytest.approx(np.sum(bce * mask) / np.sum(mask), rel=1e-4)


# --- streaming: each host its shards, batches a function of (seed, step) ---------------------


@pytest.fixture
def reads(monkeypatch) -> list[int]:
    """The graph numbers the readers read in this thread (not a stream's reader thread that
    an earlier test left prefetching)."""
    numbers, graph, here = [], ogbg_tfds.GraphSplit.graph, threading.get_ident()

    def recorded(split, number):
        if threading.get_ident() == here:
            numbers.append(number)
        return graph(split, number)

    monkeypatch.setattr(ogbg_tfds.GraphSplit, "graph", recorded)
    return numbers


def greedy_prefix(graphs: list[dict], graphs_per_shard: int) -> int:
    """jraph's rule, by hand: graphs join a shard while 26 b nodes, 56 b directed edges
    and b graphs (b = graphs_per_shard) hold them all."""
    nodes = edges = kept = 0
    for graph in graphs:
        nodes += int(graph["num_nodes"][0])
        edges += 2 * len(graph["edge_index"])
        if nodes > 26 * graphs_per_shard or edges > 56 * graphs_per_shard:
            break
        kept += 1
    return min(kept, graphs_per_shard)


def check_shard(shard: dict, graphs: list[dict]) -> None:
    """A packed shard holds exactly ``graphs``: their nodes and labels, in order."""
    mask = shard["node_mask"]
    assert len(np.unique(shard["node_graph"][mask])) == len(graphs)
    if graphs:
        nodes = np.concatenate([g["node_feat"] for g in graphs])
        np.testing.assert_array_equal(shard["node_features"][mask], nodes)
        labels = np.nan_to_num(np.stack([g["labels"] for g in graphs]))
        np.testing.assert_array_equal(shard["labels"][: len(graphs)], labels)


def test_two_hosts_pack_disjoint_halves_of_the_global_batch(workload, dataset, reads):
    from hpbench.data.order import batch_indices
    from hpbench.data.stream import HostShard

    reader = attrs.evolve(workload.reader, batch_size=16, devices=8)  # 8 shards of 2 graphs
    assert reader.num_shards == 8
    whole, read_whole = reader(7, 2), set(reads)
    halves, read_halves = [], []
    for index in (0, 1):
        reads.clear()
        halves.append(attrs.evolve(reader, shard=HostShard(index, 2))(7, 2))
        read_halves.append(set(reads))
    numbers = batch_indices(7, 2, 96, 16)
    assert not read_halves[0] & read_halves[1]
    assert read_halves[0] | read_halves[1] == read_whole == set(numbers.tolist())
    assert read_halves[0] == set(numbers[:8].tolist())  # host 0: shards 0 to 3
    for key, value in whole.items():
        assert value.shape[0] == 8 and halves[0][key].shape[0] == 4
        np.testing.assert_array_equal(np.concatenate([h[key] for h in halves]), value)
    kept = []
    for index, chunk in enumerate(np.split(numbers, 8)):
        graphs = [dataset[1]["train"][n] for n in chunk]
        kept.append(greedy_prefix(graphs, 2))
        check_shard({key: value[index] for key, value in whole.items()}, graphs[: kept[-1]])
    assert min(kept) < 2 == max(kept)  # this batch closes a shard early (budget, not slots)


def test_a_resumed_stream_reads_the_batches_of_an_uninterrupted_one(workload):
    from hpbench.data.stream import HostShard, StepStream

    reader = attrs.evolve(workload.reader, batch_size=16, devices=4, shard=HostShard(1, 2))
    uninterrupted = StepStream(reader)  # grain, reading in a thread (the 8-device trial: workers)
    first = [uninterrupted.batch(3, step) for step in range(4)]
    resumed = StepStream(pickle.loads(pickle.dumps(reader)))  # as a new process: from step 2
    again = [resumed.batch(3, step) for step in (2, 3)]
    for got, want in zip([*again, reader(3, 1)], [*first[2:], first[1]], strict=True):
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    other_seed = resumed.batch(4, 2)
    assert not np.array_equal(other_seed["node_features"], first[2]["node_features"])


def test_each_host_packs_only_its_evaluation_shards(workload, dataset, reads):
    reader = attrs.evolve(workload.reader, batch_size=16, devices=4, eval_batch_size=24)
    assert reader.valid_budget().graphs == 6  # ceil(24 / 4)
    plan, valid = reader.valid_plan(), dataset[1]["validation"]
    start, expected = 0, []
    while start < len(valid):  # every graph once, in order, each shard as full as fits
        count = greedy_prefix(valid[start:], 6)
        expected.append((start, start + count))
        start += count
    expected += [(40, 40)] * (-len(expected) % 4)  # empty shards fill the last batch
    assert plan.tolist() == [list(r) for r in expected]
    whole = reader.valid_batch(slice(4, 8))
    for key, value in whole.items():  # its second evaluation batch: host 1 packs 2 of 4
        reads.clear()
        np.testing.assert_array_equal(reader.valid_batch(slice(6, 8))[key], value[2:])
        assert set(reads) == set(range(plan[6][0], plan[7][1]))
    for index, (first, stop) in enumerate(plan[4:8]):
        check_shard({key: value[index] for key, value in whole.items()}, valid[first:stop])


# --- a full trial on 8 simulated devices -------------------------------------------------------

CHILD = """
import json, sys
import jax
from hpbench.results.records import read_trial
from hpbench.train import Job, run_job
from hpbench.workloads.registry import load_workload
job = Job.from_json(json.loads(sys.argv[1]))
(trial,) = job.trials
workload = load_workload("ogbg", "full", data=trial.data, batch_size=trial.batch_size)
run_job(job, sys.argv[2], devices=jax.devices())
record = read_trial(f"{sys.argv[2]}/{trial.id}")
print(json.dumps({
    "devices": len(jax.devices()),
    "shards": workload.num_shards,
    "mesh": record.status.provenance["device"],
    "evals": [[r.step, r.metrics, r.train_loss] for r in record.evals],
}))
"""


def run_full_trial(tmp_path, data, batch_size: int) -> dict:
    from trial_helpers import eight_device_child, toy_trial

    from hpbench.plan import Target
    from hpbench.train import Job

    trial = toy_trial(
        workload="ogbg",
        size="full",
        data=str(data),
        batch_size=batch_size,
        max_steps=1,
        eval_every=1,
        target=Target("map", 0.28098, "max"),
    )
    job = Job(trials=(trial,)).dumps()
    return eight_device_child(CHILD, job, str(tmp_path / "results"), timeout=600)


def check_full_trial(out: dict) -> None:
    assert out["devices"] == 8 and out["shards"] == 8
    assert out["mesh"] == "8 x cpu"
    assert [step for step, _, _ in out["evals"]] == [1]
    (_, metrics, train_loss) = out["evals"][0]
    assert 0.0 < metrics["map"] <= 1.0 and np.isfinite(metrics["loss"])
    assert np.isfinite(train_loss)


@pytest.mark.slow  # ~75 s of CPU, mostly compilation (a batch of 16 costs as much)
def test_full_trial_on_eight_devices_algoperf_batch(tmp_path, dataset):
    """AlgoPerf's batch of 512: 8 shards of 1,665 nodes and 3,584 edges, one per device."""
    check_full_trial(run_full_trial(tmp_path, dataset[0], batch_size=512))


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
from hpbench.workloads import ogbg
from hpbench.workloads.registry import load_workload

ogbg.CONFIGS["full"] = attrs.evolve(ogbg.CONFIGS["full"], latent_dim=8, hidden_dims=(8,),
                                    message_passing_steps=1)
trial = Trial(
    workload="ogbg", size="full", variant="base", algorithm="adamw",
    hyperparameters={"learning_rate": 1e-3, "weight_decay": 1e-4}, schedule="warmup_cosine",
    warmup=0.0, horizon=1.0, max_steps=2, batch_size=16, seed=0, eval_every=2,
    target=Target("map", 1.0, "max"), data=data,
)
workload = load_workload("ogbg", "full", "base", data, batch_size=16)
program = Program(workload, trial, 1, make_mesh(jax.devices(), 16, 1))
local = program.batches(1, 1)  # this host's shards of step 1
whole = attrs.evolve(workload.reader, batch_size=16, shard=ONE_HOST)(0, 1)  # all 4 shards
gathered = multihost_utils.process_allgather(program.device_batches(1, 1), tiled=True)
values = program.place(member_values([trial]))
state = program.train(program.init(values), values, 0, 2)
loss = multihost_utils.process_allgather(state["loss_sum"], tiled=True)
print(json.dumps({
    "shards": workload.num_shards,
    "local_shards": local["node_features"].shape[1],
    "mine": bool(np.array_equal(local["node_features"][0], whole["node_features"][2 * process :
                                                                                2 * process + 2])),
    "global": bool(all(np.array_equal(gathered[k][0], whole[k]) for k in whole)),
    "loss": np.asarray(loss).tolist(),
    "metrics": program.evaluate(state, [0])[0],  # each host its evaluation shards
    "replicated": workload.evaluate(*program._eval_inputs_jit(state, np.int32(0))),  # whole
}))
"""


@pytest.mark.slow  # two jax.distributed processes: ~1-2 min of CPU
def test_two_processes_each_pack_their_shards_train_and_evaluate_alike(tmp_path, dataset):
    """Two ``jax.distributed`` CPU processes of 2 devices each on the TFDS fixture: a batch
    of 16 is 4 shards, each process packs its 2, the assembled global batch equals the one
    a single host packs whole, a step trains on it, and both get the evaluation that every
    host reading every evaluation shard gets."""
    from process_helpers import run_hosts

    outs = run_hosts(
        HOSTS,
        2,
        str(dataset[0]),
        devices=2,
        env=lambda process: {
            "HPBENCH_DATA_WORKERS": "0",
            "HPBENCH_DATA_DIR": str(tmp_path / f"cache{process}"),  # own offset index
        },
    )
    for out in outs:
        assert out["shards"] == 4 and out["local_shards"] == 2 and out["mine"] and out["global"]
        assert np.isfinite(out["loss"]).all() and out["loss"][0] > 0
        assert 0.0 < out["metrics"]["map"] <= 1.0 and np.isfinite(out["metrics"]["loss"])
    assert outs[0]["loss"] == outs[1]["loss"]  # one global step, seen alike by both
    assert outs[0]["metrics"] == outs[1]["metrics"]
    for name, value in outs[0]["replicated"].items():
        assert outs[0]["metrics"][name] == pytest.approx(value, rel=1e-5)

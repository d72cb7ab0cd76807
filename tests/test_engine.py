"""The training engine in process: packing, evaluation records, time-to-target, divergence,
stop-at-target, skipping finished trials, --force and failures (real JAX on toy_mlp)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from trial_helpers import records, toy_trial

from hpbench.plan import Target
from hpbench.results.records import read_trial
from hpbench.train import CheckpointPolicy, Job, make_jobs, run_job
from hpbench.train.checkpoint import load_trained_params

GOOD = toy_trial(1e-2)
SLOW = toy_trial(1e-5)  # learns too slowly to reach the target in 100 steps
DIVERGES = toy_trial(1e30)  # parameters overflow within a few steps: NaN loss
STOPS = toy_trial(1e-2, stop_at_target=True)


@pytest.fixture(scope="module")
def packed(tmp_path_factory) -> tuple[Path, list]:
    results = tmp_path_factory.mktemp("packed")
    [job] = make_jobs([GOOD, SLOW, DIVERGES, STOPS], pack=4)
    return results, run_job(job, results)


def test_a_pack_shares_one_job_and_splits_on_program_structure():
    jobs = make_jobs([GOOD, SLOW, toy_trial(seed=1), toy_trial(eval_every=10), STOPS], pack=8)
    assert [len(j.trials) for j in jobs] == [3, 1, 1]
    assert [len(j.trials) for j in make_jobs([GOOD, SLOW, STOPS], pack=2)] == [2, 1]
    dropout = toy_trial(hyperparameters={"learning_rate": 1e-3, "dropout": 0.1})
    assert len(make_jobs([GOOD, dropout], pack=8)) == 2  # dropout shapes the program


def test_job_round_trips_through_json():
    job = Job(trials=(GOOD, SLOW), checkpoint=CheckpointPolicy(every_steps=40), force=True)
    again = Job.from_json(json.loads(job.dumps()))
    assert again == job and again.id == job.id


def test_every_evaluation_is_recorded_with_time_to_target(packed):
    results, outcomes = packed
    for trial in (GOOD, SLOW):
        result = read_trial(results / trial.id)
        assert [r.step for r in result.evals] == list(range(20, 101, 20))
        seconds = [r.train_seconds for r in result.evals]
        assert seconds == sorted(seconds) and seconds[0] > 0
        assert all(math.isfinite(r.train_loss) for r in result.evals)
        assert set(result.evals[0].metrics) == {"loss", "error_rate"}
        # Time to target recomputed independently from the recorded metrics.
        reached = [r for r in result.evals if r.metrics["error_rate"] <= 0.06]
        assert result.status.state == "done" and result.status.step == 100
        assert result.status.reached_step == (reached[0].step if reached else None)
        if reached:
            assert result.status.reached_seconds == reached[0].train_seconds
    assert read_trial(results / GOOD.id).status.reached_step is not None
    assert read_trial(results / SLOW.id).status.reached_step is None
    states = {o.trial.id: o.state for o in outcomes}
    assert states == {GOOD.id: "done", SLOW.id: "done", DIVERGES.id: "diverged", STOPS.id: "done"}


def test_every_evaluation_carries_algoperf_clock_with_compilation_and_without_evals(packed):
    """AlgoPerf's clock = the training clock plus the training program's compilation: the
    two differ by a positive amount fixed at the first evaluation (every chunk here is 20
    steps: one program), and between evaluations both advance by the same training time,
    so the evaluations between rows are off AlgoPerf's clock exactly as off the other."""
    results, _ = packed
    for trial in (GOOD, SLOW):
        rows = read_trial(results / trial.id).evals
        train = [r.train_seconds for r in rows]
        algoperf = [r.algoperf_seconds for r in rows]
        compile_seconds = algoperf[0] - train[0]
        assert compile_seconds > 0
        for k in range(1, len(rows)):
            assert algoperf[k] - algoperf[k - 1] == pytest.approx(train[k] - train[k - 1])
            assert algoperf[k] - train[k] == pytest.approx(compile_seconds)


def test_a_diverging_member_is_marked_and_frozen(packed):
    results, _ = packed
    result = read_trial(results / DIVERGES.id)
    assert result.status.state == "diverged"
    assert "non-finite" in result.status.reason
    assert 0 <= result.status.step < 20 and result.evals == ()
    params = load_trained_params(results, DIVERGES.id)
    assert all(np.isfinite(x).all() for x in jax_leaves(params))  # updates were masked


def test_a_member_diverging_right_after_an_evaluation_reads_as_diverged(tmp_path):
    # evaluated every step: the loss that turns non-finite at step d is that of the parameters
    # the evaluation at d scored first, so the row at d is there (a reader that wanted rows
    # only before d called such a trial corrupt and trained it again on every run)
    trial = toy_trial(1e30, eval_every=1)
    [job] = make_jobs([trial], pack=1)
    [outcome] = run_job(job, tmp_path)
    result = read_trial(tmp_path / trial.id)
    assert outcome.state == result.status.state == "diverged"
    step = result.status.step
    assert step >= 1 and [r.step for r in result.evals] == list(range(1, step + 1))


def test_stop_at_target_ends_the_member_at_its_first_hit(packed):
    results, _ = packed
    result = read_trial(results / STOPS.id)
    assert result.status.state == "done"
    assert result.status.reached_step == result.evals[-1].step < 100
    assert all(r.metrics["error_rate"] > 0.06 for r in result.evals[:-1])


def test_other_members_are_unharmed_by_a_diverging_one(packed, tmp_path):
    results, _ = packed
    [job] = make_jobs([GOOD, SLOW], pack=2)
    run_job(job, tmp_path)
    for trial in (GOOD, SLOW):
        alone, together = records(tmp_path, trial), records(results, trial)
        assert [r["step"] for r in alone] == [r["step"] for r in together]
        for a, b in zip(alone, together, strict=True):
            np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)
            for name in a["metrics"]:
                np.testing.assert_allclose(a["metrics"][name], b["metrics"][name], rtol=1e-5)


def test_finished_trials_are_skipped_and_force_retrains_identically(packed):
    results, _ = packed
    before = {t.id: (results / t.id / "metrics.jsonl").read_bytes() for t in (GOOD, SLOW)}
    [job] = make_jobs([GOOD, SLOW, DIVERGES, STOPS], pack=4)
    assert {o.state for o in run_job(job, results)} == {"skipped"}
    assert before == {t: (results / t / "metrics.jsonl").read_bytes() for t in before}

    first = {t.id: records(results, t) for t in (GOOD, SLOW, STOPS)}
    outcomes = run_job(Job(trials=job.trials, force=True), results)
    assert [o.state for o in outcomes] == ["done", "done", "diverged", "done"]
    assert first == {t.id: records(results, t) for t in (GOOD, SLOW, STOPS)}  # bitwise


def test_a_failing_job_records_its_error_and_the_run_goes_on(tmp_path):
    from hpbench.backends.local import run_jobs

    broken = toy_trial(workload="no_such_workload")
    outcomes = run_jobs(make_jobs([broken, GOOD], pack=4), tmp_path)
    assert [o.state for o in outcomes] == ["failed", "done"]
    status = read_trial(tmp_path / broken.id).status
    assert status.state == "failed" and "no_such_workload" in status.reason


def test_a_spec_batch_size_replaces_the_registered_one(tmp_path):
    from hpbench.backends.local import run_jobs
    from hpbench.workloads.registry import load_workload

    workload = load_workload("toy_mlp", batch_size=32)  # registered: 64
    assert workload.batch_size == 32
    assert all(len(column) == 32 for column in workload.batch(0, 3).values())
    assert load_workload("toy_mlp").batch_size == 64

    small, registered = toy_trial(batch_size=32), toy_trial()
    outcomes = run_jobs(make_jobs([small, registered], pack=4), tmp_path)
    assert [o.state for o in outcomes] == ["done", "done"]  # two programs: batch shapes differ
    losses = [[r["train_loss"] for r in records(tmp_path, t)] for t in (small, registered)]
    assert losses[0] != losses[1]


def jax_leaves(tree) -> list:
    import jax

    return jax.tree.leaves(tree)


def test_data_order_is_a_pure_function_of_seed_and_step():
    from hpbench.workloads.registry import load_workload

    workload = load_workload("toy_mlp")
    later_first = [workload.batch(0, s) for s in (900, 7, 3)]
    fresh = load_workload("toy_mlp")
    for step, batch in zip((900, 7, 3), later_first, strict=True):
        again = fresh.batch(0, step)
        assert all(np.array_equal(batch[k], again[k]) for k in batch)
    assert not np.array_equal(workload.batch(1, 7)["x"], workload.batch(0, 7)["x"])


def test_a_checkpoint_holds_data_position_rng_and_member_bookkeeping(packed):
    import jax

    results, _ = packed
    [meta_file] = results.glob("_jobs/*/100/meta/metadata")
    meta = json.loads(meta_file.read_text())
    assert meta["step"] == 100 and meta["data"] == {"seed": 0, "next_step": 100}
    expected = jax.random.key_data(jax.random.fold_in(jax.random.key(0), 1))
    assert meta["rng"] == np.asarray(expected).tolist()  # step keys fold from here
    members = {m["trial"]: m for m in meta["members"]}
    assert (
        sorted(members)
        == sorted(meta["trials"])
        == sorted(t.id for t in (GOOD, SLOW, DIVERGES, STOPS))
    )
    assert members[STOPS.id]["state"] == "done" and members[DIVERGES.id]["state"] == "diverged"
    assert members[GOOD.id]["train_seconds"] > 0
    assert members[GOOD.id]["algoperf_seconds"] > members[GOOD.id]["train_seconds"]


def test_pack_size_follows_device_memory(monkeypatch):
    from hpbench.train import memory

    per_member = memory.member_bytes(GOOD)
    toy_parameters = 8 * 32 + 32 + 32 * 4 + 4  # the toy MLP: 8 -> 32 -> 4
    assert per_member >= memory.STATE_COPIES * 3 * 4 * toy_parameters  # params + Adam's mu, nu
    room_for = lambda n: lambda: int((n + 0.5) * per_member / memory.MEMORY_SHARE)  # noqa: E731
    monkeypatch.setattr(memory, "device_memory_bytes", room_for(3))
    assert memory.pack_size_from_memory(GOOD) == 3
    assert [
        len(j.trials)
        for j in make_jobs([GOOD, SLOW, STOPS, DIVERGES], pack_size=memory.pack_size_from_memory)
    ] == [3, 1]
    monkeypatch.setattr(memory, "device_memory_bytes", room_for(0))
    assert memory.pack_size_from_memory(GOOD) == 1
    monkeypatch.setattr(memory, "device_memory_bytes", room_for(1000))
    assert memory.pack_size_from_memory(GOOD) == memory.DEFAULT_MAX_PACK


@pytest.mark.parametrize(
    ("workload", "metric", "one_per_device"),
    [
        ("imagenet_resnet", "error_rate", True),  # a vmapped convolution is a grouped one
        ("ogbg", "map", True),  # trains faster one member per core
        ("librispeech_deepspeech", "wer", False),  # the LSTM's small steps vmap well
        ("toy_mlp", "error_rate", False),
    ],
)
def test_cpu_packs_one_member_per_device_unless_the_model_vmaps_well(
    monkeypatch, workload, metric, one_per_device
):
    """On CPU the default pack is one member per CPU device (two in the tests), each member
    training with plain steps on its own core, except for the workloads registered with
    ``vmap_on_cpu`` (small or sequential steps), which pack as memory allows."""
    import attrs
    import jax

    from hpbench.train import memory

    monkeypatch.setattr(memory, "device_memory_bytes", lambda: 1 << 40)
    trial = attrs.evolve(GOOD, workload=workload, target=Target(metric, 0.1, "min"))
    assert len(jax.local_devices()) == 2
    expected = 2 if one_per_device else memory.DEFAULT_MAX_PACK
    assert memory.pack_size_from_memory(trial) == expected


def test_a_checkpoint_is_due_past_a_step_multiple_or_after_its_seconds():
    by_steps = CheckpointPolicy(every_steps=40, every_seconds=None)
    assert not by_steps.due(39, 0, 1e9)  # no time rule
    assert by_steps.due(40, 0, 0.0)
    assert by_steps.due(48, 32, 0.0)  # chunks of 16 step over 40: saved at 48
    assert not by_steps.due(79, 48, 0.0)
    by_time = CheckpointPolicy(every_steps=None, every_seconds=30.0)
    assert not by_time.due(10**6, 0, 29.9) and by_time.due(1, 0, 30.0)
    assert not CheckpointPolicy.parse("0").due(10**6, 0, 1e9)  # only at the end


def test_one_step_per_dispatch_trains_as_the_fused_chunks_do(tmp_path):
    """A chunk of one step runs without ``lax.scan`` (the convolutional path on CPU); it
    gives the records of 16-step fused chunks, within float32 reassociation."""
    fused, single = tmp_path / "fused", tmp_path / "single"
    run_job(Job(trials=(GOOD,)), fused)
    run_job(Job(trials=(GOOD,), steps_per_dispatch=1), single)
    for a, b in zip(records(fused, GOOD), records(single, GOOD), strict=True):
        assert a["step"] == b["step"]
        np.testing.assert_allclose(a["train_loss"], b["train_loss"], rtol=1e-5)
        np.testing.assert_allclose(a["metrics"]["loss"], b["metrics"]["loss"], rtol=1e-5)


@pytest.mark.parametrize(
    ("steps_per_dispatch", "eval_every", "horizon_steps", "chunk"),
    [
        (16, 16, 800, 16),  # whole budget: evaluation intervals tile it
        (16, 16, 200, 8),  # wmt mini at horizon 0.25: 200 = 12 x 16 + 8, one program of 8
        (16, 12, 150, 6),  # deepspeech mini at horizon 0.25
        (16, 30, 375, 15),  # criteo: 15 tiles both
        (16, 16, 197, 16),  # gcd 1: sixteen times the dispatches; a second program instead
        (1, 16, 200, 1),  # one plain step per dispatch (convolutional models on CPU)
        (16, 5, 100, 5),  # evaluation every 5 steps: never longer than an interval
    ],
)
def test_chunks_tile_evaluations_and_horizon(steps_per_dispatch, eval_every, horizon_steps, chunk):
    from hpbench.train.trainer import chunk_length

    assert chunk_length(steps_per_dispatch, eval_every, horizon_steps) == chunk


def test_a_chunk_length_compiles_once_in_the_background(monkeypatch):
    """``Program.compile`` starts a chunk's compilation in a background thread (a job's
    first chunk compiles while its state initialises) and hands every later request for
    that length the same compilation, whose executable then trains; a failed compilation
    is attempted again."""
    import threading

    from hpbench.train.program import Program, local_devices_for, make_mesh, member_values
    from hpbench.workloads.registry import load_workload

    mesh = make_mesh(local_devices_for(2), GOOD.batch_size, 2)
    program = Program(load_workload(GOOD.workload, GOOD.size), GOOD, 2, mesh)
    compile_chunk = program._compile_chunk
    threads = []

    def recorded(count):
        threads.append(threading.current_thread().name)
        if len(threads) == 1:
            raise MemoryError("the first attempt fails")
        return compile_chunk(count)

    monkeypatch.setattr(program, "_compile_chunk", recorded)
    failed = program.compile(5)
    with pytest.raises(MemoryError):
        failed.result()
    started = program.compile(5)
    assert started is not failed and program.compile(5) is started
    values = program.place(member_values([GOOD, SLOW]))
    trained = program.train(program.init(values), values, 0, 5)
    assert started.done() and program.compile(5) is started
    assert int(trained["loss_count"][0]) == 5
    assert len(threads) == 2
    assert all(name.startswith("hpbench-compile") for name in threads)

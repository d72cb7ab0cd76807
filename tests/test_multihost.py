"""Multi-host jobs: the engine's primary/secondary switch and the multihost backend.

In one JAX process a secondary is simulated by giving ``run_job`` a process index and a
:class:`Channel` that replays what a primary run shared: the secondary must write no
trial file yet end with the primary's outcomes, and a single process must exchange
nothing. The slow test trains a toy job with two real ``jax.distributed`` CPU processes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from process_helpers import host_outputs, start_hosts
from trial_helpers import records, toy_trial

from hpbench.backends import multihost
from hpbench.backends.profile import DistributedOptions, RunnerProfile
from hpbench.results.records import EvalRecord, Status
from hpbench.results.store import MirrorTrialDir, TrialDir, claim, read_holder
from hpbench.train import CheckpointPolicy, Job
from hpbench.train.processes import JaxChannel, Processes, current
from hpbench.train.run import run_job

ROOT = Path(__file__).resolve().parent.parent
EVERY_40 = CheckpointPolicy(every_steps=40, every_seconds=None)


class Recording:
    """The primary's channel: passes its values through (as if the other process agreed)
    and records every exchange, in order."""

    def __init__(self) -> None:
        self.log: list[Any] = []

    def broadcast(self, value: Any) -> Any:
        self.log.append(json.loads(json.dumps(value)))
        return self.log[-1]

    def allgather(self, value: Any) -> list[Any]:
        self.log.append([value, [0, False]])
        return self.log[-1]


class Replay:
    """A secondary's channel: answers each exchange with what the primary recorded."""

    def __init__(self, log: list[Any]) -> None:
        self.log = list(log)

    def broadcast(self, value: Any) -> Any:
        assert value is None  # a secondary has nothing to say
        return self.log.pop(0)

    def allgather(self, value: Any) -> list[Any]:
        answer = self.log.pop(0)
        assert len(answer) == 2
        return answer


class Silent:
    """A channel that must never be used (a single process exchanges nothing)."""

    def broadcast(self, value: Any) -> Any:
        raise AssertionError("a single process broadcast")

    def allgather(self, value: Any) -> list[Any]:
        raise AssertionError("a single process gathered")


def summary(outcomes) -> list[tuple]:
    """What every process must agree on (not the wall-clock seconds)."""
    return [(o.trial.id, o.state, o.step, o.reached_step, o.final_metric) for o in outcomes]


def trial_files(results: Path) -> list[str]:
    """Everything under ``results`` except the Orbax checkpoints of ``_jobs``."""
    if not results.exists():
        return []
    return sorted(str(p.relative_to(results)) for p in results.rglob("*") if "_jobs" not in p.parts)


def two_trial_job(**changes) -> Job:
    return Job(trials=(toy_trial(1e-2), toy_trial(3e-3)), checkpoint=EVERY_40, **changes)


def test_a_secondary_writes_no_trial_file_and_ends_like_the_primary(tmp_path):
    job = two_trial_job()
    channel = Recording()
    primary = run_job(job, tmp_path / "primary", processes=Processes(0, 2, channel))
    assert [o.state for o in primary] == ["done", "done"]
    # a broadcast of whether all is finished already, of the starting statuses and of the
    # checkpoints to resume from, then a vote per chunk
    assert channel.log[0] is None  # not every trial finished: train
    assert channel.log[1].keys() == {t.id for t in job.trials}
    assert channel.log[2] == []  # no checkpoint to resume from

    replay = Replay(channel.log)
    secondary = run_job(job, tmp_path / "secondary", processes=Processes(1, 2, replay))
    assert summary(secondary) == summary(primary)
    assert replay.log == []  # the same exchanges, in the same order
    assert trial_files(tmp_path / "secondary") == []  # no claim, trial, metrics or status


def test_the_primary_of_two_writes_what_a_single_process_writes(tmp_path):
    job = two_trial_job()
    alone = run_job(job, tmp_path / "alone", processes=Processes(0, 1, Silent()))
    first = run_job(job, tmp_path / "first", processes=Processes(0, 2, Recording()))
    assert summary(first) == summary(alone)
    for trial in job.trials:
        assert records(tmp_path / "first", trial) == records(tmp_path / "alone", trial)


def test_a_secondary_skips_and_leaves_what_the_primary_found_finished_or_claimed(tmp_path):
    done, other = toy_trial(1e-2), toy_trial(3e-3)
    results = tmp_path / "results"
    run_job(Job(trials=(done,)), results, processes=Processes(0, 1, Silent()))
    held = claim(TrialDir(results, other))  # another live run holds it
    assert held is not None
    try:
        job = Job(trials=(done, other))
        channel = Recording()
        primary = run_job(job, results, processes=Processes(0, 2, channel))
    finally:
        held.release()
    assert [o.state for o in primary] == ["skipped", "elsewhere"]
    secondary = run_job(job, tmp_path / "unshared", processes=Processes(1, 2, Replay(channel.log)))
    assert summary(secondary) == summary(primary)
    assert [o.reason for o in secondary] == [o.reason for o in primary]
    assert not (tmp_path / "unshared").exists()  # it read nothing from disk either


def test_one_process_exchanges_nothing_and_is_the_primary():
    assert current() == Processes(0, 1)  # jax.distributed not initialised in the tests
    assert Processes().primary and not Processes(1, 2).primary
    assert Processes(0, 1, Silent()).share({"x": 1}) == {"x": 1}
    assert Processes(0, 1, Silent()).gather(3) == [3]
    with pytest.raises(ValueError, match="process index 2 is not in 0..1"):
        Processes(2, 2)


def test_the_jax_channel_round_trips_json_in_one_process():
    value = {"a": [1, None, "é"], "b": {"c": 2.5}}
    assert JaxChannel().broadcast(value) == value
    assert JaxChannel().allgather([0, True]) == [[0, True]]


def test_a_mirror_trial_dir_tracks_statuses_in_memory_and_writes_nothing(tmp_path):
    trial = toy_trial()
    mirror = MirrorTrialDir(tmp_path, trial, Status(state="interrupted", step=40))
    assert not mirror.finished()
    mirror.write_trial()
    mirror.append_eval(EvalRecord(60, 1.0, 0.5, {"error_rate": 0.1}))
    assert mirror.truncate_evals(40) == ()
    mirror.write_status(Status(state="done", step=100))
    assert mirror.finished() and mirror.read_status().step == 100
    mirror.reset()
    assert mirror.read_status() is None
    assert list(tmp_path.iterdir()) == []


def test_the_single_process_path_of_the_multihost_backend_equals_a_local_run(tmp_path):
    from hpbench.backends.local import run_jobs as run_local

    jobs = [Job(trials=(toy_trial(1e-2),), checkpoint=EVERY_40)]
    profile = RunnerProfile(backend="local", distributed=DistributedOptions(processes=1))
    assert multihost.initialize(profile.distributed) == (0, 1)  # no jax.distributed
    outcomes = multihost.run_jobs(jobs, tmp_path / "multihost", profile)
    expected = run_local(jobs, tmp_path / "local")
    assert summary(outcomes) == summary(expected)
    trial = jobs[0].lead
    assert records(tmp_path / "multihost", trial) == records(tmp_path / "local", trial)


def test_an_explicit_coordinator_needs_each_process_id(monkeypatch):
    options = DistributedOptions(processes=2, coordinator_address="localhost:1234")
    monkeypatch.delenv("HPBENCH_PROCESS_ID", raising=False)
    with pytest.raises(RuntimeError, match=r"HPBENCH_PROCESS_ID \(0..1\); found ''"):
        multihost._explicit_coordinator(options)
    monkeypatch.setenv("HPBENCH_PROCESS_ID", "2")
    with pytest.raises(RuntimeError, match="found '2'"):
        multihost._explicit_coordinator(options)
    monkeypatch.setenv("HPBENCH_PROCESS_ID", "1")
    assert multihost._explicit_coordinator(options)["process_id"] == 1
    assert multihost._explicit_coordinator(DistributedOptions(processes=2)) == {}


TWO_PROCESSES = """
import json, sys
from pathlib import Path
import jax
jax.config.update("jax_cpu_collectives_implementation", "gloo")
from jax.experimental import multihost_utils
from hpbench.backends import multihost
from hpbench.backends.profile import DistributedOptions, RunnerProfile
from hpbench.results.records import Status
from hpbench.results.store import TrialDir
from hpbench.train import Job
port, _, results, job_file = sys.argv[1:]  # the backend reads the process id from the env
results, job_file = Path(results), Path(job_file)
options = DistributedOptions(processes=2, coordinator_address=f"localhost:{port}")
profile = RunnerProfile(backend="local", distributed=options)
job = Job.from_json(json.loads(job_file.read_text()))
def run(name):
    outcomes = multihost.run_jobs([job], results, profile)
    row = [(o.state, o.step, o.reached_step, o.final_metric) for o in outcomes]
    print(name, jax.process_index(), json.dumps(row), flush=True)
run("first")
run("again")  # everything finished: both processes skip
if jax.process_index() == 0:  # lose the last checkpoint: the next run resumes at 80
    import shutil
    shutil.rmtree(results / "_jobs" / job.id / "100")
    for trial in job.trials:
        TrialDir(results, trial).write_status(Status(state="interrupted", step=80))
multihost_utils.sync_global_devices("resume")
run("resumed")
"""


@pytest.mark.slow
def test_two_real_processes_train_resume_and_only_process_0_writes(tmp_path):
    """Two ``jax.distributed`` CPU processes (gloo collectives) train a toy job on a
    two-device global mesh, skip it when rerun, and resume it from an Orbax checkpoint;
    only process 0 claims and writes, and the results match a single-process run up to
    the float rounding of the two-device reduction."""
    job = two_trial_job()
    job_file = tmp_path / "job.json"
    job_file.write_text(job.dumps())
    results = tmp_path / "results"
    children = start_hosts(  # one device per host; the backend reads the process id
        TWO_PROCESSES,
        2,
        str(results),
        str(job_file),
        env=lambda process: {"HPBENCH_PROCESS_ID": str(process)},
    )
    rows = {
        tuple(line.split(" ", 2)[:2]): json.loads(line.split(" ", 2)[2])
        for out in host_outputs(children)
        for line in out.splitlines()
        if line.startswith(("first ", "again ", "resumed "))
    }
    for name in ("first", "again", "resumed"):
        assert rows[(name, "0")] == rows[(name, "1")]  # the processes agree
    assert [r[0] for r in rows[("first", "0")]] == ["done", "done"]
    assert [r[0] for r in rows[("again", "0")]] == ["skipped", "skipped"]
    assert rows[("resumed", "0")] == rows[("first", "0")]

    pid = children[0].pid
    alone = tmp_path / "alone"
    run_job(job, alone, processes=Processes(0, 1, Silent()))
    for trial in job.trials:
        assert read_holder(results / trial.id / "lock").pid == pid
        status = json.loads((results / trial.id / "status.json").read_text())
        assert status["provenance"]["device"] == "2 x cpu"  # one global mesh
        two, one = records(results, trial), records(alone, trial)
        assert [r["step"] for r in two] == [r["step"] for r in one]
        for a, b in zip(two, one, strict=True):
            assert a["train_loss"] == pytest.approx(b["train_loss"], rel=1e-4)


def test_hpbench_run_joins_the_hosts_of_a_local_multihost_profile_first(monkeypatch):
    """Before make_jobs (whose pack size from memory starts JAX's backends), and only for
    a ``local`` profile of several processes (a Slurm login node joins nothing)."""
    from hpbench import api
    from hpbench.train import job

    joined, packs = [], []
    monkeypatch.setattr(multihost, "initialize", joined.append)
    # make_jobs is where the pack size from memory would start JAX: it must come after
    monkeypatch.setattr(job, "make_jobs", lambda trials, **kw: packs.append(list(joined)) or [])
    two = DistributedOptions(processes=2)
    api.make_run_jobs([], RunnerProfile(backend="local"))
    api.make_run_jobs([], RunnerProfile(backend="slurm", distributed=two))
    assert joined == []
    api.make_run_jobs([], RunnerProfile(backend="local", distributed=two))
    assert joined == [two] and packs == [[], [], [two]]


def test_a_replicated_batch_read_in_halves_is_refused():
    """A batch the mesh's data axis does not split is replicated on every device; with two
    processes each reading half of its rows, the devices would hold different halves as one
    array: refused, naming the batch size (an OGBG shard count, e.g. 4 on 8 devices)."""
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from hpbench.data.stream import HostShard
    from hpbench.train.program import check_host_rows

    mesh = Mesh(np.array(jax.devices()[:1]), ("data",))
    batch = {"x": jax.ShapeDtypeStruct((1, 4, 3), np.float32)}
    replicated = {"x": NamedSharding(mesh, P())}
    check_host_rows(replicated, batch, 4, HostShard(0, 1))  # one process reads it whole
    with pytest.raises(RuntimeError, match="batch of 4 rows is replicated.*reads only 2"):
        check_host_rows(replicated, batch, 4, HostShard(1, 2))

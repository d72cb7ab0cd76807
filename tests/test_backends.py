"""The pool backend for real: a spec through ``hpbench run --runner pool``, a worker
SIGKILLed mid-trial (replaced; its job resumes from its checkpoint; results equal the
undisturbed run), a worker that always dies (its trials end failed, the run goes on),
device groups, and ``hpbench status``. The toy workload keeps each run to seconds."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from backend_helpers import (
    checkpointed,
    checkpointed_jobs,
    holder,
    records,
    slow_worker_env,
    write_spec,
)

from hpbench.backends import pool
from hpbench.backends.options import PoolOptions
from hpbench.backends.profile import RunnerProfile
from hpbench.cli import main
from hpbench.results.records import read_trial
from hpbench.results.store import TrialDir
from hpbench.spec import load_plan
from hpbench.train import make_jobs

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "specs" / "suites" / "toy.toml"
POOL = RunnerProfile(backend="pool", options={"pool": PoolOptions(workers=2)}, retries=2)
SLOW_WORKER_CODE = "import sys, backend_helpers; sys.exit(backend_helpers.worker_main())"
SLOW_WORKER = (sys.executable, "-c", SLOW_WORKER_CODE)


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """The spec run undisturbed through ``hpbench run --runner runners/pool.toml``."""
    tmp = tmp_path_factory.mktemp("pool-reference")
    spec = write_spec(tmp, SUITE)
    results = tmp / "results"
    code = main(
        [
            "run",
            str(spec),
            "--runner",
            str(ROOT / "runners" / "pool.toml"),
            "--pack",
            "1",
            "--results",
            str(results),
            "--quiet",
        ]
    )
    assert code == 0
    return spec, results


def test_a_spec_runs_through_the_pool(reference):
    spec, results = reference
    trials = load_plan(spec).trials
    for trial in trials:
        result = read_trial(results / trial.id)
        assert result.status.state == "done"
        assert [r.step for r in result.evals] == list(range(20, trial.horizon_steps + 1, 20))
    logs = sorted(p.name for p in (results / "_logs").iterdir())
    assert logs == ["pool-worker-0.log", "pool-worker-1.log"]  # two workers, one job each


def test_a_worker_killed_mid_trial_is_replaced_and_its_job_resumes(
    tmp_path, reference, monkeypatch
):
    spec, expected = reference
    trials = load_plan(spec).trials
    jobs = checkpointed_jobs(trials)
    results = tmp_path / "results"
    forbid = tmp_path / "forbid"
    for name, value in slow_worker_env(forbid).items():
        monkeypatch.setenv(name, value)

    killed = {}

    def kill_a_worker():
        job, step = checkpointed(results, jobs)
        victim = job.lead
        pid = holder(results, victim.id)
        forbid.write_text(str(step))  # workers started from now on refuse batches < step
        os.kill(pid, signal.SIGKILL)
        killed.update(trial=victim, pid=pid, step=step)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    outcomes = pool.run_jobs(jobs, results, POOL, command=SLOW_WORKER)
    killer.join()
    assert killed, "no worker was killed"
    victim = killed["trial"]
    assert killed["step"] < victim.horizon_steps  # killed mid-trial
    assert [o.state for o in outcomes] == ["done", "done"]
    for trial in trials:
        steps = [r[0] for r in records(results, trial.id)]
        assert steps == sorted(set(steps))  # nothing evaluated twice
        assert records(results, trial.id) == records(expected, trial.id)
    log = "".join(p.read_text() for p in (results / "_logs").iterdir())
    assert "did not resume" not in log


def test_a_job_whose_worker_always_dies_ends_failed_after_its_retries(tmp_path):
    trials = load_plan(write_spec(tmp_path, SUITE)).trials
    jobs = make_jobs(trials, pack=1)
    dies = (sys.executable, "-c", "import sys; sys.stdin.readline(); sys.exit(3)")
    outcomes = pool.run_jobs(jobs, tmp_path / "results", POOL, command=dies)
    assert [o.state for o in outcomes] == ["failed", "failed"]
    for trial in trials:
        status = read_trial(tmp_path / "results" / trial.id).status
        assert status.state == "failed"
        assert status.reason.startswith("worker died 3 time(s) (last exit code 3); see ")


def test_device_groups_split_gpus_by_devices_per_job():
    gpus = RunnerProfile(
        backend="pool",
        devices_per_job=2,
        options={"pool": PoolOptions(device="gpu", gpus=(0, 1, 2, 3, 4))},
    )
    assert pool.device_groups(gpus) == [
        {"CUDA_VISIBLE_DEVICES": "0,1"},
        {"CUDA_VISIBLE_DEVICES": "2,3"},
    ]
    assert pool.device_groups(POOL) == [{"JAX_PLATFORMS": "cpu"}] * 2
    capped = RunnerProfile(backend="pool", concurrency=1, options={"pool": PoolOptions(workers=4)})
    assert len(pool.device_groups(capped)) == 1


def test_status_shows_running_done_and_failed_trials(tmp_path, reference, capsys):
    import shutil

    from hpbench.results.records import Status

    spec, expected = reference
    results = tmp_path / "results"
    shutil.copytree(expected, results)
    done, other = load_plan(spec).trials
    TrialDir(results, other).write_status(Status(state="running", step=60))
    (results / other.id / "lock").write_text("4242 node-7\n")
    assert main(["status", str(results)]) == 0
    out = capsys.readouterr().out
    assert f"{results}: 2 trials: 1 running, 1 done" in out.replace("\n", "")
    assert other.id[:12] in out and "60/200" in out and "4242 node-7" in out
    assert done.id[:12] not in out  # finished trials only with --all
    TrialDir(results, other).write_status(Status(state="failed", step=60, reason="OOM\nmore"))
    assert main(["status", str(results), "--all"]) == 0
    out = capsys.readouterr().out
    assert "1 done, 1 failed" in out and done.id[:12] in out and "OOM" in out


def test_the_single_process_path_of_a_multihost_job(tmp_path, reference):
    from hpbench.backends import multihost
    from hpbench.backends.profile import DistributedOptions

    spec, expected = reference
    profile = RunnerProfile(backend="local", distributed=DistributedOptions(processes=1))
    assert multihost.initialize(profile.distributed) == (0, 1)  # no jax.distributed needed
    jobs = make_jobs(load_plan(spec).trials, pack=1)
    outcomes = multihost.run_jobs(jobs, tmp_path / "results", profile)
    assert [o.state for o in outcomes] == ["done", "done"]
    for job in jobs:  # process 0 wrote the results, equal to the pool's
        assert records(tmp_path / "results", job.lead.id) == records(expected, job.lead.id)


POOL_SCRIPT = """
import json, sys
from pathlib import Path
from hpbench.backends import pool
from hpbench.backends.profile import RunnerProfile
from hpbench.train import Job
from hpbench.train.run import Interrupted
jobs = [Job.from_json(j) for j in json.loads(Path(sys.argv[1]).read_text())]
command = (sys.executable, "-c", sys.argv[3])
try:
    pool.run_jobs(jobs, Path(sys.argv[2]), RunnerProfile(backend="pool"), command=command)
except Interrupted as stop:
    sys.exit(128 + stop.signum)
"""


@pytest.mark.slow
def test_sigint_to_the_pool_checkpoints_every_worker_and_a_rerun_resumes(
    tmp_path, reference, monkeypatch
):
    import json
    import subprocess

    spec, expected = reference
    jobs = checkpointed_jobs(load_plan(spec).trials)
    (tmp_path / "jobs.json").write_text(json.dumps([job.to_json() for job in jobs]))
    results = tmp_path / "results"
    for name, value in slow_worker_env().items():
        monkeypatch.setenv(name, value)
    run = subprocess.Popen(
        [
            sys.executable,
            "-c",
            POOL_SCRIPT,
            str(tmp_path / "jobs.json"),
            str(results),
            SLOW_WORKER_CODE,
        ]
    )
    checkpointed(results, jobs)
    run.send_signal(signal.SIGINT)
    assert run.wait(timeout=240) == 130
    states = {read_trial(results / job.lead.id).status.state for job in jobs}
    assert states <= {"interrupted", "done"} and "interrupted" in states
    monkeypatch.delenv("HPBENCH_TEST_BATCH_DELAY")
    outcomes = pool.run_jobs(jobs, results, POOL)
    assert {o.state for o in outcomes} <= {"done", "skipped"}
    for job in jobs:
        assert records(results, job.lead.id) == records(expected, job.lead.id)


def test_status_and_the_backends_drivers_do_not_import_jax(tmp_path):
    import subprocess

    code = (
        "import sys\n"
        "import hpbench.backends.pool, hpbench.backends.profile, hpbench.backends.common\n"
        "from hpbench.cli import main\n"
        f"assert main(['status', {str(tmp_path)!r}]) == 0\n"
        "assert 'jax' not in sys.modules, 'jax was imported'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "0 trials: no trials" in done.stdout


def test_progress_of_other_processes_is_read_back_from_the_results(reference):
    from hpbench.backends.common import ResultsWatcher, job_update

    spec, results = reference
    job = make_jobs(load_plan(spec).trials, pack=1)[0]
    last = read_trial(results / job.lead.id).evals[-1]
    update = job_update(job, results)
    assert (update.step, update.horizon_steps, update.pack) == (200, 200, 1)
    assert update.best == last.metrics["error_rate"]
    assert update.train_seconds == last.train_seconds
    assert job_update(job, results.parent / "nowhere") is None  # not started: no update
    seen = []
    with ResultsWatcher(results, seen.append, interval=0.01) as watcher:
        watcher.started(job)
        while not seen:
            time.sleep(0.01)
        watcher.finished(job)
    assert seen[0] == update and seen[-1].finished  # unchanged updates are not repeated
    assert len(seen) == 2


def test_a_gpu_pool_without_gpus_is_a_clear_error(monkeypatch, tmp_path):
    from hpbench.config.errors import ConfigError

    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi: no GPUs
    profile = RunnerProfile(
        backend="pool", file="gpus.toml", options={"pool": PoolOptions(device="gpu")}
    )
    with pytest.raises(ConfigError, match="gpus.toml:1:1: pool.device: expected at least 1 GPU"):
        pool.device_groups(profile)


def test_giving_up_keeps_a_finished_trial_as_the_engine_reports_it(tmp_path):
    """A job whose retries are spent: its finished trial comes back as the engine would have
    skipped it (reached step, "already done"), the unfinished one failed with the reason."""
    from trial_helpers import toy_trial

    from hpbench.backends.common import give_up
    from hpbench.backends.local import run_jobs
    from hpbench.plan import Target
    from hpbench.train.progress import describe

    easy = Target("error_rate", 0.9, "min")  # reached at the first evaluation
    done, unstarted = toy_trial(target=easy), toy_trial(learning_rate=1e-3, target=easy)
    run_jobs(make_jobs([done], pack=1), tmp_path)
    (job,) = make_jobs([done, unstarted], pack=2)
    kept, failed = give_up(job, tmp_path, "worker died 3 times")
    status = TrialDir(tmp_path, done).read_status()
    assert (kept.state, kept.earlier, kept.reason) == ("skipped", "done", "already done")
    assert (kept.step, kept.reached_step) == (status.step, status.reached_step) != (100, None)
    assert "(cached) reached target at step" in describe(kept)
    assert (failed.state, failed.reason) == ("failed", "worker died 3 times")

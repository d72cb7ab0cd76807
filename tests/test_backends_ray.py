"""The Ray backend on a real local Ray cluster started here: a spec's jobs as Ray tasks
match the in-process run, and a Ray worker SIGKILLed mid-trial is retried by Ray and its
job resumes from its checkpoint to the undisturbed Ray run's result, bit for bit. Marked
slow: starting Ray and its workers takes tens of seconds on 2 cores."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

pytest.importorskip("ray")

from backend_helpers import (
    checkpointed,
    holder,
    records,
    reference_jobs,
    slow_worker_env,
    write_spec,
)

from hpbench.backends import ray as ray_backend
from hpbench.backends.profile import RunnerProfile
from hpbench.cli import main
from hpbench.results.records import read_trial

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "specs" / "suites" / "toy.toml"
PROFILE = RunnerProfile(backend="ray", retries=2)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A local Ray cluster of 2 CPUs whose workers slow toy batches (so one can be killed
    mid-trial) and refuse early batches once the test names a step in ``forbid``."""
    import ray

    forbid = tmp_path_factory.mktemp("ray") / "forbid"
    env = slow_worker_env(forbid)
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        runtime_env={"env_vars": env, "worker_process_setup_hook": "backend_helpers.slow_batches"},
    )
    yield forbid
    ray.shutdown()


@pytest.fixture(scope="module")
def plan_jobs(tmp_path_factory):
    """The jobs of the test spec and their undisturbed results (trained in process)."""
    return reference_jobs(tmp_path_factory.mktemp("ray-reference"), SUITE)


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory, cluster, plan_jobs) -> Path:
    """The spec run undisturbed through ``hpbench run --runner runners/ray.toml``."""
    tmp = tmp_path_factory.mktemp("ray-undisturbed")
    spec = write_spec(tmp, SUITE)
    runner = ROOT / "runners" / "ray.toml"  # uses the session the cluster fixture started
    results = tmp / "results"
    args = ["run", str(spec), "--runner", str(runner), "--pack", "1", "--results", str(results)]
    assert main([*args, "--quiet"]) == 0
    return results


def test_jobs_as_ray_tasks_match_the_local_run(cluster, plan_jobs, undisturbed):
    """Equal up to float rounding: Ray runs each task with OMP_NUM_THREADS = num_cpus,
    which changes the order of XLA's CPU reductions."""
    jobs, reference = plan_jobs
    for job in jobs:
        ours, theirs = records(undisturbed, job.lead.id), records(reference, job.lead.id)
        assert [r[0] for r in ours] == [r[0] for r in theirs]
        for (_, loss, metrics), (_, loss_ref, metrics_ref) in zip(ours, theirs, strict=True):
            assert loss == pytest.approx(loss_ref, rel=1e-5)
            assert metrics == pytest.approx(metrics_ref, rel=1e-5, abs=1e-6)
    again = ray_backend.run_jobs(jobs, undisturbed, PROFILE)
    assert [o.state for o in again] == ["skipped", "skipped"]  # finished trials are reused


def test_a_killed_ray_worker_is_retried_and_its_job_resumes(
    tmp_path, cluster, plan_jobs, undisturbed
):
    jobs = plan_jobs[0]
    results = tmp_path / "results"
    killed = {}

    def kill_a_worker():
        job, step = checkpointed(results, jobs)
        cluster.write_text(str(step))  # Ray workers started from now on refuse batches < step
        os.kill(holder(results, job.lead.id), signal.SIGKILL)
        killed.update(job=job, step=step)

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    outcomes = ray_backend.run_jobs(jobs, results, PROFILE)
    killer.join()
    cluster.unlink()
    assert killed["step"] < killed["job"].lead.horizon_steps  # killed mid-trial
    assert [o.state for o in outcomes] == ["done", "done"]
    for job in jobs:
        assert read_trial(results / job.lead.id).status.state == "done"
        assert records(results, job.lead.id) == records(undisturbed, job.lead.id)

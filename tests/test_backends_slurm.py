"""The Slurm backend through submitit's LocalExecutor (real task processes, real
requeue): a spec's job array through ``hpbench run``, preemption (SIGUSR2, as Slurm sends
it) requeues the task and it resumes from its checkpoint, and the sbatch script made from
runners/slurm.toml."""

from __future__ import annotations

import os
import signal
import stat
import threading
from pathlib import Path

import pytest

pytest.importorskip("submitit")

from backend_helpers import (
    SlowTrainJob,
    checkpointed,
    holder,
    records,
    reference_jobs,
    slow_worker_env,
    write_spec,
)

from hpbench.backends import slurm
from hpbench.backends.options import SlurmOptions
from hpbench.backends.profile import RunnerProfile, load_profile
from hpbench.cli import main
from hpbench.results.records import read_trial

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "specs" / "suites" / "toy.toml"


def local_array(tmp: Path) -> RunnerProfile:
    options = SlurmOptions(executor="local", folder=str(tmp / "slurm" / "%j"), time_minutes=60)
    return RunnerProfile(backend="slurm", options={"slurm": options}, retries=1)


@pytest.fixture(scope="module")
def plan_jobs(tmp_path_factory):
    """The jobs of the test spec and their undisturbed results (trained in process)."""
    return reference_jobs(tmp_path_factory.mktemp("slurm"), SUITE)


@pytest.mark.slow
def test_hpbench_run_submits_a_job_array_that_equals_the_local_run(tmp_path, plan_jobs):
    jobs, reference = plan_jobs
    runner = tmp_path / "slurm_here.toml"
    runner.write_text(
        f'[runner]\nbackend = "slurm"\n[slurm]\nexecutor = "local"\n'
        f'folder = "{tmp_path / "slurm" / "%j"}"\ntime = "01:00:00"\n'
    )
    spec = write_spec(tmp_path, SUITE)
    results = tmp_path / "results"
    args = ["run", str(spec), "--runner", str(runner), "--pack", "1", "--results", str(results)]
    assert main([*args, "--quiet"]) == 0
    for job in jobs:
        assert read_trial(results / job.lead.id).status.state == "done"
        assert records(results, job.lead.id) == records(reference, job.lead.id)
    assert len(list((tmp_path / "slurm").glob("*/*_log.out"))) == 2  # one task per job


@pytest.mark.slow
def test_preemption_requeues_the_task_and_it_resumes(tmp_path, plan_jobs, monkeypatch):
    jobs, reference = plan_jobs
    results = tmp_path / "results"
    forbid = tmp_path / "forbid"
    for name, value in slow_worker_env(forbid).items():
        monkeypatch.setenv(name, value)
    preempted = {}

    def preempt():
        job, step = checkpointed(results, jobs)
        forbid.write_text(str(step))  # the requeued task must not train batches < step
        os.kill(holder(results, job.lead.id), signal.SIGUSR2)  # what Slurm sends first
        preempted.update(job=job, step=step)

    thread = threading.Thread(target=preempt)
    thread.start()
    outcomes = slurm.run_jobs(jobs, results, local_array(tmp_path), task=SlowTrainJob())
    thread.join()
    assert preempted["step"] < preempted["job"].lead.horizon_steps
    assert [o.state for o in outcomes] == ["done", "done"]
    logs = "".join(p.read_text() for p in (tmp_path / "slurm").rglob("*.err"))
    assert "this job is preempted" in logs and "Requeued job" in logs
    for job in jobs:
        assert read_trial(results / job.lead.id).status.state == "done"
        assert records(results, job.lead.id) == records(reference, job.lead.id)


def test_the_sbatch_script_carries_the_profile(tmp_path, monkeypatch):
    srun = tmp_path / "bin" / "srun"  # submitit only checks that Slurm's srun exists
    srun.parent.mkdir()
    srun.write_text("#!/bin/sh\nexit 0\n")
    srun.chmod(srun.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{srun.parent}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.chdir(tmp_path)
    profile = load_profile(ROOT / "runners" / "slurm.toml")
    script = slurm.executor(profile)._executor._make_submission_file_text("python -c 1", "x")
    for line in (
        "#SBATCH --partition=gpu",
        "#SBATCH --time=240",
        "#SBATCH --gpus-per-node=1",
        "#SBATCH --cpus-per-task=8",
        "#SBATCH --mem=32GB",
        "#SBATCH --nodes=1",
        "#SBATCH --signal=USR2@90",
    ):
        assert line in script, line


def test_no_slurm_here_is_a_clear_error(tmp_path, monkeypatch):
    from hpbench.config.errors import ConfigError

    monkeypatch.setenv("PATH", str(tmp_path))  # no srun
    profile = load_profile(ROOT / "runners" / "slurm.toml")
    with pytest.raises(ConfigError, match="slurm.executor: expected a machine with Slurm"):
        slurm.executor(profile)

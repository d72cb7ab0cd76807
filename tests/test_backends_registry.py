"""The backend registry: one entry per name, loaded lazily, the only list of backends
that runner profiles accept, and the only way ``run_jobs`` finds a backend."""

from __future__ import annotations

import importlib.util
import inspect
import subprocess
import sys

import attrs
import pytest

from hpbench.backends import BACKENDS, run_jobs
from hpbench.backends.options import PoolOptions, RayOptions, SlurmOptions
from hpbench.backends.profile import (
    DistributedOptions,
    RunnerProfile,
    load_profile,
    profile_schema,
)
from hpbench.backends.registry import (
    BackendEntry,
    BackendUnavailable,
    get_backend,
    register,
    runs_in_lockstep,
)
from hpbench.cli import main
from hpbench.config.fields import Integer, setting
from hpbench.spec import SpecError
from hpbench.spec.compile import load_plan
from hpbench.train.job import make_jobs


def test_profiles_accept_exactly_the_registered_backends(tmp_path):
    assert tuple(BACKENDS) == ("local", "pool", "ray", "slurm")
    profile = tmp_path / "runner.toml"
    profile.write_text('[runner]\nbackend = "pol"\n')
    with pytest.raises(SpecError, match='expected one of "local", "pool", "ray", "slurm"'):
        load_profile(profile)


@pytest.mark.parametrize("name", ["local", "pool", "ray", "slurm"])
def test_every_backend_loads_and_has_the_protocols_run_jobs(name):
    entry = BACKENDS[name]
    if entry.requires is not None and importlib.util.find_spec(entry.requires) is None:
        pytest.skip(f"{entry.requires} is not installed (the {entry.extra} extra)")
    parameters = list(inspect.signature(get_backend(name).run_jobs).parameters)
    assert parameters[:4] == ["jobs", "results_dir", "profile", "progress"]


def test_loading_the_registry_imports_no_backend_and_no_jax():
    code = (
        "import sys, hpbench.backends, hpbench.backends.profile\n"
        "print(sorted(m for m in sys.modules if m.startswith('hpbench.backends.')),"
        " 'jax' in sys.modules, 'ray' in sys.modules, 'submitit' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    listed = (
        "['hpbench.backends.options', 'hpbench.backends.profile', 'hpbench.backends.registry']"
        " False False False"
    )
    assert out.stdout.strip() == listed


def test_a_backend_without_its_extra_says_what_to_install(monkeypatch):
    missing = attrs.evolve(BACKENDS["ray"], requires="hpbench_no_such_package")
    monkeypatch.setitem(BACKENDS, "ray", missing)
    with pytest.raises(BackendUnavailable, match=r"pip install 'hpbench\[ray\]'"):
        get_backend("ray")


def test_hpbench_run_on_a_backend_without_its_extra_exits_2_saying_what_to_install(
    monkeypatch, tmp_path, capsys
):
    missing = attrs.evolve(BACKENDS["ray"], requires="hpbench_no_such_package")
    monkeypatch.setitem(BACKENDS, "ray", missing)
    spec = _write_spec(tmp_path)
    code = main(
        [
            "run",
            str(spec),
            "--runner",
            "ray",
            "--pack",
            "4",
            "--results",
            str(tmp_path / "r"),
            "--quiet",
        ]
    )
    assert code == 2
    assert "pip install 'hpbench[ray]'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_several_process_profile_runs_in_lockstep_only_on_a_lockstep_backend():
    """local runs every process of the launch together; slurm launches multi-node tasks."""
    two = DistributedOptions(processes=2)
    assert runs_in_lockstep(RunnerProfile(backend="local", distributed=two))
    assert not runs_in_lockstep(RunnerProfile(backend="slurm", distributed=two))
    assert not runs_in_lockstep(RunnerProfile(backend="local"))


def test_unknown_and_twice_registered_names_are_errors():
    with pytest.raises(KeyError, match="unknown backend 'pol'; known: local, pool, ray, slurm"):
        get_backend("pol")
    with pytest.raises(ValueError, match="'pool' is registered twice"):
        register(BACKENDS["pool"])


def test_run_jobs_dispatches_through_the_registry(monkeypatch, tmp_path):
    """A backend registered under a profile's name receives the jobs and the profile."""
    (tmp_path / "recording_backend.py").write_text(
        "from hpbench.train.run import TrialOutcome\n"
        "CALLS = []\n"
        "def run_jobs(jobs, results_dir, profile, progress=None):\n"
        "    CALLS.append((len(jobs), results_dir, profile.backend))\n"
        "    return [TrialOutcome(t, 'done', step=7) for job in jobs for t in job.trials]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(BACKENDS, "pool", BackendEntry("pool", "recording_backend"))
    jobs = make_jobs(load_plan(_write_spec(tmp_path)), pack=64)
    assert len(jobs) == 2  # one per seed, each packing both learning rates
    outcomes = run_jobs(jobs, tmp_path / "results", RunnerProfile(backend="pool"))
    import recording_backend

    assert [(len(jobs), tmp_path / "results", "pool")] == recording_backend.CALLS
    assert len(outcomes) == sum(len(job.trials) for job in jobs)
    assert {(o.state, o.step) for o in outcomes} == {("done", 7)}


def _write_spec(directory):
    """Four toy trials: two learning rates (packable) by two seeds."""
    spec = directory / "spec.toml"
    spec.write_text(
        '[algorithm]\nname = "adamw"\n[grid]\nlearning_rate = [1e-3, 1e-2]\nseed = [0, 1]\n'
        '[workloads.toy_mlp]\ntarget = { metric = "error_rate", value = 0.1 }\n'
    )
    return spec


def test_each_backend_registers_the_options_its_profile_table_holds(monkeypatch, tmp_path):
    """A backend's profile table is the options type of its registry entry: a backend
    registered with one gets its table in the checker, the schema and the profile."""
    assert {n: e.options for n, e in BACKENDS.items()} == {
        "local": None,
        "pool": PoolOptions,
        "ray": RayOptions,
        "slurm": SlurmOptions,
    }

    @attrs.frozen
    class MpiOptions:
        ranks: int = setting(4, Integer(), "MPI ranks per job")

    monkeypatch.setitem(BACKENDS, "mpi", BackendEntry("mpi", "no_such_module", options=MpiOptions))
    assert profile_schema()["properties"]["mpi"]["properties"]["ranks"]["minimum"] == 1
    path = tmp_path / "mpi.toml"
    path.write_text("[mpi]\nranks = 8\n")
    assert load_profile(path).options["mpi"] == MpiOptions(ranks=8)
    path.write_text("[mpi]\nranks = 0\n")
    with pytest.raises(SpecError, match=r"mpi.ranks: expected an integer >= 1, found 0"):
        load_profile(path)
    assert RunnerProfile().options["mpi"] == MpiOptions()  # defaults where not given
    with pytest.raises(ValueError, match=r"options\['pool'\]: expected PoolOptions, found"):
        RunnerProfile(options={"pool": RayOptions()})
    with pytest.raises(ValueError, match="no registered backend takes options named 'pol'"):
        RunnerProfile(options={"pol": PoolOptions()})

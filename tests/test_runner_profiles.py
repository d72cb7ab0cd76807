"""Runner profiles: the shipped ones load and match the JSON Schema; bad ones are reported
in the spec style (file:line:col: key: expected X, found Y), every problem at once."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from hpbench.backends.profile import (
    LOCAL,
    load_profile,
    profile_schema,
    resolve_profile,
)
from hpbench.cli import main
from hpbench.config._toml import tomllib
from hpbench.config.errors import ConfigError

RUNNERS = Path(__file__).resolve().parent.parent / "runners"
SHIPPED = sorted(RUNNERS.glob("*.toml"))


def test_every_shipped_profile_is_there_and_loads():
    assert {p.stem for p in SHIPPED} == {"local", "pool", "ray", "slurm", "tpu_pod"}
    backends = {p.stem: load_profile(p).backend for p in SHIPPED}
    assert backends == {
        "local": "local",
        "pool": "pool",
        "ray": "ray",
        "slurm": "slurm",
        "tpu_pod": "local",
    }
    slurm = load_profile(RUNNERS / "slurm.toml").options["slurm"]
    assert (slurm.partition, slurm.time_minutes, slurm.gpus_per_node) == ("gpu", 240, 1)
    assert load_profile(RUNNERS / "tpu_pod.toml").distributed.processes == 4


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_profiles_match_the_schema(path):
    jsonschema.validate(tomllib.loads(path.read_text()), profile_schema())


def test_schema_rejects_what_the_loader_rejects(tmp_path):
    schema = profile_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    for text in ('[runner]\nbackend = "mpi"\n', "[pool]\nworkerz = 2\n", '[slurm]\ntime = "4h"\n'):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(tomllib.loads(text), schema)
        path = tmp_path / "p.toml"
        path.write_text(text)
        with pytest.raises(ConfigError):
            load_profile(path)


def problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as error:
        load_profile(path)
    return error.value.render().replace(str(path), "bad.toml").splitlines()


def test_every_problem_is_reported_with_its_position(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = """[runner]
backend = "pol"
retries = -1
pakc = 4

[pool]
workers = "two"

[slurm]
time = "4 hours"

[distributed]
coordinator_address = "10.0.0.1"
"""
    assert problems(tmp_path, text) == [
        'bad.toml:2:11: runner.backend: expected one of "local", "pool", "ray", "slurm", '
        'found "pol"; did you mean "pool"?',
        "bad.toml:3:11: runner.retries: expected an integer >= 0, found -1",
        'bad.toml:4:1: runner.pakc: expected a key of [runner], found unknown key "pakc"; '
        'did you mean "pack"?',
        'bad.toml:7:11: pool.workers: expected an integer >= 1, found "two"',
        'bad.toml:10:8: slurm.time: expected minutes (e.g. 240) or "[D-]HH:MM[:SS]" '
        '(e.g. "04:00:00"), found "4 hours"',
        "bad.toml:13:23: distributed.coordinator_address: expected host:port "
        '(e.g. "10.0.0.1:1234"), found "10.0.0.1"',
    ]


def test_unknown_section_and_wrong_types(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = '[rey]\naddress = "auto"\n[pool]\ngpus = [0, -1]\n[ray]\nresources = { TPU = "4" }\n'
    assert problems(tmp_path, text) == [
        'bad.toml:1:1: rey: expected a runner profile section, found unknown key "rey"; '
        'did you mean "ray"?',
        "bad.toml:4:8: pool.gpus: expected a non-empty list of GPU indices (e.g. [0, 1]), "
        "found [0, -1]",
        'bad.toml:6:21: ray.resources.TPU: expected a number in [0, inf), found "4"',
    ]


def test_slurm_time_in_minutes(tmp_path):
    for text, minutes in (("90", 90), ('"1-02:30:00"', 1590), ('"00:10"', 10), ('"0:00:30"', 1)):
        path = tmp_path / "p.toml"
        path.write_text(f"[slurm]\ntime = {text}\n")
        assert load_profile(path).options["slurm"].time_minutes == minutes


def test_runner_names_resolve_to_local_then_shipped_files(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_profile(None) is LOCAL
    assert resolve_profile("pool").file == str(RUNNERS / "pool.toml")  # the shipped one
    (tmp_path / "runners").mkdir()
    (tmp_path / "runners" / "pool.toml").write_text('[runner]\nbackend = "pool"\npack = 3\n')
    assert resolve_profile("pool").pack == 3  # ./runners/ first
    assert resolve_profile(str(RUNNERS / "ray.toml")).backend == "ray"
    with pytest.raises(ConfigError, match="expected an existing runner profile file"):
        resolve_profile("nope")


def test_hpbench_run_reports_a_bad_profile_and_exits_2(tmp_path, capsys):
    bad = tmp_path / "runner.toml"
    bad.write_text('[runner]\nbackend = "mpi"\n')
    spec = RUNNERS.parent / "specs" / "suites" / "toy.toml"
    assert main(["run", str(spec), "--runner", str(bad), "--results", str(tmp_path / "r")]) == 2
    assert 'runner.backend: expected one of "local", "pool", "ray", "slurm"' in (
        capsys.readouterr().err
    )
    assert not (tmp_path / "r").exists()


def test_hpbench_schema_runner_prints_the_profile_schema(capsys):
    import json

    assert main(["schema", "runner"]) == 0
    assert json.loads(capsys.readouterr().out) == profile_schema()


def test_settings_that_do_not_go_together(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = '[runner]\nbackend = "ray"\ndevices_per_job = 2\n[pool]\ngpus = [0]\n'
    text += "[distributed]\nprocesses = 4\n"
    assert problems(tmp_path, text) == [
        "bad.toml:5:8: pool.gpus: expected at least devices_per_job = 2 GPUs, found [0]",
        "bad.toml:7:13: distributed.processes: expected 1 with the pool and ray backends "
        "(multi-host jobs run under local or slurm), found 4",
    ]

"""One declaration per config key (hpbench.config.fields): the model refuses what the
checker refuses, the JSON Schema agrees with both, and the docs tables are generated."""

from __future__ import annotations

from pathlib import Path

import attrs
import jsonschema
import pytest

from hpbench.backends.profile import (
    PoolOptions,
    RunnerProfile,
    SlurmOptions,
    load_profile,
    profile_docs_table,
)
from hpbench.config.errors import ConfigError
from hpbench.config.fields import docs_table
from hpbench.nightly.file import Nightly
from hpbench.spec import load_spec
from hpbench.spec.model import RUN_KEYS, Benchmark, Schedule, Spec
from hpbench.spec.schema import spec_schema

DOCS = Path(__file__).resolve().parents[1] / "docs"
TOY = '[workloads.toy_mlp]\ntarget = { value = 0.5 }\n[algorithm]\nname = "adamw"\n'


def test_an_invalid_schedule_cannot_be_constructed(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(TOY)
    spec = load_spec(path)
    with pytest.raises(
        ValueError, match=r"Schedule.warmup: expected a number in \[0, 1\), found 1.5"
    ):
        attrs.evolve(spec, schedule=Schedule(warmup=1.5))
    with pytest.raises(ValueError, match='Schedule.shape: expected one of "warmup_cosine"'):
        Schedule(shape="cosine")
    with pytest.raises(ValueError, match=r"Spec.seeds: expected a non-empty list"):
        attrs.evolve(spec, seeds=())
    with pytest.raises(
        ValueError, match=r"Spec.checkpoint_seconds: expected a number in \(0, inf\)"
    ):
        attrs.evolve(spec, checkpoint_seconds=0)
    assert attrs.evolve(spec, seeds=[3, 4]).seeds == (3, 4)  # a Python list is stored as a tuple
    run = spec.workloads[0]
    with pytest.raises(ValueError, match="WorkloadRun.max_steps: expected an integer >= 1"):
        attrs.evolve(run, max_steps=0)


@pytest.mark.parametrize("section", ["benchmark", "schedule", "run"])
def test_docs_tables_are_generated_from_the_declarations(section):
    models = {"benchmark": (Benchmark, None), "schedule": (Schedule, None), "run": (Spec, RUN_KEYS)}
    table = docs_table(*models[section])
    text = (DOCS / "spec.md").read_text()
    assert table in text, (
        f"docs/spec.md: the [{section}] table is out of date; replace it with:\n{table}"
    )


def test_the_runner_profile_table_is_generated_from_the_declarations():
    table = profile_docs_table()
    assert table in (DOCS / "running.md").read_text(), (
        f"docs/running.md: the runner profile table is out of date; replace it with:\n{table}"
    )


def test_an_invalid_runner_profile_cannot_be_constructed(tmp_path):
    with pytest.raises(ValueError, match=r"PoolOptions.gpus: expected a non-empty list of GPU"):
        PoolOptions(gpus=[0, -1])
    with pytest.raises(ValueError, match=r'RunnerProfile.backend: expected one of "local"'):
        RunnerProfile(backend="mpi")
    with pytest.raises(ValueError, match=r"SlurmOptions.time_minutes: expected minutes"):
        SlurmOptions(time_minutes=0)
    path = tmp_path / "p.toml"
    path.write_text('[slurm]\ntime = "01:30:00"\n[pool]\ngpus = [1, 0]\n')
    profile = load_profile(path)  # the TOML key "time" fills the attribute time_minutes
    assert (profile.slurm.time_minutes, profile.pool.gpus) == (90, (1, 0))


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("warmup", -0.1),
        ("warmup", 0),
        ("warmup", 0.999),
        ("warmup", 1.0),
        ("warmup", "0.1"),
        ("horizon", 0.0),
        ("horizon", 1),
        ("horizon", 1.5),
        ("shape", "constant"),
        ("shape", "cosine"),
    ],
)
def test_checker_model_and_schema_agree_on_schedule_values(tmp_path, key, value):
    written = f'"{value}"' if isinstance(value, str) else value
    path = tmp_path / "s.toml"
    path.write_text(f"[schedule]\n{key} = {written}\n" + TOY)
    try:
        load_spec(path)
        checker = True
    except ConfigError as error:
        assert f"schedule.{key}: expected" in error.render()
        checker = False
    try:
        Schedule(**{key: float(value) if key != "shape" and not isinstance(value, str) else value})
        model = True
    except ValueError:
        model = False
    schema = jsonschema.Draft7Validator(spec_schema()).is_valid({"schedule": {key: value}})
    assert checker == model == schema


def test_an_invalid_nightly_cannot_be_constructed():
    with pytest.raises(ValueError, match=r"Nightly.noise: expected a score difference in \[0, 1\)"):
        Nightly(file="n.toml", reports=(), noise=1.0)
    with pytest.raises(ValueError, match=r'Nightly.time: expected "steps", "seconds" or "algo'):
        Nightly(file="n.toml", reports=(), time="hours")

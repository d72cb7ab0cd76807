"""One declaration per config key (hpbench.config.fields): the model refuses what the
checker refuses, the JSON Schema agrees with both, and the docs tables are generated."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import jsonschema
import pytest

from hpbench.backends.options import PoolOptions, SlurmOptions
from hpbench.backends.profile import (
    RunnerProfile,
    load_profile,
    profile_docs_table,
    profile_schema,
    sections,
)
from hpbench.cli import main
from hpbench.config._toml import tomllib
from hpbench.config.errors import ConfigError
from hpbench.config.fields import docs_rows, docs_table
from hpbench.config.write import toml_value
from hpbench.nightly.file import (
    Nightly,
    ReportSpec,
    load_nightly,
    nightly_docs_table,
    nightly_schema,
)
from hpbench.spec import load_spec
from hpbench.spec.algorithm_table import AlgorithmTable, GridAxes
from hpbench.spec.model import RUN_KEYS, SECTIONS, Benchmark, Schedule, Spec
from hpbench.spec.schema import spec_schema
from hpbench.spec.settings import ListSettings, Search, Select
from hpbench.spec.spaces import Space
from hpbench.spec.workload_table import WorkloadTable

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


@pytest.mark.parametrize(
    "section", ["benchmark", "algorithm", "schedule", "workloads", "run", "grid"]
)
def test_docs_tables_are_generated_from_the_declarations(section):
    models = {
        "benchmark": (Benchmark, None),
        "algorithm": (AlgorithmTable, None),
        "schedule": (Schedule, None),
        "workloads": (WorkloadTable, None),
        "run": (Spec, RUN_KEYS),
        "grid": (GridAxes, None),
    }
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
    assert (profile.options["slurm"].time_minutes, profile.options["pool"].gpus) == (90, (1, 0))


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
    with pytest.raises(ValueError, match=r"ReportSpec.name: expected a plain file name"):
        ReportSpec(name="../x", specs=(Path("a.toml"),))
    with pytest.raises(ValueError, match="ReportSpec.specs: expected a non-empty list of spec"):
        ReportSpec(name="x", specs=())
    with pytest.raises(TypeError):  # name and specs are required
        ReportSpec(name="x")  # type: ignore[call-arg]


def test_the_nightly_table_is_generated_from_the_declarations():
    table = nightly_docs_table()
    assert table in (DOCS / "reports.md").read_text(), (
        f"docs/reports.md: the nightly file table is out of date; replace it with:\n{table}"
    )


@pytest.mark.parametrize("model", [Search, Select, ListSettings])
def test_search_tables_docs_are_generated_from_the_declarations(model):
    rows = "\n".join(docs_rows(model))
    assert rows in (DOCS / "search.md").read_text(), (
        f"docs/search.md: the {model.__name__} rows are out of date; replace them with:\n{rows}"
    )


def test_invalid_search_settings_cannot_be_constructed():
    with pytest.raises(ValueError, match=r"Search.points: expected an integer in \[1, 100000\]"):
        Search(Space(()), points=100_001)
    with pytest.raises(ValueError, match="Select.seeds: expected a non-empty list of seeds"):
        Select(seeds=())
    with pytest.raises(ValueError, match=r"ListSettings.tau: expected a number in \(0, inf\)"):
        ListSettings(tau=0.0)
    assert Select(horizons=[0.5]).horizons == (0.5,)  # a Python list is stored as a tuple


def test_search_tables_schema_comes_from_the_declarations():
    schema = spec_schema()["properties"]
    assert schema["list"]["properties"]["size"] == {
        "type": "integer",
        "minimum": 1,
        "description": "the list's length K",
    }
    assert schema["search"]["properties"]["points"]["maximum"] == 100_000
    assert schema["select"]["additionalProperties"] is False


def _checked_and_schema_valid(tmp_path, tables: dict) -> tuple[bool, bool]:
    """Whether the checker takes the spec of ``tables`` (toy_mlp, adamw), and the schema."""
    spec: dict = {"algorithm": {"name": "adamw"}}
    for section, table in tables.items():
        spec.setdefault(section, {}).update(table)
    spec.setdefault("workloads", {}).setdefault("toy_mlp", {}).setdefault("target", {"value": 0.5})
    lines = []
    for section, table in spec.items():
        for name, value in table.items():
            lines.append(f"{section}.{name} = {toml_value(value)}")
    path = tmp_path / "s.toml"
    path.write_text("\n".join(lines) + "\n")
    try:
        load_spec(path)
        checked = True
    except ConfigError as error:
        assert ": expected" in error.render()
        checked = False
    return checked, jsonschema.Draft7Validator(spec_schema()).is_valid(spec)


@pytest.mark.parametrize(
    ("key", "value", "valid"),
    [
        ("size", "mini", True),
        ("size", "full", False),  # toy_mlp registers only mini
        ("variant", "tanh", True),
        ("variant", ["base", "tanh"], True),
        ("variant", ["base", "relu"], False),
        ("variant", [], False),
        ("target", {"metric": "loss", "value": 1}, True),
        ("target", {"metric": "error", "value": 0.5}, False),
        ("target", {"metric": "loss"}, False),
        ("target", {"value": 0.5, "direction": "max"}, True),  # the schema's one gap
        ("target", {"value": 0.5, "horizon": 1}, False),
        ("max_steps", 0, False),
        ("batch_size", 32, True),
        ("eval_every", 10, True),
        ("eval_every", 0.5, True),
        ("eval_every", 1.5, False),
        ("eval_every", 0, False),
        ("skip", "yes", False),
        ("variants", {"tanh": {"max_steps": 10}}, True),
        ("variants", {"tanh": {"size": "mini"}}, False),
        ("variants", {"gelu": {"max_steps": 10}}, False),
    ],
)
def test_checker_and_schema_agree_on_workload_values(tmp_path, key, value, valid):
    """The [workloads.NAME] declaration, bound to toy_mlp, gives the checker and the schema
    (a direction against the metric's needs the metric: only the checker sees it)."""
    workload = {key: value} if key == "target" else {"target": {"value": 0.5}, key: value}
    checked, schema = _checked_and_schema_valid(tmp_path, {"workloads": {"toy_mlp": workload}})
    assert checked == (valid and value != {"value": 0.5, "direction": "max"})
    assert schema == valid


@pytest.mark.parametrize(
    ("section", "key", "value", "valid"),
    [
        ("grid", "learning_rate", [1e-3, 3e-3], True),
        ("grid", "learning_rate", [1e-3, -1.0], False),
        ("grid", "warmup", [0.1, 1.0], False),
        ("grid", "horizon", [], False),
        ("grid", "seed", [0, 1], True),
        ("grid", "seed", [0, -1], False),
        ("algorithm", "points", [{"learning_rate": 0.1, "warmup": 0.1}], True),
        ("algorithm", "points", [{"warmup": 1.0}], False),
        ("algorithm", "points", [{"d_coef": 1.0}], False),
        ("algorithm", "points", [], False),
        ("algorithm", "name", "adamw", True),
        ("algorithm", "name", "adam", False),
    ],
)
def test_checker_and_schema_agree_on_algorithm_and_grid_values(
    tmp_path, section, key, value, valid
):
    """[algorithm]'s own keys and [grid]'s axes come from their declarations, bound to the
    algorithm's registry entry."""
    assert _checked_and_schema_valid(tmp_path, {section: {key: value}}) == (valid, valid)


def test_the_nightly_checker_reads_the_report_declaration(tmp_path):
    (tmp_path / "a.toml").write_text(TOY)
    path = tmp_path / "nightly.toml"
    path.write_text(
        '[nightly]\n[[report]]\ntitle = 3\n[[report]]\nname = "r"\nspecs = ["a.toml"]\n'
        '[[report]]\nname = "r"\nspecs = ["a.toml", "b.toml"]\n'
    )
    with pytest.raises(ConfigError) as raised:
        load_nightly(path)
    lines = raised.value.render().splitlines()
    assert [line.split(": ", 1)[1] for line in lines] == [
        "report[0].name: expected a plain file name (letters, digits, _ . -, not starting "
        "with a dot, <= 100), found none",
        "report[0].specs: expected a non-empty list of spec file paths, found none",
        "report[0].title: expected a string, found 3",
        'report[2].name: expected a name no other report has, found "r" again',
        f"report[2].specs[1]: expected an existing spec file, found no file {tmp_path}/b.toml",
    ]


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ('[nightly]\n[[report]]\nname = "r"\nspecs = ["a.toml"]\n', True),
        (
            '[nightly]\nnoise = 0.5\ntime = "algoperf"\n'
            '[[report]]\nname = "r"\nspecs = ["a.toml"]\n',
            True,
        ),
        ('[nightly]\nnoise = 1.0\n[[report]]\nname = "r"\nspecs = ["a.toml"]\n', False),
        ('[nightly]\ntime = "hours"\n[[report]]\nname = "r"\nspecs = ["a.toml"]\n', False),
        ('[nightly]\n[[report]]\nname = "../r"\nspecs = ["a.toml"]\n', False),
        ('[nightly]\n[[report]]\nname = "r"\nspecs = []\n', False),
        ('[nightly]\n[[report]]\nspecs = ["a.toml"]\n', False),
        ('[nightly]\n[[report]]\nname = "r"\nspecs = ["a.toml"]\ntitel = "R"\n', False),
        ("[nightly]\n", False),
    ],
)
def test_the_nightly_checker_and_schema_agree(tmp_path, text, valid):
    (tmp_path / "a.toml").write_text(TOY)
    path = tmp_path / "nightly.toml"
    path.write_text(text)
    try:
        load_nightly(path)
        checked = True
    except ConfigError:
        checked = False
    data = tomllib.loads(text)
    assert (checked, jsonschema.Draft7Validator(nightly_schema()).is_valid(data)) == (valid, valid)


def test_hpbench_schema_nightly_prints_the_schema_the_shipped_file_meets(capsys):
    assert main(["schema", "nightly"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema == nightly_schema()
    shipped = tomllib.loads((DOCS.parent / "specs" / "nightly.toml").read_text())
    jsonschema.validate(shipped, schema)


def test_the_schemas_have_exactly_the_checked_sections():
    assert tuple(spec_schema()["properties"]) == SECTIONS
    assert tuple(profile_schema()["properties"]) == tuple(sections())
    assert tuple(sections()) == ("runner", "pool", "ray", "slurm", "distributed")

"""The friction fixes of issue 20: workload selection, the extends hint, one error per
mistake, help text, the next command after ``run`` (each through the real ``hpbench``)."""

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from hpbench import cli
from hpbench.config._toml import tomllib
from hpbench.spec import load_spec
from hpbench.spec.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
SUITE = ROOT / "specs" / "suites" / "algoperf_mini.toml"


def hpbench(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpbench.cli", *args], cwd=cwd, capture_output=True, text=True
    )


def _plan_ids(path: Path) -> dict[str, str]:
    result = hpbench("plan", str(path), "--json")
    assert result.returncode == 0, result.stderr
    trials = json.loads(result.stdout)["trials"]
    return {t["id"]: t["workload"] for t in trials}


def test_a_workload_list_selects_from_the_suite_with_the_same_trial_ids(tmp_path):
    head = f'[benchmark]\nextends = "{SUITE}"\n\n[algorithm]\nname = "adamw"\n'
    selected = tmp_path / "selected.toml"
    selected.write_text('workloads = ["criteo", "ogbg"]\n\n' + head)
    skipped = tmp_path / "skipped.toml"
    others = [
        n for n in tomllib.loads(SUITE.read_text())["workloads"] if n not in ("criteo", "ogbg")
    ]
    assert len(others) == 6
    skipped.write_text(head + "".join(f"\n[workloads.{n}]\nskip = true\n" for n in others))
    ids = _plan_ids(selected)
    assert sorted(ids.values()) == ["criteo", "ogbg"]
    assert ids == _plan_ids(skipped)
    # the merged data (a report's resolved spec) holds the selected workloads only
    assert list(load_spec(selected).document.data["workloads"]) == ["criteo", "ogbg"]


def test_an_unknown_selected_workload_lists_the_suite(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text(f'workloads = ["criteo", "ogbgg"]\n[benchmark]\nextends = "{SUITE}"\n')
    result = hpbench("validate", str(spec))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        f'{spec}:1:24: workloads[1]: expected a workload of the suite ("criteo", '
        '"fastmri", "imagenet_resnet", "imagenet_vit", "librispeech_conformer", '
        '"librispeech_deepspeech", "ogbg", "wmt"), found unknown workload "ogbgg"; '
        'did you mean "ogbg"?'
    )


def test_a_workload_list_without_a_suite_is_an_error(tmp_path):
    spec = tmp_path / "x.toml"
    spec.write_text('workloads = ["criteo"]\n[algorithm]\nname = "adamw"\n')
    result = hpbench("validate", str(spec))
    assert result.returncode == 2
    assert "a list selects workloads of the suite the spec extends" in result.stderr


def test_the_schema_accepts_a_workload_list_and_rejects_unknown_names():
    result = hpbench("schema")
    validator = jsonschema.Draft7Validator(json.loads(result.stdout))
    assert validator.is_valid({"workloads": ["criteo", "ogbg"]})
    assert not validator.is_valid({"workloads": ["criteo", "nope"]})
    assert not validator.is_valid({"workloads": []})
    assert json.loads(result.stdout) == spec_schema()


def test_an_unknown_algorithm_is_one_error_even_with_a_grid():
    result = hpbench("validate", "tests/specs/bad/unknown_algorithm_grid.toml")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert 'algorithm.name: expected one of "adamw"' in lines[0]


def test_a_wrong_extends_path_says_it_is_relative_to_the_spec(tmp_path):
    (tmp_path / "pyproject.toml").write_text("")
    (tmp_path / "specs" / "suites").mkdir(parents=True)
    (tmp_path / "specs" / "suites" / "s.toml").write_text("[workloads.toy_mlp]\n")
    (tmp_path / "specs" / "mine").mkdir()
    (tmp_path / "specs" / "mine" / "x.toml").write_text(
        '[benchmark]\nextends = "specs/suites/s.toml"\n'
    )
    result = hpbench("validate", "specs/mine/x.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "specs/mine/x.toml:2:11: benchmark.extends: expected an existing spec file, found no "
        "file specs/mine/specs/suites/s.toml; extends paths are relative to the spec file's "
        'directory (specs/mine/); did you mean "../suites/s.toml"?'
    )


def test_run_shows_trial_ids_each_members_metric_and_what_to_run_next(tmp_path):
    """One real packed run: the progress names each trial with its own metric and prints
    the job's last line once; run, plan and status show the same 16-character ids."""
    spec = tmp_path / "toy2.toml"
    spec.write_text(
        f'[benchmark]\nextends = "{ROOT / "specs/suites/toy.toml"}"\n'
        '[algorithm]\nname = "adamw"\n[grid]\nlearning_rate = [1e-2, 1e-3]\n'
        "[workloads.toy_mlp]\nmax_steps = 40\neval_every = 20\n"
    )
    results = tmp_path / "res"
    ran = hpbench("run", str(spec), "--results", str(results), "--pack", "2", "--plain")
    assert ran.returncode == 0, ran.stderr
    ids = sorted(_plan_ids(spec))
    assert [len(i) for i in ids] == [16, 16]
    lines = [line for line in ran.stderr.splitlines() if line.startswith("[job ")]
    assert len(lines) == len(set(lines)) >= 2
    last = lines[-1]
    assert "step 40/40" in last and "error_rate (target 0.06): " in last
    values = dict(part.split() for part in last.split("): ")[1].split(", "))
    assert sorted(values) == ids  # each member by its trial id, with its own value
    assert len(set(values.values())) == 2
    assert sum("step 40/40" in line for line in lines) == 1
    for i in ids:
        assert i in ran.stdout
    assert ran.stdout.rstrip().endswith(
        f"next: hpbench report {spec} --results {results}\n"
        f"      hpbench score {spec} --results {results}"
    )
    status = hpbench("status", str(results), "--all")
    assert status.returncode == 0, status.stderr
    for i in ids:
        assert i in status.stdout


def _command_parser(name: str) -> argparse.ArgumentParser:
    parser = cli.build_parser(name)
    (sub,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[name]


@pytest.mark.parametrize("name", list(cli.COMMANDS))
def test_every_command_has_a_description_an_example_and_positional_help(name):
    help_text = hpbench(name, "--help").stdout
    summary = cli.COMMANDS[name][1]
    assert f"\n\n{summary[0].upper()}{summary[1:]}.\n\n" in help_text
    example = cli.EXAMPLES[name]
    assert help_text.rstrip().endswith(f"example:\n  {example}")
    parser = _command_parser(name)
    positionals = [a for a in parser._actions if not a.option_strings]
    assert positionals and all(a.help for a in positionals)
    parser.parse_args(shlex.split(example)[2:])  # the example is a valid command line


def test_help_stays_free_of_jax():
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "hpbench.cli", "--help"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "jax" not in result.stderr


def _data_project(tmp_path: Path) -> tuple[Path, Path]:
    """A repository whose spec reads data from a directory outside it; both paths."""
    project, data = tmp_path / "project", tmp_path / "data"
    (project / "specs").mkdir(parents=True)
    (project / "runners").mkdir()
    (project / "pyproject.toml").write_text("")
    (project / "specs" / "full.toml").write_text(
        f'[benchmark]\nextends = "{ROOT / "specs/suites/toy.toml"}"\n'
        f'[algorithm]\nname = "adamw"\n[workloads.toy_mlp]\ndata = "{data / "toy"}"\n'
        "max_steps = 10\neval_every = 10\n"
    )
    (project / "runners" / "data.toml").write_text(f'[runner]\ndata_dirs = ["{data}"]\n')
    return project, data


def _outside(data: Path) -> str:
    return (
        "specs/full.toml:6:8: workloads.toy_mlp.data: expected a data path inside the "
        f'repository or an allowed data directory, found "{data / "toy"}", which leads '
        "outside them; "
    )


def test_a_data_path_outside_the_repository_is_refused_before_training(tmp_path, monkeypatch):
    monkeypatch.delenv("HPBENCH_DATA_DIR", raising=False)
    project, data = _data_project(tmp_path)
    ran = hpbench("run", "specs/full.toml", "--results", "res", cwd=project)
    assert ran.returncode == 2
    assert ran.stderr.strip() == _outside(data) + (
        "allow its directory with [runner] data_dirs = [...] in a runner profile "
        "(hpbench run --runner PROFILE)"
    )
    assert not (project / "res").exists()
    for command in ("calibrate", "build-list", "targets"):
        searched = hpbench(command, "specs/full.toml", "--results", "res", cwd=project)
        assert searched.returncode == 2, command
        assert searched.stderr.startswith(_outside(data)), command
        assert "set HPBENCH_DATA_DIR" in searched.stderr
        assert not (project / "res").exists()


def test_a_runner_profile_or_hpbench_data_dir_allows_a_data_directory(tmp_path, monkeypatch):
    project, data = _data_project(tmp_path)
    monkeypatch.delenv("HPBENCH_DATA_DIR", raising=False)
    ran = hpbench(
        "run", "specs/full.toml", "--results", "res", "--runner", "runners/data.toml", cwd=project
    )
    assert ran.returncode == 0, ran.stderr  # toy_mlp generates its data: it trains
    assert "reached target" in ran.stdout or "missed target" in ran.stdout
    monkeypatch.setenv("HPBENCH_DATA_DIR", str(data))
    targets = hpbench("targets", "specs/full.toml", "--results", "res", cwd=project)
    assert targets.returncode == 0, targets.stderr  # trained above: read back, not retrained
    assert "| toy_mlp | error_rate (min) |" in targets.stdout


def test_runner_data_dirs_must_be_absolute(tmp_path):
    (tmp_path / "bad.toml").write_text('[runner]\ndata_dirs = ["data"]\n')
    (tmp_path / "x.toml").write_text('[algorithm]\nname = "adamw"\n')
    ran = hpbench("run", "x.toml", "--runner", "bad.toml", cwd=tmp_path)
    assert ran.returncode == 2
    assert ran.stderr.strip() == (
        "bad.toml:2:13: runner.data_dirs: expected a list of absolute directories "
        '(e.g. ["/data"]), found ["data"]'
    )


def test_the_nightly_and_the_api_confine_data_paths_too(tmp_path, monkeypatch):
    """The nightly trains specs from pull requests through ``hpbench.run`` in process: its
    plans come from ``checked_plan``, which refuses the same data path before training."""
    from hpbench.api import checked_plan
    from hpbench.nightly.run import run_spec
    from hpbench.spec import SpecError

    monkeypatch.delenv("HPBENCH_DATA_DIR", raising=False)
    project, data = _data_project(tmp_path)
    monkeypatch.chdir(project)
    with pytest.raises(SpecError) as refused:
        run_spec(Path("specs/full.toml"), project / "res")
    assert str(refused.value).startswith(_outside(data))
    assert not (project / "res").exists()
    allowed = checked_plan("specs/full.toml", project / "runners" / "data.toml")
    assert [t.data for t in allowed.trials] == [str(data / "toy")]


def test_a_spec_outside_the_checkout_is_shown_the_shipped_suite_by_its_path(tmp_path):
    """A user's own project names a shipped suite as if it stood beside the spec (or by its
    bare name): the error names the path that reaches the shipped file."""
    shipped = (ROOT / "specs" / "suites" / "toy.toml").resolve().as_posix()
    for written in ("suites/toy.toml", "toy"):
        (tmp_path / "x.toml").write_text(f'[benchmark]\nextends = "{written}"\n')
        result = hpbench("validate", "x.toml", cwd=tmp_path)
        assert result.returncode == 2
        assert result.stderr.strip().endswith(
            f"hpbench's shipped specs are in {(ROOT / 'specs').resolve()}/; "
            f'did you mean "{shipped}"?'
        ), result.stderr
        (tmp_path / "x.toml").write_text(f'[benchmark]\nextends = "{shipped}"\n')
        assert hpbench("validate", "x.toml", cwd=tmp_path).returncode == 0
    (tmp_path / "x.toml").write_text('[benchmark]\nextends = "../../etc/passwd"\n')
    result = hpbench("validate", "x.toml", cwd=tmp_path)
    assert result.returncode == 2 and "shipped" not in result.stderr

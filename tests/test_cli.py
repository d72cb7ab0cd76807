"""The ``hpbench`` command line: dispatch, exit codes, no JAX at start-up, command output."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from hpbench import cli
from hpbench.results.records import EvalRecord, Status
from hpbench.results.store import TrialDir
from hpbench.spec import load_plan
from hpbench.spec.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
NOT_SPECS = {"nightly.toml"}  # the nightly job's own configuration (hpbench.report)
SPECS = sorted(p for p in (ROOT / "specs").rglob("*.toml") if p.name not in NOT_SPECS)


def hpbench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpbench.cli", *args], cwd=ROOT, capture_output=True, text=True
    )


NO_JAX_COMMANDS = [
    ["--help"],
    ["validate", "specs/mechanic_calibrated.toml"],
    ["plan", "specs/nadamw_list5.toml", "--json"],
    ["diff", "specs/adamw_baseline.toml", "specs/nadamw_list5.toml"],
    ["schema"],
    ["list", "algorithms"],
    ["list", "workloads"],
]


@pytest.mark.parametrize("commands", [NO_JAX_COMMANDS[:2], NO_JAX_COMMANDS[2:]])
def test_help_validate_and_the_spec_commands_never_import_jax(commands):
    code = (
        "import sys\n"
        "from hpbench import cli\n"
        f"for argv in {commands!r}:\n"
        "    try:\n"
        "        code = cli.main(argv)\n"
        "    except SystemExit as e:\n"
        "        code = e.code\n"
        "    assert code == 0, (argv, code)\n"
        "    assert 'jax' not in sys.modules, f'{argv}: jax was imported'\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_bad_spec_exits_2_with_the_message_and_no_traceback():
    result = hpbench("validate", "specs/adamw_baseline.toml", "tests/specs/bad/many_problems.toml")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    expected = (ROOT / "tests/specs/bad/many_problems.expected").read_text()
    assert result.stderr == expected
    assert "ok specs/adamw_baseline.toml" in result.stdout


def test_spec_error_in_any_command_exits_2(capsys):
    assert cli.main(["plan", "tests/specs/bad/syntax.toml"]) == 2
    assert "syntax.toml:4:10: expected valid TOML" in capsys.readouterr().err


def test_a_command_not_built_yet_exits_1(monkeypatch, capsys):
    monkeypatch.setitem(cli.COMMANDS, "later", ("hpbench.not_a_module", "not yet"))
    assert cli.main(["later"]) == 1
    assert "not built yet" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert cli.main([]) == 2
    assert "validate" in capsys.readouterr().out


def test_plan_json_marks_trials_with_results(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    plan = load_plan("specs/nadamw_list5.toml")
    done, running = plan.trials[0], plan.trials[1]
    for trial in (done, running):
        TrialDir(tmp_path, trial).write_trial()
    finished = TrialDir(tmp_path, done)
    for step in (*range(done.eval_every, done.horizon_steps, done.eval_every), done.horizon_steps):
        finished.append_eval(EvalRecord(step, 1.0, 1.0, {done.target.metric: 1.0}))
    finished.write_status(Status(state="done", step=done.horizon_steps))
    TrialDir(tmp_path, running).write_status(Status(state="running"))
    assert cli.main(["plan", "specs/nadamw_list5.toml", "--results", str(tmp_path), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    states = {t["id"]: t["state"] for t in shown["trials"]}
    assert states[done.id] == "done" and states[running.id] == "running"
    assert list(states.values()).count("new") == len(plan.trials) - 2
    assert shown["steps_to_train"] == sum(t.horizon_steps for t in plan.trials[1:])


def test_plan_table(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    assert cli.main(["plan", "specs/suites/toy.toml"]) == 0
    assert cli.main(["plan", "specs/adamw_baseline.toml", "--results", "nowhere"]) == 0
    text = capsys.readouterr().out
    plan = load_plan("specs/adamw_baseline.toml")
    steps = sum(t.horizon_steps for t in plan.trials)
    assert f"8 trials: 0 done, 8 to train ({steps:,} steps)" in text
    assert all(t.id in text for t in plan.trials)
    assert "a calibration" not in text


def test_plan_says_what_a_calibration_trains_beyond_its_plan(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(ROOT)
    spec = "specs/findings/equal_budget/calibrate_adamw.toml"
    assert cli.main(["plan", spec, "--results", "x"]) == 0
    text = capsys.readouterr().out
    assert (
        "a calibration: the trials above are its search at horizon 0.5; `hpbench calibrate` "
        "trains the search at each of horizons 0.33, 0.5 (128 trials each) and re-runs "
        "its top 2 with seeds 1, 7, 8 (results export writes them all)"
    ) in " ".join(text.split())
    # a schedule horizon outside the calibration's horizons plans trials calibrate never reads
    other = tmp_path / "h033.toml"
    other.write_text(
        f'[benchmark]\nname = "h033"\nextends = "{ROOT / spec}"\n\n[select]\nhorizons = [0.33]\n'
    )
    assert cli.main(["plan", str(other), "--results", "x"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "at horizon 0.5 (not one of its horizons: `hpbench run` of it trains what" in text


def test_diff_shows_what_a_change_reruns(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(ROOT)
    new = tmp_path / "new.toml"
    new.write_text(
        f'[benchmark]\nextends = "{ROOT}/specs/nadamw_list5.toml"\n'
        "[workloads.wmt]\nskip = true\n[run]\nseeds = [0, 1]\n"
    )
    assert cli.main(["diff", "specs/nadamw_list5.toml", str(new), "--json"]) == 0
    diff = json.loads(capsys.readouterr().out)
    assert (len(diff["added"]), len(diff["removed"]), len(diff["kept"])) == (35, 5, 35)
    assert cli.main(["diff", "specs/nadamw_list5.toml", str(new)]) == 0
    assert "35 added (to train), 5 removed, 35 kept" in capsys.readouterr().out


def test_list_shows_registries(capsys):
    assert cli.main(["list", "algorithms"]) == 0
    text = capsys.readouterr().out
    assert "mechanic" in text and "num_betas" in text and "safeguard_warmup" in text
    assert cli.main(["list", "workloads"]) == 0
    assert "librispeech_conformer" in capsys.readouterr().out


def test_schema_command_prints_the_schema(capsys, tmp_path):
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == spec_schema()
    assert cli.main(["schema", "spec", "--out", str(tmp_path / "s.json")]) == 0
    assert json.loads((tmp_path / "s.json").read_text()) == spec_schema()


def test_schema_command_prints_the_runner_profile_schema(capsys):
    profile = pytest.importorskip("hpbench.backends.profile")  # the backends issue's module
    assert cli.main(["schema", "runner"]) == 0
    assert json.loads(capsys.readouterr().out) == profile.profile_schema()


@pytest.mark.parametrize("path", SPECS, ids=[str(p.relative_to(ROOT)) for p in SPECS])
def test_every_shipped_spec_validates_against_the_schema(path):
    from hpbench.config._toml import tomllib

    validator = jsonschema.Draft7Validator(spec_schema())
    errors = [e.message for e in validator.iter_errors(tomllib.loads(path.read_text()))]
    assert errors == []


def test_the_schema_rejects_what_the_checker_rejects():
    validator = jsonschema.Draft7Validator(spec_schema())
    bad = [
        {"algorithm": {"name": "adamw", "d_coef": 1.0}},
        {"algorithm": {"name": "adamw", "learning_rate": -1.0}},
        {"schedule": {"warmup": 1.0}},
        {"grid": {"learning_rate": []}},
        {"workloads": {"toy_mpl": {}}},
        {"workloads": {"toy_mlp": {"target": {"metric": "bleu", "value": 1.0}}}},
        {"shedule": {}},
    ]
    for data in bad:
        assert not validator.is_valid(data), data


def test_a_command_is_a_command_in_its_modules_commands(monkeypatch, tmp_path, capsys):
    (tmp_path / "one_command.py").write_text(
        "from hpbench.cli import Command\n"
        "def add_arguments(parser):\n    parser.add_argument('x')\n"
        "def main(args):\n    print('one', args.x)\n    return 3\n"
        "COMMANDS = {'one': Command(add_arguments, main)}\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(cli.COMMANDS, "one", ("one_command", "a single-command module"))
    assert cli.main(["one", "hello"]) == 3
    assert capsys.readouterr().out == "one hello\n"
    assert cli.load_command("list").main.__name__ == "_list"  # hpbench.cli.spec.COMMANDS


def test_every_command_is_defined_one_way():
    """Each listed command is a :class:`cli.Command` in its module's ``COMMANDS``."""
    for name in cli.COMMANDS:
        assert isinstance(cli.load_command(name), cli.Command), name


def test_plan_counts_a_diverged_trial_as_finished(tmp_path, capsys, monkeypatch):
    # `run` does not train a diverged trial again, so `plan` does not count it to train
    from benchmarks.synthetic_results import make_result, write_result

    monkeypatch.chdir(ROOT)
    plan = load_plan("specs/adamw_baseline.toml")
    done, diverged = plan.trials[0], plan.trials[1]
    write_result(make_result(done, 0.5), tmp_path)
    stop = 2 * diverged.eval_every
    write_result(make_result(diverged, 0.5, state="diverged", stop_step=stop), tmp_path)
    assert cli.main(["plan", "specs/adamw_baseline.toml", "--results", str(tmp_path)]) == 0
    steps = sum(t.horizon_steps for t in plan.trials[2:])
    assert f"8 trials: 1 done, 1 diverged, 6 to train ({steps:,} steps)" in capsys.readouterr().out

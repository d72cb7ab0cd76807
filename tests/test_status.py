"""``hpbench status``: a results directory (by default ``results``, where ``run`` writes) or
a spec's trials, each in its state, from real result files."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from benchmarks.synthetic_results import make_result, write_result
from hpbench.cli import main
from hpbench.spec import load_spec
from hpbench.spec.compile import compile_plan

ROOT = Path(__file__).resolve().parent.parent
RATES = (1e-1, 3e-2, 1e-2, 3e-3, 1e-3, 3e-4)


@pytest.fixture
def spec_store(tmp_path):
    """A six-point toy grid with one trial in each state, and a trial of another spec."""
    spec = tmp_path / "grid.toml"
    spec.write_text(
        f'[benchmark]\nextends = "{ROOT / "specs/suites/toy.toml"}"\n[algorithm]\nname = '
        f'"adamw"\n[grid]\nlearning_rate = {list(RATES)}\n'
    )
    trials = compile_plan(load_spec(spec)).trials
    assert len(trials) == len(RATES)
    results = tmp_path / "results"
    done, running, interrupted, failed, corrupt, not_started = trials
    write_result(make_result(done, 0.5), results)
    for trial in (running, interrupted):
        write_result(make_result(trial, 0.5, state="running", stop_step=110), results)
    host = os.uname().nodename
    (results / running.id / "lock").write_text(f"{os.getpid()} {host}\n")  # this process
    write_result(make_result(failed, 0.5, state="failed", stop_step=60, reason="OOM"), results)
    write_result(make_result(corrupt, 0.5), results)
    path = results / corrupt.id / "metrics.jsonl"
    content = bytearray(path.read_bytes())
    content[len(content) // 2] ^= 0x01
    path.write_bytes(bytes(content))
    other = attrs.evolve(done, seed=7)  # planned by no spec here
    write_result(make_result(other, 0.5), results)
    states = {
        done.id: "done",
        running.id: "running",
        interrupted.id: "interrupted",
        failed.id: "failed",
        corrupt.id: "corrupt",
        not_started.id: "not started",
    }
    return spec, results, states, other


def _rows(out: str) -> dict[str, str]:
    """Trial id -> state, from the status table."""
    rows = {}
    for line in out.splitlines():
        cells = [c.strip() for c in line.split("│")]
        if len(cells) > 4 and len(cells[1]) == 16:
            rows[cells[1]] = cells[3]
    return rows


def test_a_spec_shows_each_of_its_trials_state(spec_store, capsys):
    spec, results, states, other = spec_store
    assert main(["status", str(spec), "--results", str(results), "--all"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"{spec} in {results}: 6 trials: 1 running, 1 done, 1 failed, 1 interrupted, "
        "1 corrupt, 1 not started\n"
    )
    assert _rows(out) == states  # the other spec's trial is not shown
    assert other.id not in out
    assert main(["status", str(spec), "--results", str(results)]) == 0
    unfinished = _rows(capsys.readouterr().out)
    assert unfinished == {i: s for i, s in states.items() if s != "done"}


def test_a_results_directory_lists_every_trial_in_it(spec_store, capsys):
    spec, results, states, other = spec_store
    assert main(["status", str(results), "--all"]) == 0
    rows = _rows(capsys.readouterr().out)
    started = {i: s for i, s in states.items() if s != "not started"}
    assert rows == {**started, other.id: "done"}


def _status(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "hpbench.cli", "status", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_without_an_argument_it_reads_results_where_run_writes(spec_store):
    spec, results, states, other = spec_store
    shown = _status("--all", cwd=results.parent)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("results: 6 trials: 1 running, 2 done, 1 failed")
    assert set(_rows(shown.stdout)) == set(states) - {
        i for i, s in states.items() if s == "not started"
    } | {other.id}
    missing = _status(cwd=spec.parent / "results")
    assert missing.returncode == 2
    assert missing.stderr.strip() == (
        "hpbench status: results: no such results directory (the default, where `hpbench "
        "run` writes); give one: hpbench status RESULTS|SPEC"
    )


def test_results_is_for_a_spec_and_a_missing_target_is_named(spec_store, capsys):
    spec, results, _, _ = spec_store
    assert main(["status", str(results), "--results", str(results)]) == 2
    assert "--results is for a spec file" in capsys.readouterr().err
    assert main(["status", str(spec.with_name("nope.toml"))]) == 2
    assert "nope.toml: no such directory or spec file" in capsys.readouterr().err
    assert main(["status", str(spec), "--results", str(spec.with_name("empty"))]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"{spec} in {spec.with_name('empty')} (no such directory): 6 trials")
    assert set(_rows(out).values()) == {"not started"}

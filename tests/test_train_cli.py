"""``hpbench run``: argument errors, a real run of a spec, reuse of finished trials, the
exit code of failures, and no JAX import for ``--help``."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from hpbench.cli import main

SUITE = Path(__file__).resolve().parent.parent / "specs" / "suites" / "toy.toml"


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "toy_adamw.toml"
    path.write_text(
        f"""
[benchmark]
name = "toy_adamw"
description = "two learning rates on the toy workload"
owner = "tests"
extends = "{SUITE}"

[algorithm]
name = "adamw"

[schedule]
shape = "warmup_cosine"
warmup = 0.05
horizon = 0.25

[grid]
learning_rate = [1e-2, 1e-5]
"""
    )
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--runner", "runners/missing.toml"], "expected an existing runner profile file"),
        (["--pack", "0"], "expected a pack size of at least 1"),
        (["--checkpoint-every", "soon"], "expected steps (e.g. 500)"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(spec, tmp_path, capsys, extra, message):
    assert main(["run", str(spec), "--results", str(tmp_path / "r"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_a_bad_spec_exits_2_without_training(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[benchmark]\nname = "x"\n[algorithm]\nname = "adamm"\n')
    assert main(["run", str(bad), "--results", str(tmp_path / "r")]) == 2
    assert "bad.toml" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_run_trains_the_spec_then_reuses_its_results(spec, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(spec), "--results", str(results), "--pack", "2"]) == 0
    out, err = capsys.readouterr()
    assert "2 trials in 1 jobs" in err
    assert "toy_mlp/mini x2 step 100/100" in err  # plain progress: not a terminal
    assert "reached target at step" in out and "missed target" in out
    assert str(results) in out
    assert len(list(results.glob("*/status.json"))) == 2

    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.count("(cached)") == 2


def run_a_failing_trial(results: Path) -> int:
    """``hpbench run``'s exit code for one trial that fails (its workload does not exist)."""
    from rich.console import Console
    from trial_helpers import toy_trial

    from hpbench.cli.run import _run
    from hpbench.train.job import make_jobs

    jobs = make_jobs([toy_trial(workload="no_such_workload")], pack=1)
    args = argparse.Namespace(
        results=results,
        quiet=True,
        plain=True,
        profile=None,
        specs=[Path("x.toml")],
        every_trial=False,
    )
    return _run(jobs, args, Console(stderr=True))


def test_a_failed_trial_makes_the_exit_code_1(tmp_path, capsys):
    assert run_a_failing_trial(tmp_path) == 1
    out, err = capsys.readouterr()
    assert "failed: KeyError" in out and "1 trial(s) failed" in err


def test_a_large_run_counts_outcomes_per_workload(spec, tmp_path, capsys, monkeypatch):
    """Above SUMMARY_ROWS trials the summary is a count per workload (a campaign's log would
    otherwise hold a row per trial); --every-trial brings the rows back."""
    import hpbench.cli.run

    results = tmp_path / "results"
    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    capsys.readouterr()
    monkeypatch.setattr(hpbench.cli.run, "SUMMARY_ROWS", 1)
    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 trials, results in" in out and "(cached)" not in out
    counts = next(line for line in out.splitlines() if "toy_mlp" in line)
    # trained, cached, reached, missed, diverged, failed, unfinished: lr 1e-2 reaches, 1e-5 not
    assert [int(cell) for cell in counts.replace("│", " ").split()[1:]] == [0, 2, 1, 1, 0, 0, 0]
    assert "need attention" not in out and "--every-trial" in out

    assert main(["run", str(spec), "--results", str(results), "--quiet", "--every-trial"]) == 0
    assert capsys.readouterr().out.count("(cached)") == 2


def test_cached_trials_are_reported_against_the_target_planned_now(spec, tmp_path, capsys):
    """A target is no part of a trial's id (training does not stop there), so moving it
    reuses the trained trials; the summary says reached or missed against the new target, as
    the score does, not the one recorded when they trained."""
    results = tmp_path / "results"
    assert main(["run", str(spec), "--results", str(results), "--quiet", "--plain"]) == 0
    first = capsys.readouterr().out
    assert first.count("reached target at step") == 1  # lr 1e-2 reaches 0.06, 1e-5 does not
    recorded = {p.parent.name: p.read_text() for p in results.glob("*/status.json")}
    with spec.open("a") as text:  # an error rate below the data's Bayes error: unreachable
        text.write('\n[workloads.toy_mlp]\ntarget = { metric = "error_rate", value = 0.001 }\n')
    assert main(["run", str(spec), "--results", str(results), "--quiet", "--plain"]) == 0
    again = capsys.readouterr().out
    assert again.count("(cached) missed target") == 2 and "reached target" not in again
    # nothing retrained or rewritten: the files keep the reach of the target they trained with
    assert {p.parent.name: p.read_text() for p in results.glob("*/status.json")} == recorded


def test_the_counts_list_the_trials_that_need_attention(tmp_path, capsys, monkeypatch):
    import hpbench.cli.run

    monkeypatch.setattr(hpbench.cli.run, "SUMMARY_ROWS", 0)
    assert run_a_failing_trial(tmp_path) == 1
    out = capsys.readouterr().out
    assert "1 trial, results in" in out and "trials that need attention" in out
    assert "failed: KeyError" in out


def test_run_help_does_not_import_jax():
    code = (
        "import sys\nfrom hpbench.cli import main\n"
        "try:\n    main(['run', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('jax' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "--pack K" in done.stdout and done.stdout.strip().endswith("False")


def test_progress_shows_each_trial_with_its_own_metric():
    import io

    from rich.console import Console

    from hpbench.train.progress import LiveProgress, PlainProgress
    from hpbench.train.run import JobUpdate

    t1, t2, t3 = "1111aaaa2222bbbb", "3333cccc4444dddd", "5555eeee6666ffff"
    updates = [
        JobUpdate("a", "toy_mlp/mini", 2, 50, 100, 0.5, "error_rate", None, 0.06,
                  members=((t1, None), (t2, None))),
        JobUpdate("a", "toy_mlp/mini", 2, 100, 100, 1.0, "error_rate", 0.05, 0.06,
                  members=((t1, 0.05), (t2, 0.31))),
        JobUpdate("a", "toy_mlp/mini", 2, 100, 100, 1.0, "error_rate", 0.05, 0.06,
                  finished=True, members=((t1, 0.05), (t2, 0.31))),
        JobUpdate("b", "criteo/mini", 1, 10, 1000, 0.1, "cross_entropy", 0.6, 0.45,
                  members=((t3, 0.6),)),
    ]  # fmt: skip
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    with LiveProgress(console) as live:
        for update in updates:
            live(update)
    screen = console.file.getvalue()
    assert f"{t1} toy_mlp/mini x2" in screen and f"{t2} toy_mlp/mini x2" in screen
    assert f"{t3} criteo/mini" in screen
    assert "100/100" in screen and "100 steps/s" in screen
    assert "error_rate 0.05 (target 0.06)" in screen and "error_rate 0.31 (target 0.06)" in screen

    stream = io.StringIO()
    plain = PlainProgress(stream, interval=0.0)
    for update in updates:
        plain(update)
    assert stream.getvalue().splitlines() == [  # the job's last line once, not twice
        f"[job a] toy_mlp/mini x2 step 50/100 error_rate (target 0.06): {t1} -, {t2} -",
        f"[job a] toy_mlp/mini x2 step 100/100 100 steps/s error_rate (target 0.06): "
        f"{t1} 0.05, {t2} 0.31",
        f"[trial {t3}] criteo/mini step 10/1000 cross_entropy 0.6 (target 0.45)",
    ]


def test_the_counts_read_a_cached_divergence_as_diverged():
    """A trial that diverged in an earlier run comes back cached ("already diverged"):
    counted as diverged (and flagged), not as a missed target."""
    from trial_helpers import toy_trial

    from hpbench.results.records import Status
    from hpbench.train.outcome import TrialOutcome
    from hpbench.train.progress import needs_attention, outcome_counts

    trial = toy_trial()
    outcomes = [
        TrialOutcome.reused(trial, Status(state="diverged", step=40)),
        TrialOutcome.reused(trial, Status(state="done", step=100, reached_step=60)),
        TrialOutcome(trial, "done", step=100),
    ]
    assert [o.reason for o in outcomes[:2]] == ["already diverged", "already done"]
    table = outcome_counts(outcomes, Path("results"))
    columns = {column.header: list(column.cells) for column in table.columns}
    assert columns["cached"][0] == "2" and columns["trained"][0] == "1"
    assert [columns[c][0] for c in ("reached", "missed", "diverged")] == ["1", "1", "1"]
    assert [needs_attention(o) for o in outcomes] == [True, False, False]

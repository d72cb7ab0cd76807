"""Damaged results, per file and kind of damage: never a silently wrong score, and the right
repair. Stores come from real training of the toy workload (one finished trial, one
interrupted by a real SIGINT); each test damages a copy the way bad luck would, then checks
what the reader, ``status`` and the report say, and what ``run_job`` does about it."""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import signal
from pathlib import Path

import attrs
import pytest
from trial_helpers import records, toy_trial

from hpbench.cli.status import read_states
from hpbench.plan import Plan, Target
from hpbench.report.data import SpecRun, build_report
from hpbench.results.curves import reach
from hpbench.results.records import Status, read_trial
from hpbench.results.store import TrialDir
from hpbench.train import CheckpointPolicy, Job, run_job
from hpbench.train.run import Interrupted

TRIAL = toy_trial(1e-2)  # 100 steps, an evaluation every 20: rows 20..100
JOB = Job(trials=(TRIAL,), checkpoint=CheckpointPolicy(every_steps=40, every_seconds=None))


def _interrupt_at(step: int):
    """A progress callback that sends this process SIGINT once training passed ``step``
    (the engine saves a checkpoint at the next chunk boundary and stops)."""
    sent = []

    def progress(update) -> None:
        if update.step >= step and not sent:
            sent.append(update.step)
            os.kill(os.getpid(), signal.SIGINT)

    return progress


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    """``done``: the trial trained to the end; ``interrupted``: stopped at step 70 (the
    chunk boundary after the signal) with checkpoints at 40 and 70 and rows 20, 40, 60
    (real training, a real signal)."""
    root = tmp_path_factory.mktemp("stores")
    run_job(JOB, root / "done")
    with pytest.raises(Interrupted):
        run_job(JOB, root / "interrupted", progress=_interrupt_at(60))
    status = read_trial(root / "interrupted" / TRIAL.id).status
    assert (status.state, status.step) == ("interrupted", 70)
    return {"done": root / "done", "interrupted": root / "interrupted"}


@pytest.fixture
def copy(stores, tmp_path):
    def make(name: str) -> Path:
        target = tmp_path / name
        shutil.copytree(stores[name], target)
        return target

    return make


def _trial_file(results: Path, name: str) -> Path:
    return results / TRIAL.id / name


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines(keepends=True)


# --- damage: (store, file, how) -------------------------------------------------------------


def truncate_tail(path: Path) -> None:
    """Rows lost at the end (a copy cut short)."""
    path.write_text("".join(_lines(path)[:-2]))


def garbage_middle(path: Path) -> None:
    lines = _lines(path)
    lines[1] = "\x00\x13garbage\n"
    path.write_text("".join(lines))


def torn_middle(path: Path) -> None:
    """Half a line in the middle: the earlier reader stopped there and the resume rewrote
    the file from what it had read, losing every row after it."""
    lines = _lines(path)
    lines[1] = lines[1][:10] + "\n"
    path.write_text("".join(lines))


def drop_middle_row(path: Path) -> None:
    lines = _lines(path)
    path.write_text("".join(lines[:1] + lines[2:]))


def swap_rows(path: Path) -> None:
    lines = _lines(path)
    lines[0], lines[1] = lines[1], lines[0]
    path.write_text("".join(lines))


def edit_value(path: Path) -> None:
    """A plausible number changed: only the checksum can tell."""
    lines = _lines(path)
    row = json.loads(lines[0])
    row["metrics"]["error_rate"] = 0.0
    lines[0] = json.dumps(row, sort_keys=True) + "\n"
    path.write_text("".join(lines))


def delete(path: Path) -> None:
    path.unlink()


def garbage(path: Path) -> None:
    path.write_text("{not json")


def truncate_half(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def wrong_schema(path: Path) -> None:
    data = json.loads(path.read_text())
    data["step"] = "eighty"
    path.write_text(json.dumps(data))


def other_trial(path: Path) -> None:
    data = json.loads(path.read_text())
    data["hyperparameters"]["learning_rate"] = 0.5
    path.write_text(json.dumps(data))


DAMAGE = [
    ("done", "metrics.jsonl", truncate_tail, "rows, the status recorded"),
    ("done", "metrics.jsonl", garbage_middle, "line 2"),
    ("done", "metrics.jsonl", drop_middle_row, "rows, the status recorded"),
    ("done", "metrics.jsonl", swap_rows, "line 2: step 20 after 40"),
    ("done", "metrics.jsonl", edit_value, "do not match the checksum"),
    ("done", "metrics.jsonl", delete, "0 rows, the status recorded 5"),
    ("interrupted", "metrics.jsonl", torn_middle, "line 2"),
    ("interrupted", "metrics.jsonl", garbage_middle, "line 2"),
    ("done", "status.json", garbage, "status.json: Expecting"),
    ("done", "status.json", truncate_half, "status.json"),
    ("done", "status.json", wrong_schema, "step: unexpected value 'eighty'"),
    ("done", "status.json", delete, "status.json: missing, but metrics.jsonl has rows"),
    ("done", "trial.json", delete, "trial.json: missing"),
    ("done", "trial.json", garbage, "trial.json: JSONDecodeError"),
    ("done", "trial.json", other_trial, "describes trial"),
]


def _ids(case) -> str:
    store, name, damage, _ = case
    return f"{store}-{name}-{damage.__name__}"


@pytest.mark.parametrize("case", DAMAGE, ids=[_ids(c) for c in DAMAGE])
def test_damage_is_reported_corrupt_and_never_scored(copy, case):
    store, name, damage, says = case
    results = copy(store)
    damage(_trial_file(results, name))

    result = read_trial(results / TRIAL.id, planned=TRIAL)
    assert result.damaged and result.evals == ()
    assert says in result.status.reason
    assert not TrialDir(results, TRIAL).finished()  # `run` will not say "(cached)"

    [state] = read_states(results)  # `hpbench status`
    assert state.status.state == "corrupt" and says in state.status.reason

    # score / report: the trial is named corrupt, is not in the scores, not a missed target
    run = SpecRun.load(Plan(name="toy", trials=(TRIAL,), source="toy.toml"), results)
    report = build_report([run])
    assert run.results == {} and report.scores.rows == ()
    assert report.entries[0].outcomes["corrupt"] == 1
    assert report.entries[0].outcomes["missed"] == report.entries[0].outcomes["reached"] == 0
    assert any(w.startswith("corrupt, never scored") and says in w for w in report.warnings)


def test_a_torn_last_line_of_an_unfinished_trial_is_no_damage(copy):
    """A writer killed mid-line leaves a torn last line: normal, cut on resume."""
    results = copy("interrupted")
    with open(_trial_file(results, "metrics.jsonl"), "a") as f:
        f.write('{"step": 100, "train_sec')
    result = read_trial(results / TRIAL.id)
    assert not result.damaged and [r.step for r in result.evals] == [20, 40, 60]


def test_a_finished_trial_written_before_checksums_is_read_unverified(copy):
    """Compatibility: a status without ``metrics`` (older hpbench) is checked, not hashed;
    rows that disagree with it are still damage."""
    results = copy("done")
    path = _trial_file(results, "status.json")
    data = json.loads(path.read_text())
    del data["metrics"]
    path.write_text(json.dumps(data))
    result = read_trial(results / TRIAL.id)
    assert result.status.state == "done" and not result.verified and len(result.evals) == 5
    [state] = read_states(results)
    assert state.status.state == "done" and not state.verified
    drop_middle_row(_trial_file(results, "metrics.jsonl"))
    damaged = read_trial(results / TRIAL.id)
    assert damaged.damaged and "missing steps [40]" in damaged.status.reason


# --- repairs by `run` (real training) ---------------------------------------------------------


def _assert_retrained_like(results: Path, reference: Path) -> None:
    result = read_trial(results / TRIAL.id)
    assert result.status.state == "done" and result.verified
    assert records(results, TRIAL) == records(reference, TRIAL)  # bitwise, on CPU


def _aside(results: Path) -> Path:
    [aside] = (results / TRIAL.id).glob("damaged-*")
    return aside


def test_run_sets_a_damaged_middle_line_aside_and_loses_no_row(copy, stores, caplog):
    """The silent-data-loss probe: one damaged line in the middle of an interrupted trial's
    metrics. The old resume rewrote the file from the rows before it."""
    results = copy("interrupted")
    path = _trial_file(results, "metrics.jsonl")
    garbage_middle(path)
    damaged = path.read_bytes()
    with caplog.at_level(logging.WARNING, logger="hpbench.run"):
        [outcome] = run_job(JOB, results)
    assert outcome.state == "done" and "corrupt (metrics.jsonl: line 2" in outcome.repair
    assert "files moved to" in caplog.text
    aside = _aside(results)
    assert (aside / "metrics.jsonl").read_bytes() == damaged  # kept byte for byte
    assert "corrupt: metrics.jsonl: line 2" in (aside / "why.txt").read_text()
    assert list((results / "_jobs").glob("*.damaged-*"))  # its checkpoints set aside too
    _assert_retrained_like(results, stores["done"])


@pytest.mark.parametrize("name", ["trial.json", "metrics.jsonl"])
def test_run_retrains_a_finished_trial_whose_file_was_lost(copy, stores, name):
    results = copy("done")
    delete(_trial_file(results, name))
    [outcome] = run_job(JOB, results)
    assert outcome.state == "done" and f"corrupt ({name}" in outcome.repair  # not "(cached)"
    assert (_aside(results) / "status.json").exists()
    _assert_retrained_like(results, stores["done"])
    [again] = run_job(JOB, results)
    assert again.state == "skipped" and again.repair is None  # repaired: cached from now on


def test_a_missing_checkpoint_is_reported_before_retraining(copy, stores, caplog):
    results = copy("interrupted")
    shutil.rmtree(results / "_jobs")
    logged_before_training = []

    def progress(update) -> None:
        logged_before_training.append("no usable checkpoint" in caplog.text)

    with caplog.at_level(logging.WARNING, logger="hpbench.run"):
        [outcome] = run_job(JOB, results, progress=progress)
    assert logged_before_training and all(logged_before_training)
    assert "interrupted at step 70, but job" in outcome.repair
    assert "no usable checkpoint: training again from step 0" in outcome.repair
    rows = _lines(_aside(results) / "metrics.jsonl")
    assert [json.loads(x)["step"] for x in rows] == [20, 40, 60]
    _assert_retrained_like(results, stores["done"])


def test_an_unreadable_latest_checkpoint_falls_back_to_the_one_before(copy, stores, caplog):
    results = copy("interrupted")
    [job_dir] = (results / "_jobs").iterdir()
    shutil.rmtree(job_dir / "70" / "state")
    with caplog.at_level(logging.WARNING, logger="hpbench.run"):
        [outcome] = run_job(JOB, results)
    assert "checkpoint at step 70 does not restore" in caplog.text
    assert outcome.state == "done" and outcome.repair is None
    assert list((results / "_jobs").glob("*.damaged-*-step70"))  # set aside, not deleted
    _assert_retrained_like(results, stores["done"])


def test_status_is_never_written_corrupt(tmp_path):
    with pytest.raises(ValueError, match="never a status to write"):
        TrialDir(tmp_path, TRIAL).write_status(attrs.evolve(Status("done"), state="corrupt"))


def test_a_finished_trial_packed_with_a_repaired_one_keeps_its_result(copy):
    """The repaired trial's job restarts from step 0; its finished member trains along
    masked, and its outcome still says when it reached the target."""
    results = copy("done")
    other = toy_trial(3e-3)
    before = read_trial(results / TRIAL.id).status
    assert before.reached_step is not None
    outcomes = {o.trial.id: o for o in run_job(Job(trials=(TRIAL, other)), results)}
    assert outcomes[TRIAL.id].state == "done"
    assert outcomes[TRIAL.id].reached_step == before.reached_step
    assert read_trial(results / TRIAL.id).status.reached_step == before.reached_step
    assert read_trial(results / other.id).status.state == "done"


def test_a_resumed_trial_reads_a_moved_targets_reach_from_its_curve(copy):
    """Without stop_at_target a target only scores (it is not part of the id), so it can
    move while a trial waits at a checkpoint: the resumed status then says when the curve
    reached the current target, not what the checkpoint's meta kept for the old one."""
    results = copy("interrupted")
    kept = read_trial(results / TRIAL.id).evals  # rows 20, 40, 60
    old_reach = reach(kept, TRIAL.target).step
    moved = attrs.evolve(TRIAL, target=Target("error_rate", kept[-1].metrics["error_rate"], "min"))
    assert moved.id == TRIAL.id and old_reach != reach(kept, moved.target).step
    [outcome] = run_job(attrs.evolve(JOB, trials=(moved,)), results)
    resumed = read_trial(results / TRIAL.id)
    expected = reach(resumed.evals, moved.target)
    assert outcome.state == "done" and expected.step is not None
    assert outcome.reached_step == resumed.status.reached_step == expected.step
    assert resumed.status.reached_seconds == expected.seconds


def test_a_diverged_trial_keeps_the_row_of_its_diverged_step(tmp_path):
    """The engine evaluates step d before the training loss at d turns non-finite (test_engine):
    the row at d belongs to a trial diverged at d; a row after d is damage."""
    from benchmarks.synthetic_results import make_result, make_trial, write_result

    trial = make_trial("criteo")
    every = trial.eval_every
    write_result(make_result(trial, 0.5, state="diverged", stop_step=2 * every), tmp_path)
    result = read_trial(tmp_path / trial.id)
    assert result.status.state == "diverged" and not result.damaged
    assert [r.step for r in result.evals] == [every, 2 * every]
    assert math.isnan(result.evals[-1].metrics[trial.target.metric])
    longer = make_result(trial, 0.5, state="diverged", stop_step=3 * every)
    write_result(attrs.evolve(longer, status=attrs.evolve(longer.status, step=2 * every)), tmp_path)
    damaged = read_trial(tmp_path / trial.id)
    assert damaged.damaged and f"unexpected steps [{3 * every}]" in damaged.status.reason

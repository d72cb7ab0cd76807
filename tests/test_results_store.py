"""The results writer: trial files, atomic status, cutting records back on resume, and the
claim lock (exclusive while held, free again when its holder dies). No JAX."""

from __future__ import annotations

import math
import signal
import time

import attrs
from trial_helpers import hold_claim, toy_trial

from hpbench.plan import Target
from hpbench.results.records import EvalRecord, Status, read_planned, read_results
from hpbench.results.store import TrialDir, claim
from hpbench.scoring.time_to_target import score_trial

TRIAL = toy_trial(hyperparameters={"learning_rate": 1e-3}, horizon=1.0)


def record(step: int) -> EvalRecord:
    return EvalRecord(step, step / 100, math.nan if step == 40 else 1 / step, {"error_rate": 0.5})


def test_written_trial_reads_back_through_the_reader(tmp_path):
    trial_dir = TrialDir(tmp_path, TRIAL)
    trial_dir.write_trial()
    for step in (20, 40, 60):
        trial_dir.append_eval(record(step))
    trial_dir.write_status(Status(state="done", step=60, reached_step=20, reached_seconds=0.2))
    [result] = read_results(tmp_path)
    assert result.trial == TRIAL and result.status.state == "done"
    assert [r.step for r in result.evals] == [20, 40, 60]
    assert math.isnan(result.evals[1].train_loss)  # NaN goes through JSON as null
    assert result.status.updated is not None and trial_dir.finished()
    assert not list(tmp_path.glob(f"{TRIAL.id}/.*"))  # no temporary files left behind


def test_planned_results_are_scored_against_the_planned_target(tmp_path):
    """New targets re-score a trained curve: same id, the plan's target, no retraining."""
    trial_dir = TrialDir(tmp_path, TRIAL)
    trial_dir.write_trial()
    for step, error in ((20, 0.5), (40, 0.3), (60, 0.2)):
        trial_dir.append_eval(EvalRecord(step, step / 100, 1.0, {"error_rate": error}))
    trial_dir.write_status(Status(state="done", step=60))
    stricter = attrs.evolve(TRIAL, target=Target("error_rate", 0.25, "min"))
    assert stricter.id == TRIAL.id
    [(found_id, result)] = read_planned(tmp_path, [stricter]).items()
    assert found_id == TRIAL.id and result.trial.target.value == 0.25
    assert score_trial(result).steps == 60  # first evaluation at or below 0.25
    stopping = attrs.evolve(stricter, stop_at_target=True)
    assert read_planned(tmp_path, [stopping]) == {}  # training stops there: another trial


def test_records_past_the_restored_step_are_cut(tmp_path):
    trial_dir = TrialDir(tmp_path, TRIAL)
    for step in (20, 40, 60, 80):
        trial_dir.append_eval(record(step))
    with open(trial_dir.metrics_path, "a") as f:
        f.write('{"step": 100, "train_sec')  # a writer killed mid-line
    kept = trial_dir.truncate_evals(40)
    assert [r.step for r in kept] == [20, 40]
    assert trial_dir.metrics_path.read_text().count("\n") == 2
    trial_dir.append_eval(record(60))
    assert read_results(tmp_path) == []  # no trial.json yet: not a result
    trial_dir.write_trial()
    [orphan] = read_results(tmp_path)  # rows without a status: damage, never scored
    assert orphan.damaged and "status.json: missing" in orphan.status.reason
    trial_dir.write_status(Status(state="running", step=60))
    assert [r.step for r in read_results(tmp_path)[0].evals] == [20, 40, 60]


def test_a_claim_is_exclusive_until_released(tmp_path):
    trial_dir = TrialDir(tmp_path, TRIAL)
    held = claim(trial_dir)
    assert held is not None
    assert claim(trial_dir) is None  # a second open file: flock refuses it
    held.release()
    with claim(trial_dir) as again:
        assert again is not None


def test_a_live_holder_blocks_and_a_dead_one_does_not(tmp_path):
    child = hold_claim(tmp_path, TRIAL)
    try:
        assert child.stdout.readline().strip() == "held"
        assert claim(TrialDir(tmp_path, TRIAL)) is None
        assert str(child.pid) in (tmp_path / TRIAL.id / "lock").read_text()
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    deadline = time.monotonic() + 10
    while (held := claim(TrialDir(tmp_path, TRIAL))) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert held is not None  # the killed holder's lock was reclaimed without clean-up
    held.release()

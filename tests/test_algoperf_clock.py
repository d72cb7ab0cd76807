"""AlgoPerf's clock in scoring: time to target on hand-made histories worked by hand, the
runtime budget, results written before the clock, the nightly's ``time`` and no JAX.
(The engine's recording of the clock is tested in test_engine.py on real training.)"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time

import attrs
import pytest
from report_helpers import write_results, write_specs
from scoring_helpers import make_result

from hpbench.cli import main as hpbench
from hpbench.nightly.file import load_nightly
from hpbench.plan import Target
from hpbench.results import index as index_module
from hpbench.results.index import ResultsIndex
from hpbench.results.records import EvalRecord, Status, read_trial
from hpbench.results.store import TrialDir
from hpbench.scoring import runtime_budget, score_results, score_trial
from hpbench.spec import SpecError

TARGET = Target("error_rate", 0.5, "min")
ERRORS = (0.9, 0.7, 0.45, 0.3)  # evaluations at steps 10, 20, 30, 40: the target at step 30


def history(compile_seconds: float, seconds_per_eval_period: float = 1.5, **kwargs):
    """A criteo mini trial (runtime budget 41 s) evaluated every 10 steps, as the engine
    records it: the training program compiled once (``compile_seconds``), then each 10
    steps trained in ``seconds_per_eval_period``; evaluations (4 s each here) are on
    neither clock, so they appear nowhere in the rows."""
    result = make_result(ERRORS, target=TARGET, eval_every=10, **kwargs)
    evals = tuple(
        EvalRecord(
            step=r.step,
            train_seconds=seconds_per_eval_period * (k + 1),
            train_loss=r.train_loss,
            metrics=r.metrics,
            algoperf_seconds=compile_seconds + seconds_per_eval_period * (k + 1),
        )
        for k, r in enumerate(result.evals)
    )
    return attrs.evolve(result, evals=evals)


def test_time_to_target_on_algoperf_clock_is_worked_by_hand():
    # Compilation 2.0 s, 1.5 s of training per 10 steps, evaluations 4.0 s each. The target
    # is reached at the evaluation of step 30. Wall clock when that evaluation starts:
    # 2.0 + 3 * 1.5 + 2 * 4.0 = 14.5 s; AlgoPerf's submission time: 2.0 + 3 * 1.5 = 6.5 s
    # (evaluations untimed, compilation timed); the training clock: 3 * 1.5 = 4.5 s.
    score = score_trial(history(compile_seconds=2.0))
    assert (score.steps, score.seconds, score.algoperf) == (30.0, 4.5, 6.5)
    assert score.outcome == "reached"


def test_the_runtime_budget_cuts_evaluations_at_or_past_it():
    budget = runtime_budget(history(2.0).trial)
    assert budget == 41.0  # criteo mini (registry max_runtime)
    assert score_trial(history(2.0)).algoperf == 6.5
    # budget 6 s: the 6.5 s evaluation would not have run (AlgoPerf evaluates only while
    # the submission time is below the budget): not reached on this clock, still in steps.
    over = score_trial(history(2.0), budget_scale=6 / budget)
    assert over.algoperf == math.inf and over.steps == 30.0
    # exactly at the budget (6.5 s) is past it, as in AlgoPerf's `<`
    assert budget * (6.5 / budget) == 6.5
    assert score_trial(history(2.0), budget_scale=6.5 / budget).algoperf == math.inf
    assert score_trial(history(2.0), budget_scale=6.6 / budget).algoperf == 6.5
    assert score_trial(history(2.0), budget_scale=math.inf).algoperf == 6.5
    missed = history(2.0)
    missed = attrs.evolve(missed, evals=missed.evals[:2])  # stopped before step 30
    assert score_trial(missed).algoperf == math.inf


def test_full_size_budgets_are_algoperfs_max_allowed_runtimes():
    # algorithmic-efficiency 2c90454f, algoperf/workloads/*/workload.py
    # `max_allowed_runtime_sec` (external tuning ruleset)
    algoperf = {
        "criteo": 7_703,
        "fastmri": 4_430,
        "imagenet_resnet": 66_159,
        "imagenet_vit": 69_768,
        "librispeech_conformer": 58_015,
        "librispeech_deepspeech": 44_405,
        "ogbg": 12_011,
        "wmt": 43_336,
    }
    for workload, seconds in algoperf.items():
        trial = make_result([0.9], workload=workload, size="full", max_steps=100).trial
        assert runtime_budget(trial) == seconds
    toy = make_result([0.9], workload="toy_mlp").trial
    assert runtime_budget(toy) == math.inf  # no budget declared


def test_profiles_compare_algoperf_clocks_where_steps_tie():
    # Both reach the target at step 30 after 4.5 training seconds; "slow" compiles 5.0 s
    # instead of 2.0 s: 9.5 s against 6.5 s on AlgoPerf's clock, ratio 9.5 / 6.5.
    results = {"fast": history(2.0, seed=0), "slow": history(5.0, seed=0, algorithm="adamw")}
    labels = {"fast": "fast", "slow": "slow"}
    steps = score_results(results, labels, time="steps")
    assert steps.row("slow", "criteo").normalized_time == 1.0
    clock = score_results(results, labels, time="algoperf")
    assert clock.row("fast", "criteo").algoperf == 6.5
    assert clock.row("slow", "criteo").normalized_time == pytest.approx(9.5 / 6.5)
    assert clock.benchmark["fast"] == 1.0 and clock.benchmark["slow"] < 1.0
    # a budget of 9 s: "slow" is over it, the only finite time is "fast"'s
    cut = score_results(results, labels, time="algoperf", budget_scale=9 / 41)
    assert cut.row("slow", "criteo").algoperf == math.inf
    assert cut.benchmark == {"fast": 1.0, "slow": 0.0}
    # on that clock "slow" reached nothing: it counts as missed, at no step (not "reached")
    slow = cut.row("slow", "criteo")
    assert (slow.reached, slow.missed, slow.steps) == (0, 1, math.inf)
    assert steps.row("slow", "criteo").reached == 1  # the step clock has no budget
    with pytest.raises(ValueError, match="budget_scale must be > 0"):
        score_results(results, labels, time="algoperf", budget_scale=0)


def _write_old_result(results_dir, result) -> None:
    """The files as hpbench wrote them before the clock: rows without algoperf_seconds."""
    trial_dir = TrialDir(results_dir, result.trial)
    trial_dir.write_trial()
    for record in result.evals:
        trial_dir.append_eval(record)
    trial_dir.write_status(Status(state="done", step=result.evals[-1].step, reached_step=30))


def test_old_results_read_fine_and_say_algoperf_time_is_unavailable(tmp_path):
    old = make_result(ERRORS, target=TARGET, eval_every=10, max_steps=40)
    _write_old_result(tmp_path, old)
    rows = (tmp_path / old.trial.id / "metrics.jsonl").read_text().splitlines()
    assert all("algoperf_seconds" not in json.loads(line) for line in rows)  # the old format
    read = read_trial(tmp_path / old.trial.id)
    assert read.status.state == "done" and read.verified
    assert [r.algoperf_seconds for r in read.evals] == [None] * 4
    score = score_trial(read)
    assert score.steps == 30.0 and math.isnan(score.algoperf)
    assert score_results([read], time="steps").rows[0].steps == 30.0
    with pytest.raises(ValueError, match=r"'algoperf' is unavailable for 1 of 1 trials") as e:
        score_results([read], time="algoperf")
    assert old.trial.id in str(e.value) and "hpbench run --force" in str(e.value)


def test_rows_with_and_without_the_clock_round_trip_through_the_results_index(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(index_module, "RACY_SECONDS", 0.05)
    old = make_result(ERRORS, target=TARGET, eval_every=10, max_steps=40)
    new = history(2.0, max_steps=40, seed=1)
    for result in (old, new):
        _write_old_result(tmp_path, result)  # `new` keeps its clock: the writer writes it
    time.sleep(0.1)
    from_files = [read_trial(tmp_path / r.trial.id, planned=r.trial) for r in (old, new)]
    assert from_files[1].evals == new.evals
    index = ResultsIndex(tmp_path)
    assert [index.read(r.trial) for r in (old, new)] == from_files
    index.save()

    def refuse(*args, **kwargs):
        raise AssertionError("read from the files, not the index")

    monkeypatch.setattr(index_module, "read_trial", refuse)
    assert [ResultsIndex(tmp_path).read(r.trial) for r in (old, new)] == from_files


def test_score_on_old_results_with_algoperf_time_exits_2_saying_why(tmp_path, capsys):
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")  # rows in the format before the clock
    args = ["score", *map(str, specs), "--results", str(tmp_path / "results")]
    assert hpbench([*args, "--time", "algoperf"]) == 2
    assert "'algoperf' is unavailable" in capsys.readouterr().err
    assert hpbench([*args, "--time", "algoperf", "--budget-scale", "-1"]) == 2
    assert "--budget-scale -1.0: expected a factor > 0" in capsys.readouterr().err


def test_the_nightly_takes_time_algoperf_and_names_a_wrong_clock(tmp_path):
    specs = write_specs(tmp_path)
    path = tmp_path / "nightly.toml"
    body = f'\n[[report]]\nname = "toy"\nspecs = ["{specs[0].name}"]\n'
    path.write_text(f'[nightly]\ntime = "algoperf"\n{body}')
    assert load_nightly(path).time == "algoperf"
    path.write_text(f'[nightly]\ntime = "algoperff"\n{body}')
    with pytest.raises(SpecError) as e:
        load_nightly(path)
    assert (
        'nightly.toml:2:8: nightly.time: expected "steps", "seconds" or "algoperf", '
        'found "algoperff"'
    ) in e.value.render()
    assert 'did you mean "algoperf"?' in e.value.render()


def test_scoring_on_algoperf_clock_imports_no_jax():
    code = (
        "import sys\n"
        "sys.path.insert(0, 'tests')\n"
        "from test_algoperf_clock import history\n"
        "from hpbench.scoring import score_results\n"
        "scores = score_results([history(2.0)], time='algoperf')\n"
        "assert scores.rows[0].algoperf == 6.5\n"
        "assert 'jax' not in sys.modules, 'jax imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

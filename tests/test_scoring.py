"""Time to target of a trial and the scores table, on results built by hand (no training)."""

import math
import subprocess
import sys

import numpy as np
import pytest
from rich.console import Console
from scoring_helpers import make_result, reaching_at

from hpbench.plan import Target
from hpbench.scoring import (
    default_labels,
    median_over_seeds,
    score_results,
    score_trial,
    scores_table,
)

# --- one trial ---------------------------------------------------------------------------


def test_first_evaluation_at_target_gives_steps_seconds_and_fraction():
    # evals at steps 10, 20, 30, 40 (0.5 s per step); the target 0.5 (min) is first met at 30.
    result = make_result([0.9, math.nan, 0.45, 0.3], horizon=0.5, max_steps=120)
    score = score_trial(result)
    assert (score.steps, score.seconds) == (30.0, 15.0)
    assert score.step_fraction == 30 / 60  # T = horizon_steps = round(0.5 * 120)
    assert score.best_metric == 0.3
    assert score.outcome == "reached"


def test_equal_to_target_counts_in_both_directions():
    ssim = Target("ssim", 0.7, "max")
    assert score_trial(make_result([0.5, 0.7, 0.8], target=ssim)).steps == 20
    assert score_trial(make_result([0.6, 0.5], target=Target("wer", 0.5, "min"))).steps == 20


def test_shortfall_is_signed_toward_missing_in_both_directions():
    wer, ssim = Target("wer", 0.25, "min"), Target("ssim", 0.8, "max")
    assert wer.shortfall(0.3) == pytest.approx(0.05)  # misses by 0.05 WER
    assert wer.shortfall(0.2) == pytest.approx(-0.05)  # passes
    assert ssim.shortfall(0.75) == pytest.approx(0.05)  # misses by 0.05 SSIM
    assert ssim.shortfall(0.9) == pytest.approx(-0.1)
    assert wer.shortfall(0.25) == 0 and not wer.shortfall(0.25) > 0
    for target, value in ((wer, 0.3), (wer, 0.2), (ssim, 0.75), (ssim, 0.9)):
        assert (target.shortfall(value) <= 0) == target.reached(value)


def test_nan_never_reaches_and_is_ignored_by_best_metric():
    ssim = Target("ssim", 0.7, "max")
    score = score_trial(make_result([math.nan, 0.6, math.nan], target=ssim))
    assert math.isinf(score.steps) and math.isinf(score.seconds)
    assert math.isinf(score.step_fraction)
    assert score.best_metric == 0.6
    assert score.outcome == "missed"
    assert math.isnan(score_trial(make_result([math.nan], target=ssim)).best_metric)


def test_time_to_target_agrees_with_target_reached():
    rng = np.random.default_rng(0)
    for direction in ("min", "max"):
        target = Target("loss", 0.5, direction)
        for _ in range(50):
            values = list(rng.choice([0.2, 0.5, 0.8, math.nan], size=6))
            first = next((k for k, v in enumerate(values) if target.reached(v)), None)
            steps = score_trial(make_result(values, target=target)).steps
            assert steps == (math.inf if first is None else 10 * (first + 1))


@pytest.mark.parametrize(
    ("values", "state", "outcome"),
    [
        ([0.9, 0.4], "diverged", "reached"),  # reached, then diverged: still reached
        ([0.9], "done", "missed"),
        ([0.9, math.nan], "diverged", "diverged"),
        ([], "failed", "failed"),
        ([0.9], "interrupted", "incomplete"),
        ([], "pending", "incomplete"),
    ],
)
def test_outcome(values, state, outcome):
    assert score_trial(make_result(values, state=state)).outcome == outcome


def test_failed_trial_keeps_its_reason():
    score = score_trial(make_result([], state="failed", reason="out of memory"))
    assert (score.outcome, score.reason) == ("failed", "out of memory")


def test_median_over_seeds_counts_a_miss_as_infinity():
    assert median_over_seeds([30, math.inf, 10]) == 30
    assert median_over_seeds([10, 20]) == 15
    assert median_over_seeds([10, math.inf]) == math.inf  # np.median: (10 + inf) / 2
    assert median_over_seeds([math.inf] * 3) == math.inf


# --- the scores table --------------------------------------------------------------------


def test_row_is_median_over_seeds_of_the_fastest_trial_per_seed():
    results = [
        reaching_at(30, seed=0),
        reaching_at(20, seed=0, hyperparameters={"learning_rate": 3e-3}),  # same seed: a study
        reaching_at(None, seed=1),
        reaching_at(10, seed=2),
    ]
    scores = score_results(results, labels={r.id: "list" for r in results})
    row = scores.row("list", "criteo")
    # per seed: min(30, 20) = 20, inf, 10 -> median 20
    assert (row.seeds, row.trials) == (3, 4)
    assert (row.steps, row.seconds, row.step_fraction) == (20.0, 10.0, 0.2)
    assert (row.reached, row.missed) == (3, 1)
    assert row.best_metric == 0.4


def test_best_metric_is_median_over_seeds_of_the_best_in_its_direction():
    bleu = Target("bleu", 30.0, "max")
    results = [
        make_result([10.0, 25.0, 20.0], seed=0, target=bleu),
        make_result([28.0, math.nan], seed=1, target=bleu),
        make_result([31.0, 33.0], seed=2, target=bleu),
    ]
    row = score_results(results).row("nadamw", "criteo")
    assert row.best_metric == 28.0  # median of 25, 28, 33
    assert row.steps == math.inf  # median of inf, inf, 10
    assert (row.reached, row.missed) == (1, 2)


def test_counts_every_outcome():
    results = [
        make_result([0.4], seed=0),
        make_result([0.9], seed=1),
        make_result([math.nan], seed=2, state="diverged"),
        make_result([], seed=3, state="failed"),
        make_result([0.9], seed=4, state="running"),
    ]
    row = score_results(results).row("nadamw", "criteo")
    counts = (row.reached, row.missed, row.diverged, row.failed, row.incomplete)
    assert counts == (1, 1, 1, 1, 1)


def test_hand_worked_pool_scores_and_normalised_times():
    # steps to target:      criteo  fastmri  ogbg
    #   adamw                  100      200   inf
    #   nadamw                 100      inf   inf     (tie on criteo)
    #   prodigy                150     1000   inf     (1000 > 4 x 200: cut off)
    table = {
        "adamw": (100, 200, None),
        "nadamw": (100, None, None),
        "prodigy": (150, 1000, None),
    }
    results = [
        reaching_at(step, algorithm=algorithm, workload=workload)
        for algorithm, steps in table.items()
        for workload, step in zip(("criteo", "fastmri", "ogbg"), steps, strict=True)
    ]
    scores = score_results(results)
    assert scores.labels == ("adamw", "nadamw", "prodigy")
    assert scores.base_workloads == ("criteo", "fastmri", "ogbg")
    np.testing.assert_array_equal(
        scores.matrix("normalized_time"),
        [[1, 1, math.inf], [1, math.inf, math.inf], [1.5, math.inf, math.inf]],
    )
    # exact area / 3 per workload: r = 1 -> 1, r = 1.5 -> 2.5 / 3; 1.5 lies halfway between
    # two grid points, where the trapezoid rule is exact.
    expected = {"adamw": 2 / 3, "nadamw": 1 / 3, "prodigy": 2.5 / 9}
    for integral in ("trapezoid", "exact"):
        scores = score_results(results, integral=integral)
        for label, value in expected.items():
            assert scores.benchmark[label] == pytest.approx(value, abs=1e-12)


def test_single_algorithm_scores_the_fraction_of_workloads_it_reached():
    results = [
        reaching_at(10, workload="criteo"),
        reaching_at(None, workload="fastmri"),
        reaching_at(30, workload="ogbg"),
    ]
    scores = score_results(results)
    assert scores.benchmark == {"nadamw": pytest.approx(2 / 3, abs=1e-12)}
    assert scores.profile.rho.shape == (1, 100)
    assert scores.profile.rho[0, 0] == pytest.approx(2 / 3)


def test_missed_variant_makes_its_base_count_as_missed():
    results = [
        reaching_at(100, algorithm="adamw", workload="criteo"),
        reaching_at(None, algorithm="adamw", workload="criteo", variant="layernorm"),
        reaching_at(200, algorithm="nadamw", workload="criteo"),
        reaching_at(50, algorithm="nadamw", workload="criteo", variant="layernorm"),
    ]
    scores = score_results(results)
    assert scores.workloads == ("criteo", "criteo/layernorm")
    assert scores.base_workloads == ("criteo",)
    assert scores.benchmark == {"adamw": 0.0, "nadamw": pytest.approx(1.0)}
    assert scores.row("adamw", "criteo").normalized_time == math.inf
    assert scores.row("adamw", "criteo").steps == 100  # the row itself keeps its time
    assert math.isnan(scores.row("nadamw", "criteo/layernorm").normalized_time)


def test_variant_without_its_base_is_left_out_of_the_profile():
    results = [reaching_at(10, workload="criteo"), reaching_at(10, workload="ogbg", variant="gelu")]
    scores = score_results(results)
    assert scores.workloads == ("criteo", "ogbg/gelu")
    assert scores.base_workloads == ("criteo",)
    assert scores.benchmark["nadamw"] == pytest.approx(1.0)


def test_workload_nobody_reached_counts_for_nobody_without_warnings():
    results = [
        reaching_at(None, algorithm=a, workload=w) for a in ("adamw", "nadamw") for w in ("a", "b")
    ]
    with np.errstate(all="raise"):
        scores = score_results(results)
    assert scores.benchmark == {"adamw": 0.0, "nadamw": 0.0}
    assert np.all(np.isinf(scores.profile.ratios))


def test_workload_not_run_by_one_algorithm_is_nan_in_matrix_and_missed_in_profile():
    results = [
        reaching_at(10, algorithm="adamw", workload="criteo"),
        reaching_at(10, algorithm="adamw", workload="ogbg"),
        reaching_at(25, algorithm="nadamw", workload="criteo"),
    ]
    scores = score_results(results)
    assert scores.row("nadamw", "ogbg") is None
    assert math.isnan(scores.matrix("steps")[1, 1])
    # r = 2.5 lies halfway between grid points: the trapezoid rule is exact there.
    assert scores.benchmark["nadamw"] == pytest.approx((4 - 2.5) / 3 / 2, abs=1e-12)


def test_seconds_time_column():
    # 0.5 s per step; adamw is faster in steps but slower in seconds.
    results = [
        reaching_at(10, algorithm="adamw", seconds_per_step=2.0),
        reaching_at(20, algorithm="nadamw", seconds_per_step=0.5),
    ]
    by_steps = score_results(results, time="steps")
    by_seconds = score_results(results, time="seconds")
    assert by_steps.benchmark["adamw"] == pytest.approx(1.0)
    assert by_seconds.benchmark["nadamw"] == pytest.approx(1.0)
    assert by_seconds.row("adamw", "criteo").normalized_time == 2.0


def test_explicit_labels_keep_their_order_and_merge_trials():
    results = [
        reaching_at(20, algorithm="prodigy", workload="criteo"),
        reaching_at(10, algorithm="adamw", workload="criteo"),
        reaching_at(30, algorithm="adamw", workload="ogbg"),
    ]
    labels = {results[0].id: "spec-b", results[1].id: "spec-a", results[2].id: "spec-a"}
    scores = score_results(results, labels={k: labels[k] for k in sorted(labels, reverse=True)})
    assert set(scores.labels) == {"spec-a", "spec-b"}
    assert scores.labels == tuple(dict.fromkeys(labels[k] for k in sorted(labels, reverse=True)))
    assert scores.label_of[results[2].id] == "spec-a"
    assert scores.row("spec-a", "ogbg").steps == 30
    by_function = score_results(results, labels=lambda trial: trial.algorithm.upper())
    assert by_function.labels == ("ADAMW", "PRODIGY")


def test_default_labels_name_only_the_settings_that_differ():
    results = [
        reaching_at(10, algorithm="nadamw", hyperparameters={"learning_rate": 1e-3, "b1": 0.9}),
        reaching_at(10, algorithm="nadamw", hyperparameters={"learning_rate": 3e-3, "b1": 0.9}),
        reaching_at(10, algorithm="prodigy", hyperparameters={"d0": 1e-6}, seed=1),
        reaching_at(10, algorithm="prodigy", hyperparameters={"d0": 1e-6}, seed=2),
    ]
    labels = default_labels(r.trial for r in results)
    assert [labels[r.id] for r in results] == [
        "nadamw(learning_rate=0.001)",
        "nadamw(learning_rate=0.003)",
        "prodigy",
        "prodigy",
    ]


def test_mixed_sizes_are_separate_workloads():
    results = [reaching_at(10, size="mini"), reaching_at(10, size="small")]
    assert score_results(results).workloads == ("criteo@mini", "criteo@small")


def test_different_targets_on_one_workload_are_an_error():
    results = [
        reaching_at(10, seed=0),
        make_result([0.4], seed=1, target=Target("error_rate", 0.3, "min")),
    ]
    with pytest.raises(ValueError, match="different targets"):
        score_results(results)


def test_bad_time_column_is_an_error():
    with pytest.raises(ValueError, match="time must be one of"):
        score_results([reaching_at(10)], time="wallclock")


def test_scores_table_lists_every_label_best_first():
    # nadamw reached criteo at 5x adamw's time: reached, but cut off (inf) in the profile
    results = [
        reaching_at(10, algorithm="adamw", workload="criteo"),
        reaching_at(50, algorithm="nadamw", workload="criteo"),
        reaching_at(30, algorithm="adamw", workload="ogbg"),
        reaching_at(60, algorithm="nadamw", workload="ogbg"),
    ]
    console = Console(record=True, width=120)
    console.print(scores_table(score_results(results)))
    lines = console.export_text().splitlines()
    adamw = next(line for line in lines if "adamw" in line and "nadamw" not in line)
    nadamw = next(line for line in lines if "nadamw" in line)
    assert lines.index(adamw) < lines.index(nadamw)
    assert [cell.strip() for cell in adamw.split("│")[2:6]] == ["1.0000", "2/2", "1.00", "1.00"]
    assert [cell.strip() for cell in nadamw.split("│")[3:6]] == ["2/2", "inf", "2.00"]


def test_scoring_does_not_import_jax():
    code = (
        "import sys, hpbench.scoring; "
        "assert not [m for m in sys.modules if m == 'jax' or m.startswith('jax.')]"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_results_given_by_trial_id_score_the_same():
    results = [reaching_at(10, algorithm="adamw"), reaching_at(30, algorithm="nadamw")]
    by_id = score_results({r.id: r for r in results})
    assert by_id.benchmark == score_results(results).benchmark
    assert by_id.label_of == {results[0].id: "adamw", results[1].id: "nadamw"}


def test_matrix_names_the_numeric_fields_on_a_typo():
    scores = score_results([reaching_at(10)])
    assert scores.matrix("reached").tolist() == [[1.0]]
    with pytest.raises(ValueError, match="step_fraction"):
        scores.matrix("step_fractions")


def test_speedup_between_two_labels_in_steps():
    # adamw: 50 and 100 steps; nadamw: 100 and inf (T = 100, so a miss counts 101)
    results = [
        reaching_at(50, algorithm="adamw", workload="a"),
        reaching_at(100, algorithm="adamw", workload="b"),
        reaching_at(100, algorithm="nadamw", workload="a"),
        reaching_at(None, algorithm="nadamw", workload="b"),
        reaching_at(10, algorithm="nadamw", workload="c"),  # adamw did not run c
    ]
    scores = score_results(results)
    assert scores.speedup("adamw", "nadamw") == pytest.approx(math.sqrt(2 * 1.01))
    assert scores.speedup("nadamw", "adamw") == pytest.approx(1 / math.sqrt(2 * 1.01))
    with pytest.raises(ValueError, match="share no base workload"):
        score_results(results[2:]).speedup("adamw", "nadamw")


def test_empty_pool_scores_nothing():
    scores = score_results([])
    assert (scores.labels, scores.workloads, scores.benchmark) == ((), (), {})
    assert scores.profile.rho.shape == (0, 100)


def test_row_times_are_numpys_median_of_each_seeds_fastest_trial():
    """A row's times and best metric on pools where seeds repeat (a seed's trials are one
    study: its fastest counts) and some miss, against ``np.median`` computed here."""
    rng = np.random.default_rng(1)
    for _ in range(40):
        results = [
            reaching_at(
                int(rng.choice([3, 5, 8, 9])) if rng.random() < 0.7 else None,
                seed=int(rng.integers(0, 3)),
                hyperparameters={"learning_rate": float(k)},
            )
            for k in range(int(rng.integers(1, 9)))
        ]
        row = score_results(results, lambda t: "a").row("a", "criteo")
        studies: dict[int, list[float]] = {}
        best: dict[int, list[float]] = {}
        for r in results:
            reached = [e.step for e in r.evals if e.metrics["error_rate"] <= 0.5]
            studies.setdefault(r.trial.seed, []).append(reached[0] if reached else math.inf)
            best.setdefault(r.trial.seed, []).append(min(e.metrics["error_rate"] for e in r.evals))
        fastest = [min(times) for times in studies.values()]
        assert row.steps == float(np.median(fastest))
        assert row.seconds == float(np.median([0.5 * t for t in fastest]))
        assert row.step_fraction == float(np.median([t / 100 for t in fastest]))
        assert row.best_metric == float(np.median([min(b) for b in best.values()]))
        assert (row.seeds, row.trials) == (len(studies), len(results))
        assert row.reached + row.missed == len(results)
        assert row.reached == sum(
            1 for r in results if min(e.metrics["error_rate"] for e in r.evals) <= 0.5
        )

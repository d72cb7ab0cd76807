"""benchmarks/seed_spread.py: the variance split worked by hand, the reruns and winners read
from a suite's targets provenance, and a resampled validation set scored as by hand."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks import seed_spread
from benchmarks.bench_criteria import SUITE, suite_targets, train
from benchmarks.bench_hardness import seed_values


def test_split_variance_by_hand():
    # reruns 1, 2, 3, 4, 5: sample variance 2.5; paired differences -1, 1, -1, 1: sample
    # variance 4/3, one model's share half of it
    split = seed_spread.split_variance([1.0, 2.0, 3.0, 4.0, 5.0], [-1.0, 1.0, -1.0, 1.0])
    assert split["seeds"] == pytest.approx(2.5)
    assert split["sample"] == pytest.approx(2 / 3)
    assert split["training"] == pytest.approx(2.5 - 2 / 3)
    # a sample part larger than the seeds' variance leaves no training part, not a negative one
    assert seed_spread.split_variance([1.0, 1.1], [-3.0, 3.0])["training"] == 0.0


def test_reruns_and_winners_come_from_the_suite_provenance():
    # seed_spread reads both from the block `hpbench targets --write` puts in a suite file:
    # the default suite's and a lever suite's (its own block, not the suite it extends)
    suite = seed_values(SUITE)
    assert len(suite) == 8
    assert suite["imagenet_resnet"] == [0.3711, 0.4146, 0.374, 0.3613, 0.3706]  # graded-6
    steps2 = SUITE.parent.parent / "levers" / "steps2" / "suite.toml"
    assert seed_values(steps2) == {
        "ogbg": [0.8177, 0.8174, 0.8414, 0.8027, 0.8111],
        "wmt": [53.16, 52.22, 51.71, 49.66, 52.22],
    }
    assert suite_targets(steps2)["wmt"][1]["learning_rate"] == 0.006158


def test_resampled_validation_rows_score_as_by_hand():
    import jax

    from hpbench.workloads.registry import load_workload

    workload = load_workload("toy_mlp", "mini")
    params, state = workload.init(jax.random.key(0))
    logits = workload.model().apply({"params": params}, workload.data["valid_x"])
    wrong = np.argmax(np.asarray(logits), -1) != workload.data["valid_labels"]
    rows = seed_spread.validation_rows(workload)
    assert rows == len(wrong)
    drawn = np.random.default_rng(1).integers(0, rows, rows)
    resampled = seed_spread.resample(workload, drawn)
    assert resampled.evaluate(params, state)["error_rate"] == pytest.approx(wrong[drawn].mean())
    assert workload.evaluate(params, state)["error_rate"] == pytest.approx(wrong.mean())
    np.testing.assert_array_equal(resampled.data["train_x"], workload.data["train_x"])


def test_expected_range_of_5_seeds_by_hand():
    split = {"training": 0.0009, "sample": 0.0016}  # sd 0.03 and 0.04: 0.05 together
    assert seed_spread.expected_range(split, 1) == pytest.approx(2.326 * 0.05)
    assert seed_spread.expected_range(split, 0.25) == pytest.approx(2.326 * 0.0013**0.5)
    assert seed_spread.expected_range(split, 0) == pytest.approx(2.326 * 0.03)


def toy_suite(tmp_path, train_rows: int):
    """A one-workload suite training toy_mlp on its first ``train_rows`` rows."""
    path = tmp_path / "suite.toml"
    path.write_text(
        '[benchmark]\nname = "toy_rows"\ndescription = "toy_mlp on its first rows"\n'
        'owner = "hpbench"\n\n[workloads.toy_mlp]\nsize = "mini"\nmax_steps = 40\n'
        f"batch_size = 64\ntrain_rows = {train_rows}\n"
        'target = { metric = "error_rate", value = 0.06 }\n'
    )
    return path


def test_fresh_rows_are_the_untrained_tail_of_the_training_split(tmp_path):
    from hpbench.workloads.registry import load_workload

    whole = load_workload("toy_mlp", "mini").data
    fresh = seed_spread.fresh_validation("toy_mlp", toy_suite(tmp_path, 1536), 512)
    assert sorted(fresh) == ["valid_labels", "valid_x"]
    np.testing.assert_array_equal(fresh["valid_x"], whole["train_x"][-512:])
    np.testing.assert_array_equal(fresh["valid_labels"], whole["train_labels"][-512:])
    with pytest.raises(ValueError, match="no 600 untrained rows"):  # 1536 + 600 > 2048
        seed_spread.fresh_validation("toy_mlp", toy_suite(tmp_path, 1536), 600)


def test_fresh_check_scores_each_seed_on_the_split_and_on_fresh_rows(tmp_path):
    point = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "warmup": 0.05}
    check = seed_spread.fresh_check("toy_mlp", [0, 1], 1024, toy_suite(tmp_path, 1024), point)
    assert check["rows"] == (512, 1024)
    assert [len(check[k]) for k in ("valid", "fresh", "larger")] == [2, 2, 2]
    # error rates of 512 and 1024 rows: counts over the rows, and a trained model's
    assert all((v * 512).is_integer() for v in check["valid"] + check["fresh"])
    assert all((v * 1024).is_integer() for v in check["larger"])
    assert max(check["valid"] + check["larger"]) < 0.5


def test_spread_over_gap_by_hand():
    # error rates (lower is better): target = median 0.42, spread 0.45 - 0.40, naive median
    # 0.50, gap 0.50 - 0.42 = 0.08, ratio 0.05 / 0.08
    tuned, naive = [0.40, 0.42, 0.41, 0.45, 0.43], [0.50, 0.48, 0.52]
    found = seed_spread.spread_over_gap(tuned, naive, "min")
    expected = {"target": 0.42, "spread": 0.05, "naive": 0.5, "gap": 0.08, "ratio": 0.625}
    assert found == pytest.approx(expected)
    # a metric to maximise, naive Adam above the target: the gap and the ratio turn negative
    found = seed_spread.spread_over_gap([30.0, 32.0, 31.0], [35.0], "max")
    expected = {"target": 31.0, "spread": 2.0, "naive": 35.0, "gap": -4.0, "ratio": -0.5}
    assert found == pytest.approx(expected)


def test_same_models_are_counted_once():
    assert seed_spread.same_models([0.1874, 0.1599], [0.18741, 0.15992])  # 4 digits kept
    # DeepSpeech's: 4 of 5 seeds identical, rounding parted seed 3's run
    engine, bench = (
        [0.2058, 0.2687, 0.2451, 0.2359, 0.2765],
        [0.2058, 0.2687, 0.2451, 0.2372, 0.2765],
    )
    assert seed_spread.same_models(engine, bench)
    assert not seed_spread.same_models([0.4111, 0.4199, 0.4097], [0.4131, 0.4121, 0.4097])


def test_pooled_sd_by_hand():
    # deviations about each mean: (-1, 0, 1) and (-2, 2): squares 2 + 8 over 2 + 1 dof
    assert seed_spread.pooled_sd([1.0, 2.0, 3.0], [8.0, 12.0]) == pytest.approx((10 / 3) ** 0.5)


def test_fresh_criterion_scores_the_same_models_on_the_split_and_on_fresh_rows(tmp_path):
    """The bench loop draws the engine's keys, so on the split these are the engine's trials;
    both sets of rows score each evaluation of the same curves."""
    point = {"learning_rate": 1e-2, "beta1": 0.9, "beta2": 0.999, "warmup": 0.05}
    suite = toy_suite(tmp_path, 1024)
    found = seed_spread.fresh_criterion("toy_mlp", 2, suite, point, (0, 1, 2), (2,))
    assert found["rows"] == (512, 1024)
    bests = found["bests"]
    assert [len(bests[arm, i]) for arm in ("tuned", "naive") for i in (0, 1)] == [3, 3, 1, 1]
    assert all((v * 512).is_integer() for v in bests["tuned", 0] + bests["naive", 0])
    assert all((v * 1024).is_integer() for v in bests["tuned", 1] + bests["naive", 1])
    for i, key in ((0, "split"), (1, "fresh")):
        expected = seed_spread.spread_over_gap(bests["tuned", i], bests["naive", i], "min")
        assert found[key] == expected
    engine = [0.1, 0.12, 0.11, 0.1, 0.13]
    row = seed_spread.render_criterion([found], {"toy_mlp": engine}).splitlines()[-1]
    sd = seed_spread.pooled_sd(engine, bests["tuned", 0])
    gap = found["split"]["gap"]
    assert f"| {sd:.3g}, {seed_spread.RANGE_OF_5 * sd / gap:.2f} |" in row
    # factor 0: the split alone, the same curves
    alone = seed_spread.fresh_criterion("toy_mlp", 0, suite, point, (0, 1, 2), (2,))
    assert alone["rows"] == (512, 0) and alone["split"] == found["split"]
    assert "| none |" in seed_spread.render_criterion([alone])
    # the split's tuned bests are the quarter runs' own (train, seed by seed)
    workload, hp, warmup, quarter = seed_spread.winner_over_the_quarter("toy_mlp", suite, point)
    every = max(1, round(0.02 * 4 * quarter))
    run = train(workload, "nadamw", hp, "warmup_cosine", warmup, quarter, 1, every)[1]
    assert bests["tuned", 0][1] == min(run)

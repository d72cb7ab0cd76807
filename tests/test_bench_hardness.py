"""benchmarks/bench_hardness.py's relative misses: Table 4's full-size medians worked by hand,
and an arm's median miss over seeds read from a synthetic store with known curves."""

from __future__ import annotations

import math

import pytest

from benchmarks import bench_hardness
from benchmarks.synthetic_results import curve_value, make_result, write_result
from hpbench.api import plan
from hpbench.plan import Target, point_key
from hpbench.report.papers import TABLE_4_NAIVE_BEST, relative_miss, table_4_naive_miss

ROOT = bench_hardness.ROOT
NEVER = 2.0  # a synthetic curve with reach > 1 never crosses its target


def test_relative_miss_is_signed_toward_falling_short():
    assert relative_miss(0.5, "min", 0.4) == pytest.approx(0.25)  # error 0.5 vs 0.4: short
    assert relative_miss(0.3, "min", 0.4) == pytest.approx(-0.25)  # passes
    assert relative_miss(27.0, "max", 30.0) == pytest.approx(0.1)  # BLEU 27 vs 30: short
    assert relative_miss(33.0, "max", 30.0) == pytest.approx(-0.1)


def test_table_4_naive_medians_by_hand():
    # criteo: the 10 naive rows sorted 0.1236, 0.1238, 0.1240, 0.1240, 0.1241, 0.1241, ...:
    # median 0.1241 against Table 2's 0.1236; fastmri: 0.719 and 0.721 in the middle, 0.720
    # against 0.724 (higher is better)
    miss = table_4_naive_miss()
    assert len(TABLE_4_NAIVE_BEST) == 10
    assert miss["criteo"] == pytest.approx((0.1241 - 0.1236) / 0.1236)
    assert miss["fastmri"] == pytest.approx((0.724 - 0.720) / 0.724)
    # wmt: 0.57 .. 28.63 BLEU; the middle two 4.50 and 11.94 against 30.85
    assert miss["wmt"] == pytest.approx((30.85 - (4.50 + 11.94) / 2) / 30.85)
    assert all(m > 0 for m in miss.values())  # at full size the typical naive method misses


def test_arm_misses_median_over_seeds(tmp_path):
    spec = ROOT / "specs" / "findings" / "naive_adam.toml"
    trials = plan(spec).trials
    reach = {2: 0.5, 3: 0.5, 4: NEVER, 5: 0.5, 6: NEVER}  # criteo: seeds 2, 3 and 5 reach
    for trial in trials:
        if trial.workload == "criteo":
            write_result(make_result(trial, reach[trial.seed]), tmp_path)
    rows = bench_hardness.arm_misses(spec, tmp_path)
    assert set(rows) == {"criteo"}  # the workloads with no finished trial are left out
    miss, reached, seeds = rows["criteo"]
    assert (reached, seeds) == (3, 5)
    trial = next(t for t in trials if t.workload == "criteo")
    last = trial.horizon_steps - trial.horizon_steps % trial.eval_every
    best = curve_value(trial, last, 0.5)  # the curves fall monotonically: best at the end
    assert miss == pytest.approx((best - trial.target.value) / trial.target.value)
    assert miss < 0
    text = bench_hardness.misses_markdown({"findings/naive_adam": rows})
    assert f"{miss:+.1%} (3/5)" in text
    assert f"{table_4_naive_miss()['criteo']:+.1%}" in text
    assert not math.isnan(miss)


def test_graded_ceiling_exports_the_whole_budget_trials_no_spec_names(tmp_path, capsys):
    from benchmarks import graded_ceiling
    from hpbench.results.archive import import_results
    from hpbench.search.targets import Rerun

    spec = ROOT / "specs" / "targets_graded.toml"
    first = {}
    for trial in plan(spec).trials:
        first.setdefault(trial.workload, trial)
    store = tmp_path / "results"
    for trial in first.values():  # each workload's search winner: its only finished point
        write_result(make_result(trial, 0.5), store)
    rerun = Rerun((0, 1, 2, 3, 4), 0.25)
    whole, reruns = graded_ceiling.winners_and_reruns(spec, (0, 1, 2), rerun, store)
    assert len(whole) == 3 * len(first) and {t.horizon for t in whole} == {1.0}
    (second,) = graded_ceiling.winners_as(spec, (Rerun((5, 6), 0.25),), store)
    assert {(t.seed, t.horizon) for t in second} == {(5, 0.25), (6, 0.25)}
    assert {point_key(t) for t in second} == {point_key(t) for t in reruns}  # the same points
    for trial in (*whole, *reruns, *second):  # already trained: main trains nothing
        write_result(make_result(trial, 0.5), store)
    archive = tmp_path / "ceiling.tar.xz"
    args = ["--results", str(store), "--export", str(archive), "--second-seeds", "5,6"]
    graded_ceiling.main(args)
    out = capsys.readouterr().out
    assert f"{archive}: 40 trials (24 whole-budget, 16 of the second sample)" in out
    assert "| workload | target | reruns' seeds: bests (spread) | second sample" in out
    restored = import_results(archive, tmp_path / "restored").restored
    assert sorted(restored) == sorted(t.id for t in (*whole, *second))


def test_second_sample_reads_spread_over_gap_twice_and_pooled(tmp_path):
    from benchmarks import graded_ceiling
    from hpbench.results import read_planned
    from hpbench.search.targets import Rerun

    spec = ROOT / "specs" / "targets_graded.toml"
    winner = next(t for t in plan(spec).trials if t.workload == "criteo")
    reruns = Rerun((0, 1, 2, 3, 4), 0.25).trials(winner)
    second = Rerun((5, 6, 7, 8, 9), 0.25).trials(winner)
    naive = [
        t for t in plan(ROOT / "specs/findings/naive_adam.toml").trials if t.workload == "criteo"
    ]
    reach = dict(zip(range(10), (0.5, 0.6, 0.7, 0.55, 0.65, 0.4, 0.5, 0.9, 0.6, 0.7), strict=True))
    for trial in (*reruns, *second):
        write_result(make_result(trial, reach[trial.seed]), tmp_path)
    for trial in naive:
        write_result(make_result(trial, 1.5), tmp_path)
    trials = [*reruns, *second, *naive]
    (row,) = graded_ceiling.second_sample(reruns, second, naive, read_planned(tmp_path, trials))

    def best(trial, r):  # the synthetic curves fall monotonically: best at the horizon's end
        return curve_value(trial, trial.horizon_steps - trial.horizon_steps % trial.eval_every, r)

    a = [best(reruns[0], reach[s]) for s in range(5)]
    b = [best(second[0], reach[s]) for s in range(5, 10)]
    gap = best(naive[0], 1.5) - winner.target.value  # criteo: lower is better
    assert row["first"] == pytest.approx(a) and row["second"] == pytest.approx(b)
    assert row["first_ratio"] == pytest.approx((max(a) - min(a)) / gap)
    assert row["second_ratio"] == pytest.approx((max(b) - min(b)) / gap)
    mean_a, mean_b = sum(a) / 5, sum(b) / 5
    squares = sum((x - mean_a) ** 2 for x in a) + sum((x - mean_b) ** 2 for x in b)
    assert row["pooled_sd"] == pytest.approx((squares / 8) ** 0.5)
    assert row["pooled_ratio"] == pytest.approx(2.326 * (squares / 8) ** 0.5 / gap)
    assert gap > 0  # naive Adam's curves stop short of the target: a positive gap


def test_graded_ceiling_reads_best_metrics_per_workload_and_seed(tmp_path):
    from benchmarks import graded_ceiling
    from hpbench.results import read_planned

    spec = ROOT / "specs" / "findings" / "naive_adam.toml"
    reach = {2: 0.5, 3: 0.9, 4: NEVER}  # seeds 2-4 of the arm's five
    trials = [t for t in plan(spec).trials if t.workload in ("criteo", "wmt") and t.seed in reach]
    for trial in trials:
        write_result(make_result(trial, reach[trial.seed]), tmp_path)
    metrics = graded_ceiling.best_metrics(trials, read_planned(tmp_path, trials))
    assert set(metrics) == {"criteo", "wmt"}
    for workload, values in metrics.items():
        trial = next(t for t in trials if t.workload == workload)
        last = trial.horizon_steps - trial.horizon_steps % trial.eval_every
        assert values == pytest.approx([curve_value(trial, last, reach[s]) for s in (2, 3, 4)])
        # the median seed is seed 3's curve (reach 0.9): it passes the target by its end
        miss = graded_ceiling.median_miss(values, trial.target)
        assert miss == pytest.approx(
            relative_miss(values[1], trial.target.direction, trial.target.value)
        )
        assert miss < 0
    assert math.isnan(graded_ceiling.median_miss([], trials[0].target))


def test_lr_landscape_medians_per_learning_rate_and_the_lists_best(tmp_path):
    from benchmarks import lr_landscape

    sweep = ROOT / "specs" / "findings" / "lr_sweep_wd_low.toml"
    listed = ROOT / "specs" / "findings" / "nadamw_list5.toml"
    # criteo (lower is better): the sweep's curves reach further the larger the learning
    # rate; the list's points all stop short of the sweep's best
    reach = dict(
        zip(
            sorted({t.params["learning_rate"] for t in plan(sweep).trials}),
            (NEVER, 1.6, 1.2, 0.9, 0.6),
            strict=True,
        )
    )
    sweep_trials = [t for t in plan(sweep).trials if t.workload == "criteo"]
    for trial in sweep_trials:
        write_result(make_result(trial, reach[trial.params["learning_rate"]]), tmp_path)
    list_trials = [t for t in plan(listed).trials if t.workload == "criteo"]
    for trial in list_trials:
        write_result(make_result(trial, 1.2), tmp_path)
    by_lr = lr_landscape.metrics_by_lr(plan(sweep), tmp_path)["criteo"]
    assert list(by_lr) == sorted(reach)  # the five learning rates, ascending
    trial = sweep_trials[0]
    last = trial.horizon_steps - trial.horizon_steps % trial.eval_every
    # every seed of one learning rate has the same curve: the median is that curve's end
    assert by_lr[0.01] == pytest.approx(curve_value(trial, last, 0.6))
    lower, higher = Target("cross_entropy", 0.4, "min"), Target("map", 0.4, "max")
    assert lr_landscape.best(by_lr, lower) == (0.01, by_lr[0.01])
    assert lr_landscape.best({0.1: math.nan, 0.2: 1.0}, lower) == (0.2, 1.0)  # nan is worst
    assert lr_landscape.best({0.1: math.nan, 0.2: 1.0}, higher) == (0.2, 1.0)
    text = lr_landscape.landscape_markdown("synthetic", sweep, listed, tmp_path)
    assert "| criteo |" in text
    assert "on 0 of 1 workloads" in text  # 1e-2 lies above the published list's range
    assert "reaches the suite's target on 0 of 1" in text  # reach 1.2: never crosses it
    listed_best = curve_value(list_trials[0], last, 1.2)
    assert f"{relative_miss(listed_best, 'min', by_lr[0.01]):+.1%}" in text


def test_lr_landscape_ceiling_with_seed_spread_and_an_untuned_arm(tmp_path):
    from benchmarks import lr_landscape

    probe = ROOT / "specs" / "levers" / "point17"
    quarter, whole, naive = (probe / f"{n}.toml" for n in ("quarter", "whole", "naive"))

    def wmt(spec):
        return [t for t in plan(spec).trials if t.workload == "wmt"]

    # wmt (higher BLEU is better): 3 learning rates x seeds 0-2 over the quarter; the middle
    # learning rate reaches furthest, its seeds at reach 0.5, 0.6 and 0.8
    middle = sorted({t.params["learning_rate"] for t in wmt(quarter)})[1]
    reach = {0: 0.5, 1: 0.6, 2: 0.8}
    for trial in wmt(quarter):
        lr = trial.params["learning_rate"]
        write_result(make_result(trial, reach[trial.seed] if lr == middle else 1.5), tmp_path)
    whole_trial = next(t for t in wmt(whole) if t.params["learning_rate"] == middle)
    write_result(make_result(whole_trial, 0.2), tmp_path)
    text = lr_landscape.ceiling_markdown(quarter, whole, tmp_path)
    assert "untuned" not in text  # no untuned arm: no columns for it
    assert "| criteo |" not in text  # a workload with no finished trial is left out
    (naive_trial,) = wmt(naive)
    write_result(make_result(naive_trial, 0.7), tmp_path)
    text = lr_landscape.ceiling_markdown(quarter, whole, tmp_path, naive)
    row = next(line for line in text.splitlines() if line.startswith("| wmt |"))
    trial = next(t for t in wmt(quarter) if t.params["learning_rate"] == middle)
    last = trial.horizon_steps - trial.horizon_steps % trial.eval_every
    seeds = [curve_value(trial, last, r) for r in reach.values()]  # rising curves: best at end
    median, spread = sorted(seeds)[1], max(seeds) - min(seeds)
    longer = curve_value(whole_trial, whole_trial.horizon_steps, 0.2)
    plain = curve_value(naive_trial, naive_trial.horizon_steps, 0.7)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1:4] == [f"{middle:.2g}", f"{median:.4g}", f"{spread:.3g}"]
    assert cells[4:6] == [f"{longer:.4g}", f"{(median - longer) / median:+.1%}"]
    assert cells[6:8] == [f"{plain:.4g}", f"{(median - plain) / median:+.1%}"]
    assert cells[8] == f"{spread / (median - plain):.2f}"  # BLEU: the gap is median - naive
    assert lr_landscape.cell(math.nan, ".2f") == "-"


def test_curve_shape_by_hand():
    from benchmarks.graded_ceiling import curve_shape

    # error 1.0 -> 0.3 over 50 steps, target 0.4: progress 0, 1/14, 2/7, 5/7, 1
    shape = curve_shape(
        [10, 20, 30, 40, 50], [1.0, 0.95, 0.8, 0.5, 0.3], Target("e", 0.4, "min"), 50
    )
    assert (shape["start"], shape["best"]) == (1.0, 0.3)
    assert shape["plateau"] == pytest.approx(30 / 50)  # the first step 10% of the way
    assert shape["jump"] == pytest.approx(5 / 7 - 2 / 7)
    assert shape["position"] == pytest.approx(6 / 7)
    flat = curve_shape([10, 20], [0.5, 0.5], Target("e", 0.4, "min"), 50)  # never moves
    assert math.isnan(flat["plateau"]) and math.isnan(flat["position"])


def test_graded_criteria_from_the_whole_budget_runs_the_reruns_and_naive_adam(tmp_path):
    from benchmarks import graded_ceiling
    from hpbench.results import read_planned
    from hpbench.search.targets import Rerun, rerun_trials

    search = ROOT / "specs" / "levers" / "ceiling_quarter_steps4.toml"  # 2 lrs, 1/4, seed 0
    naive = ROOT / "specs" / "findings" / "naive_adam.toml"
    trials = plan(search).trials
    reach = {min(t.params["learning_rate"] for t in trials): 0.5}  # the winner: 0.8 elsewhere
    for trial in trials:
        write_result(make_result(trial, reach.get(trial.params["learning_rate"], 0.8)), tmp_path)
    found = {t.id: make_result(t, reach.get(t.params["learning_rate"], 0.8)) for t in trials}
    rerun = Rerun((0, 1, 2), 0.25)
    for trial in rerun_trials(plan(search), found, rerun):
        if trial.seed:  # seed 0 is the search's own trial (reach 0.5)
            write_result(make_result(trial, {1: 0.6, 2: 0.7}[trial.seed]), tmp_path)
    for trial in rerun_trials(plan(search), found, Rerun((0,), 1.0)):
        write_result(make_result(trial, 0.3), tmp_path)
    naive_trials = [t for t in plan(naive).trials if t.workload == "criteo"]
    for trial in naive_trials:
        write_result(make_result(trial, NEVER), tmp_path)
    whole, reruns = graded_ceiling.winners_and_reruns(search, (0,), rerun, tmp_path)
    assert {(t.horizon, t.seed) for t in whole} == {(1.0, 0)}
    assert {t.id for t in reruns} == {t.id for t in rerun_trials(plan(search), found, rerun)}
    results = read_planned(tmp_path, [*whole, *reruns, *naive_trials])
    rows = graded_ceiling.criteria(whole, reruns, naive_trials, results)
    assert [r["workload"] for r in rows] == ["criteo"]  # no naive run elsewhere: left out
    row = rows[0]
    quarter = next(t for t in rerun_trials(plan(search), found, rerun) if t.workload == "criteo")

    def best(trial, at):
        return curve_value(trial, trial.horizon_steps - trial.horizon_steps % trial.eval_every, at)

    assert row["quarter"] == pytest.approx([best(quarter, r) for r in (0.5, 0.6, 0.7)])
    gap = best(naive_trials[0], NEVER) - quarter.target.value  # cross-entropy: lower is better
    assert row["spread_over_gap"] == pytest.approx((best(quarter, 0.7) - best(quarter, 0.5)) / gap)
    assert row["seeds"] == 1 and 0 < row["late_gain"] < 1 and 0 < row["position"] < 1
    assert "| criteo | cross_entropy" in graded_ceiling.criteria_markdown(rows)


def test_hardness_counts_points_reaching_and_their_transfer(tmp_path):
    # three search points on three workloads: point 0 reaches criteo, ogbg and wmt; point 1
    # reaches criteo and ogbg; point 2 reaches criteo only and misses the rest
    spec = ROOT / "specs" / "targets_graded.toml"
    trials = plan(spec).trials
    points = list(dict.fromkeys((t.hyperparameters, t.warmup) for t in trials))[:3]
    reaches = {
        "criteo": (0.5, 0.5, 0.5),
        "ogbg": (0.5, 0.5, NEVER),
        "wmt": (0.5, NEVER, NEVER),
    }
    for trial in trials:
        point = (trial.hyperparameters, trial.warmup)
        if trial.workload in reaches and point in points:
            write_result(make_result(trial, reaches[trial.workload][points.index(point)]), tmp_path)
    rows = {r["workload"]: r for r in bench_hardness.hardness(spec, tmp_path)}
    assert len(rows) == 8 and rows["fastmri"]["trained"] == 0
    criteo, ogbg, wmt = rows["criteo"], rows["ogbg"], rows["wmt"]
    assert criteo["trained"] == 3
    assert (criteo["reached"], criteo["also_one"], criteo["also_two"]) == (3, 2, 1)
    assert (ogbg["reached"], ogbg["also_one"], ogbg["also_two"]) == (2, 2, 1)
    assert (wmt["reached"], wmt["also_one"], wmt["also_two"]) == (1, 1, 1)
    lr = [dict(h)["learning_rate"] for h, _ in points]
    assert wmt["learning_rates"] == [lr[0]]
    assert ogbg["learning_rates"] == sorted(lr[:2])
    text = bench_hardness.markdown(list(rows.values()))
    assert "| wmt | 3 | 1 | 33.3% (" in text
    assert "| 1 / 1 (6 / 1) |" in text  # wmt beside Table 4's transfer columns


def _binomial_tail(k_low: int, k_high: int, n: int, p: float) -> float:
    return sum(math.comb(n, k) * p**k * (1 - p) ** (n - k) for k in range(k_low, k_high + 1))


def test_share_interval_is_clopper_pearson_by_hand():
    # none of 64: the upper bound solves (1 - p)^64 = 0.025
    assert bench_hardness.share_interval(0, 64) == pytest.approx((0.0, 1 - 0.025 ** (1 / 64)))
    # 5 of 64: each bound leaves 2.5% in its binomial tail
    low, high = bench_hardness.share_interval(5, 64)
    assert _binomial_tail(5, 64, 64, low) == pytest.approx(0.025, rel=1e-6)
    assert _binomial_tail(0, 5, 64, high) == pytest.approx(0.025, rel=1e-6)


def test_table_4_p_value_is_fishers_exact_test_by_hand():
    # 0 of 64 beside DeepSpeech's 23 of 200: the hypergeometric law of the mini count given
    # 23 reaching in all 264 points; the p-value sums the tables no likelier than the one seen
    total, reached, n = 264, 23, 64

    def prob(k: int) -> float:
        return math.comb(reached, k) * math.comb(total - reached, n - k) / math.comb(total, n)

    seen = prob(0)
    by_hand = sum(prob(k) for k in range(reached + 1) if prob(k) <= seen * (1 + 1e-7))
    assert bench_hardness.table_4_p_value(0, 64, 23) == pytest.approx(by_hand, rel=1e-6)
    assert bench_hardness.table_4_p_value(16, 128, 25) > 0.5  # the same share: no evidence


def test_hardness_markdown_dashes_a_workload_table_4_lacks():
    row = {
        "workload": "toy_mlp",
        "trained": 10,
        "reached": 2,
        "also_one": 1,
        "also_two": 0,
        "learning_rates": [0.001, 0.003],
        "table_4": None,
    }
    text = bench_hardness.markdown([row])
    assert "| toy_mlp | 10 | 2 | 20.0% (" in text
    assert "| - | - | - | - | 1 / 0 (-) | 0.001 .. 0.003 |" in text


def test_hardness_by_seed_counts_each_seed_apart(tmp_path):
    # specs/hardness_seeds.toml trains its points with seeds 0-4: on criteo three points reach
    # on seed 0, one of the same three on seed 1; seeds 2-4 are untrained
    spec = ROOT / "specs" / "hardness_seeds.toml"
    trials = plan(spec).trials
    points = list(dict.fromkeys((t.hyperparameters, t.warmup) for t in trials))[:3]
    reaches = {0: (0.5, 0.5, 0.5), 1: (0.5, NEVER, NEVER)}
    for trial in trials:
        point = (trial.hyperparameters, trial.warmup)
        if trial.workload == "criteo" and trial.seed in reaches and point in points:
            write_result(make_result(trial, reaches[trial.seed][points.index(point)]), tmp_path)
    with pytest.raises(ValueError, match="one seed at a time"):
        bench_hardness.hardness(spec, tmp_path)
    by_seed = bench_hardness.hardness_by_seed(spec, tmp_path)
    assert by_seed["criteo"] == {0: (3, 3), 1: (1, 3), 2: (0, 0), 3: (0, 0), 4: (0, 0)}
    assert by_seed["ogbg"][0] == (0, 0)
    assert bench_hardness.rerun_seeds(bench_hardness.SUITE) == [0, 1, 2, 3, 4]
    text = bench_hardness.seeds_markdown(by_seed)
    # criteo's winner's reruns (the suite's provenance): 0.3913 on seed 0, 0.3936 on seed 1;
    # mean share (3/3 + 1/3) / 2 = 66.7% against Table 4's 24 of 200 (12.0%): 5.6x; per seed
    # 1/3 / 12% = 2.8x and 1 / 12% = 8.3x
    assert "| criteo | 0.3913 | 3/3 (0.3913) | 1/3 (0.3936) | 0/0 (0.3894) |" in text
    assert "| 66.7% | 12.0% | 5.6x | 2.8x .. 8.3x |" in text


def test_reruns_are_read_only_from_the_suite_that_set_the_specs_targets():
    # the ResNet 2x-steps probe aims at its own would-be target (0.4605), the shipped suite's
    # provenance at the shipped one (0.3711): its reruns beside the probe's counts would mix them
    probe = ROOT / "specs/levers/resnet/steps2/hardness.toml"
    shipped = bench_hardness.SUITE
    why = bench_hardness.provenance_mismatch(probe, shipped)
    assert "imagenet_resnet's trials aim at 0.4605" in why and "provenance set 0.3711" in why
    assert bench_hardness.provenance_mismatch(probe, probe.parent / "suite.toml") == ""
    assert bench_hardness.provenance_targets(shipped)["imagenet_resnet"] == 0.3711
    with pytest.raises(SystemExit, match="pass --suite with the suite file"):
        bench_hardness.main([str(probe)])
    naive = str(ROOT / "specs/findings/naive_adam.toml")
    with pytest.raises(SystemExit, match="pass --naive with a spec on the suite's targets"):
        bench_hardness.main(
            [str(probe), "--suite", str(probe.parent / "suite.toml"), "--naive", naive]
        )


def test_naive_summary_takes_the_median_naive_seed_by_hand():
    def row(workload, direction, target, naive, spread):
        return {
            "workload": workload,
            "direction": direction,
            "target": target,
            "naive": naive,
            "spread": spread,
        }

    rows = [
        # error rate: naive seeds 0.52, 0.51, 0.53 -> median 0.52, a miss of 0.06 (+13.0%);
        # the reruns' spread 0.03 over that gap: 0.50
        *(row("imagenet_resnet", "min", 0.46, v, 0.03) for v in (0.52, 0.51, 0.53)),
        # BLEU (max): naive 54 and 56 -> median 55, past the target 50 by 5 (-10.0%): -0.40
        *(row("wmt", "max", 50.0, v, 2.0) for v in (54.0, 56.0)),
    ]
    lines = bench_hardness.naive_summary_markdown(rows).splitlines()
    assert lines[2] == "| imagenet_resnet | 0.46 | 3 | 0.52 | +13.0% | 0.50 |"
    assert lines[3] == "| wmt | 50 | 2 | 55 | -10.0% | -0.40 |"

"""reports/findings.md's renderer on a tiny synthetic store: targets per seed, the pool's
score and each verdict, worked by hand from curves that cross their targets at known steps."""

from __future__ import annotations

import math
import types

import attrs
import numpy as np
import pytest

from benchmarks import MINI_SUITE
from benchmarks.synthetic_results import first_eval_at_or_after, make_result, write_result
from hpbench.api import plan
from hpbench.report import findings, papers
from hpbench.report.findings import (
    ARMS,
    MINI,
    NOT,
    PARTLY,
    REPRODUCED,
    best_metric_verdict,
    budget_reading,
    calibrated_verdict,
    calibration_verdict,
    collect,
    equal_budget_verdict,
    folds_of,
    list_verdict,
    loo_verdict,
    naive_verdict,
    reached_within,
    render,
    subset_chance,
    verdicts,
)
from hpbench.report.resolved import targets_version
from hpbench.spec.compile import compile_plan, load_plan, load_spec

NEVER = 2.0  # a synthetic curve with reach > 1 never crosses its target
ARM = {a.label: a for a in ARMS}
#: arm -> (workload, seed) -> fraction of the horizon at which the curve crosses the target
REACH = {
    "naive Mechanic": lambda w, s: 0.5 if w == "criteo" else NEVER,
    "naive Prodigy": lambda w, s: NEVER,
    "calibrated Mechanic": lambda w, s: 0.4 if w in ("criteo", "fastmri", "ogbg", "wmt") else NEVER,
    "calibrated Prodigy": lambda w, s: (
        0.6 if w in ("criteo", "fastmri") or (w == "ogbg" and s == 4) else NEVER
    ),
    # criteo: seeds 2, 3, 5 and 6 within a quarter of the budget, seed 4 at 0.8 (median: a
    # quarter)
    "naive Adam": lambda w, s: (
        (0.2 if s != 4 else 0.8) if w == "criteo" else 0.8 if w == "fastmri" else NEVER
    ),
}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    results = tmp_path_factory.mktemp("results")
    for label, reach in REACH.items():
        for trial in plan(findings.ROOT / ARM[label].spec).trials:
            write_result(make_result(trial, reach(trial.workload, trial.seed)), results)
    return collect(results, [ARM[label] for label in REACH])


def test_targets_per_seed_and_medians(collected):
    by_label = {a.arm.label: a for a in collected.arms}
    assert by_label["naive Mechanic"].reached_per_seed == (1,) * 5
    assert by_label["naive Prodigy"].reached_per_seed == (0,) * 5
    prodigy = by_label["calibrated Prodigy"]
    assert prodigy.reached_per_seed == (2, 2, 3, 2, 2)  # seeds 2-6: ogbg on seed 4 only
    assert prodigy.reached_text(8) == "2/8 (per seed 2-3)"
    # ogbg's median over seeds is a miss (4 of 5 seeds miss), so it is not reached
    assert prodigy.workloads_reached == ("criteo", "fastmri")
    # calibrated Mechanic is the fastest wherever it reaches (0.4 of the half budget beats
    # 0.6 of it and 0.5 or 0.8 of the whole budget): ratio 1 on 4 of 8 workloads, nothing
    # elsewhere, so its profile is 0.5 at every tau and its score 0.5
    assert by_label["calibrated Mechanic"].score == pytest.approx(0.5)
    # calibrated Prodigy takes 0.6 / 0.4 = 1.5x Mechanic's steps on criteo and fastmri: its
    # profile is 0 below tau 1.5 and 2/8 from there to 4, area (4 - 1.5) / 3 * 2/8
    assert by_label["calibrated Prodigy"].score == pytest.approx(2.5 / 3 * 2 / 8, abs=2e-3)
    assert by_label["naive Prodigy"].score == 0.0


def test_verdicts_worked_by_hand(collected):
    found = verdicts(collected)
    # naive: Mechanic reaches criteo, Prodigy nothing: together 1 workload (paper: 1)
    number, verdict = found["naive_lr_free"]
    assert verdict.level == REPRODUCED
    assert "together 1 workload(s) (criteo)" in number
    # calibrated: Mechanic 4 targets, Prodigy a median of 2 (< 3, not "several")
    assert found["calibrated_train"][1].level == PARTLY
    assert "calibrated Prodigy 2/8 (per seed 2-3), score 0.208" in found["calibrated_train"][0]
    # calibration: 4 > 1 for Mechanic, 2 > 0 for Prodigy
    assert found["calibration_helps"][1].level == REPRODUCED
    assert "published_list" not in found  # its arm was not run


def test_verdicts_on_each_seed_alone(collected):
    # calibrated Prodigy reaches ogbg on seed 4 only: 2 targets on seeds 2, 3, 5 and 6 (not
    # "several"), 3 on seed 4, where naive Adam reaches 2 of 8 (criteo and fastmri at 0.8), so
    # a reached target means what the paper's does there too
    assert collected.seed_levels["calibrated_train"] == (PARTLY, PARTLY, REPRODUCED, PARTLY, PARTLY)
    assert collected.seed_levels["naive_lr_free"] == (REPRODUCED,) * 5  # criteo on each seed
    assert collected.seed_levels["calibration_helps"] == (REPRODUCED,) * 5  # 4 > 1, 2-3 > 0
    assert set(collected.seed_levels) == set(verdicts(collected))  # one per verdict given
    text = render(collected)
    assert "| partly | partly / partly / reproduced / partly / partly |" in text
    assert "| reproduced | the same on each |" in text
    assert "2 of 3 verdicts come out the same on each of seeds 2, 3, 4, 5, 6 alone" in text
    assert (
        "- On each seed alone: seed 2 partly; seed 3 partly; seed 4 reproduced; seed 5 partly; "
        "seed 6 partly: the verdict changes with the seed, so it is within the mini suite's "
        "seed noise." in text
    )


def test_one_seeds_collection_scores_that_seed_only(collected, tmp_path):
    results = tmp_path / "results"
    for trial in plan(findings.ROOT / ARM["calibrated Prodigy"].spec).trials:
        reach = REACH["calibrated Prodigy"](trial.workload, trial.seed)
        write_result(make_result(trial, reach), results)
    alone = collect(results, [ARM["calibrated Prodigy"]], seeds=(4,))
    (prodigy,) = alone.arms
    assert prodigy.reached_per_seed == (3,)
    assert prodigy.workloads_reached == ("criteo", "fastmri", "ogbg")
    assert alone.seed_levels == {}  # a one-seed collection does not judge seeds again
    assert "verdicts come out the same" not in render(alone)
    none = collect(results, [ARM["calibrated Prodigy"]], seeds=(7,))
    assert none.arms == () and none.missing == {"calibrated Prodigy": "no trials on seeds 7"}


def test_render_names_what_was_not_run(collected):
    text = render(collected)
    assert "| naive Prodigy | naive | 1 | 0/8 (per seed 0-0) | none | 0.000 |" in text
    assert "Naive Adam (Optax defaults" in text and "It does." in text  # 2 of 8 <= 50%
    assert text.count("**not run this session**") == 4  # two baseline, two list findings
    assert "naive's best metric (whole budget) is better on" in text  # the calibration why
    assert "nice -n 5 hpbench run specs/findings/nadamw_list5.toml" in text


def test_reached_at_the_target_setting_budget(collected):
    by_label = {a.arm.label: a for a in collected.arms}
    quarter = {label: a.reached_by(0.25, collected.max_steps) for label, a in by_label.items()}
    # naive Adam: criteo at 0.2 of max_steps on 4 of 5 seeds (median 0.2 <= 0.25), fastmri at
    # 0.8; naive Mechanic reaches criteo only at 0.5
    assert quarter["naive Adam"] == ("criteo",)
    assert by_label["naive Adam"].workloads_reached == ("criteo", "fastmri")
    assert quarter["naive Mechanic"] == () and quarter["naive Prodigy"] == ()
    # calibrated Mechanic: 0.4 of its half budget is 0.2 of max_steps, within a quarter
    assert quarter["calibrated Mechanic"] == ("criteo", "fastmri", "ogbg", "wmt")
    text = render(collected)
    misses = " | inf" * 6
    assert f"| naive Adam | 0.2 | 0.8{misses} | 1/8 | 2/8 |" in text
    assert f"| naive Mechanic | 0.5 | inf{misses} | 0/8 | 1/8 |" in text
    assert "at 0.2-0.8 of max_steps (median 0.5): 3.2x the target-setting budget at most" in text
    # medians over naive Mechanic, naive Prodigy and naive Adam: 0 and 1 of 8
    assert "Typical (median over these arms): 0 and 1 of 8; they reach few targets" in text
    # naive Mechanic reaches criteo at 0.5 of max_steps: within calibrated Mechanic's horizon
    assert "within those steps the naive arm reaches 1 of 8 targets" in text


def test_reached_within_takes_the_median_over_seeds():
    inf = float("inf")
    steps = {"a": (100.0, 200.0, inf), "b": (100.0, inf, inf), "c": (300.0, 300.0, 300.0)}
    # a: median 200 <= 200; b: median inf (2 of 3 seeds miss); c: 300 > 250
    assert reached_within(steps, {"a": 200, "b": 1000, "c": 250}) == ("a",)
    assert reached_within(steps, {"a": 199, "b": 1000, "c": 300}) == ("c",)


def test_budget_reading_cases():
    assert "separate untuned from tuned" in budget_reading(1, 3, 8)
    assert "keep improving under a constant learning rate" in budget_reading(3, 7.5, 8)
    assert "simply easy" in budget_reading(5, 8, 8)


def test_naive_verdict_levels():
    assert naive_verdict({"a": 0, "b": 1}, union=2).level == REPRODUCED
    assert naive_verdict({"a": 0, "b": 1, "c": 7}, union=7).level == PARTLY  # typical: 1
    assert naive_verdict({"a": 5, "b": 7}, union=8).level == NOT


def test_calibrated_verdict_needs_meaningful_targets():
    assert calibrated_verdict({"m": 4, "p": 5}, targets_mean=True).level == REPRODUCED
    assert calibrated_verdict({"m": 8, "p": 8}, targets_mean=False).level == PARTLY
    assert calibrated_verdict({"m": 8, "p": 8}, targets_mean=None).level == PARTLY  # unchecked
    assert calibrated_verdict({"m": 2, "p": 1}, targets_mean=True).level == NOT


def test_calibration_verdict_ties_go_to_the_score():
    # equal targets: calibration helps only where it scores higher (reaches them faster)
    assert calibration_verdict({"m": (8, 0.6, 8, 0.5)}).level == REPRODUCED
    assert calibration_verdict({"m": (8, 0.4, 8, 0.5), "p": (5, 0.1, 4, 0.9)}).level == PARTLY
    assert calibration_verdict({"m": (7, 0.9, 8, 0.1)}).level == NOT


def test_list_verdict():
    assert list_verdict(7, targets_mean=True).level == REPRODUCED
    assert list_verdict(7, targets_mean=False).level == PARTLY
    assert list_verdict(7, targets_mean=None).level == PARTLY
    assert list_verdict(4, targets_mean=True).level == PARTLY
    assert list_verdict(2, targets_mean=True).level == NOT


def test_better_best_follows_each_metric_direction():
    targets = {"criteo": ("cross_entropy", "min", 0.4), "ogbg": ("map", "max", 0.75)}
    low = arm(ARMS[0].label, {"criteo": 0.39, "ogbg": 0.70})
    high = arm(ARMS[0].label, {"criteo": 0.41, "ogbg": 0.80})
    assert findings.better_best(low, high, targets) == 1  # criteo only (lower is better)
    assert findings.better_best(high, low, targets) == 1  # ogbg only (higher is better)
    assert findings.better_best(low, low, targets) == 0  # a tie is not better


def test_folds_worked_by_hand():
    inf = math.inf
    # 3 points x 2 workloads, 1-point lists (tau 2): held out w0, the list built on w1 is
    # point 1 (0.4 < 0.9 < a miss), which misses w0; held out w1, it is point 0 (0.5; point
    # 2's NaN counts as a miss), which misses w1
    fractions = np.array([[0.5, inf], [inf, 0.4], [math.nan, 0.9]])
    fields = folds_of(fractions, ("w0", "w1"), size=1, tau=2.0)
    assert fields["lists"] == ((1,), (0,)) and fields["held_out"] == (inf, inf)
    assert fields["first"] == (0.5, inf)  # the first point alone
    assert fields["reaching"] == (1, 2)  # NaN is not a reach
    assert fields["also_two"] == (0, 0)  # two workloads: none has two others
    three = np.array([[0.5, 0.5, 0.5], [0.5, 0.5, inf], [0.5, inf, inf]])
    assert folds_of(three, ("a", "b", "c"), size=1, tau=2.0)["also_two"] == (1, 1, 1)
    folds = findings.Folds(points=3, seeds=(0,), **fields)
    assert folds.random_chance == pytest.approx((1 / 3, 2 / 3))
    assert folds.random_expected == pytest.approx(1.0)
    assert (folds.held_out_reached, folds.first_reached) == (0, 1)


def test_subset_chance():
    # 4 of 40 points reach: 1 - C(36, 5) / C(40, 5) = 1 - 376,992 / 658,008
    assert subset_chance(40, 4, 5) == pytest.approx(1 - 376_992 / 658_008)
    assert subset_chance(40, 0, 5) == 0.0
    assert subset_chance(40, 36, 5) == 1.0  # any 5 include a reaching point


def test_loo_verdict_levels():
    random5 = {"the search's first 5 points": 1.0, "5 random points": 2.46}
    assert loo_verdict(6, random5, 8, targets_mean=True).level == REPRODUCED
    assert loo_verdict(6, random5, 8, targets_mean=None).level == PARTLY  # unchecked
    assert loo_verdict(6, {**random5, "LR sweep": 6.0}, 8, targets_mean=True).level == PARTLY
    assert loo_verdict(3, random5, 8, targets_mean=True).level == PARTLY  # not most
    assert loo_verdict(3, {"LR sweep": 4.0}, 8, targets_mean=True).level == NOT


def test_render_table_5(collected):
    inf = math.inf
    workloads = tuple(collected.targets)
    folds = findings.Folds(
        points=40,
        seeds=(0,),
        size=5,
        workloads=workloads,
        lists=((34, 24, 16, 0, 1),) * 8,
        held_out=(inf, 0.42, 0.42, 0.66, 0.6, 0.48, inf, 0.479),
        first=(0.6,) + (inf,) * 7,
        reaching=(4, 2, 4, 4, 2, 2, 1, 3),
        also_two=(3, 1, 2, 2, 1, 0, 1, 2),
    )
    text = render(attrs.evolve(collected, folds=folds))
    first = workloads[0]  # beside Table 4's third column, of its 200 points
    paper = (papers.TABLE_4_ALSO_REACHING[first][1], papers.TABLE_4_REACHING[first])
    assert f"also reach two other workloads' targets: {first} 3 ({paper[0]} of {paper[1]})," in text
    row = "| leave-one-out lists (seed 0) | inf | 0.42 | 0.42 | 0.66 | 0.6 | 0.48 | inf | 0.479 |"
    assert row + " 6/8 |" in text
    assert "| the search's first 5 points | 0.6 | inf |" in text
    assert "| 5 random of the 40 points: chance to reach | 43% | 24% |" in text
    assert "| LR sweep (WD 0.5): not run |" in text  # its arm was not run
    assert "| paper: leave-one-out lists | 0.739 | 0.13 | 0.94 | 0.93 |" in text
    assert "every list starts with point 35" in text
    assert text.count("**not run this session**") == 3  # the list finding has its number


def test_sweeps_stronger_than_at_full_size_are_named(collected):
    def sweep(label, reached):
        return findings.ArmResult(
            arm=ARM[label],
            planned=24,
            ended=24,
            reached_per_seed=(len(reached),) * 3,
            workloads_reached=reached,
            best={},
            suite_seconds=60.0,
            horizon=1 / 3,
            score=0.5,
            score_interval=(0.5, 0.5),
            step_fractions={},
        )

    # Table 5: each sweep reaches 2 of 8 at full size; here WD 1e-4 reaches 3, WD 0.5 only 2
    arms = (sweep("LR sweep (WD 1e-4)", ("criteo", "fastmri", "ogbg")),)
    arms += (sweep("LR sweep (WD 0.5)", ("criteo", "ogbg")),)
    text = findings._stronger_sweeps(attrs.evolve(collected, arms=arms))
    assert text.endswith("than the paper's: LR sweep (WD 1e-4) 3/8 (paper 2/8)")
    assert findings._stronger_sweeps(collected) == ""  # no sweep ran


def test_fresh_seeds_score_each_held_out_list_on_its_workload(tmp_path):
    spec = load_spec(findings.ROOT / findings.MINI.list_search)
    workloads = MINI_SUITE
    lists = [(0, 1)] * len(workloads)  # every fold's list: search points 1 and 2
    # criteo: point 1 at 0.5 on seed 2 and 0.6 on seed 5, point 2 at 0.7 on seed 3, nothing on
    # seeds 4 and 6: the median over seeds of each seed's fastest is point 2's 0.7; elsewhere
    # nothing reaches
    reach = {(0, 2): 0.5, (1, 3): 0.7, (0, 5): 0.6}
    crossings = {}
    for i in (0, 1):
        one = attrs.evolve(spec, points=(dict(spec.points[i]),), seeds=findings.FRESH_SEEDS)
        for trial in compile_plan(one).trials:
            fraction = reach.get((i, trial.seed), NEVER) if trial.workload == "criteo" else NEVER
            write_result(make_result(trial, fraction), tmp_path)
            if trial.workload == "criteo":
                crossings[(i, trial.seed)] = trial
    fresh, why = findings._fresh_fractions(spec, lists, workloads, tmp_path, findings.FRESH_SEEDS)
    assert why == ""
    trial = crossings[(1, 3)]
    assert fresh[0] == first_eval_at_or_after(trial, 0.7) / trial.horizon_steps
    assert all(f == float("inf") for f in fresh[1:])
    # fastmri's list now needs search point 3, never trained: 8 folds x 2 points x 5 seeds,
    # 5 of them missing; the row stays empty and says so
    lists[1] = (0, 2)
    assert findings._fresh_fractions(spec, lists, workloads, tmp_path, findings.FRESH_SEEDS) == (
        (),
        "75 of 80 trials ended",
    )


def test_a_failed_trial_is_retrained_not_scored_as_a_miss(tmp_path):
    # a failure (an exception, e.g. code changed under a running campaign) says nothing about
    # the algorithm: the arm stays out of the pools until `hpbench run` retrains it
    trials = plan(findings.ROOT / ARM["naive Adam"].spec).trials
    for i, trial in enumerate(trials):
        failed = i == 0
        result = make_result(
            trial, 0.5, state="failed" if failed else "done", stop_step=1 if failed else None
        )
        write_result(result, tmp_path)
    got = collect(tmp_path, [ARM["naive Adam"]])
    assert got.arms == ()
    assert got.missing == {
        "naive Adam": "39 of 40 trials ended, 1 failed (the command retrains them)"
    }


def test_the_report_renders_the_suite_targets_and_shipped_specs(collected):
    assert collected.findings == MINI and MINI.arms == ARMS
    suite = {r.name: r.target.value for r in load_spec(findings.ROOT / MINI.suite).workloads}
    assert {w: t[2] for w, t in collected.targets.items()} == suite
    version = targets_version(load_spec(findings.ROOT / MINI.suite))
    assert collected.version == version not in ("not stated", "mini-5")
    text = render(collected)
    assert text.startswith("# The papers' findings on the mini suite, reproduced or refuted")
    assert "`python -m hpbench.report.findings --out reports/findings.md`" in text
    assert "| finding (paper) | paper's number | hpbench (mini suite) | verdict |" in text
    assert f"- Targets `{version}` (specs/suites/algoperf_mini.toml's header" in text
    target = collected.targets["criteo"]
    assert f"| target | {target[0]} {target[2]:.4g} ({target[1]}) |" in text
    assert "nice -n 5 hpbench run specs/findings/nadamw_list5.toml" in text
    assert "hpbench results import reports/findings.results.tar.xz" in text
    # the 200-point search has not run here: the list finding says how to run it
    assert "- Its search: 0 of 1600 search trials ended" in text
    assert "hpbench run specs/hardness_graded.toml" in text
    # the calibrations that chose the calibrated points have not run here either: the
    # reasons say where to restore them from instead of how settled the choices are (the
    # equal-budget arms are not in this collection)
    assert {s.archive for s in MINI.calibrations} <= set(MINI.archives)
    for source in MINI.calibrations:
        if source.kind != "calibrated":
            continue
        assert (
            f"have not all finished in the results store (restore them: `hpbench results "
            f"import {source.archive}`)" in text
        )
    assert "chose h=" not in text


def test_the_best_metrics_on_the_calibrations_own_seeds_worked_by_hand(collected):
    """Each Table 5 workload's best over every candidate of the equal-budget calibration
    (lower is better on all three), judged by the finding's rule."""
    row = types.SimpleNamespace
    values = {  # (label, workload) -> best metric
        ("p1", "imagenet_resnet"): 0.30,
        ("p2", "imagenet_resnet"): 0.35,
        ("a1", "imagenet_resnet"): 0.31,
        ("p1", "imagenet_vit"): math.nan,
        ("p2", "imagenet_vit"): 0.40,
        ("a1", "imagenet_vit"): 0.39,
        ("a1", "librispeech_deepspeech"): 0.20,
    }
    scores = row(
        row=lambda label, w: (
            row(label=label, best_metric=values[label, w]) if (label, w) in values else None
        )
    )
    calibration = row(
        specs=(
            row(spec=row(algorithm="prodigy"), candidates=(row(label="p1"), row(label="p2"))),
            row(spec=row(algorithm="adamw"), candidates=(row(label="a1"),)),
        ),
        scores=scores,
    )
    assert findings.best_on_calibration_seeds(collected) == ""  # no calibration read
    text = findings.best_on_calibration_seeds(
        attrs.evolve(collected, calibrations={"equal": calibration})
    )
    assert text.endswith(
        "over all 3 candidates of the equal-budget calibration on the seeds that chose them "
        "(its Table 5): imagenet_resnet 0.3 (p1); imagenet_vit 0.39 (a1); "
        "librispeech_deepspeech 0.2 (a1); partly: an lr-free method is best on 1 of 3 "
        "(imagenet_resnet: prodigy; imagenet_vit: adamw; librispeech_deepspeech: adamw)"
    )


def test_the_calibrations_rerun_seeds_are_the_papers_three_apart_from_the_findings():
    """The report's RERUN_SEEDS are what the shipped calibrations re-run with, and no
    findings seed selected anything."""
    for source in MINI.calibrations:
        for path in source.specs:
            spec = load_spec(findings.ROOT / path)
            assert spec.select.seeds == findings.RERUN_SEEDS, path
            assert not set(spec.select.seeds + spec.seeds) & set(findings.FRESH_SEEDS), path
    for arm in ARMS:  # the calibrated arms train on the findings' seeds only
        if arm.kind in ("calibrated", "equal"):
            assert load_spec(findings.ROOT / arm.spec).seeds == findings.FRESH_SEEDS


def test_the_published_lists_why_points_at_its_rank_among_the_search(tmp_path):
    published = ARM[findings.PUBLISHED]
    for trial in plan(findings.ROOT / published.spec).trials:
        write_result(make_result(trial, 0.5), tmp_path)
    why = findings.reasons(collect(tmp_path, [published]))
    assert "Table 9 is in-sample" in why[papers.PUBLISHED_LIST.key]
    assert "reports/targets_graded.md ranks its points" in why[papers.PUBLISHED_LIST.key]
    assert papers.PUBLISHED_LIST.key not in findings.reasons(collect(tmp_path, [ARM["naive Adam"]]))


def test_the_list_search_reuses_the_hardness_search():
    # build-list trains nothing once the 200-point hardness search ran: the same trials
    search = {t.id for t in load_plan(findings.ROOT / "specs/hardness_graded.toml").trials}
    assert {t.id for t in load_plan(findings.ROOT / MINI.list_search).trials} == search
    assert load_spec(findings.ROOT / MINI.list_search).listing.size == 5


#: The leave-one-out lists (0-based search points), as `hpbench build-list` built them on
#: the 200-point search against graded-6 (design 6), in held-out order (criteo .. wmt): their
#: union is points 17, 23, 71, 119, 131, 155 and 179 (1-based).
LISTS = (
    (130, 178, 154, 22, 118),
    (70, 130, 178, 154, 22),
    (70, 178, 154, 22, 16),
    (130, 178, 154, 16, 118),
    (130, 178, 22, 16, 118),
    (130, 70, 178, 154, 22),
    (130, 178, 154, 22, 16),
    (130, 154, 22, 16, 118),
)


def test_the_fresh_spec_holds_the_lists_points_or_says_which_it_lacks():
    # the fresh spec's points, written by hand, are exactly the search's
    spec = load_spec(findings.ROOT / MINI.list_search)
    fresh = findings.ROOT / MINI.list_fresh
    lists = list(LISTS)
    assert findings._uncovered(spec, lists, fresh) == ""
    lists[3] = (0, 5)
    assert findings._uncovered(spec, lists, fresh) == (
        "; list_nadamw_broad_fresh.toml does not hold every list's points: write the search "
        "points 1, 6, 17, 23, 71, 119, 131, 155, 179 (1-based) into it first"
    )


def test_equal_budget_verdict_levels():
    baselines = {"AdamW": 0.5, "NAdamW": 0.4}
    # a baseline on top (ties included): the paper's leaderboard, reproduced
    assert equal_budget_verdict({"Prodigy": (0.45, (0.3, 0.6))}, baselines).level == REPRODUCED
    assert equal_budget_verdict({"Prodigy": (0.5, (0.5, 0.5))}, baselines).level == REPRODUCED
    # Prodigy on top, but its interval holds AdamW's 0.5: ahead within the seeds' spread
    ahead = equal_budget_verdict(
        {"Prodigy": (0.6, (0.45, 0.7)), "Mechanic": (0.1, (0, 1))}, baselines
    )
    assert ahead.level == PARTLY
    assert ahead.why == (
        "Prodigy scores highest, within the seeds' spread: the best lr-free arm, Prodigy, "
        "0.600 (95% interval 0.450-0.700); the best baseline, AdamW, 0.500"
    )
    # its interval lies above AdamW's score: demonstrably better, the finding refuted
    assert equal_budget_verdict({"Prodigy": (0.6, (0.55, 0.7))}, baselines).level == NOT


def test_best_metric_verdict_levels():
    lr_free = {"imagenet_resnet": "prodigy", "imagenet_vit": "mechanic"}
    assert best_metric_verdict(lr_free).level == REPRODUCED
    some = best_metric_verdict({**lr_free, "librispeech_deepspeech": "adamw"})
    assert some.level == PARTLY and "best on 2 of 3" in some.why
    assert best_metric_verdict({"imagenet_vit": "nadamw"}).level == NOT


def arm(label, best=None, score=0.0, interval=(0.0, 0.0)):
    """An arm's result with the given best metrics and score."""
    return findings.ArmResult(
        arm=ARM[label],
        planned=24,
        ended=24,
        reached_per_seed=(0, 0, 0),
        workloads_reached=(),
        best=best or {},
        suite_seconds=60.0,
        horizon=0.5,
        score=score,
        score_interval=interval,
        step_fractions={},
    )


def test_best_arm_follows_the_metric_direction():
    adamw = arm("AdamW, equal budget", {"wmt": 30.0, "imagenet_vit": 0.3})
    prodigy = arm("Prodigy, equal budget", {"wmt": 20.0, "imagenet_vit": 0.2})
    nadamw = arm("NAdamW, equal budget", {})  # nothing: never the best
    assert findings._best_arm([adamw, prodigy, nadamw], "wmt", "max") is adamw
    assert findings._best_arm([nadamw, adamw, prodigy], "imagenet_vit", "min") is prodigy


def test_the_lead_is_beyond_the_spread_only_when_the_interval_clears_the_runner_up():
    adamw = arm("AdamW, equal budget", score=0.5)
    within = arm("NAdamW, equal budget", score=0.6, interval=(0.45, 0.7))
    assert findings._lead([adamw, within]) == (
        "NAdamW, equal budget leads AdamW, equal budget by 0.100, within the seeds' spread "
        "(its interval 0.450-0.700 holds 0.500)"
    )
    beyond = arm("NAdamW, equal budget", score=0.6, interval=(0.55, 0.7))
    assert "beyond the seeds' spread (its interval 0.550-0.700 lies above" in findings._lead(
        [adamw, beyond]
    )
    assert findings._lead([adamw]) == ""


EQUAL = ("AdamW", "NAdamW", "Mechanic", "Prodigy")


def _equal_pool(tmp_path, fastest):
    """The equal-budget arms where only ``fastest`` reaches, on criteo, fastmri, ogbg and wmt
    at 0.4 of its horizon on every seed."""
    for name in EQUAL:
        label = f"{name}, equal budget"
        for trial in plan(findings.ROOT / ARM[label].spec).trials:
            hit = name == fastest and trial.workload in ("criteo", "fastmri", "ogbg", "wmt")
            write_result(make_result(trial, 0.4 if hit else NEVER), tmp_path)
    return collect(tmp_path, [ARM[f"{name}, equal budget"] for name in EQUAL])


def test_the_equal_budget_pool_worked_by_hand(tmp_path):
    got = _equal_pool(tmp_path, "AdamW")
    by_label = {a.arm.label: a for a in got.arms}
    # AdamW alone reaches, on 4 of 8 workloads: profile 0.5 at every tau, score 0.5; the seeds
    # agree, so the bootstrap interval is the point
    assert by_label["AdamW, equal budget"].score == pytest.approx(0.5)
    assert by_label["AdamW, equal budget"].score_interval == pytest.approx((0.5, 0.5))
    assert by_label["Prodigy, equal budget"].score == 0.0
    number, verdict = verdicts(got)["not_better_than_baselines"]
    assert verdict.level == REPRODUCED and verdict.why.startswith("AdamW, equal budget scores")
    assert number.startswith("AdamW, equal budget (horizon ")
    assert "best_metrics_lr_free" in verdicts(got)
    text = render(got)
    assert "Table 6's layout" in text and "| paper: AdamW | 0.33 | 0.498 |" in text
    assert "| AdamW, equal budget | " in text and " | 0.500 (0.500-0.500) | " in text


def test_an_lr_free_arm_on_top_beyond_the_spread_refutes_the_finding(tmp_path):
    got = _equal_pool(tmp_path, "Prodigy")
    verdict = verdicts(got)["not_better_than_baselines"][1]
    assert verdict.level == NOT and "beyond the seeds' spread" in verdict.why


def test_naive_arms_beside_the_same_methods_at_full_size_worked_by_hand(collected):
    targets = collected.targets
    mechanic = arm(
        "naive Mechanic",
        {
            "criteo": targets["criteo"][2] * 0.99,  # past by 1%; full size short by 0.32%
            "imagenet_resnet": targets["imagenet_resnet"][2],  # at it; full size short by 42%
            "wmt": 5.0,  # short; full size short by 94%
        },
    )
    # short by 0.1% where Table 4's D-Adapt (w. Adam) meets Criteo's target exactly
    dadapt = arm("naive D-Adapt Adam", {"criteo": targets["criteo"][2] * 1.001})
    free = arm("naive Schedule-Free AdamW", {"criteo": 0.1})  # not in Table 4
    pairs = findings.naive_beside_full_size(attrs.evolve(collected, arms=(mechanic, dadapt, free)))
    assert [(p.arm, p.workload) for p in pairs] == [
        ("naive Mechanic", "criteo"),
        ("naive Mechanic", "imagenet_resnet"),
        ("naive Mechanic", "wmt"),
        ("naive D-Adapt Adam", "criteo"),
    ]
    assert [round(p.mini, 4) for p in pairs] == [-0.01, 0.0, round(1 - 5 / 35.33, 4), 0.001]
    # Table 4 against Table 2: (0.1240 - 0.1236) / 0.1236, (0.321 - 0.226) / 0.226, ...
    assert [round(p.full, 4) for p in pairs] == [0.0032, 0.4204, 0.941, 0.0]
    text = findings.full_size_reading(pairs, list(targets))
    # mini ranks 1, 2, 4, 3 against full size's 2, 3, 4, 1: d^2 = 6, rho = 1 - 36 / 60
    assert text == (
        "Of the 4 (method, workload) pairs with a full-size counterpart, full size misses 3; "
        "the mini suite reaches 2 of those: 1 that full size misses by under 1% (criteo), "
        "and 1 that it misses by more (full size's miss in brackets): imagenet_resnet "
        "(naive Mechanic +42.0%). The mini suite misses 1 that full size reaches. The misses' "
        "rank correlation over the pairs, mini suite against full size: Spearman 0.40 (p 0.6)."
    )
    assert findings.full_size_reading((), list(targets)) == ""


def test_the_naive_finding_sets_each_arm_beside_full_size(collected):
    text = render(collected)
    naive = text.split("### All of the naive")[1].split("### ")[0]
    assert "| arm | Table 4 row | criteo |" in naive
    assert "| naive Mechanic | Mechanic (w. Adam) |" in naive
    assert "| naive Adam | none |" in naive
    assert "| Table 4's 10 naive methods, median |  | (+0.4%) | (+0.6%) | (+39.6%) |" in naive


def test_every_arm_counts_workloads_by_their_median_time(collected):
    # AlgoPerf's rule, by which both papers count (Table 9 included): a workload is trained
    # when the median of its seeds' times is finite. Here each seed reaches 7 of 8 on some
    # seeds, but two workloads are reached by only 2 of 5 seeds each: 6 workloads, not the
    # median count's 7
    workloads = tuple(collected.targets)
    missed = ("librispeech_conformer", "librispeech_deepspeech")
    published = attrs.evolve(
        arm(findings.PUBLISHED),
        reached_per_seed=(5, 7, 7, 5, 7),
        workloads_reached=tuple(w for w in workloads if w not in missed),
        step_fractions={w: math.inf if w in missed else 0.5 for w in workloads},
    )
    assert published.reached == 6
    assert published.reached_text(8) == "6/8 (per seed 5-7)"
    # beside the fixture's arms, whose naive Adam says a reached target means something
    arms = (*collected.arms, published)
    number, verdict = verdicts(attrs.evolve(collected, arms=arms))["published_list"]
    assert number.startswith("6/8 (per seed 5-7); step fractions (median) criteo 0.5,")
    assert verdict.level == REPRODUCED and verdict.why == "it reaches 6 of 8"
    # a single configuration by the same rule: calibrated Mechanic reaches 3 targets on each
    # seed, but a different third one each time, so by the median time it trains 2 of 8 and
    # is not "several" (SEVERAL = 3), where the median of its seeds' counts would say 3 and
    # make the verdict partly (the fixture's calibrated Prodigy reaches 2)
    mechanic = attrs.evolve(
        next(a for a in collected.arms if a.arm.label == "calibrated Mechanic"),
        reached_per_seed=(3,) * 5,
        workloads_reached=("criteo", "fastmri"),
    )
    arms = tuple(mechanic if a.arm.label == mechanic.arm.label else a for a in collected.arms)
    number, verdict = verdicts(attrs.evolve(collected, arms=arms))["calibrated_train"]
    assert number.startswith("calibrated Mechanic 2/8 (per seed 3-3)")
    assert verdict.level == NOT and verdict.why == "0 of 2 reach 3 or more targets"

"""Performance profiles and the benchmark score: hand-worked cases and a crosscheck against a
direct re-implementation of AlgoPerf's ``scoring/performance_profile.py`` procedure."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scoring_helpers import make_result

from hpbench.scoring import score_results
from hpbench.scoring.profiles import performance_profile
from hpbench.scoring.spread import profile_scores

INF, NAN = math.inf, math.nan


def test_tie_for_fastest_gives_both_ratio_one():
    profile = performance_profile([[100.0, 50.0], [100.0, 100.0]])
    np.testing.assert_array_equal(profile.ratios, [[1, 1], [1, 2]])
    assert profile.rho[:, 0].tolist() == [1.0, 0.5]


def test_trapezoid_differs_from_exact_integral_as_worked_by_hand():
    # r = 1.01 lies between the grid points 1 and 1 + 1/33: the trapezoid rule sees rho
    # rise over that whole first interval: area 0.5 h + 98 h = 98.5 / 33; exact 4 - 1.01.
    times = [[100.0], [101.0]]
    assert performance_profile(times).scores[1] == pytest.approx(98.5 / 99, abs=1e-12)
    assert performance_profile(times, integral="exact").scores[1] == pytest.approx(2.99 / 3)
    # On a grid point (r = 2 = 1 + 33 h) the trapezoid adds half an interval: 66.5 h.
    assert performance_profile([[1.0], [2.0]]).scores[1] == pytest.approx(66.5 / 99, abs=1e-12)


def test_cut_off_at_four_times_the_fastest():
    profile = performance_profile([[100.0], [400.0], [401.0]])
    np.testing.assert_array_equal(profile.ratios[:, 0], [1, 4, INF])
    assert profile.scores[1] == pytest.approx(0.5 / 99, abs=1e-12)  # counts at tau = 4 only


def test_cut_off_comes_before_variant_gating_as_in_algoperf():
    # columns: base, variant. a's variant misses, so a's base becomes inf, but b's base time
    # (450) was already cut off against a's 100: both miss the base workload.
    times = [[100.0, INF], [450.0, 50.0]]
    profile = performance_profile(times, base_of=[None, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [INF]])
    # with b at 350 it survives the cut-off and becomes the fastest after gating.
    profile = performance_profile([[100.0, INF], [350.0, 50.0]], base_of=[None, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [1.0]])


def test_variant_not_run_gates_its_base_as_in_algoperf():
    # variant_criteria_filter: a NaN variant (AlgoPerf: an OOM) counts as a miss.
    profile = performance_profile([[100.0, NAN], [200.0, 50.0]], base_of=[None, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [1.0]])


def test_variant_fastest_only_among_those_that_reached_the_base():
    # columns: base, variant. a misses the base but is fastest on the variant (10); b and c
    # reached the base. AlgoPerf sets a's variant to inf first, so the variant's fastest is
    # b's 30 and c's 100 survives the 4x cut-off (without that order: 100 > 4 * 10, cut off,
    # and c's base would be gated).
    times = [[INF, 10.0], [200.0, 30.0], [100.0, 100.0]]
    profile = performance_profile(times, base_of=[None, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [2.0], [1.0]])
    # by hand: c has r = 1 (score 1); b has r = 2: rho = 1 from tau = 2 (grid point 33 of
    # 99 intervals), trapezoid area (66 + 0.5) h / 3 with h = 3/99.
    assert profile.scores.tolist() == pytest.approx([0.0, 66.5 / 99, 1.0], abs=1e-12)
    # a base not run (NaN) is gated the same way: a's variant time no longer counts.
    profile = performance_profile([[NAN, 10.0], [200.0, 30.0], [100.0, 100.0]], base_of=[None, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [2.0], [1.0]])


def test_variant_gating_order_by_hand_with_two_variants():
    # base w, variants v1, v2. Step 1 (base gates variants): a's base is inf, so a's v1 and v2
    # become inf. Step 2 (cut-off, mins: w 100, v1 20, v2 50): c's v1 = 90 > 80 becomes inf.
    # Step 3 (variants gate the base): c's base becomes inf (v1 inf); b's v2 = NaN gates b's
    # base. Only d keeps its base time: d's ratio 150 / 150 = 1.
    times = [
        [INF, 5.0, 5.0],  # a
        [120.0, 20.0, NAN],  # b
        [100.0, 90.0, 50.0],  # c
        [150.0, 30.0, 60.0],  # d
    ]
    profile = performance_profile(times, base_of=[None, 0, 0])
    np.testing.assert_array_equal(profile.ratios, [[INF], [INF], [INF], [1.0]])


def test_profile_denominator_can_be_fixed_as_algoperf_does():
    profile = performance_profile([[1.0, 1.0]], num_workloads=8)
    assert profile.scores[0] == pytest.approx(2 / 8)


def test_bad_arguments_are_reported():
    with pytest.raises(ValueError, match="integral"):
        performance_profile([[1.0]], integral="simpson")
    with pytest.raises(ValueError, match="2-d"):
        performance_profile([1.0, 2.0])
    with pytest.raises(ValueError, match="base_of"):
        performance_profile([[1.0, 2.0]], base_of=[None])
    with pytest.raises(ValueError, match="min_tau < max_tau"):
        performance_profile([[1.0]], min_tau=4.0)


def test_trapezoid_is_within_half_a_grid_step_per_workload_of_exact():
    rng = np.random.default_rng(1)
    times = rng.choice([INF, *range(10, 60)], size=(6, 8)).astype(float)
    trapezoid = performance_profile(times).scores
    exact = performance_profile(times, integral="exact").scores
    assert np.all(np.abs(trapezoid - exact) <= (3 / 99) / 2 / 3 + 1e-12)


# --- crosscheck: AlgoPerf's procedure, re-implemented with dicts and plain floats ---------


def algoperf_scores(times, base_of, num_points=100, max_tau=4.0):
    """AlgoPerf's ``compute_performance_profiles(min_tau=1, max_tau=4, num_points=100)`` then
    ``compute_leaderboard_score(normalize=True)``, on ``times[submission][workload]`` with
    pandas' semantics (NaN skipped by ``min``, NaN quotients not written by ``update``)."""
    subs = list(times)
    workloads = list(base_of)

    def column_min(df, w):
        finite = [df[s][w] for s in subs if not math.isnan(df[s][w])]
        return min(finite) if finite else NAN

    df = {s: dict(times[s]) for s in subs}
    for w in workloads:  # variant_criteria_filter(variant, base): the base gates the variant
        if base_of[w] is not None:
            for s in subs:
                if df[s][base_of[w]] == INF or math.isnan(df[s][base_of[w]]):
                    df[s][w] = INF
    best = {w: column_min(df, w) for w in workloads}
    for s in subs:  # "Set score to inf if not within 4x of fastest submission"
        for w in workloads:
            if df[s][w] > 4 * best[w]:
                df[s][w] = INF
    for w in workloads:  # variant_criteria_filter(base, variant): the variant gates the base
        if base_of[w] is not None:
            for s in subs:
                if df[s][w] == INF or math.isnan(df[s][w]):
                    df[s][base_of[w]] = INF
    bases = [w for w in workloads if base_of[w] is None]
    best = {w: column_min(df, w) for w in bases}
    for s in subs:  # df.update(df.div(df.min(axis=0), axis=1))
        for w in bases:
            quotient = df[s][w] / best[w] if not math.isnan(best[w]) else NAN
            if not math.isnan(quotient):
                df[s][w] = quotient
    points = np.linspace(1.0, max_tau, num=num_points)
    scores = {}
    for s in subs:
        rho = [sum(df[s][w] <= tau for w in bases) / len(bases) for tau in points]
        area = sum(
            (rho[k] + rho[k + 1]) / 2 * (points[k + 1] - points[k]) for k in range(num_points - 1)
        )
        scores[s] = area / (points[-1] - points[0])
    return scores


@pytest.mark.parametrize("seed", range(20))
def test_benchmark_score_matches_algoperf_procedure(seed):
    rng = np.random.default_rng(seed)
    base_of = {"a": None, "b": None, "c": None, "a/v": "a", "c/v": "c"}
    values = [INF, INF, NAN, 100.0, 100.0, 150.0, 200.0, 399.0, 400.0, 401.0, 1000.0]
    times = {
        f"sub{i}": {w: float(rng.choice(values)) * rng.choice([1, 1, 1.37]) for w in base_of}
        for i in range(int(rng.integers(1, 6)))
    }
    expected = algoperf_scores(times, base_of)
    matrix = np.array([[times[s][w] for w in base_of] for s in times])
    columns = list(base_of)
    index = [None if b is None else columns.index(b) for b in base_of.values()]
    with np.errstate(all="raise"):
        got = performance_profile(matrix, index).scores
    np.testing.assert_allclose(got, list(expected.values()), rtol=0, atol=1e-12)


def algoperf_time_to_target(studies, minimize, target):
    """AlgoPerf's ``get_workloads_time_to_target`` for one submission and workload:
    ``studies`` = per study, a list of trials, each a list of (step, metric) evaluations.
    Per study, the trial that reaches the target at the earliest evaluation index (first
    such trial on ties) gives the time; the median over studies is the workload's time."""
    per_study = []
    for trials in studies:
        reached_at = []
        for evals in trials:
            hits = [
                k for k, (_, v) in enumerate(evals) if (v <= target if minimize else v >= target)
            ]
            reached_at.append(hits[0] if hits else None)
        candidates = [(k, i) for i, k in enumerate(reached_at) if k is not None]
        if candidates:
            index, trial = min(candidates)
            per_study.append(float(trials[trial][index][0]))
        else:
            per_study.append(INF)
    return float(np.median(per_study))


@pytest.mark.parametrize("seed", range(5))
def test_scores_from_trial_results_match_algoperf_end_to_end(seed):
    """Same evaluation cadence for every trial: AlgoPerf's earliest-index rule picks the
    same time as hpbench's fastest trial per seed."""
    rng = np.random.default_rng(100 + seed)
    workloads = {"a": None, "b": None, "a/v": "a"}
    results, studies = [], {}
    for algorithm in ("adamw", "nadamw", "prodigy"):
        for key in workloads:
            name, _, variant = key.partition("/")
            studies[(algorithm, key)] = []
            for study in range(3):
                trials = []
                for k in range(2):
                    values = rng.choice([0.3, 0.6, 0.9, NAN], size=12, p=[0.1, 0.3, 0.5, 0.1])
                    result = make_result(
                        list(values),
                        algorithm=algorithm,
                        workload=name,
                        variant=variant or "base",
                        seed=study,
                        hyperparameters={"learning_rate": 1e-3, "k": k},
                    )
                    results.append(result)
                    trials.append([(e.step, e.metrics["error_rate"]) for e in result.evals])
                studies[(algorithm, key)].append(trials)
    labels = {r.id: r.trial.algorithm for r in results}
    scores = score_results(results, labels)
    times = {
        algorithm: {
            key: algoperf_time_to_target(studies[(algorithm, key)], True, 0.5) for key in workloads
        }
        for algorithm in ("adamw", "nadamw", "prodigy")
    }
    for algorithm in times:
        for key in workloads:
            assert scores.row(algorithm, key).steps == times[algorithm][key]
    expected = algoperf_scores(times, workloads)
    got = [scores.benchmark[a] for a in times]
    assert len(set(got)) > 1  # the pool is not degenerate
    np.testing.assert_allclose(got, list(expected.values()), rtol=0, atol=1e-12)


# --- properties ------------------------------------------------------------------------

time_matrices = st.integers(1, 5).flatmap(
    lambda algorithms: st.integers(1, 4).flatmap(
        lambda workloads: st.lists(
            st.lists(
                st.one_of(st.just(INF), st.integers(1, 1000).map(float)),
                min_size=workloads,
                max_size=workloads,
            ),
            min_size=algorithms,
            max_size=algorithms,
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(time_matrices, st.sampled_from(["trapezoid", "exact"]))
def test_score_properties(times, integral):
    times = np.array(times)
    scores = performance_profile(times, integral=integral).scores
    assert np.all((scores >= 0) & (scores <= 1 + 1e-12))
    # relative: doubling every time, or reordering the algorithms, changes nothing
    doubled = performance_profile(2 * times, integral=integral).scores
    np.testing.assert_allclose(doubled, scores, atol=1e-12)
    order = np.arange(len(times))[::-1]
    reordered = performance_profile(times[order], integral=integral).scores
    np.testing.assert_allclose(reordered, scores[order], atol=1e-12)
    # a newcomer never raises anyone else's score
    newcomer = np.ones((1, times.shape[1]))
    joined = performance_profile(np.vstack([times, newcomer]), integral=integral).scores
    assert np.all(joined[:-1] <= scores + 1e-12)


@pytest.mark.parametrize("integral", ["trapezoid", "exact"])
def test_batched_scores_equal_one_profile_per_matrix(integral):
    """The bootstrap's batch (hpbench.scoring.spread.profile_scores) is performance_profile
    applied to each matrix: cut-off, gating and fastest times stay per matrix."""
    rng = np.random.default_rng(7)
    values = np.array([INF, NAN, 100.0, 150.0, 200.0, 399.0, 401.0, 1000.0, 50.0])
    times = rng.choice(values, size=(30, 4, 5))
    base_of = [None, None, 0, None, 1]
    options = {"max_tau": 4.0, "num_points": 100, "integral": integral, "num_workloads": None}
    expected = [performance_profile(t, base_of, **options).scores for t in times]
    np.testing.assert_allclose(profile_scores(times, base_of, options), expected, atol=1e-12)
    options["num_workloads"] = 8
    expected = [performance_profile(t, base_of, **options).scores for t in times]
    np.testing.assert_allclose(profile_scores(times, base_of, options), expected, atol=1e-12)

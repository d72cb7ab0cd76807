"""List cost C_tau, greedy and exhaustive lists, leave-one-workload-out and speedup, on
hand-worked step fractions and the NAdamW-list paper's published Table 9."""

import math

import numpy as np
import pytest
from scoring_helpers import reaching_at

from hpbench.report.papers import TABLE_9  # the NAdamW-list paper's step fractions
from hpbench.scoring import (
    best_subset,
    greedy_list,
    leave_one_workload_out,
    list_cost,
    prefix_costs,
    score_results,
    speedup,
    top_points,
)

INF = math.inf

# prod(0.75886, 2, 0.949664, 0.809714, 0.82, 0.79, 0.58, 0.659837) = 0.289334, ** (1/8):
TABLE_9_COST = 0.856396


def test_cost_of_the_published_list_counts_the_missed_unet_as_tau():
    fractions = np.array([list(TABLE_9.values())])
    assert list_cost(fractions, tau=2.0) == pytest.approx(TABLE_9_COST, abs=1e-6)
    # a larger penalty raises only the U-Net factor: (3 / 2) ** (1/8)
    assert list_cost(fractions, tau=3.0) == pytest.approx(TABLE_9_COST * 1.5 ** (1 / 8), abs=1e-6)


def test_cost_takes_the_best_point_per_workload():
    # Five points, each the best on some workloads; the columnwise minimum is Table 9.
    table = np.array(list(TABLE_9.values()))
    points = np.tile(table * 1.5, (5, 1))
    for column in range(8):
        points[column % 5, column] = table[column]
    assert list_cost(points) == pytest.approx(TABLE_9_COST, abs=1e-6)
    assert list_cost(points, points=[0]) > TABLE_9_COST


def test_cost_of_an_empty_list_and_of_points_not_run():
    assert list_cost(np.zeros((0, 3)), tau=2.0) == 2.0
    assert list_cost(np.array([[0.5, math.nan]])) == pytest.approx(math.sqrt(0.5 * 2))


# points x workloads, tau = 2:
#   p0 = [0.5, inf]  cost sqrt(0.5 * 2)   = 1.0
#   p1 = [inf, 0.5]  cost                 = 1.0
#   p2 = [0.8, 0.8]  cost                 = 0.8   <- greedy's first pick
# then p2 + p0 = [0.5, 0.8] and p2 + p1 = [0.8, 0.5] tie at sqrt(0.4): the lower index wins.
# The exhaustive best pair is {p0, p1} = [0.5, 0.5]: cost 0.5.
HAND = np.array([[0.5, INF], [INF, 0.5], [0.8, 0.8]])


def test_greedy_list_is_ordered_and_breaks_ties_by_index():
    assert greedy_list(HAND, 1) == [2]
    assert greedy_list(HAND, 2) == [2, 0]
    assert greedy_list(HAND, 3) == [2, 0, 1]
    assert list_cost(HAND, [2, 0]) == pytest.approx(math.sqrt(0.4))


def test_exhaustive_best_subset_can_beat_greedy():
    assert best_subset(HAND, 2) == (0, 1)
    assert list_cost(HAND, (0, 1)) == pytest.approx(0.5)
    assert best_subset(HAND, 1) == (2,)


def test_greedy_prefix_property_on_random_fractions():
    rng = np.random.default_rng(0)
    fractions = np.where(rng.random((12, 6)) < 0.3, INF, rng.uniform(0.2, 1.0, (12, 6)))
    full = greedy_list(fractions, 5)
    for k in range(1, 6):
        assert greedy_list(fractions, k) == full[:k]
    costs = [list_cost(fractions, full[:k]) for k in range(1, 6)]
    assert costs == sorted(costs, reverse=True)
    # the exhaustive best subset is never worse than the greedy list of the same size
    assert list_cost(fractions, best_subset(fractions, 3)) <= costs[2] + 1e-12


def test_list_size_is_checked():
    with pytest.raises(ValueError, match="list size"):
        greedy_list(HAND, 4)
    with pytest.raises(ValueError, match="list size"):
        best_subset(HAND, 0)


def test_leave_one_workload_out_as_worked_by_hand():
    # Without w0 (only w1): p1 (0.5) first, then p0 and p2 tie at 0.5 -> p0. On w0 that list
    # gives min(inf, 0.5) = 0.5. Without w1: p0 first, then p1/p2 tie at 0.5 -> p1; on w1: 0.5.
    metrics = np.array([[0.3, 0.9], [0.8, 0.2], [0.4, 0.4]])
    folds = leave_one_workload_out(HAND, 2, metrics=metrics, directions=["min", "max"])
    assert [(f.workload, f.points, f.step_fraction) for f in folds] == [
        (0, (1, 0), 0.5),
        (1, (0, 1), 0.5),
    ]
    assert [f.best_metric for f in folds] == [0.3, 0.9]
    one_point = leave_one_workload_out(HAND, 1)
    assert [(f.points, f.step_fraction) for f in one_point] == [((1,), INF), ((0,), INF)]
    assert math.isnan(one_point[0].best_metric)


def test_leave_one_workload_out_needs_two_workloads():
    with pytest.raises(ValueError, match="at least 2"):
        leave_one_workload_out(np.array([[0.5]]), 1)


def test_speedup_is_geometric_mean_of_time_ratios_with_misses_at_budget_plus_one():
    # baseline / candidate: 200/100 = 2, 200/200 = 1, 300/(999 + 1) = 0.3 -> 0.6 ** (1/3)
    candidate = np.array([100.0, 200.0, INF])
    baseline = np.array([200.0, 200.0, 300.0])
    budgets = np.array([1000.0, 1000.0, 999.0])
    assert speedup(candidate, baseline, budgets) == pytest.approx(0.6 ** (1 / 3))
    assert speedup(baseline, candidate, budgets) == pytest.approx(0.6 ** (-1 / 3))
    assert speedup(np.array([INF]), np.array([INF]), np.array([10.0])) == 1.0


def test_lists_from_the_scores_matrix():
    # two hyperparameter points (labels) on two workloads, T = 100 steps
    results = [
        reaching_at(50, algorithm="p0", workload="a"),
        reaching_at(None, algorithm="p0", workload="b"),
        reaching_at(80, algorithm="p1", workload="a"),
        reaching_at(80, algorithm="p1", workload="b"),
    ]
    fractions = score_results(results).matrix("step_fraction")
    np.testing.assert_array_equal(fractions, [[0.5, INF], [0.8, 0.8]])
    assert greedy_list(fractions, 2) == [1, 0]
    assert list_cost(fractions) == pytest.approx(math.sqrt(0.5 * 0.8))


def test_top_points_rank_single_point_costs():
    # single-point costs: p0 = p1 = 1.0 (tie: lower index first), p2 = 0.8
    assert top_points(HAND, 3) == [2, 0, 1]
    assert top_points(HAND, 1, tau=1.2) == [0]  # sqrt(0.5 * 1.2) = 0.77 < 0.8


def test_prefix_costs_equal_list_cost_of_every_prefix():
    """The list table's C_tau of all prefixes at once, bit for bit the per-prefix cost (and
    the per-workload best), on random fractions with misses (inf) and points not run (NaN)."""
    rng = np.random.default_rng(0)
    for _ in range(100):
        points, workloads = int(rng.integers(1, 30)), int(rng.integers(1, 12))
        choices = np.array([0.1, 0.33, 0.5, 0.9, 1.0, 2.5, INF, np.nan])
        fractions = rng.choice(choices, size=(points, workloads))
        fractions = fractions * rng.uniform(0.5, 1.5, size=fractions.shape)
        best, costs = prefix_costs(fractions, tau=2.0)
        for k in range(1, points + 1):
            assert costs[k - 1] == list_cost(fractions, range(k), tau=2.0)
            chosen = fractions[:k]
            assert np.array_equal(best[k - 1], np.where(np.isnan(chosen), INF, chosen).min(0))

"""benchmarks/list_rank.py: a list's best point placed among a search's points, worked by hand
on a synthetic store whose curves cross the target at known fractions of the horizon."""

from __future__ import annotations

import pytest

from benchmarks import list_rank
from benchmarks.synthetic_results import curve_value, make_result, write_result
from hpbench.api import plan

ROOT = list_rank.ROOT
SEARCH = ROOT / "specs" / "hardness_graded.toml"
LIST = ROOT / "specs" / "nadamw_list5.toml"


def _criteo(spec):
    return [t for t in plan(spec).trials if t.workload == "criteo"]


def test_the_lists_best_point_is_ranked_among_the_search_points(tmp_path):
    # synthetic curves fall monotonically, so a smaller reach is a lower best cross-entropy;
    # reach <= 1 crosses the target within the horizon
    search = _criteo(SEARCH)[:5]
    for trial, reach in zip(search, (0.3, 0.6, 0.9, 1.5, 2.0), strict=True):
        write_result(make_result(trial, reach), tmp_path)
    listed = _criteo(LIST)
    for trial, reach in zip(listed, (1.2, 0.7, 3.0, 3.0, 3.0), strict=True):
        write_result(make_result(trial, reach), tmp_path)
    (row,) = list_rank.ranks(SEARCH, LIST, tmp_path)
    # the list's second point (reach 0.7) is its best; search points 0.3 and 0.6 beat it, and
    # 0.3, 0.6 and 0.9 reach the target
    second = listed[1]
    last = second.horizon_steps - second.horizon_steps % second.eval_every
    assert row.best == pytest.approx(curve_value(second, last, 0.7))
    assert row.learning_rate == dict(second.hyperparameters)["learning_rate"]
    assert (row.better, row.reaching, row.list_reaches) == (2, 3, True)
    assert len(row.search) == 5
    text = list_rank.markdown([row])
    assert row.seed == 0 and f"| criteo | 0 | {second.target.value:.4g} | " in text
    assert "| yes | 2 of 5 | 40.0% | 3 of 5 |" in text


def test_each_seed_is_ranked_among_the_search_points_of_that_seed(tmp_path):
    # a seed's luck moves every point of a workload together: seed 2's list point is placed
    # among seed 2's search points only, seed 3's among seed 3's
    search = ROOT / "specs" / "hardness_seeds.toml"
    listed = ROOT / "specs" / "findings" / "nadamw_list5.toml"
    reach = {2: (0.2, 0.4, 0.6), 3: (0.8, 1.5, 2.0)}  # seed 3's search points are all worse
    for seed, values in reach.items():
        points = [t for t in _criteo(search) if t.seed == seed][:3]
        for trial, r in zip(points, values, strict=True):
            write_result(make_result(trial, r), tmp_path)
        for trial in (t for t in _criteo(listed) if t.seed == seed):
            write_result(make_result(trial, 0.5), tmp_path)
    rows = list_rank.ranks(search, listed, tmp_path)
    assert [(r.seed, r.better, r.reaching, len(r.search)) for r in rows] == [
        (2, 2, 3, 3),  # 0.2 and 0.4 beat the list's 0.5; all three reach
        (3, 0, 1, 3),  # none beats it; only 0.8 reaches
    ]


def test_specs_without_a_seed_in_common_are_refused():
    # the findings list trains seeds 2-4, the 200-point search seed 0: nothing to compare
    findings = ROOT / "specs" / "findings" / "nadamw_list5.toml"
    with pytest.raises(ValueError, match="one horizon, the same, and a seed in common"):
        list_rank.ranks(SEARCH, findings, ROOT / "results")

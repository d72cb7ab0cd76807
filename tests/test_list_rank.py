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
    assert f"| criteo | {second.target.value:.4g} | " in text
    assert "| yes | 2 of 5 | 40.0% | 3 of 5 |" in text


def test_a_list_on_other_seeds_is_refused():
    # a seed's luck moves every point of a workload together: ranks compare one seed only
    findings = ROOT / "specs" / "findings" / "nadamw_list5.toml"
    with pytest.raises(ValueError, match="must each train one seed at one horizon, the same"):
        list_rank.ranks(SEARCH, findings, ROOT / "results")

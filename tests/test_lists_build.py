"""``hpbench build-list``: greedy lists, leave-one-workload-out and the best subset, from
trial results written by hand (no training), checked against costs worked out by hand."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from search_helpers import WORKLOADS, write_result

from hpbench.cli import main
from hpbench.search.lists import build_list
from hpbench.search.runs import point_trials
from hpbench.spec import load_plan, load_spec

INF = math.inf
#: fractions[p][w] of 4 points on (criteo, ogbg, wmt), the medians over 3 seeds.
FRACTIONS = [
    [0.2, 0.9, INF],
    [0.5, 0.5, 0.5],
    [INF, 0.3, 0.4],
    [0.3, INF, 0.2],
]
#: Per seed, the median of (x, x, inf) is x and the median of (inf, inf, 0.1) is inf: a
#: builder taking the min or the mean over seeds would get other lists.
SEEDS = {0: lambda x: x, 1: lambda x: x if math.isfinite(x) else 0.1, 2: lambda x: INF}


@pytest.fixture
def results(tmp_path) -> tuple[Path, Path]:
    spec = tmp_path / "list.toml"
    spec.write_text(
        '[benchmark]\nname = "list_test"\n[algorithm]\nname = "nadamw"\n'
        "[schedule]\nhorizon = 1.0\n"
        + WORKLOADS
        + "[run]\nseeds = [0, 1, 2]\n"
        + '[search]\nmethod = "grid"\nspace.learning_rate = { values = [1e-4, 1e-3, 1e-2, 1e-1] }\n'
        + "[list]\nsize = 2\nexhaustive = true\n"
    )
    results = tmp_path / "results"
    loaded = load_spec(spec)
    workloads = ["criteo", "ogbg", "wmt"]
    for p, point in enumerate(loaded.points):
        for trial in point_trials(loaded, point):
            fraction = FRACTIONS[p][workloads.index(trial.workload)]
            write_result(results, trial, SEEDS[trial.seed](fraction))
    return spec, results


def test_greedy_list_leave_one_out_and_best_subset_by_hand(results):
    spec, directory = results
    built = build_list(load_spec(spec), directory, pack=8)
    assert built.table.workloads == ("criteo", "ogbg", "wmt")
    np.testing.assert_array_equal(built.table.fractions, np.array(FRACTIONS))
    # C_2 of one point: p3 (0.3 * 2 * 0.2)^(1/3) = 0.4932 < p1 0.5 < p2 0.6214 < p0 0.7114;
    # then p2 brings ogbg to 0.3: (0.3 * 0.3 * 0.2)^(1/3) = 0.2621 (p1: 0.3107, p0: 0.3302).
    assert built.order == (3, 2)
    assert built.prefix_costs == pytest.approx([0.12 ** (1 / 3), 0.018 ** (1 / 3)])
    assert built.best_subset == (2, 3) and built.best_subset_cost == pytest.approx(0.018 ** (1 / 3))
    # Held-out criteo: on (ogbg, wmt) p2 (sqrt(0.12)) then p3 -> criteo min(inf, 0.3) = 0.3.
    # Held-out ogbg: on (criteo, wmt) p3 (sqrt(0.06)) then p0 -> ogbg min(inf, 0.9) = 0.9.
    # Held-out wmt: on (criteo, ogbg) p0 (sqrt(0.18)) then p2 -> wmt min(inf, 0.4) = 0.4.
    folds = [(f.points, f.step_fraction) for f in built.held_out]
    assert folds == [((2, 3), 0.3), ((3, 0), 0.9), ((0, 2), 0.4)]
    assert [p["learning_rate"] for p in built.points()] == [1e-1, 1e-2]


def test_build_list_emits_a_spec_that_runs_the_list_and_the_papers_tables(results, tmp_path):
    spec, directory = results
    emitted = tmp_path / "specs" / "nadamw_list2.toml"
    report = tmp_path / "list.md"
    argv = ["build-list", str(spec), "--results", str(directory), "--pack", "8", "--quiet"]
    assert main([*argv, "--emit", str(emitted), "--report", str(report)]) == 0
    listed = load_spec(emitted)
    assert [p["learning_rate"] for p in listed.points] == [1e-1, 1e-2]
    text = emitted.read_text()
    assert "[[algorithm.points]]  # 1" in text and "# 1      4  0.4932" in text
    assert "exhaustive best subset (comparison only): points 3, 4, C_tau 0.2621" in text
    # The list spec's trials are the search's: running it trains nothing new.
    searched = {t.id for t in load_plan(spec).trials}
    assert {t.id for t in load_plan(emitted).trials} <= searched
    table = report.read_text()
    assert table.startswith("# A greedy 2-point nadamw list\n\n`hpbench build-list ")
    assert (
        "search: grid, resolution 3, space inline [search.space]; training seeds [0, 1, 2]; "
        "horizon 1; tau 2."
    ) in table
    assert "| list | criteo | ogbg | wmt |" in table
    assert "| greedy 2-point list | 0.3 | 0.3 | 0.2 |" in table
    assert "| leave-one-workload-out 2-point list | 0.3 | 0.9 | 0.4 |" in table
    assert "| ogbg | 4, 1 | 0.9 |" in table
    assert "| 1 | 4 | 0.1 | 0.4932 |" in table


def test_build_list_no_train_builds_from_finished_trials_or_says_what_is_missing(
    results, tmp_path, capsys
):
    spec, directory = results
    argv = ["build-list", str(spec), "--quiet", "--report"]
    trained, read = tmp_path / "trained.md", tmp_path / "read.md"
    assert main([*argv, str(trained), "--results", str(directory)]) == 0
    assert main([*argv, str(read), "--results", str(directory), "--no-train"]) == 0
    assert read.read_text().split("\n", 3)[3] == trained.read_text().split("\n", 3)[3]
    copy = tmp_path / "copy"
    shutil.copytree(directory, copy)
    shutil.rmtree(copy / load_plan(spec).trials[0].id)
    before = sorted(p.name for p in copy.iterdir())
    capsys.readouterr()
    out = tmp_path / "not_written.md"
    assert main([*argv, str(out), "--results", str(copy), "--no-train"]) == 1
    # 4 points x 3 workloads x 3 seeds
    assert "hpbench build-list --no-train: 1 of the 36 trials it needs so far" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in copy.iterdir()) == before and not out.exists()


def test_build_list_needs_a_list_table(tmp_path, capsys):
    spec = tmp_path / "s.toml"
    spec.write_text(
        '[algorithm]\nname = "nadamw"\n'
        + WORKLOADS
        + "[search]\nspace.dropout = { values = [0.0] }\n"
    )
    assert main(["build-list", str(spec), "--results", str(tmp_path / "r")]) == 2
    assert "s.toml:1:1: list: expected a [list] table for hpbench build-list, found none" in (
        capsys.readouterr().err
    )


def test_a_list_spec_extending_another_emits_a_spec_without_its_search(results, tmp_path):
    """A smaller run of a procedure spec (``extends`` it): the emitted list spec extends the
    nearest ancestor without [search]/[list], here the suite, so it validates and reuses."""
    spec, directory = results
    (tmp_path / "pyproject.toml").write_text("")  # a repository: out/ may reach its parent
    suite = tmp_path / "suite.toml"
    suite.write_text('[benchmark]\nname = "three"\n' + WORKLOADS)
    text = spec.read_text().replace(WORKLOADS, "")
    spec.write_text(
        text.replace('name = "list_test"\n', 'name = "list_test"\nextends = "suite.toml"\n')
    )
    smaller = tmp_path / "list_small.toml"
    smaller.write_text('[benchmark]\nname = "small"\nextends = "list.toml"\n[list]\nsize = 1\n')
    emitted = tmp_path / "out" / "list1.toml"
    argv = ["build-list", str(smaller), "--results", str(directory), "--quiet"]
    assert main([*argv, "--emit", str(emitted)]) == 0
    assert 'extends = "../suite.toml"' in emitted.read_text()
    assert [p["learning_rate"] for p in load_spec(emitted).points] == [1e-1]
    assert {t.id for t in load_plan(emitted).trials} <= {t.id for t in load_plan(spec).trials}

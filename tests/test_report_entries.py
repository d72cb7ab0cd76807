"""Report entries from real spec files: a [grid] gives an entry per point, labelled by the
values that vary; only lists are lists. Each entry's resolved spec compiles back to its own
trials; the targets version is read from the suite; seeds and provenance are recorded."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from benchmarks.synthetic_results import make_result, write_result
from hpbench.report import tables
from hpbench.report.data import build_report, load_runs
from hpbench.report.render import render
from hpbench.report.resolved import is_list, targets_version
from hpbench.spec import load_plan, load_spec
from hpbench.spec.model import Spec

REPO = Path(__file__).resolve().parent.parent
GRID = """[benchmark]
name = "sweep"
description = "a learning-rate and warmup sweep"
extends = "toy.toml"

[algorithm]
name = "adamw"

[grid]
learning_rate = [1e-3, 3e-3]
warmup = [0.0, 0.05]

[run]
seeds = [0, 1]
"""
LIST = """[benchmark]
name = "two_point_list"
extends = "toy.toml"

[algorithm]
name = "adamw"

[[algorithm.points]]
learning_rate = 1e-3

[[algorithm.points]]
learning_rate = 1e-2

[run]
seeds = [0, 1]
"""


def write(directory: Path, name: str, text: str) -> Path:
    shutil.copy(REPO / "specs" / "suites" / "toy.toml", directory / "toy.toml")
    path = directory / f"{name}.toml"
    path.write_text(text)
    return path


@pytest.fixture
def grid_report(tmp_path):
    """The grid's four points reach the target at 0.2, 0.3, 0.4 and 0.5 of the horizon
    (the grid's written order: learning rate outer, warmup inner)."""
    spec = write(tmp_path, "sweep", GRID)
    trials = load_plan(spec).trials
    reach = {}
    for trial in trials:
        reach.setdefault((trial.hyperparameters, trial.warmup), 0.2 + 0.1 * len(reach))
        write_result(make_result(trial, reach[(trial.hyperparameters, trial.warmup)]), tmp_path)
    return build_report(load_runs([spec], tmp_path), integral="exact")


def test_grid_points_are_entries_labelled_by_the_values_that_vary(grid_report):
    labels = [e.label for e in grid_report.entries]
    assert labels == [
        "learning_rate=0.001, warmup=0",
        "learning_rate=0.001, warmup=0.05",
        "learning_rate=0.003, warmup=0",
        "learning_rate=0.003, warmup=0.05",
    ]
    assert all(not e.is_list and e.spec == "sweep" for e in grid_report.entries)
    # toy_mlp: 400 steps, evaluated every 20: times 80, 120, 160, 200 -> ratios 1, 1.5, 2,
    # 2.5; the exact area over [1, 4] is (4 - r) / 3.
    expected = [1.0, 2.5 / 3, 2 / 3, 0.5]
    for entry, score in zip(grid_report.entries, expected, strict=True):
        assert grid_report.score(entry) == pytest.approx(score)
        assert entry.seeds == (0, 1)
        assert entry.outcomes["reached"] == 2
    rendered = render(grid_report)
    assert "first 1 point" not in rendered.markdown and "## Lists" not in rendered.markdown
    assert "#1" not in rendered.markdown  # no "sweep #1" legend or label
    for label in labels:  # the plots' legends name the points, in full
        assert all(label in f.svg for f in rendered.figures)
        assert f">{label}</text>" in rendered.figures[1].svg  # the curves' legend


def test_a_grid_beside_other_specs_prefixes_its_name(tmp_path):
    spec = write(tmp_path, "sweep", GRID)
    other = write(tmp_path, "two_point_list", LIST)
    for trial in (*load_plan(spec).trials, *load_plan(other).trials):
        write_result(make_result(trial, 0.5), tmp_path)
    report = build_report(load_runs([spec, other], tmp_path))
    assert [e.label for e in report.entries] == [
        "sweep: learning_rate=0.001, warmup=0",
        "sweep: learning_rate=0.001, warmup=0.05",
        "sweep: learning_rate=0.003, warmup=0",
        "sweep: learning_rate=0.003, warmup=0.05",
        "two_point_list",
    ]
    (listed,) = [e for e in report.entries if e.is_list]
    assert [p.label for p in listed.points] == ["two_point_list #1", "two_point_list #2"]
    table = tables.list_table(report, listed)
    assert [row[0].text for row in table.rows] == ["first 1 point", "first 2 points"]
    # one hyperparameter table per spec: the grid's rows are named by entry
    markdown = render(report).markdown
    assert "| sweep: learning_rate=0.003, warmup=0.05 | adamw |" in markdown


def test_only_list_specs_and_published_lists_are_lists():
    assert is_list(load_spec(REPO / "specs" / "nadamw_list5_mini.toml"))  # published list
    # a [list] build (as specs/list_toy.toml; its [search] draws take seconds to import)
    assert is_list(Spec(name="l", file="l.toml", points=({}, {}), reserved={"list": {}}))
    assert not is_list(load_spec(REPO / "specs/levers/ceiling_quarter_steps4.toml"))  # a [grid]
    assert not is_list(load_spec(REPO / "specs" / "calibrate_toy.toml"))  # [search] points
    assert not is_list(load_spec(REPO / "specs" / "adamw_baseline.toml"))  # one point


def test_each_entry_resolved_spec_compiles_to_its_own_trials(grid_report, tmp_path):
    for index, entry in enumerate(grid_report.entries):
        path = tmp_path / f"resolved{index}.toml"
        path.write_text(entry.resolved)
        trials = load_plan(path).trials
        assert {t.id for t in trials} == set(
            grid_report.scores.row(entry.label, "toy_mlp").trial_ids
        )
        assert "extends" not in entry.resolved and "[grid]" not in entry.resolved


def test_targets_version_seeds_and_devices_are_recorded(tmp_path, grid_report):
    adamw = REPO / "specs" / "adamw_baseline.toml"
    runs = load_runs([adamw], tmp_path)
    assert runs[0].targets_version == "graded-6"  # "Targets version" in algoperf_mini.toml
    assert grid_report.entries[0].targets_version == "not stated"  # the toy suite names none
    provenance = dict((r[0].text, r[1].text) for r in tables.provenance_table(grid_report).rows)
    assert provenance["targets version (sweep)"] == "not stated"
    assert provenance["devices"] == "cpu (synthetic)"  # what the results recorded
    assert provenance["git commit"]  # a commit, or "unknown" outside a checkout
    workloads = tables.workloads_table(grid_report)
    assert [c.text for c in workloads.rows[0]] == [
        "toy_mlp",
        "mini",
        "400",
        "64",
        "error_rate ↓",
        "0.06",
    ]
    html = render(grid_report).html
    assert html.count("<details><summary>Resolved spec of") == 4


def test_a_target_overridden_in_the_spec_is_named_in_the_version(tmp_path):
    (tmp_path / "suites").mkdir()
    shutil.copy(REPO / "specs" / "suites" / "algoperf_mini.toml", tmp_path / "suites")
    spec = tmp_path / "mine.toml"
    spec.write_text(
        '[benchmark]\nname = "mine"\nextends = "suites/algoperf_mini.toml"\n\n'
        '[algorithm]\nname = "adamw"\n\n[workloads.criteo]\ntarget = { metric = "cross_entropy",'
        " value = 0.4 }\n"
    )
    assert targets_version(load_spec(spec)) == "graded-6, none in mine.toml"


def test_a_list_resolves_to_the_whole_spec(tmp_path):
    path = write(tmp_path, "two_point_list", LIST)
    for trial in load_plan(path).trials:
        write_result(make_result(trial, 0.5), tmp_path)
    (entry,) = build_report(load_runs([path], tmp_path), bootstrap=0).entries
    (tmp_path / "resolved.toml").write_text(entry.resolved)
    resolved = {t.id for t in load_plan(tmp_path / "resolved.toml").trials}
    assert resolved == {t.id for t in load_plan(path).trials}
    assert entry.resolved.count("[[algorithm.points]]") == 2

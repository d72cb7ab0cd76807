"""``[benchmark] suite``: a suite file's workloads in place of the inherited ones (docs/spec.md)."""

from pathlib import Path
from textwrap import dedent

import pytest

from hpbench.config.source import read_document
from hpbench.report.resolved import resolved
from hpbench.spec import SpecError, load_plan, load_spec
from hpbench.spec.source import load_document

ROOT = Path(__file__).resolve().parent.parent

ALGORITHM = """
[algorithm]
name = "adamw"
learning_rate = 0.01

[schedule]
horizon = 0.5

[run]
seeds = [0, 1]
"""
MINE = """
[benchmark]
name = "mine"
[workloads.toy_mlp]
target = { metric = "error_rate", value = 0.06 }
max_steps = 300
[workloads.ogbg]
target = { metric = "map", value = 0.5 }
"""
OTHER = """
[benchmark]
name = "other"
[workloads.toy_mlp]
target = { metric = "error_rate", value = 0.1 }
max_steps = 100
batch_size = 32
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


@pytest.fixture
def suites(tmp_path: Path) -> Path:
    """An algorithm spec on suite ``mine`` (two workloads) and a suite ``other`` (one)."""
    write(tmp_path, "suites/mine.toml", MINE)
    write(tmp_path, "suites/other.toml", OTHER)
    write(tmp_path, "algo.toml", '[benchmark]\nextends = "suites/mine.toml"\n' + ALGORITHM)
    return tmp_path


def swapped(directory: Path, body: str = "", suite: str = "suites/other.toml") -> Path:
    text = f'[benchmark]\nname = "swapped"\nextends = "algo.toml"\nsuite = "{suite}"\n{body}'
    return write(directory, "swapped.toml", text)


def test_the_suite_replaces_the_inherited_workloads_and_keeps_the_algorithm(suites):
    trials = load_plan(swapped(suites)).trials
    assert [(t.workload, t.seed) for t in trials] == [("toy_mlp", 0), ("toy_mlp", 1)]
    (trial, _) = trials
    assert (trial.target.value, trial.max_steps, trial.batch_size) == (0.1, 100, 32)
    assert (trial.algorithm, trial.params["learning_rate"], trial.horizon) == ("adamw", 0.01, 0.5)


def test_ids_equal_a_spec_that_writes_the_suite_tables_out(suites):
    by_hand = write(suites, "by_hand.toml", ALGORITHM + OTHER.replace('name = "other"', ""))
    ids = [t.id for t in load_plan(swapped(suites)).trials]
    assert ids == [t.id for t in load_plan(by_hand).trials]


def test_a_suite_extending_another_is_merged_first(suites):
    write(
        suites,
        "suites/nested.toml",
        '[benchmark]\nextends = "other.toml"\n[workloads.toy_mlp.target]\nvalue = 0.2\n',
    )
    (trial, _) = load_plan(swapped(suites, suite="suites/nested.toml")).trials
    assert (trial.target.value, trial.max_steps) == (0.2, 100)  # nested over other


def test_own_tables_apply_over_the_suite_and_children_inherit_the_swap(suites):
    spec = swapped(suites, "[workloads.toy_mlp]\nmax_steps = 50\n")
    (trial, _) = load_plan(spec).trials
    assert (trial.max_steps, trial.target.value) == (50, 0.1)  # own table over the suite's
    child = write(suites, "child.toml", '[benchmark]\nextends = "swapped.toml"\n')
    assert [t.id for t in load_plan(child).trials] == [t.id for t in load_plan(spec).trials]


def test_a_selection_selects_from_the_swapped_suite(suites):
    write(suites, "suites/both.toml", MINE.replace('name = "mine"', 'name = "both"'))
    spec = write(
        suites,
        "picked.toml",
        'workloads = ["ogbg"]\n[benchmark]\nextends = "algo.toml"\nsuite = "suites/both.toml"\n',
    )
    assert {t.workload for t in load_plan(spec).trials} == {"ogbg"}
    bad = write(suites, "bad.toml", 'workloads = ["ogbg"]\n' + swapped(suites).read_text())
    with pytest.raises(SpecError) as e:
        load_spec(bad)
    text = e.value.render()
    assert 'bad.toml:1:14: workloads[0]: expected a workload of the suite ("toy_mlp")' in text


def test_an_inherited_selection_selects_from_the_swapped_suite(suites):
    write(suites, "suites/both.toml", MINE.replace("max_steps = 300", "max_steps = 7"))
    write(suites, "one.toml", 'workloads = ["toy_mlp"]\n[benchmark]\nextends = "algo.toml"\n')
    spec = write(
        suites, "s.toml", '[benchmark]\nextends = "one.toml"\nsuite = "suites/both.toml"\n'
    )
    trials = load_plan(spec).trials
    assert {(t.workload, t.max_steps) for t in trials} == {("toy_mlp", 7)}


@pytest.mark.parametrize(
    ("suite_text", "found"),
    [
        ('[algorithm]\nname = "sgd"\n' + OTHER, "which has [algorithm]"),
        ("[schedule]\nhorizon = 0.5\n" + OTHER, "which has [schedule]"),
        ('[search]\nspace = "x.toml"\n' + OTHER, "which has [search]"),
        ('[benchmark]\nname = "empty"\n', "which has no [workloads.NAME] tables"),
    ],
)
def test_a_file_that_is_not_a_suite_is_refused_at_the_suite_line(suites, suite_text, found):
    write(suites, "suites/bad.toml", suite_text)
    with pytest.raises(SpecError) as e:
        load_spec(swapped(suites, suite="suites/bad.toml"))
    (problem,) = e.value.problems
    assert (Path(problem.file).name, problem.line, problem.col) == ("swapped.toml", 4, 9)
    assert problem.key == "benchmark.suite"
    assert "expected a suite file (only [benchmark] and [workloads.NAME] tables)" in problem.message
    assert found in problem.message


@pytest.mark.parametrize(
    ("suite", "says"),
    [
        ("suites/missing.toml", "expected an existing suite file, found no file"),
        ("../outside.toml", "which leads outside it"),
        ("swapped.toml", "found the cycle"),
        ("suites/other.txt", "not a .toml file"),
    ],
)
def test_a_missing_outside_or_cyclic_suite_is_refused_at_its_line(suites, suite, says):
    with pytest.raises(SpecError) as e:
        load_spec(swapped(suites, suite=suite))
    (problem,) = e.value.problems
    assert (Path(problem.file).name, problem.line, problem.key) == (
        "swapped.toml",
        4,
        "benchmark.suite",
    )
    assert says in problem.message


def test_the_resolved_spec_shows_the_swapped_workloads(suites):
    data = resolved(load_document(swapped(suites)).data)
    assert data["benchmark"] == {"name": "swapped"}  # self-contained: nothing to merge
    assert data["workloads"] == read_document(suites / "suites" / "other.toml").data["workloads"]
    assert data["algorithm"]["learning_rate"] == 0.01


def test_a_suite_outside_the_repository_is_refused_before_it_is_opened(suites, monkeypatch):
    opened = []
    real = Path.open

    def spy(self, *args, **kwargs):
        opened.append(self.resolve())
        return real(self, *args, **kwargs)

    outside = suites.parent / "outside.toml"
    outside.write_text(OTHER)
    monkeypatch.setattr(Path, "open", spy)
    with pytest.raises(SpecError, match="which leads outside it"):
        load_spec(swapped(suites, suite="../outside.toml"))
    assert outside.resolve() not in opened
    assert any(p.name == "swapped.toml" for p in opened)  # the spy sees what is read

"""Every bad spec in tests/specs/bad/ fails with exactly the message in its .expected file."""

from pathlib import Path

import pytest

from hpbench.spec import SpecError, load_plan

ROOT = Path(__file__).resolve().parent.parent
BAD = sorted((ROOT / "tests" / "specs" / "bad").glob("*.toml"))


def test_the_corpus_covers_the_issue_list():
    names = {p.stem for p in BAD}
    required = {
        "syntax", "unknown_key", "wrong_type", "negative_learning_rate", "warmup_one",
        "horizon_zero", "horizon_above_one", "unknown_algorithm", "unknown_workload",
        "unknown_metric", "foreign_hyperparameter", "missing_target", "extends_missing",
        "extends_cycle_a", "empty_grid", "many_problems",
    }  # fmt: skip
    assert required <= names


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_spec_message(path, monkeypatch):
    monkeypatch.chdir(ROOT)
    expected = path.with_suffix(".expected").read_text().strip()
    with pytest.raises(SpecError) as raised:
        load_plan(path.relative_to(ROOT))
    assert raised.value.render() == expected


def test_all_problems_of_a_file_are_reported_at_once(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as raised:
        load_plan("tests/specs/bad/many_problems.toml")
    keys = [p.key for p in raised.value.problems]
    assert len(keys) >= 10
    assert {"algorithm.learning_rate", "schedule.horizon", "run.stop_at_target"} <= set(keys)
    lines = [p.line for p in raised.value.problems]
    assert lines == sorted(lines)


def test_inherited_problem_points_at_the_parent_file(monkeypatch):
    monkeypatch.chdir(ROOT)
    with pytest.raises(SpecError) as raised:
        load_plan("tests/specs/bad/inherited_problem.toml")
    (problem,) = raised.value.problems
    assert problem.file == "tests/specs/bad/parents/negative_weight_decay.toml"
    assert (problem.line, problem.col) == (4, 16)


def test_a_missing_spec_file_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read the spec"):
        load_plan(tmp_path / "nowhere.toml")


if __name__ == "__main__":
    # `python tests/test_spec_errors.py` rewrites the .expected files after a deliberate change
    # of wording or of the registries; review the diff before committing it.
    import os

    os.chdir(ROOT)
    for path in BAD:
        try:
            load_plan(path.relative_to(ROOT))
        except SpecError as e:
            path.with_suffix(".expected").write_text(e.render() + "\n")
        else:
            print(f"{path.name}: no error")

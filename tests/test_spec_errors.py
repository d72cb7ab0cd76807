"""Every bad spec in tests/specs/bad/ fails with exactly the message in its .expected file."""

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_spec_locate import _render

from hpbench.spec import SpecError, load_plan
from hpbench.spec.model import SECTIONS

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


# --- any document: a SpecError or a plan, never another exception -------------------------

WORDS = st.sampled_from(
    [*SECTIONS, "name", "extends", "adamw", "mechanic", "learning_rate", "base", "num_betas",
     "points", "warmup", "horizon", "shape", "toy_mlp", "criteo", "target", "metric", "value",
     "direction", "variant", "variants", "tanh", "max_steps", "eval_every", "skip", "seeds",
     "seed", "size", "mini", "error_rate", "x"]
)  # fmt: skip
VALUES = (
    st.integers(-(10**400), 10**400)
    | st.floats(allow_nan=True)
    | st.booleans()
    | WORDS
    | st.just("warmup_cosine")
)
SPEC_LIKE = st.dictionaries(
    WORDS,
    st.recursive(
        VALUES,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(WORDS, inner, max_size=4),
    ),
    max_size=5,
)


@settings(max_examples=100, deadline=None)
@given(SPEC_LIKE)
def test_any_document_gives_a_plan_or_a_spec_error(doc):
    text, _ = _render({k: v for k, v in doc.items() if not _has_nan(v)}, headers=True)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.toml"
        path.write_text(text)
        try:
            load_plan(path)
        except SpecError as e:
            assert all(p.line >= 1 and p.col >= 1 and p.message for p in e.problems)


def _has_nan(value) -> bool:  # TOML has nan, but tomllib's nan != nan breaks the renderer check
    if isinstance(value, dict):
        return any(_has_nan(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_nan(v) for v in value)
    return isinstance(value, float) and value != value


def test_a_file_that_is_not_utf8_is_a_spec_error(tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[benchmark]\nname = "caf\xe9"\n')
    with pytest.raises(SpecError) as raised:
        load_plan(path)
    assert raised.value.render().endswith(
        "latin1.toml:2:12: expected UTF-8 text, found the byte 0xe9"
    )


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

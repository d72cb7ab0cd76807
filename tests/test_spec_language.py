"""The spec language: defaults, extends, grids, points, variants and number coercion."""

from pathlib import Path
from textwrap import dedent

import attrs
import pytest

from hpbench.algorithms.registry import ALGORITHMS
from hpbench.spec import SpecError, load_plan, load_spec
from hpbench.workloads.registry import WORKLOADS

TOY = """
[workloads.toy_mlp]
target = { metric = "error_rate", value = 0.06 }
"""


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dedent(text))
    return path


def test_defaults_come_from_the_registries(tmp_path):
    plan = load_plan(write(tmp_path, "a.toml", '[algorithm]\nname = "adamw"\n' + TOY))
    (trial,) = plan.trials
    info = WORKLOADS["toy_mlp"]
    assert (trial.max_steps, trial.batch_size) == (info.max_steps["mini"], info.batch_size["mini"])
    assert trial.params == {k: v for k, v in ALGORITHMS["adamw"].defaults().items()}
    assert (trial.schedule, trial.warmup, trial.horizon, trial.seed) == (
        "warmup_cosine",
        0.05,
        1.0,
        0,
    )
    assert trial.eval_every == round(0.02 * info.max_steps["mini"])
    assert trial.target.direction == "min"
    assert plan.name == "a" and plan.source.endswith("a.toml")


def test_numbers_are_coerced_by_declared_kind(tmp_path):
    as_int = write(
        tmp_path, "int.toml", '[algorithm]\nname = "mechanic"\nlearning_rate = 1\n' + TOY
    )
    as_float = write(
        tmp_path, "float.toml", '[algorithm]\nname = "mechanic"\nlearning_rate = 1.0\n' + TOY
    )
    (a,), (b,) = load_plan(as_int).trials, load_plan(as_float).trials
    assert a.id == b.id
    assert isinstance(a.params["learning_rate"], float)
    assert isinstance(a.params["num_betas"], int)


def test_static_string_choices_are_options(tmp_path):
    path = write(tmp_path, "m.toml", '[algorithm]\nname = "mechanic"\nbase = "nadam"\n' + TOY)
    (trial,) = load_plan(path).trials
    assert dict(trial.options) == {"base": "nadam"}
    assert "base" not in trial.params


def test_extends_deep_merges_over_several_levels_child_wins(tmp_path):
    write(
        tmp_path,
        "suites/base.toml",
        """
        [benchmark]
        name = "base"
        [workloads.toy_mlp]
        target = { metric = "error_rate", value = 0.06 }
        max_steps = 300
        eval_every = 10
        """,
    )
    write(
        tmp_path,
        "suites/middle.toml",
        """
        [benchmark]
        extends = "base.toml"
        [algorithm]
        name = "adamw"
        learning_rate = 0.01
        beta1 = 0.8
        [workloads.toy_mlp]
        max_steps = 200
        """,
    )
    child = write(
        tmp_path,
        "child.toml",
        """
        [benchmark]
        name = "child"
        extends = "suites/middle.toml"
        [algorithm]
        beta1 = 0.95
        [workloads.toy_mlp.target]
        value = 0.05
        """,
    )
    plan = load_plan(child)
    (trial,) = plan.trials
    assert plan.name == "child"
    assert trial.params["learning_rate"] == 0.01  # from middle
    assert trial.params["beta1"] == 0.95  # child wins
    assert trial.max_steps == 200 and trial.eval_every == 10  # middle over base, base kept
    assert trial.target.value == 0.05 and trial.target.metric == "error_rate"  # merged table


def test_a_child_naming_another_algorithm_starts_from_its_defaults(tmp_path):
    write(tmp_path, "parent.toml", '[algorithm]\nname = "adamw"\nlearning_rate = 0.01\n' + TOY)
    child = write(
        tmp_path,
        "child.toml",
        """
        [benchmark]
        extends = "parent.toml"
        [algorithm]
        name = "prodigy"
        d_coef = 0.5
        """,
    )
    (trial,) = load_plan(child).trials
    assert trial.algorithm == "prodigy"
    assert trial.params["learning_rate"] == ALGORITHMS["prodigy"].defaults()["learning_rate"]
    assert trial.params["d_coef"] == 0.5


def test_grid_is_a_cartesian_product_with_seeds(tmp_path):
    path = write(
        tmp_path,
        "g.toml",
        """
        [algorithm]
        name = "adamw"
        [grid]
        learning_rate = [1e-3, 1e-2]
        horizon = [0.33, 0.5, 0.66]
        [run]
        seeds = [0, 1]
        """
        + TOY,
    )
    trials = load_plan(path).trials
    assert len(trials) == 2 * 3 * 2
    combos = {(t.params["learning_rate"], t.horizon, t.seed) for t in trials}
    assert len(combos) == 12
    assert {t.horizon_steps for t in trials} == {round(f * 400) for f in (0.33, 0.5, 0.66)}


def test_points_with_their_own_warmup_times_a_grid(tmp_path):
    path = write(
        tmp_path,
        "p.toml",
        """
        [algorithm]
        name = "nadamw"
        weight_decay = 0.1
        [[algorithm.points]]
        learning_rate = 0.01
        warmup = 0.1
        [[algorithm.points]]
        learning_rate = 0.001
        [grid]
        seed = [3, 4]
        """
        + TOY,
    )
    trials = load_plan(path).trials
    assert [(t.params["learning_rate"], t.warmup, t.seed) for t in trials] == [
        (0.01, 0.1, 3), (0.01, 0.1, 4), (0.001, 0.05, 3), (0.001, 0.05, 4),
    ]  # fmt: skip
    assert all(t.params["weight_decay"] == 0.1 for t in trials)


def test_variants_selected_with_their_own_targets(tmp_path):
    path = write(
        tmp_path,
        "v.toml",
        """
        [algorithm]
        name = "adamw"
        [workloads.toy_mlp]
        variant = ["base", "tanh"]
        target = { value = 0.06 }
        eval_every = 0.1
        variants.tanh.target = { value = 0.08 }
        variants.tanh.max_steps = 100
        """,
    )
    base, tanh = load_plan(path).trials
    assert (base.variant, base.target.value, base.max_steps, base.eval_every) == (
        "base",
        0.06,
        400,
        40,
    )
    assert (tanh.variant, tanh.target.value, tanh.max_steps, tanh.eval_every) == (
        "tanh",
        0.08,
        100,
        10,
    )


def test_skip_drops_an_inherited_workload(tmp_path):
    write(tmp_path, "parent.toml", '[algorithm]\nname = "adamw"\n' + TOY)
    child = write(
        tmp_path,
        "c.toml",
        '[benchmark]\nextends = "parent.toml"\n[workloads.toy_mlp]\nskip = true\n',
    )
    assert load_plan(child).trials == ()


def test_schedule_none_ignores_warmup_in_the_id(tmp_path):
    def trial(warmup):
        text = (
            f'[algorithm]\nname = "mechanic"\n[schedule]\nshape = "none"\nwarmup = {warmup}\n' + TOY
        )
        return load_plan(write(tmp_path, f"w{warmup}.toml", text)).trials[0]

    assert trial(0.1).id == trial(0.05).id


def test_reserved_tables_are_accepted_and_kept(tmp_path):
    path = write(
        tmp_path,
        "r.toml",
        '[algorithm]\nname = "adamw"\n[search]\npoints = 200\n'
        "space.dropout = { values = [0.0] }\n[list]\nsize = 5\n" + TOY,
    )
    spec = load_spec(path)
    assert spec.reserved == {
        "search": {"points": 200, "space": {"dropout": {"values": [0.0]}}},
        "list": {"size": 5},
    }


def test_a_suite_without_algorithm_validates_with_no_trials(tmp_path):
    spec = load_spec(write(tmp_path, "suite.toml", TOY))
    assert spec.algorithm is None and len(spec.workloads) == 1
    assert load_plan(tmp_path / "suite.toml").trials == ()


def test_a_size_without_registered_budget_needs_max_steps(tmp_path, monkeypatch):
    # A workload registered without a budget at size "full" (as user-data workloads may be).
    info = attrs.evolve(WORKLOADS["toy_mlp"], name="toy_full", sizes=("mini", "full"))
    monkeypatch.setitem(WORKLOADS, "toy_full", info)
    text = """
        [algorithm]
        name = "adamw"
        [workloads.toy_full]
        size = "full"
        target = { value = 0.5 }
        """
    with pytest.raises(SpecError) as raised:
        load_plan(write(tmp_path, "f.toml", text))
    assert {p.key for p in raised.value.problems} == {
        "workloads.toy_full.max_steps",
        "workloads.toy_full.batch_size",
    }


def test_a_default_written_out_is_the_same_trial(tmp_path):
    implicit = write(tmp_path, "i.toml", '[algorithm]\nname = "adamw"\n' + TOY)
    explicit = write(
        tmp_path,
        "e.toml",
        '[algorithm]\nname = "adamw"\nbeta2 = 0.999\n[schedule]\nshape = "warmup_cosine"\n'
        "horizon = 1\n[run]\nseeds = [0]\n" + TOY,
    )
    assert load_plan(implicit).trials[0].id == load_plan(explicit).trials[0].id


def test_checkpoint_cadence_goes_to_the_plan_not_the_trial(tmp_path):
    plain = load_plan(write(tmp_path, "p.toml", '[algorithm]\nname = "adamw"\n' + TOY))
    often = load_plan(
        write(
            tmp_path,
            "o.toml",
            '[algorithm]\nname = "adamw"\n[run]\ncheckpoint_seconds = 30\n' + TOY,
        )
    )
    assert (plain.checkpoint_seconds, often.checkpoint_seconds) == (None, 30.0)
    assert plain.trials[0].id == often.trials[0].id


def test_grid_over_static_choices(tmp_path):
    path = write(
        tmp_path,
        "o.toml",
        '[algorithm]\nname = "mechanic"\n[grid]\nbase = ["adam", "nadam"]\n' + TOY,
    )
    trials = load_plan(path).trials
    assert [dict(t.options) for t in trials] == [{"base": "adam"}, {"base": "nadam"}]
    assert trials[0].params == trials[1].params


def test_search_tables_are_checked_in_the_same_error_style(tmp_path):
    path = write(tmp_path, "s.toml", '[algorithm]\nname = "adamw"\n[search]\npoints = -3\n' + TOY)
    with pytest.raises(SpecError) as raised:
        load_spec(path)
    assert "s.toml:4:10: search.points: expected an integer >= 1, found -3" in raised.value.render()

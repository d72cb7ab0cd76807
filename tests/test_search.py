"""Search spaces, point sequences and the ``[search]`` table: scale mappings checked by hand,
Halton determinism, prefix stability and stratification, and spec errors for bad spaces."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpbench.config.write import toml_value
from hpbench.spec import SpecError, load_plan, load_spec
from hpbench.spec.points import search_points
from hpbench.spec.sequences import halton, uniform_random
from hpbench.spec.settings import Search
from hpbench.spec.spaces import Dimension, Space

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "specs" / "suites" / "toy.toml"
SPACES = ROOT / "specs" / "search"


def write_spec(tmp_path: Path, body: str, name: str = "s.toml", algorithm: str = "adamw") -> Path:
    path = tmp_path / name
    path.write_text(f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "{algorithm}"\n' + body)
    return path


# --- spaces -------------------------------------------------------------------------------


def test_log_linear_and_one_minus_scales_map_unit_coordinates_by_hand():
    lr = Dimension("learning_rate", "log", 1e-4, 1e-2)
    assert lr.value(0.0) == pytest.approx(1e-4)
    assert lr.value(0.5) == pytest.approx(1e-3)  # the geometric middle
    assert lr.value(0.75) == pytest.approx(10**-2.5)
    linear = Dimension("label_smoothing", "linear", 0.0, 0.2)
    assert linear.value(0.25) == pytest.approx(0.05)
    beta1 = Dimension("one_minus_beta1", "log", 1e-3, 1.0)
    assert beta1.target == "beta1"
    assert beta1.value(0.0) == pytest.approx(0.999)  # 1 - 1e-3
    assert beta1.value(0.5) == pytest.approx(1 - 10**-1.5)
    assert beta1.value(1 / 3) == pytest.approx(0.99)
    warmup = Dimension("warmup", values=(0.02, 0.05, 0.1))
    assert [warmup.value(u) for u in (0.0, 0.33, 0.34, 0.66, 0.67, 0.999)] == [
        0.02,
        0.02,
        0.05,
        0.05,
        0.1,
        0.1,
    ]


def test_grid_values_include_both_ends_on_the_dimension_scale():
    assert Dimension("learning_rate", "log", 1e-4, 1e-2).grid(3) == (1e-4, 1e-3, 1e-2)
    assert Dimension("one_minus_beta2", "log", 1e-3, 1e-1).grid(3) == (0.999, 0.99, 0.9)
    assert Dimension("weight_decay", "linear", 0.0, 1.0).grid(5) == (0.0, 0.25, 0.5, 0.75, 1.0)


# --- sequences ------------------------------------------------------------------------------


def test_halton_is_a_deterministic_function_of_count_dimensions_and_seed():
    assert np.array_equal(halton(50, 7, seed=3), halton(50, 7, seed=3))
    assert not np.array_equal(halton(50, 7, seed=3), halton(50, 7, seed=4))
    assert np.array_equal(halton(200, 7, seed=0)[:100], halton(100, 7, seed=0))
    assert np.array_equal(uniform_random(200, 7, seed=0)[:100], uniform_random(100, 7, seed=0))


@pytest.mark.parametrize(("dimension", "base", "digits"), [(0, 2, 6), (1, 3, 4), (2, 5, 2)])
def test_halton_prefixes_of_base_powers_put_one_point_in_every_cell(dimension, base, digits):
    """Coverage: the first b^k points of the base-b coordinate fill the b^k cells of width
    b^-k exactly once (a random-digit permutation keeps the van der Corput property)."""
    n = base**digits
    cells = np.floor(halton(n, 3, seed=11)[:, dimension] * n).astype(int)
    assert sorted(cells) == list(range(n))


def test_halton_covers_the_unit_cube_more_evenly_than_random_draws():
    """200 Halton points leave none of the 64 cells of an 8 x 8 grid on [0, 1)^2 empty;
    200 uniform random points (same seed) leave some empty."""
    points = halton(200, 2, seed=0)
    cells = {(int(x * 8), int(y * 8)) for x, y in points}
    assert len(cells) == 64
    gaps = 64 - len({(int(x * 8), int(y * 8)) for x, y in uniform_random(200, 2, seed=0)})
    assert gaps > 0


# --- points of the shipped spaces ---------------------------------------------------------------


def test_the_shipped_spaces_are_the_papers(tmp_path):
    lr_free = load_spec(
        write_spec(
            tmp_path, '[search]\nspace = "%s"\npoints = 4\n' % (SPACES / "lr_free_space.toml")
        )
    )
    names = {p for point in lr_free.points for p in point}
    assert names == {
        "learning_rate",
        "warmup",
        "weight_decay",
        "beta1",
        "beta2",
        "dropout",
        "label_smoothing",
    }
    space = lr_free.search.space
    by_name = {d.name: d for d in space.dimensions}
    assert (by_name["learning_rate"].low, by_name["learning_rate"].high) == (1e-4, 5e-2)
    assert by_name["learning_rate"].baselines_only
    assert (by_name["weight_decay"].low, by_name["weight_decay"].high) == (1e-5, 0.5)
    assert (by_name["one_minus_beta1"].low, by_name["one_minus_beta1"].high) == (1e-3, 1.0)
    assert by_name["label_smoothing"].values == (0.0, 0.2)
    broad = load_spec(
        write_spec(
            tmp_path,
            '[search]\nspace = "%s"\n' % (SPACES / "nadamw_broad.toml"),
            "b.toml",
            "nadamw",
        )
    ).search.space
    by_name = {d.name: d for d in broad.dimensions}
    assert (by_name["learning_rate"].low, by_name["learning_rate"].high) == (1e-4, 1e-2)
    assert (by_name["one_minus_beta2"].low, by_name["one_minus_beta2"].high) == (1e-3, 0.2)
    assert (by_name["weight_decay"].low, by_name["weight_decay"].high) == (1e-4, 0.5)
    assert by_name["label_smoothing"].values == (0.0, 0.1, 0.2)
    assert by_name["warmup"].values == (0.02, 0.05, 0.1)


def test_search_points_stay_in_the_space_and_lr_free_algorithms_skip_the_learning_rate(tmp_path):
    body = '[search]\nspace = "%s"\npoints = 200\n' % (SPACES / "lr_free_space.toml")
    adamw = load_spec(write_spec(tmp_path, body, "a.toml", "adamw")).points
    mechanic = load_spec(write_spec(tmp_path, body, "m.toml", "mechanic")).points
    assert len(adamw) == len(mechanic) == 200
    for a, m in zip(adamw, mechanic, strict=True):
        assert 1e-4 <= a["learning_rate"] <= 5e-2
        assert "learning_rate" not in m  # the algorithm's learning rate (1) applies
        assert 0.0 <= a["beta1"] <= 0.999 and 0.0 <= a["beta2"] <= 0.999
        assert 1e-5 <= a["weight_decay"] <= 0.5
        assert a["warmup"] in (0.02, 0.05, 0.1) and a["dropout"] in (0.0, 0.1)
        # every dimension keeps its coordinate: shared dimensions get the same values
        assert {k: v for k, v in a.items() if k != "learning_rate"} == m
    # log scale: about half of the points below the geometric middle of [1e-5, 0.5]
    below = sum(a["weight_decay"] < math.sqrt(1e-5 * 0.5) for a in adamw)
    assert 95 <= below <= 105
    # the base-3 warmup coordinate (dimension 1) over the first 81 = 3^4 points: 27 each
    counts = [sum(p["warmup"] == w for p in adamw[:81]) for w in (0.02, 0.05, 0.1)]
    assert counts == [27, 27, 27]


def test_a_search_extended_from_100_to_200_points_keeps_the_first_100_trials(tmp_path):
    body = '[search]\nspace = "%s"\npoints = %d\nseed = 5\n'
    short = load_plan(write_spec(tmp_path, body % (SPACES / "nadamw_broad.toml", 100), "s.toml"))
    long = load_plan(write_spec(tmp_path, body % (SPACES / "nadamw_broad.toml", 200), "l.toml"))
    assert len(short.trials) == 100 and len(long.trials) == 200
    assert [t.id for t in long.trials[:100]] == [t.id for t in short.trials]
    other_seed = load_plan(
        write_spec(
            tmp_path,
            (body % (SPACES / "nadamw_broad.toml", 100)).replace("seed = 5", "seed = 6"),
            "o.toml",
        )
    )
    assert not {t.id for t in other_seed.trials} & {t.id for t in short.trials}


def test_a_grid_search_is_the_product_of_its_axes(tmp_path):
    body = """
[search]
method = "grid"
resolution = 3
space.learning_rate = { scale = "log", low = 1e-4, high = 1e-2 }
space.dropout = { values = [0, 0.1] }
"""
    points = load_spec(write_spec(tmp_path, body)).points
    assert points == tuple(
        {"learning_rate": lr, "dropout": d} for lr in (1e-4, 1e-3, 1e-2) for d in (0.0, 0.1)
    )
    assert isinstance(points[0]["dropout"], float)  # 0 and 0.0 give one trial id


def test_random_search_points(tmp_path):
    body = (
        '[search]\nmethod = "random"\npoints = 30\nseed = 1\n'
        'space.weight_decay = { scale = "linear", low = 0.1, high = 0.2 }\n'
    )
    points = load_spec(write_spec(tmp_path, body)).points
    assert len(points) == 30 and all(0.1 <= p["weight_decay"] <= 0.2 for p in points)
    assert [p["weight_decay"] for p in points] == [
        Dimension("weight_decay", "linear", 0.1, 0.2).value(u)
        for u in uniform_random(30, 1, seed=1)[:, 0]
    ]


def test_search_points_equal_the_sequence_through_the_space():
    space = Space(
        (
            Dimension("learning_rate", "log", 1e-4, 1e-2),
            Dimension("one_minus_beta1", "log", 1e-3, 0.2),
        )
    )
    points = search_points(Search(space, points=10, seed=2))
    unit = halton(10, 2, seed=2)
    for point, (u, v) in zip(points, unit, strict=True):
        assert point["learning_rate"] == pytest.approx(1e-4 * 100**u)
        assert point["beta1"] == pytest.approx(1 - 1e-3 * 200**v)


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            '[search]\nspace.learning_rate = { scale = "log", low = 0, high = 1e-2 }\n',
            "search.space.learning_rate.low: expected a number > 0 (a log scale), found 0",
        ),
        (
            '[search]\nspace.one_minus_beta1 = { scale = "log", low = 1e-3, high = 1.5 }\n',
            "search.space.one_minus_beta1.high: expected a value that keeps beta1 in [0, 1), "
            "found 1.5 (gives beta1 = -0.5)",
        ),
        (
            "[search]\nspace.momentum = { values = [0.9] }\n",
            "search.space.momentum: expected a hyperparameter of adamw",
        ),
        (
            '[search]\nspace.dropout = { values = [0.0], scale = "log" }\n',
            "search.space.dropout.scale: expected either values or a range",
        ),
        (
            "[search]\nspace.weight_decay = { low = 1e-4, high = 1e-2 }\n",
            'search.space.weight_decay.scale: expected a scale ("log", "linear") or values, '
            "found none",
        ),
        (
            '[search]\nspace.weight_decay = { scale = "log", low = 1e-2, high = 1e-4 }\n',
            "search.space.weight_decay.high: expected a number above low = 0.01, found 0.0001",
        ),
        (
            '[search]\nmethod = "sobol"\nspace.weight_decay = { values = [0.1] }\n',
            'search.method: expected one of "halton", "random", "grid", found "sobol"',
        ),
        ("[search]\npoints = 10\n", "search.space: expected a space"),
        (
            '[search]\nspace = "nowhere.toml"\n',
            "search.space: expected an existing space file, found no file",
        ),
        ("[list]\nsize = 5\n", "list: expected a [search] table for [list] to choose from"),
        (
            "[search]\npoints = 4\nspace.dropout = { values = [0.0] }\n[list]\nsize = 5\n",
            "list.size: expected at most the 4 points of [search], found 5",
        ),
        (
            "[run]\nseeds = [0, 1]\n[search]\nspace.dropout = { values = [0.0] }\n"
            "[select]\nseeds = [1, 2]\n",
            "select.seeds: expected fresh seeds, none of the search's [run].seeds, "
            "found [1] in both",
        ),
        (
            "[search]\nspace.dropout = { values = [0.0, 1.5] }\n",
            "search.space.dropout.values[1]: expected a number in [0, 1), found 1.5",
        ),
    ],
)
def test_a_bad_search_is_a_spec_error_at_its_place(tmp_path, body, message):
    with pytest.raises(SpecError) as error:
        load_spec(write_spec(tmp_path, body))
    assert message in error.value.render()


def test_errors_name_file_line_and_column(tmp_path):
    path = write_spec(
        tmp_path,
        '[search]\npoints = 3\nspace.learning_rate = { scale = "log", low = -1, high = 1 }\n',
    )
    with pytest.raises(SpecError) as error:
        load_spec(path)
    (problem,) = error.value.problems
    assert problem.render() == (
        f"{problem.file}:7:46: search.space.learning_rate.low: "
        "expected a number > 0 (a log scale), found -1"
    )
    assert problem.file.endswith("s.toml")


def test_an_error_in_an_included_space_file_is_reported_in_that_file(tmp_path):
    (tmp_path / "space.toml").write_text(
        '[search.space]\nweight_decay = { scale = "log", low = 1e-4, high = 5 }\n'
        'one_minus_beta2 = { scale = "linear", low = -0.5, high = 0.1 }\n'
    )
    with pytest.raises(SpecError) as error:
        load_spec(write_spec(tmp_path, '[search]\nspace = "space.toml"\n'))
    (problem,) = error.value.problems
    assert problem.file.endswith("space.toml") and problem.line == 3
    assert "keeps beta2 in [0, 1), found -0.5 (gives beta2 = 1.5)" in problem.render()


def test_points_and_a_search_together_are_an_error(tmp_path):
    body = (
        "[[algorithm.points]]\nlearning_rate = 0.1\n[search]\nspace.dropout = { values = [0.0] }\n"
    )
    with pytest.raises(SpecError) as error:
        load_spec(write_spec(tmp_path, body))
    assert (
        "algorithm.points: expected either [[algorithm.points]] or a [search]"
        in error.value.render()
    )


def test_oversized_searches_are_refused_before_drawing_points(tmp_path):
    body = "[search]\npoints = 1000000000\nspace.dropout = { values = [0.0] }\n"
    with pytest.raises(SpecError, match=r"search.points: expected an integer in \[1, 100000\]"):
        load_spec(write_spec(tmp_path, body))
    grid = '[search]\nmethod = "grid"\nresolution = 1000000\n'
    grid += 'space.weight_decay = { scale = "log", low = 1e-4, high = 1e-2 }\n'
    with pytest.raises(SpecError, match="expected a grid of at most 100000 points, found 1000000"):
        load_spec(write_spec(tmp_path, grid, "g.toml"))


@settings(max_examples=40, deadline=None)
@given(
    search=st.dictionaries(
        st.sampled_from(["method", "points", "seed", "resolution", "space", "other"]),
        st.one_of(
            st.integers(-3, 300),
            st.floats(allow_nan=False),
            st.sampled_from(["halton", "grid", "random", "x", "nowhere.toml"]),
            st.dictionaries(
                st.sampled_from(["learning_rate", "one_minus_beta1", "warmup", "momentum"]),
                st.fixed_dictionaries(
                    {},
                    optional={
                        "scale": st.sampled_from(["log", "linear", "cubic", 3]),
                        "low": st.one_of(st.floats(-2, 2), st.integers(-1, 2)),
                        "high": st.one_of(st.floats(-2, 2), st.integers(-1, 2)),
                        "values": st.lists(st.one_of(st.floats(-1, 2), st.booleans()), max_size=3),
                        "baselines_only": st.one_of(st.booleans(), st.integers(0, 1)),
                    },
                ),
                max_size=3,
            ),
        ),
        max_size=5,
    )
)
def test_any_search_table_gives_points_or_a_spec_error(tmp_path_factory, search):
    """Fuzz: whatever [search] holds, loading gives a spec (with valid points) or SpecError."""
    path = tmp_path_factory.mktemp("fuzz") / "s.toml"
    path.write_text(
        f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n[search]\n'
        + "".join(f"{key} = {toml_value(value)}\n" for key, value in search.items())
    )
    try:
        spec = load_spec(path)
    except SpecError as error:
        assert error.render()
        return
    for point in spec.points:
        assert 0.0 <= point.get("beta1", 0.5) < 1.0 and point.get("learning_rate", 1.0) > 0

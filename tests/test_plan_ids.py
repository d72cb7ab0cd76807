"""Trial ids: the same trial written differently keeps its id; any training change moves it.

Rewrites: key order, ``1e-3`` vs ``0.001`` vs ``1``-for-``1.0``, values inherited through
``extends`` vs written inline. Changes: every field of a Trial that affects training.
"""

import json
import random
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from hpbench.results import read_results
from hpbench.spec import load_plan

FRACTION = st.floats(0.0, 0.9, allow_nan=False)


@st.composite
def specs(draw):
    """A one-trial spec as sections of (key, value) pairs."""
    return {
        "algorithm": [
            ("name", "adamw"),
            ("learning_rate", draw(st.sampled_from([1.0, 2.0]) | st.floats(1e-6, 1.0))),
            ("beta1", draw(st.floats(0.0, 0.999))),
            ("weight_decay", draw(st.sampled_from([0.0]) | st.floats(1e-6, 0.5))),
            ("dropout", draw(st.sampled_from([0.0, 0.1]))),
        ],
        "schedule": [
            ("shape", draw(st.sampled_from(["warmup_cosine", "linear_decay", "constant"]))),
            ("warmup", draw(FRACTION)),
            ("horizon", draw(st.floats(0.05, 1.0))),
        ],
        "workloads.toy_mlp": [
            ("max_steps", draw(st.integers(10, 10_000))),
            ("batch_size", draw(st.integers(1, 512))),
            ("eval_every", draw(st.integers(1, 100))),
            ("target", {"metric": "error_rate", "value": draw(st.floats(0.0, 1.0))}),
        ],
        "run": [("seeds", [draw(st.integers(0, 2**31))])],
    }


def _number(value, scientific: bool) -> str:
    if isinstance(value, int):
        return str(value)
    if scientific and value.is_integer():
        return str(int(value))  # 1.0 written as 1: coerced back by the declared kind
    return f"{value:.17e}" if scientific else repr(value)


def _value(value, scientific: bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_value(v, scientific) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v, scientific)}" for k, v in value.items()) + " }"
    return _number(value, scientific)


def render(sections, *, scientific=False, rng=None) -> str:
    names = list(sections)
    if rng:
        rng.shuffle(names)
    out = []
    for name in names:
        pairs = list(sections[name])
        if rng:
            rng.shuffle(pairs)
        out.append(f"[{name}]")
        out += [f"{k} = {_value(v, scientific)}" for k, v in pairs]
    return "\n".join(out) + "\n"


def trial_id(sections, *, scientific=False, shuffle_seed=None, inherit=()) -> str:
    """The id of the spec's only trial; the (section, key) pairs in ``inherit`` are moved
    to a parent file (so a section may be split between the two and deep-merged)."""
    rng = random.Random(shuffle_seed) if shuffle_seed is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        parent, child = {}, {}
        for name, pairs in sections.items():
            for key, value in pairs:
                side = parent if (name, key) in inherit else child
                side.setdefault(name, []).append((key, value))
        text = render(child, scientific=scientific, rng=rng)
        if parent:
            (Path(tmp) / "suites").mkdir()
            (Path(tmp) / "suites" / "parent.toml").write_text(render(parent, rng=rng))
            text = '[benchmark]\nextends = "suites/parent.toml"\n' + text
        (Path(tmp) / "spec.toml").write_text(text)
        (trial,) = load_plan(Path(tmp) / "spec.toml").trials
        return trial.id


@settings(max_examples=40, deadline=None)
@given(specs(), st.integers(0, 1000), st.randoms(use_true_random=False))
def test_rewriting_keeps_the_id(sections, shuffle_seed, rng):
    inherit = {
        (name, key) for name, pairs in sections.items() for key, _ in pairs if rng.random() < 0.5
    }
    plain = trial_id(sections)
    assert trial_id(sections, scientific=True, shuffle_seed=shuffle_seed) == plain
    assert trial_id(sections, inherit=tuple(inherit), shuffle_seed=shuffle_seed) == plain


CHANGES = {
    ("algorithm", "learning_rate"): lambda v: v * 1.5,
    ("algorithm", "beta1"): lambda v: v / 2 if v > 0.01 else v + 0.1,
    ("algorithm", "weight_decay"): lambda v: v + 0.01,
    ("algorithm", "dropout"): lambda v: 0.2,
    ("algorithm", "name"): lambda v: "nadamw",
    ("schedule", "shape"): lambda v: "none" if v != "none" else "constant",
    ("schedule", "warmup"): lambda v: v + 0.05,
    ("schedule", "horizon"): lambda v: v * 0.9,
    ("workloads.toy_mlp", "max_steps"): lambda v: v + 1,
    ("workloads.toy_mlp", "batch_size"): lambda v: v + 1,
    ("workloads.toy_mlp", "eval_every"): lambda v: v + 1,
    ("run", "seeds"): lambda v: [v[0] + 1],
}


@settings(max_examples=20, deadline=None)
@given(specs(), st.sampled_from(sorted(CHANGES)))
def test_changing_a_training_value_changes_the_id(sections, change):
    section, key = change
    changed = {
        name: [(k, CHANGES[change](v) if (name, k) == change else v) for k, v in pairs]
        for name, pairs in sections.items()
    }
    assert trial_id(changed) != trial_id(sections)


def test_other_training_values_change_the_id():
    base = {
        "algorithm": [("name", "mechanic")],
        "workloads.toy_mlp": [("target", {"metric": "error_rate", "value": 0.06})],
    }
    workload = base["workloads.toy_mlp"]
    changed = [
        {**base, "run": [("stop_at_target", True)]},
        {**base, "workloads.toy_mlp": [*workload, ("variant", "tanh")]},
        {**base, "workloads.toy_mlp": [*workload, ("data", "/data/toy.zarr")]},
        {**base, "algorithm": [("name", "mechanic"), ("base", "nadam")]},
    ]
    ids = [trial_id(base), *(trial_id(sections) for sections in changed)]
    assert len(set(ids)) == len(ids)


def test_the_target_is_identity_only_when_training_stops_there():
    """Without stop_at_target the target only scores the curve: new targets reuse results."""
    algorithm = {"algorithm": [("name", "mechanic")]}
    base = {**algorithm, "workloads.toy_mlp": [("target", {"metric": "error_rate", "value": 0.06})]}
    other = {**algorithm, "workloads.toy_mlp": [("target", {"metric": "loss", "value": 0.5})]}
    assert trial_id(other) == trial_id(base)
    stopping = {"run": [("stop_at_target", True)]}
    assert trial_id({**other, **stopping}) != trial_id({**base, **stopping})


# A toy trial's spec and the ids its trial had under hpbench's code before `nadamw` became
# Optax's rule (commit 2f92e29, when `nadamw` named AlgoPerf's rule): pinned, because a
# result store's trial directories are named by them.
LEGACY = {
    "algorithm": [
        ("learning_rate", 0.003),
        ("beta1", 0.9),
        ("beta2", 0.99),
        ("weight_decay", 0.05),
    ],
    "schedule": [("shape", "warmup_cosine"), ("warmup", 0.05), ("horizon", 0.25)],
    "workloads.toy_mlp": [
        ("max_steps", 400),
        ("batch_size", 64),
        ("eval_every", 20),
        ("target", {"metric": "error_rate", "value": 0.1}),
    ],
    "run": [("seeds", [0])],
}
LEGACY_IDS = {"nadamw": "0a238942522c864b", "adamw": "118bbcc4580d54f3"}


def legacy_id(algorithm: str) -> str:
    return trial_id({**LEGACY, "algorithm": [("name", algorithm), *LEGACY["algorithm"]]})


def test_algoperfs_nadamw_keeps_the_ids_of_the_old_nadamw_and_optaxs_does_not():
    """Trials of the rule once named ``nadamw`` (AlgoPerf's) keep their ids under
    ``nadamw_algoperf``; Optax's ``nadamw`` never meets an old result; others do not move."""
    assert legacy_id("nadamw_algoperf") == LEGACY_IDS["nadamw"]
    assert legacy_id("nadamw") not in LEGACY_IDS.values()
    assert legacy_id("adamw") == LEGACY_IDS["adamw"]


def test_an_old_nadamw_result_is_read_back_as_nadamw_algoperf(tmp_path):
    """A trial directory written when ``nadamw`` named AlgoPerf's rule is read as
    ``nadamw_algoperf`` (its id proves it); a new ``nadamw`` directory stays ``nadamw``."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "spec.toml").write_text(
            render({**LEGACY, "algorithm": [("name", "nadamw"), *LEGACY["algorithm"]]})
        )
        (optax_trial,) = load_plan(Path(tmp) / "spec.toml").trials
    old = {**optax_trial.canonical(), "id": LEGACY_IDS["nadamw"]}  # as the old code wrote it
    new = {**optax_trial.canonical(), "id": optax_trial.id}
    for record in (old, new):
        directory = tmp_path / record["id"]
        directory.mkdir()
        (directory / "trial.json").write_text(json.dumps(record))
    read = {r.id: r.trial.algorithm for r in read_results(tmp_path)}
    assert read == {LEGACY_IDS["nadamw"]: "nadamw_algoperf", optax_trial.id: "nadamw"}


def test_a_workload_revision_moves_only_that_workloads_ids(monkeypatch):
    """A bumped ``WorkloadInfo.revision`` reruns the changed workload's trials (at that size)
    and keeps every other id, including those written before revisions existed."""
    import attrs

    from hpbench.plan import Trial
    from hpbench.workloads import registry

    sections = {
        "algorithm": [("name", "adamw")],
        "workloads.toy_mlp": [("target", {"metric": "error_rate", "value": 0.06})],
    }
    before = trial_id(sections)
    info = registry.WORKLOADS["toy_mlp"]
    assert info.revision.get("mini", 0) == 0
    # Revision 0 is not written: the id is the hash of the pre-revision canonical form.
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "spec.toml").write_text(render(sections))
        (trial,) = load_plan(Path(tmp) / "spec.toml").trials
    assert "workload_revision" not in trial.canonical()
    monkeypatch.setitem(registry.WORKLOADS, "toy_mlp", attrs.evolve(info, revision={"mini": 1}))
    revised = trial_id(sections)
    assert revised != before
    monkeypatch.setitem(registry.WORKLOADS, "toy_mlp", attrs.evolve(info, revision={"small": 1}))
    assert trial_id(sections) == before  # another size's revision leaves mini alone
    # The revision is recorded in trial.json's form and survives a round trip.
    with_revision = attrs.evolve(trial, workload_revision=1)
    assert with_revision.canonical()["workload_revision"] == 1
    assert Trial.from_json(with_revision.canonical()).id == with_revision.id == revised


def test_revised_workloads_are_the_redesigned_ones():
    """wmt's generated pair and imagenet_vit's images were redesigned (issue 17; mini and
    small share each generator, full reads user data); criteo's and ogbg's losses became
    AlgoPerf's at every size (label smoothing): every other shipped workload keeps revision
    0, so its cached results and trial ids stay valid."""
    from hpbench.workloads.registry import WORKLOADS

    revised = {name: info.revision for name, info in WORKLOADS.items() if info.revision}
    every_size = {"mini": 1, "small": 1, "full": 1}
    assert revised == {
        "wmt": {"mini": 1, "small": 1},
        "imagenet_vit": {"mini": 1, "small": 1},
        "criteo": every_size,
        "ogbg": every_size,
    }


def _toy_spec(tmp_path, extra: str = ""):
    from hpbench.spec import load_spec

    path = tmp_path / "spec.toml"
    path.write_text(
        '[algorithm]\nname = "adamw"\n[workloads.toy_mlp]\ntarget = { value = 0.06 }\n' + extra
    )
    return load_spec(path)


def _ids(spec, **changes) -> list[str]:
    import attrs

    from hpbench.spec import compile_plan

    return [t.id for t in compile_plan(attrs.evolve(spec, **changes)).trials]


def test_numpy_integers_give_the_plain_ints_ids(tmp_path):
    """Seeds from ``np.arange``, a grid made with numpy, numpy step counts: each trial has
    the id (and the plain int fields) of the spec written with Python ints."""
    import attrs
    import numpy as np

    from hpbench.spec.settings import Select
    from tests.trial_helpers import toy_trial

    plain = toy_trial(seed=3)
    for seed in (np.int64(3), np.int32(3), np.uint8(3)):
        trial = toy_trial(seed=seed)
        assert type(trial.seed) is int and trial.id == plain.id
        assert toy_trial(seed=0).with_seeds([seed])[0].id == plain.id
    numpy_steps = toy_trial(
        max_steps=np.int64(400), batch_size=np.int16(64), eval_every=np.int64(20)
    )
    assert numpy_steps.id == toy_trial().id
    assert (
        attrs.evolve(plain, workload_revision=np.int64(2)).id
        == attrs.evolve(plain, workload_revision=2).id
    )

    spec = _toy_spec(tmp_path)
    ints = _ids(spec, seeds=(0, 1, 2))
    assert len(set(ints)) == 3
    assert _ids(spec, seeds=np.arange(3)) == _ids(spec, seeds=list(np.arange(3))) == ints
    assert _ids(spec, grid=(("seed", tuple(np.arange(3))),)) == ints
    run = spec.workloads[0]
    numpy_run = attrs.evolve(run, max_steps=np.int64(run.max_steps), eval_every=np.int32(5))
    assert _ids(spec, workloads=(numpy_run,)) == _ids(
        spec, workloads=(attrs.evolve(run, eval_every=5),)
    )
    selected = Select(top_k=np.int64(2), seeds=np.arange(5, 7))
    assert selected == Select(top_k=2, seeds=(5, 6)) and type(selected.seeds[0]) is int


def test_numpy_hyperparameter_values_give_the_toml_specs_ids(tmp_path):
    """A point or grid of numpy numbers compiles to the values a TOML spec's checker gives:
    a float hyperparameter's as a float (``np.int64(1)`` is ``learning_rate = 1``, 1.0)."""
    import numpy as np

    spec = _toy_spec(tmp_path)
    written = _toy_spec(tmp_path, "[grid]\nlearning_rate = [1, 0.01]\n")
    numpy_grid = (("learning_rate", (np.int64(1), np.float64(0.01))),)
    assert _ids(spec, grid=numpy_grid) == _ids(written)
    assert _ids(spec, points=({"learning_rate": np.int64(1)},)) == _ids(written)[:1]
    assert len(set(_ids(spec, grid=(("learning_rate", tuple(np.float32([1e-3, 1e-2]))),)))) == 2


def test_numpy_floats_in_number_settings_give_the_plain_floats_ids(tmp_path):
    """A number setting built in Python with numpy's floats (``np.linspace``) or integers
    is stored as the plain number, so the trial's id is the plain one's; a bool, numpy's
    too, is refused naming its type."""
    import attrs
    import numpy as np
    import pytest

    spec = _toy_spec(tmp_path)
    plain = attrs.evolve(spec.schedule, warmup=0.25, horizon=0.5)
    for warmup, horizon in [(np.float32(0.25), np.float16(0.5)), (np.float64(0.25), 0.5)]:
        schedule = attrs.evolve(spec.schedule, warmup=warmup, horizon=horizon)
        assert (type(schedule.warmup), type(schedule.horizon)) == (float, float)
        assert _ids(spec, schedule=schedule) == _ids(spec, schedule=plain)
    counted = attrs.evolve(spec.schedule, warmup=np.int64(0))
    assert type(counted.warmup) is int and counted == attrs.evolve(spec.schedule, warmup=0)
    assert _ids(spec, schedule=attrs.evolve(spec.schedule, warmup=np.float32(0.1))) != _ids(
        spec, schedule=attrs.evolve(spec.schedule, warmup=0.1)
    )  # float32's 0.1 is another number: 0.10000000149011612
    with pytest.raises(
        ValueError,
        match=r"Schedule.warmup: expected a number in \[0, 1\), found True \(numpy.bool\)",
    ):
        attrs.evolve(spec.schedule, warmup=np.True_)
    with pytest.raises(
        ValueError, match=r"Schedule.horizon: expected a number in \(0, 1\], found 1.5$"
    ):
        attrs.evolve(spec.schedule, horizon=np.float32(1.5))


def test_bool_and_float_seeds_and_steps_are_refused(tmp_path):
    """An integer field given a bool or a float (even a whole one) is an error naming the
    field and the value's type, wherever the trial is built: never a truncated seed."""
    import attrs
    import numpy as np
    import pytest

    from hpbench.search.targets import Rerun
    from tests.trial_helpers import toy_trial

    for seed, shown in [
        (True, r"True \(bool\)"),
        (1.0, r"1.0 \(float\)"),
        (np.True_, r"True \(numpy.bool\)"),
    ]:
        with pytest.raises(TypeError, match="Trial.seed: expected an integer, found .*" + shown):
            toy_trial(seed=seed)
    with pytest.raises(TypeError, match=r"Trial.seed: expected an integer, found 0.5 \(float\)"):
        toy_trial().with_seeds([0.5])
    with pytest.raises(
        TypeError, match=r"Trial.max_steps: expected an integer, found 400.0 \(numpy.float64\)"
    ):
        toy_trial(max_steps=np.float64(400))

    spec = _toy_spec(tmp_path)
    with pytest.raises(
        ValueError, match=r"Spec.seeds: expected a non-empty list .* found \[0, 1.5\]"
    ):
        attrs.evolve(spec, seeds=(0, 1.5))
    with pytest.raises(ValueError, match=r"found \[0.0, 1.0\] \(numpy.float64\)"):
        attrs.evolve(spec, seeds=np.arange(2.0))
    with pytest.raises(ValueError, match=r"found \[true\]"):
        attrs.evolve(spec, seeds=[True])
    with pytest.raises(TypeError, match=r"Trial.seed: expected an integer, found 0.5 \(float\)"):
        _ids(spec, grid=(("seed", (0.5,)),))  # was int(0.5): seed 0
    with pytest.raises(TypeError, match=r"Trial.seed: expected an integer, found True \(bool\)"):
        _ids(spec, grid=(("seed", (True,)),))
    with pytest.raises(
        ValueError, match=r"WorkloadRun.max_steps: expected an integer >= 1, found 10.0 \(numpy"
    ):
        attrs.evolve(spec.workloads[0], max_steps=np.float64(10))
    with pytest.raises(ValueError, match="expected distinct integer seeds >= 0"):
        Rerun([0, 1.5])  # was int(1.5): seed 1
    assert Rerun(np.arange(2)).seeds == (0, 1)

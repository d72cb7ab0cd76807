"""``width`` in the spec language: checked at its line, refused where a model has no width
setting, in the trial id only when not 1, and a real wider model that trains."""

from __future__ import annotations

import json
import math

import attrs
import jax
import numpy as np
import pytest
from test_spec_data_variant import problems, run_spec, write

import hpbench
from benchmarks.synthetic_results import make_trial
from hpbench.cli import main
from hpbench.plan import Trial
from hpbench.spec import load_plan
from hpbench.spec.workload_table import workload_schema
from hpbench.workloads.registry import WORKLOADS, load_workload

WIDENING = tuple(sorted(name for name, info in WORKLOADS.items() if info.widens))
#: Layers whose input joins widened features to fixed ones, so grows by less than the width:
#: DLRM's top MLP reads the bottom MLP's output and the 378 dot products of the 28 features;
#: the GNN's MLPs first read the graph's 8 zero outputs (its globals) besides the latents.
PARTLY_WIDENED = {
    "criteo": {"['Dense_3']['kernel']"},
    "ogbg": {f"['MLP_{i}']['Dense_0']['kernel']" for i in range(3)},
}


def test_every_algoperf_workload_widens():
    assert set(WIDENING) == set(WORKLOADS) - {"toy_mlp"}


def test_wrong_widths_are_reported_at_their_line_with_what_to_do(tmp_path):
    path = write(
        tmp_path,
        "[workloads.toy_mlp]\n"  # line 5: added to the suite's eight
        "target = { value = 0.5 }\n"
        "width = 2\n"
        "[workloads.librispeech_conformer]\n"
        "width = 17\n"
        "[workloads.criteo]\n"  # line 10
        "width = 0\n"
        "[workloads.ogbg]\n"
        "width = 1\n",  # 1 is every model's registered width: allowed anywhere
    )
    found = problems(path)
    assert len(found) == 3, found
    toy, conformer, criteo = found
    assert ":7:9: workloads.toy_mlp.width: expected 1: workload toy_mlp has no width" in toy
    assert f"width applies to {', '.join(WIDENING)}); remove width" in toy
    assert ":9:9: workloads.librispeech_conformer.width: expected an integer in [1, 16]" in (
        conformer
    )
    assert ":11:9: workloads.criteo.width: expected an integer >= 1, found 0" in criteo


def test_ids_change_only_where_the_width_is_not_1(tmp_path):
    base = {t.workload: t.id for t in load_plan(write(tmp_path, "", "base")).trials}
    one = write(tmp_path, "[workloads.librispeech_deepspeech]\nwidth = 1\n", "one")
    assert {t.workload: t.id for t in load_plan(one).trials} == base
    two = write(tmp_path, "[workloads.librispeech_deepspeech]\nwidth = 2\n", "two")
    trials = {t.workload: t for t in load_plan(two).trials}
    assert {k: t.id for k, t in trials.items() if k != "librispeech_deepspeech"} == {
        k: v for k, v in base.items() if k != "librispeech_deepspeech"
    }
    wide = trials["librispeech_deepspeech"]
    assert wide.width == 2 and wide.id != base["librispeech_deepspeech"]
    assert wide.data_variant == "width 2" and wide.size_label == "mini (width 2)"
    four = write(tmp_path, "[workloads.librispeech_deepspeech]\nwidth = 4\n", "four")
    (other,) = [t for t in load_plan(four).trials if t.workload == "librispeech_deepspeech"]
    assert other.id not in (wide.id, base["librispeech_deepspeech"])


def test_a_held_out_variant_may_set_its_own_width(tmp_path):
    path = write(
        tmp_path,
        "[workloads.librispeech_conformer]\n"
        'variant = ["base", "gelu"]\n'
        "variants.gelu.target = { value = 0.3 }\n"
        "variants.gelu.width = 2\n",
    )
    trials = {t.variant: t for t in load_plan(path).trials if t.workload.endswith("conformer")}
    assert (trials["base"].width, trials["gelu"].width) == (None, 2)


def test_the_trial_keeps_its_width_through_json_and_checks_it():
    trial = make_trial("librispeech_deepspeech", "adamw", {"learning_rate": 0.01})
    assert "width" not in trial.canonical()
    assert attrs.evolve(trial, width=1) == trial and attrs.evolve(trial, width=1).id == trial.id
    wide = attrs.evolve(trial, width=2)
    assert wide.canonical()["width"] == 2 and wide.id != trial.id
    assert Trial.from_json({"id": wide.id, **wide.canonical()}) == wide
    for bad in (0, 17):
        with pytest.raises(ValueError, match=r"width: expected an integer in \[1, 16\]"):
            attrs.evolve(trial, width=bad)
    with pytest.raises(TypeError, match="width: expected an integer"):
        attrs.evolve(trial, width=1.5)


def parameter_shapes(workload) -> dict:
    """The shapes of ``workload``'s initial parameters, by path (traced: nothing computed)."""
    params, _ = jax.eval_shape(workload.init, jax.random.key(0))
    leaves = jax.tree_util.tree_leaves_with_path(params)
    return {jax.tree_util.keystr(path): leaf.shape for path, leaf in leaves}


@pytest.mark.parametrize("name", WIDENING)
def test_a_wider_model_has_the_features_times_the_width(name):
    unset, narrow, wide = (
        load_workload(name, "mini", batch_size=2, width=width) for width in (None, 1, 2)
    )
    assert narrow.model() == unset.model()  # width 1 builds the registered model
    assert wide.model() != unset.model()
    before, after = parameter_shapes(unset), parameter_shapes(wide)
    assert list(after) == list(before)  # the same layers: the depth stays
    widened = [(p, before[p], after[p]) for p in before if before[p] != after[p]]
    assert widened  # and each widened tensor doubles (or quadruples) along its widened axes
    partly, grown_less = PARTLY_WIDENED.get(name, set()), set()
    for path, old, new in widened:
        for x, y in zip(old, new, strict=True):
            if x < y < 2 * x:
                grown_less.add(path)
            else:
                assert y in (x, 2 * x, 4 * x), (path, old, new)
    assert grown_less == partly  # exactly those
    count = sum(math.prod(shape) for shape in before.values())
    assert sum(math.prod(shape) for shape in after.values()) > 2 * count  # twice the weights+


def test_width_1_initialises_the_registered_model_value_for_value():
    unset, narrow = (
        load_workload("ogbg", "mini", batch_size=2, width=width) for width in (None, 1)
    )
    key = jax.random.key(0)
    expected, got = jax.jit(unset.init)(key), jax.jit(narrow.init)(key)
    assert jax.tree_util.tree_structure(got) == jax.tree_util.tree_structure(expected)
    pairs = zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(expected), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_a_model_without_a_width_setting_refuses_one():
    assert not WORKLOADS["toy_mlp"].widens
    with pytest.raises(ValueError, match="toy_mlp: its model has no width setting"):
        load_workload("toy_mlp", "mini", width=2)
    assert load_workload("toy_mlp", "mini", width=1).info.name == "toy_mlp"


def test_a_wider_model_trains_through_the_api(tmp_path):
    # one training run: the wider model's shapes are the eval_shape tests' above, and the
    # same trial at the registered width is another trial, whose canonical form lacks width
    fields = dict(workload="librispeech_deepspeech", metric="wer", value=0.1, steps=3)
    wide = run_spec(tmp_path, "wide", **fields, extra="batch_size = 4\nwidth = 2")
    assert wide["stored"]["width"] == 2 and wide["trial"].width == 2
    assert wide["rows"][-1]["step"] == 3 and wide["rows"][-1]["metrics"]["wer"] > 0
    registered = attrs.evolve(wide["trial"], width=None)
    assert "width" not in registered.canonical() and registered.id != wide["trial"].id
    stored = json.loads((tmp_path / "results" / wide["trial"].id / "trial.json").read_text())
    assert Trial.from_json(stored) == wide["trial"]


def test_plan_list_and_schema_say_where_width_applies(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich's table width: no wrapped cells
    path = write(tmp_path, "[workloads.librispeech_conformer]\nwidth = 2\n")
    assert main(["plan", str(path), "--results", str(tmp_path / "results")]) == 0
    assert "width" in capsys.readouterr().out
    assert main(["plan", str(write(tmp_path, "", "plain")), "--results", "r"]) == 0
    assert "width" not in capsys.readouterr().out
    assert main(["list", "workloads"]) == 0
    out = capsys.readouterr().out
    assert (
        "width (a spec may widen the model): criteo, imagenet_resnet, imagenet_vit, ogbg, "
        "fastmri, librispeech_conformer, librispeech_deepspeech, wmt." in out
    )
    assert workload_schema(WORKLOADS["toy_mlp"])["properties"]["width"]["const"] == 1
    speech = workload_schema(WORKLOADS["librispeech_deepspeech"])["properties"]["width"]
    assert (speech["minimum"], speech["maximum"]) == (1, 16)
    assert hpbench.plan(path).trials  # the API reads the same spec

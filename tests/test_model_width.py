"""``width`` in the spec language: checked at its line, refused where a model has no width
setting, in the trial id only when not 1, and a real wider model that trains."""

from __future__ import annotations

import json

import attrs
import jax
import pytest
from test_spec_data_variant import problems, run_spec, write

import hpbench
from hpbench.cli import main
from hpbench.plan import Target, Trial
from hpbench.spec import load_plan
from hpbench.spec.workload_table import workload_schema
from hpbench.workloads.registry import WORKLOADS, load_workload

SPEECH = ("librispeech_conformer", "librispeech_deepspeech")


def test_wrong_widths_are_reported_at_their_line_with_what_to_do(tmp_path):
    path = write(
        tmp_path,
        "[workloads.criteo]\n"  # line 5
        "width = 2\n"
        "[workloads.librispeech_conformer]\n"
        "width = 17\n"
        "[workloads.librispeech_deepspeech]\n"
        "width = 0\n"  # line 10
        "[workloads.ogbg]\n"
        "width = 1\n",  # 1 is every model's registered width: allowed anywhere
    )
    found = problems(path)
    assert len(found) == 3, found
    criteo, conformer, deepspeech = found
    assert ":6:9: workloads.criteo.width: expected 1: workload criteo has no width" in criteo
    assert "width applies to librispeech_conformer, librispeech_deepspeech" in criteo
    assert "remove width" in criteo
    assert ":8:9: workloads.librispeech_conformer.width: expected an integer in [1, 16]" in (
        conformer
    )
    assert ":10:9: workloads.librispeech_deepspeech.width" in deepspeech


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
    trial = Trial(
        workload="librispeech_deepspeech", size="mini", variant="base", algorithm="adamw",
        hyperparameters={"learning_rate": 0.01}, schedule="constant", warmup=0.0,
        horizon=1.0, max_steps=40, batch_size=8, seed=0, eval_every=20,
        target=Target("wer", 0.3, "min"),
    )  # fmt: skip
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


@pytest.mark.parametrize("name", SPEECH)
def test_a_wider_model_has_the_features_times_the_width(name):
    def sizes(width):
        workload = load_workload(name, "mini", batch_size=2, width=width)
        params, _ = workload.init(jax.random.key(0))
        return workload.config, sorted(
            (jax.tree_util.keystr(path), leaf.shape)
            for path, leaf in jax.tree_util.tree_leaves_with_path(params)
        )

    config, narrow = sizes(None)
    wide_config, wide = sizes(2)
    assert wide_config.encoder_dim == 2 * config.encoder_dim
    assert wide_config.subsample_channels == 2 * config.subsample_channels
    assert wide_config.num_layers == config.num_layers  # the depth stays
    assert [path for path, _ in wide] == [path for path, _ in narrow]  # the same layers
    widened = [(p, a, b) for (p, a), (_, b) in zip(narrow, wide, strict=True) if a != b]
    assert widened  # and each widened tensor doubles along its widened axes
    for path, before, after in widened:
        assert all(y in (x, 2 * x, 4 * x) for x, y in zip(before, after, strict=True)), path


def test_a_model_without_a_width_setting_refuses_one():
    assert not WORKLOADS["criteo"].widens
    with pytest.raises(ValueError, match="criteo: its model has no width setting"):
        load_workload("criteo", "mini", width=2)
    assert load_workload("criteo", "mini", width=1).info.name == "criteo"


def test_a_wider_model_trains_through_the_api(tmp_path):
    fields = dict(workload="librispeech_deepspeech", metric="wer", value=0.1, steps=3)
    wide = run_spec(tmp_path, "wide", **fields, extra="batch_size = 4\nwidth = 2")
    assert wide["stored"]["width"] == 2 and wide["trial"].width == 2
    assert wide["rows"][-1]["step"] == 3
    narrow = run_spec(tmp_path, "narrow", **fields, extra="batch_size = 4")
    assert "width" not in narrow["stored"] and narrow["trial"].id != wide["trial"].id
    assert wide["rows"][-1]["metrics"] != narrow["rows"][-1]["metrics"]  # another model
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
    assert "width (a spec may widen the model): librispeech_conformer, librispeech_deepspeech" in (
        out
    )
    assert workload_schema(WORKLOADS["criteo"])["properties"]["width"]["const"] == 1
    speech = workload_schema(WORKLOADS["librispeech_deepspeech"])["properties"]["width"]
    assert (speech["minimum"], speech["maximum"]) == (1, 16)
    assert hpbench.plan(path).trials  # the API reads the same spec

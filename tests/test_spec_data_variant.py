"""``train_rows`` and ``label_noise`` in the spec language: checked at their line, in the
trial id only when set, shown by ``hpbench plan``, and trained for real through the API."""

from __future__ import annotations

import json
from pathlib import Path

import attrs
import pytest

import hpbench
from hpbench.cli import main
from hpbench.config import ConfigError
from hpbench.plan import Target, Trial
from hpbench.spec import load_plan
from hpbench.spec.model import WorkloadRun

ROOT = Path(__file__).resolve().parent.parent
#: The eight mini workloads at their registered sizes on all their data (the shipped mini
#: suite sets variants of its own), each with a target.
PLAIN_SUITE = "".join(
    f'[workloads.{name}]\nsize = "mini"\ntarget = {{ metric = "{metric}", value = {value} }}\n'
    for name, metric, value in (
        ("criteo", "cross_entropy", 0.4),
        ("fastmri", "ssim", 0.8),
        ("imagenet_resnet", "error_rate", 0.5),
        ("imagenet_vit", "error_rate", 0.5),
        ("librispeech_conformer", "wer", 0.2),
        ("librispeech_deepspeech", "wer", 0.2),
        ("ogbg", "map", 0.8),
        ("wmt", "bleu", 30.0),
    )
)


def write(tmp_path: Path, body: str, name: str = "spec") -> Path:
    suite = tmp_path / "plain_suite.toml"
    suite.write_text('[benchmark]\nname = "plain"\n' + PLAIN_SUITE)
    path = tmp_path / f"{name}.toml"
    path.write_text(f'[benchmark]\nextends = "{suite}"\n[algorithm]\nname = "adamw"\n{body}')
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_plan(path)
    return [p.render() for p in error.value.problems]


def test_wrong_values_are_reported_at_their_line_with_what_to_do(tmp_path):
    path = write(
        tmp_path,
        "[workloads.fastmri]\n"  # line 5
        "label_noise = 0.1\n"
        "train_rows = 5000\n"
        "[workloads.criteo]\n"
        "train_rows = 0\n"
        "label_noise = 1.0\n"  # line 10
        "[workloads.ogbg]\n"
        'size = "full"\n'
        "train_rows = 10\n"
        "[workloads.imagenet_vit]\n"
        'label_noise = "high"\n'  # line 15
        "train_rows = 2.5\n",
    )
    found = problems(path)
    where = str(path)
    assert found == [
        f"{where}:6:15: workloads.fastmri.label_noise: expected 0: workload fastmri has no "
        "class labels to replace (label_noise applies to criteo, imagenet_resnet, "
        "imagenet_vit, ogbg, toy_mlp); remove label_noise, found 0.1",
        f"{where}:7:14: workloads.fastmri.train_rows: expected at most 2,048 (the training "
        "rows of fastmri at size mini), found 5000",
        f"{where}:9:14: workloads.criteo.train_rows: expected an integer >= 1, found 0",
        f"{where}:10:15: workloads.criteo.label_noise: expected a share of labels in [0, 1), "
        "found 1.0",
        f"{where}:13:14: workloads.ogbg.train_rows: expected a size whose data hpbench "
        "generates (mini, small): size full of ogbg reads your data; cut or noise it before "
        "importing it, or remove train_rows, found 10",
        f"{where}:15:15: workloads.imagenet_vit.label_noise: expected a share of labels in "
        '[0, 1), found "high"',
        f"{where}:16:14: workloads.imagenet_vit.train_rows: expected an integer >= 1, found 2.5",
    ]


def test_ids_change_only_where_a_variant_is_set(tmp_path):
    base = {t.workload: t.id for t in load_plan(write(tmp_path, "", "base")).trials}
    unset = write(
        tmp_path,
        "[workloads.imagenet_resnet]\ntrain_rows = 32768\nlabel_noise = 0\n"
        "[workloads.wmt]\nlabel_noise = 0.0\n",
        "unset",
    )
    assert {t.workload: t.id for t in load_plan(unset).trials} == base
    varied = write(
        tmp_path, "[workloads.imagenet_resnet]\ntrain_rows = 2048\nlabel_noise = 0.2\n", "set"
    )
    ids = {t.workload: t.id for t in load_plan(varied).trials}
    assert {k: v for k, v in ids.items() if k != "imagenet_resnet"} == {
        k: v for k, v in base.items() if k != "imagenet_resnet"
    }
    assert ids["imagenet_resnet"] != base["imagenet_resnet"]
    others = [
        "train_rows = 2048\n",
        "label_noise = 0.2\n",
        "train_rows = 4096\nlabel_noise = 0.2\n",
        "train_rows = 2048\nlabel_noise = 0.1\n",
    ]
    seen = {ids["imagenet_resnet"], base["imagenet_resnet"]}
    for i, body in enumerate(others):
        plan = load_plan(write(tmp_path, f"[workloads.imagenet_resnet]\n{body}", f"o{i}"))
        (trial,) = [t for t in plan.trials if t.workload == "imagenet_resnet"]
        assert trial.id not in seen, body
        seen.add(trial.id)


def test_a_held_out_variants_table_sets_its_own_data_variant(tmp_path):
    path = write(
        tmp_path,
        "[workloads.criteo]\n"
        'variant = ["base", "layernorm"]\n'
        "train_rows = 16384\n"
        "variants.layernorm.target = { value = 0.5 }\n"
        "variants.layernorm.label_noise = 0.2\n",
    )
    trials = {t.variant: t for t in load_plan(path).trials if t.workload == "criteo"}
    assert (trials["base"].train_rows, trials["base"].label_noise) == (16384, 0.0)
    assert (trials["layernorm"].train_rows, trials["layernorm"].label_noise) == (16384, 0.2)


def test_the_trial_keeps_its_variant_through_json_and_the_python_api_checks_it():
    trial = Trial(
        workload="toy_mlp", size="mini", variant="base", algorithm="adamw",
        hyperparameters={"learning_rate": 0.01}, schedule="constant", warmup=0.0,
        horizon=1.0, max_steps=40, batch_size=64, seed=0, eval_every=20,
        target=Target("error_rate", 0.06, "min"),
    )  # fmt: skip
    assert "train_rows" not in trial.canonical() and "label_noise" not in trial.canonical()
    varied = attrs.evolve(trial, train_rows=512, label_noise=0.25)
    assert varied.canonical()["train_rows"] == 512 and varied.canonical()["label_noise"] == 0.25
    assert Trial.from_json({"id": varied.id, **varied.canonical()}) == varied
    assert varied.id != trial.id and varied.data_variant == "512 rows, label noise 0.25"
    with pytest.raises(ValueError, match=r"label_noise: expected a share in \[0, 1\)"):
        attrs.evolve(trial, label_noise=1.0)
    with pytest.raises(ValueError, match="train_rows: expected an integer >= 1"):
        attrs.evolve(trial, train_rows=0)
    run = WorkloadRun("toy_mlp", "base", "mini", trial.target, 40, 64, 20, train_rows=512)
    assert run.label_noise == 0.0
    with pytest.raises(ValueError):
        attrs.evolve(run, label_noise=-0.1)


def test_plan_shows_the_data_variant_only_where_set(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich's table width: no wrapped cells
    path = write(tmp_path, "[workloads.ogbg]\ntrain_rows = 1024\nlabel_noise = 0.05\n")
    assert main(["plan", str(path), "--results", str(tmp_path / "results")]) == 0
    out = capsys.readouterr().out
    assert "train_rows" in out and "label_noise" in out and "1024" in out and "0.05" in out
    assert main(["plan", str(write(tmp_path, "", "plain")), "--results", "r"]) == 0
    assert "train_rows" not in capsys.readouterr().out


TOY = """[benchmark]
name = "{name}"
[algorithm]
name = "adamw"
learning_rate = 1e-2
[schedule]
shape = "constant"
[workloads.{workload}]
size = "mini"
target = {{ metric = "{metric}", value = {value} }}
max_steps = {steps}
eval_every = {steps}
{extra}
"""


def run_spec(tmp_path: Path, name: str, **fields) -> dict:
    """Train the one-workload spec through the API; its metrics rows (no clocks)."""
    path = tmp_path / f"{name}.toml"
    path.write_text(TOY.format(name=name, **fields))
    plan = hpbench.plan(path)
    results = tmp_path / "results"
    (outcome,) = hpbench.run(plan, results=results, pack=1)
    (trial,) = plan.trials
    stored = json.loads((results / trial.id / "trial.json").read_text())
    rows = (results / trial.id / "metrics.jsonl").read_text().splitlines()
    return {"trial": trial, "stored": stored, "rows": [json.loads(r) for r in rows]}


def test_a_classification_variant_trains_through_the_api(tmp_path):
    fields = dict(workload="toy_mlp", metric="error_rate", value=0.06, steps=20)
    noisy = run_spec(tmp_path, "noisy", **fields, extra="train_rows = 256\nlabel_noise = 0.5")
    assert noisy["stored"]["train_rows"] == 256 and noisy["stored"]["label_noise"] == 0.5
    assert noisy["rows"][-1]["step"] == 20
    # half the validation labels are replaced, 3/8 changed (a uniform class of 4): even the
    # Bayes classifier of the clean data (error about 0.03) errs on 0.375 + 0.625 * 0.03 of
    # them; clean, this run's setting reaches 0.06 by step 40 (specs/suites/toy.toml)
    assert noisy["rows"][-1]["metrics"]["error_rate"] > 0.3


@pytest.mark.slow
def test_a_regression_variant_trains_through_the_api(tmp_path):
    fields = dict(workload="fastmri", metric="ssim", value=0.9, steps=4)
    full = run_spec(tmp_path, "full", **fields, extra="")
    cut = run_spec(tmp_path, "cut", **fields, extra="train_rows = 32")
    assert cut["stored"]["train_rows"] == 32 and cut["trial"].id != full["trial"].id
    assert cut["rows"][-1]["step"] == 4
    assert cut["rows"][-1]["metrics"] != full["rows"][-1]["metrics"]  # other batches


def test_a_report_keys_and_shows_a_data_variant_apart_from_the_plain_workload(tmp_path):
    from report_helpers import write_results, write_specs

    from hpbench.report.tables import workloads_table

    plain, _, other = write_specs(tmp_path)
    text = other.read_text().replace("[run]", "[workloads.toy_mlp]\nlabel_noise = 0.2\n[run]")
    other.write_text(text)
    write_results([plain, other], tmp_path / "results", reach=(0.3, 0.5))
    report = hpbench.report([plain, other], tmp_path / "results")
    keys = [c.key for c in report.columns]
    assert keys == ["toy_mlp@mini", "toy_mlp@mini (label noise 0.2)"]
    table = workloads_table(report)
    assert table.header[0][:3] == ("Workload", "Size", "Variant")
    assert [row[2].text for row in table.rows] == ["as registered", "label noise 0.2"]
    alone = hpbench.report([plain], tmp_path / "results")
    assert [c.key for c in alone.columns] == ["toy_mlp"]
    assert "Variant" not in workloads_table(alone).header[0]  # unchanged without variants


def test_list_and_schema_say_where_the_settings_apply(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")  # rich's table width: no wrapped cells
    from hpbench.spec.workload_table import workload_schema
    from hpbench.workloads.registry import WORKLOADS

    assert main(["list", "workloads"]) == 0
    out = capsys.readouterr().out
    assert "train rows" in out and "131,072" in out and "2,048 *" in out  # fastmri: no labels
    fastmri = workload_schema(WORKLOADS["fastmri"])["properties"]
    assert fastmri["label_noise"]["const"] == 0
    imagenet = workload_schema(WORKLOADS["imagenet_resnet"])["properties"]
    assert imagenet["label_noise"]["exclusiveMaximum"] == 1.0
    assert imagenet["train_rows"]["minimum"] == 1

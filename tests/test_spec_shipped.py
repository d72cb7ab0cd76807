"""The shipped specs compile to what the papers publish (REFERENCE.md sections 4 and 7)."""

from pathlib import Path

import attrs
import pytest

from hpbench.spec import load_plan, load_spec

ROOT = Path(__file__).resolve().parent.parent

# The NAdamW-list paper, Table 10, copied as text: id, base LR, warmup, beta1, beta2, weight
# decay, dropout, label smoothing.
TABLE_10 = """
1 0.007188680089024849 0.1 0.9521079797438937 0.9545645606521953 0.020932289532959312 0.0 0.2
2 0.0011719210768906827 0.02 0.9641782560318817 0.9953311727740848 0.15957548811577366 0.1 0.0
3 0.001183374563441696 0.02 0.918959806679234 0.9941923836947718 0.028400661323288435 0.1 0.1
4 0.0014515212275017363 0.1 0.9600296609757403 0.889423091749684 0.031808785805059143 0.0 0.2
5 0.0005102205206215031 0.05 0.9120180064671332 0.9597041640569521 0.04833675039698776 0.1 0.0
"""

# REFERENCE.md section 7 and the held-out variants: workload -> (metric, target, max steps,
# batch, variant, variant target).
ALGOPERF = {
    "criteo": ("cross_entropy", 0.123649, 31998, 262144, "layernorm", 0.123757),
    "fastmri": ("ssim", 0.723653, 108567, 32, "layernorm", 0.723284),
    "imagenet_resnet": ("error_rate", 0.22569, 559998, 1024, "silu", 0.24555),
    "imagenet_vit": ("error_rate", 0.22691, 559998, 1024, "post_ln", 0.246880),
    "librispeech_conformer": ("wer", 0.078477, 240000, 256, "gelu", 0.094114),
    "librispeech_deepspeech": ("wer", 0.1162, 144000, 256, "tanh", 0.150883),
    "ogbg": ("map", 0.28098, 240000, 512, "gelu", 0.27771),
    "wmt": ("bleu", 30.8491, 399999, 128, "post_ln", 30.0779),
}
MINI = sorted(ALGOPERF)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    monkeypatch.chdir(ROOT)


def test_nadamw_list5_is_table_10_exactly():
    spec = load_spec("specs/nadamw_list5.toml")
    names = (
        "learning_rate",
        "warmup",
        "beta1",
        "beta2",
        "weight_decay",
        "dropout",
        "label_smoothing",
    )
    published = [
        dict(zip(names, row.split()[1:], strict=True)) for row in TABLE_10.strip().splitlines()
    ]
    written = [{k: repr(point[k]) for k in names} for point in spec.points]
    assert written == published  # the same digits, in priority order
    plan = load_plan("specs/nadamw_list5.toml")
    assert len(plan.trials) == 5 * 8
    criteo = [t for t in plan.trials if t.workload == "criteo"]
    assert [repr(t.params["learning_rate"]) for t in criteo] == [
        p["learning_rate"] for p in published
    ]
    assert {t.algorithm for t in plan.trials} == {"nadamw"}


def test_nadamw_list5_horizon_is_a_third_of_the_budget():
    # The paper's step budgets (its Table 11) are AlgoPerf's max_steps / 3.
    paper_steps = {"criteo": 10666, "fastmri": 36189, "imagenet_resnet": 186666, "wmt": 133333}
    horizon = load_spec("specs/nadamw_list5.toml").schedule.horizon
    for workload, steps in paper_steps.items():
        assert round(horizon * ALGOPERF[workload][2]) == steps


def test_algoperf_full_carries_the_paper_targets_and_budgets():
    spec = load_spec("specs/suites/algoperf_full.toml")
    runs = {r.name: r for r in spec.workloads}
    assert sorted(runs) == MINI
    for name, (metric, target, steps, batch, _, _) in ALGOPERF.items():
        run = runs[name]
        assert (run.size, run.variant, run.target.metric, run.target.value) == (
            "full",
            "base",
            metric,
            target,
        )
        assert (run.max_steps, run.batch_size) == (steps, batch)


def test_algoperf_full_held_out_variants_have_their_targets(tmp_path):
    selected = "\n".join(
        f'[workloads.{w}]\nvariant = ["base", "{v[4]}"]' for w, v in ALGOPERF.items()
    )
    child = tmp_path / "heldout.toml"
    child.write_text(
        f'[benchmark]\nextends = "{ROOT}/specs/suites/algoperf_full.toml"\n'
        f'[algorithm]\nname = "nadamw"\n{selected}\n'
    )
    trials = {(t.workload, t.variant): t for t in load_plan(child).trials}
    for name, (metric, _, steps, _, variant, target) in ALGOPERF.items():
        trial = trials[name, variant]
        assert (trial.target.metric, trial.target.value, trial.max_steps) == (metric, target, steps)


def test_mini_suite_has_the_eight_workloads():
    spec = load_spec("specs/suites/algoperf_mini.toml")
    assert sorted(r.name for r in spec.workloads) == MINI
    assert {r.size for r in spec.workloads} == {"mini"}


# The graded suite's training sets (benchmarks/workloads.md, "Graded mini suite"): epochs in
# max_steps (max_steps x batch / rows) near full size's, capped near 60; label noise only on
# the clean procedural image classes.
GRADED_EPOCHS = {
    "criteo": 2.9,
    "fastmri": 60.0,
    "imagenet_resnet": 62.5,
    "imagenet_vit": 62.5,
    "librispeech_conformer": 60.0,
    "librispeech_deepspeech": 60.0,
    "ogbg": 125.0,  # graded-3: 2x design 2's steps on the same graphs
    "wmt": 8.7,
}

# Widths over the registered mini models: DeepSpeech since graded-3, ResNet since graded-6
# (design 6); every other model as registered.
GRADED_WIDTHS = {"librispeech_deepspeech": 2, "imagenet_resnet": 4}


def test_graded_suite_makes_full_size_like_passes_over_finite_noisy_data():
    from hpbench.workloads.registry import get_workload

    trials = {t.workload: t for t in load_plan("specs/targets_graded.toml").trials}
    assert sorted(trials) == MINI
    for name, trial in trials.items():
        rows = trial.train_rows or get_workload(name).train_rows["mini"]
        epochs = trial.max_steps * trial.batch_size / rows
        assert epochs == pytest.approx(GRADED_EPOCHS[name], abs=0.05), name
        noisy = name.startswith("imagenet")
        assert trial.label_noise == (0.2 if noisy else 0.0), name
        assert (trial.width or 1) == GRADED_WIDTHS.get(name, 1), name


def test_naive_lr_free_has_no_schedule_and_no_weight_decay_on_parameters():
    (trial, *_) = load_plan("specs/naive_lr_free.toml").trials
    assert (trial.algorithm, trial.schedule, trial.horizon) == ("mechanic", "none", 1.0)
    assert dict(trial.options) == {"base": "adam"}


def test_mechanic_calibrated_is_mechanic_with_adam_on_the_mini_suite():
    plan = load_plan("specs/mechanic_calibrated.toml")
    assert len(plan.trials) == 8 * 3  # its calibration's three re-run seeds
    assert {t.seed for t in plan.trials} == {1, 7, 8}
    assert {(t.algorithm, dict(t.options)["base"], t.schedule) for t in plan.trials} == {
        ("mechanic", "adam", "warmup_cosine")
    }


def test_prodigy_calibrated_uses_safeguard_warmup():
    (trial, *_) = load_plan("specs/prodigy_calibrated.toml").trials
    assert trial.algorithm == "prodigy" and trial.params["safeguard_warmup"] is True


@pytest.mark.parametrize(
    "spec", ["nadamw_list5", "mechanic_calibrated", "naive_lr_free", "prodigy_calibrated"]
)
def test_trials_round_trip_through_their_json(spec):
    from hpbench.plan import Trial

    for trial in load_plan(f"specs/{spec}.toml").trials:
        again = Trial.from_json(trial.canonical())
        assert again == trial and again.id == trial.id


def test_hardness_spec_is_table_4_sized_and_extends_the_target_search():
    # 200 points as Table 4 counts; its first 64 are the target search's trials (same ids),
    # so the targets' points are not trained again and the targets stay the search's
    hardness = [t.id for t in load_plan("specs/hardness_graded.toml").trials]
    search = [t.id for t in load_plan("specs/targets_graded.toml").trials]
    assert len(hardness) == 200 * len(MINI) and len(set(hardness)) == len(hardness)
    assert set(search) <= set(hardness)


def test_hardness_seeds_spec_crosses_the_searchs_first_50_points_with_the_rerun_seeds():
    # seeds 0-4 (the target reruns') on the target search's first 50 points: its seed-0 trials
    # are the search's own (same ids), the other seeds new trials of the same points
    trials = load_plan("specs/hardness_seeds.toml").trials
    search = load_plan("specs/targets_graded.toml").trials
    workloads = {t.workload for t in trials}
    assert {"imagenet_resnet", "librispeech_deepspeech", "ogbg"} <= workloads < set(MINI)
    assert {t.seed for t in trials} == {0, 1, 2, 3, 4}
    assert len(trials) == 50 * 5 * len(workloads) == len({t.id for t in trials})
    first_50 = list(dict.fromkeys(t.hyperparameters for t in search))[:50]
    assert {t.hyperparameters for t in trials} == set(first_50)
    seed_0 = {t.id for t in trials if t.seed == 0}
    assert seed_0 <= {t.id for t in search if t.workload in workloads}


def test_hardness_seeds_ogbg_spec_extends_the_per_seed_sample_to_100_points_on_design_2():
    # pinned to design 2 (ogbg at 4,000 steps, graded-2's target), the suite whose question it
    # answered: its first 50 points are hardness_seeds' trials with design 2's steps
    trials = load_plan("specs/hardness_seeds_ogbg.toml").trials
    shipped = [t for t in load_plan("specs/hardness_seeds.toml").trials if t.workload == "ogbg"]
    assert {t.workload for t in trials} == {"ogbg"} and len(trials) == 100 * 5
    assert {(t.max_steps, t.target.value) for t in trials} == {(4000, 0.7949)}
    design_2 = {attrs.evolve(t, max_steps=4000, eval_every=80).id for t in shipped}
    assert design_2 <= {t.id for t in trials}

"""``hpbench calibrate``: the lr-free paper's selection worked by hand on results written
without training (two algorithms scored in one pool), and one real run on toy_mlp."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from search_helpers import WORKLOADS, write_result

from hpbench.cli import main
from hpbench.report.findings import selection_sentence
from hpbench.results import read_results
from hpbench.search.calibrate import calibrate, calibration_trials, read_calibration
from hpbench.search.runs import point_trials
from hpbench.spec import load_plan, load_spec

INF = math.inf
ROOT = Path(__file__).resolve().parent.parent

#: (algorithm, horizon, learning rate) -> step fractions on (criteo, ogbg, wmt), every seed.
FRACTIONS = {
    ("nadamw", 1.0, 1e-4): (0.2, 0.9, INF),  # C_2 = (0.2 * 0.9 * 2)^(1/3) = 0.711
    ("nadamw", 1.0, 1e-3): (0.5, 0.5, 0.5),  # 0.5: kept
    ("nadamw", 1.0, 1e-2): (INF, 0.3, 0.3),  # (2 * 0.09)^(1/3) = 0.565: kept
    ("nadamw", 0.5, 1e-4): (0.4, 0.4, 0.4),  # 0.4: kept
    ("nadamw", 0.5, 1e-3): (0.6, 0.6, 0.6),  # 0.6: kept (tie with the next: lower index)
    ("nadamw", 0.5, 1e-2): (0.6, 0.6, 0.6),
    ("adamw", 1.0, 1e-3): (0.1, 0.1, INF),  # (0.01 * 2)^(1/3) = 0.271: kept
    ("adamw", 1.0, 1e-2): (0.3, 0.3, 0.3),
}


def write_spec(tmp_path: Path, algorithm: str, rates: str, select: str) -> Path:
    path = tmp_path / f"calibrate_{algorithm}.toml"
    path.write_text(
        f'[benchmark]\nname = "{algorithm}"\n[algorithm]\nname = "{algorithm}"\n'
        + WORKLOADS
        + "[run]\nseeds = [0]\n"
        + f'[search]\nmethod = "grid"\nspace.learning_rate = {{ values = {rates} }}\n'
        + select
    )
    return path


@pytest.fixture
def specs(tmp_path) -> tuple[list[Path], Path]:
    nadamw = write_spec(
        tmp_path,
        "nadamw",
        "[1e-4, 1e-3, 1e-2]",
        "[select]\nhorizons = [0.5, 1.0]\ntop_k = 2\nseeds = [1]\n",
    )
    adamw = write_spec(tmp_path, "adamw", "[1e-3, 1e-2]", "[select]\ntop_k = 1\nseeds = [1]\n")
    results = tmp_path / "results"
    for path in (nadamw, adamw):
        spec = load_spec(path)
        for (algorithm, horizon, rate), fractions in FRACTIONS.items():
            if algorithm != spec.algorithm:
                continue
            point = {"learning_rate": rate, "horizon": horizon}
            for trial in point_trials(spec, point, seeds=(0, 1)):
                write_result(
                    results, trial, fractions[("criteo", "ogbg", "wmt").index(trial.workload)]
                )
    return [nadamw, adamw], results


def test_calibration_selects_by_cost_then_by_benchmark_score_in_one_pool(specs):
    paths, results = specs
    before = {r.trial.id for r in read_results(results)}
    outcome = calibrate([load_spec(p) for p in paths], results, pack=8)
    assert {r.trial.id for r in read_results(results)} == before  # nothing was trained
    nadamw, adamw = outcome.specs
    kept = [(c.horizon, c.index) for c in nadamw.candidates]
    assert kept == [(0.5, 0), (0.5, 1), (1.0, 1), (1.0, 2)]
    assert [c.search_cost for c in nadamw.candidates] == pytest.approx(
        [0.4, 0.6, 0.5, 0.18 ** (1 / 3)]
    )
    assert [(c.horizon, c.index) for c in adamw.candidates] == [(1.0, 0)]
    # Steps of the re-runs; the pool's fastest per workload: criteo 10, ogbg 10, wmt 20.
    # adamw [10, 10, inf] -> r = [1, 1, inf]: (3 + 3 + 0) / 9 = 0.667
    # nadamw h=0.5 #1 [20, 20, 20] -> [2, 2, 1]: (2 + 2 + 3) / 9 = 0.778
    # nadamw h=0.5 #2 [30, 30, 30] -> [3, 3, 1.5]: (1 + 1 + 2.5) / 9 = 0.5
    # nadamw h=1 #2 [50, 50, 50] -> [inf, inf, 2.5] (5 > 4: cut off): 1.5 / 9 = 0.167
    # nadamw h=1 #3 [inf, 30, 30] -> [inf, 3, 1.5]: (1 + 2.5) / 9 = 0.389
    # (exact areas; AlgoPerf's trapezoid on 100 points is within 0.005 per workload)
    scores = [c.score for c in nadamw.candidates]
    assert scores == pytest.approx([7 / 9, 4.5 / 9, 1.5 / 9, 3.5 / 9], abs=0.015)
    assert adamw.candidates[0].score == pytest.approx(6 / 9, abs=0.015)
    assert nadamw.best[1.0].index == 2 and nadamw.best[0.5].index == 0
    assert (nadamw.chosen.horizon, nadamw.chosen.point) == (0.5, {"learning_rate": 1e-4})


def test_every_calibration_trial_is_exported_and_restores_without_training(specs, tmp_path):
    paths, results = specs
    nadamw = load_spec(paths[0])
    trials = calibration_trials(nadamw, results)
    # both horizons' searches (the plan holds the first one only) and the 4 candidates' re-runs
    (chosen,) = calibrate([nadamw], results, pack=8).specs
    reruns = [t for c in chosen.candidates for t in c.trials]
    searched = [
        t
        for h in (0.5, 1.0)
        for r in (1e-4, 1e-3, 1e-2)
        for t in point_trials(nadamw, {"learning_rate": r, "horizon": h})
    ]
    assert [t.id for t in trials] == [
        t.id for t in searched[:9] + reruns[:6] + searched[9:] + reruns[6:]
    ]
    assert {t.id for t in load_plan(paths[0]).trials} <= {t.id for t in trials}
    # a search not finished yet chooses no re-runs: only the searches, nothing raised
    assert calibration_trials(nadamw, tmp_path / "empty") == searched
    archive, restored = tmp_path / "calibration.tar.xz", tmp_path / "restored"
    assert (
        main(["results", "export", str(paths[0]), "--results", str(results), "--out", str(archive)])
        == 0
    )
    assert main(["results", "import", str(archive), "--results", str(restored)]) == 0
    assert {r.trial.id for r in read_results(restored)} == {t.id for t in trials}
    (again,) = calibrate([nadamw], restored, pack=8).specs
    assert {r.trial.id for r in read_results(restored)} == {t.id for t in trials}  # no training
    assert again.chosen.point == chosen.chosen.point


def test_read_calibration_trains_nothing_and_waits_for_every_trial(specs, tmp_path):
    paths, results = specs
    loaded = [load_spec(p) for p in paths]
    trained = calibrate(loaded, results, pack=8)
    read = read_calibration(loaded, results)
    assert read is not None
    assert [(c.chosen.label, c.chosen.score) for c in read.specs] == [
        (c.chosen.label, c.chosen.score) for c in trained.specs
    ]
    assert read_calibration(loaded, tmp_path / "empty") is None  # no search: nothing trained
    assert not (tmp_path / "empty").exists()
    # one re-run missing: None, not a choice from a partial pool
    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    shutil.rmtree(copy / trained.specs[1].chosen.trials[0].id)
    assert read_calibration(loaded, copy) is None


def test_calibrate_no_train_renders_from_finished_trials_or_says_what_is_missing(
    specs, tmp_path, capsys
):
    paths, results = specs
    argv = ["calibrate", *map(str, paths), "--quiet", "--no-train"]
    trained, read = tmp_path / "trained.md", tmp_path / "read.md"
    assert main([*argv[:-1], "--results", str(results), "--report", str(trained)]) == 0
    assert main([*argv, "--results", str(results), "--report", str(read)]) == 0

    def below_the_date(path: Path) -> str:
        return path.read_text().split("\n", 3)[3]

    assert below_the_date(read) == below_the_date(trained)
    # one re-run missing: exit 1, nothing trained or written, the count of what is missing
    copy = tmp_path / "copy"
    shutil.copytree(results, copy)
    (_, adamw) = read_calibration([load_spec(p) for p in paths], results).specs
    shutil.rmtree(copy / adamw.chosen.trials[0].id)
    before = sorted(p.name for p in copy.iterdir())
    capsys.readouterr()
    out = tmp_path / "not_written.md"
    assert main([*argv, "--results", str(copy), "--report", str(out)]) == 1
    # nadamw: 2 horizons x 3 points x 3 workloads + 4 candidates x 3; adamw: 2 x 3 + 3
    assert "hpbench calibrate --no-train: 1 of the 39 trials it needs so far have not finished" in (
        capsys.readouterr().err
    )
    assert sorted(p.name for p in copy.iterdir()) == before and not out.exists()


def test_calibrate_emits_specs_that_reuse_the_reruns_and_a_report(specs, tmp_path):
    paths, results = specs
    emitted = [
        tmp_path / "out" / "nadamw_calibrated.toml",
        tmp_path / "out" / "adamw_calibrated.toml",
    ]
    report = tmp_path / "calibration.md"
    argv = ["calibrate", *map(str, paths), "--results", str(results), "--pack", "8", "--quiet"]
    argv += ["--emit", str(emitted[0]), "--emit", str(emitted[1]), "--report", str(report)]
    assert main(argv) == 0
    nadamw = load_spec(emitted[0])
    assert nadamw.hyperparameters["learning_rate"] == 1e-4
    assert (nadamw.schedule.horizon, nadamw.seeds) == (0.5, (1,))
    text = emitted[0].read_text()
    assert "# 0.5          1        0.4000" in text and "<- chosen" in text
    assert "all 5 candidates of all calibrated specs scored together" in text
    done = {r.trial.id for r in read_results(results)}
    for path in emitted:
        assert {t.id for t in load_plan(path).trials} <= done  # running it trains nothing
    table = report.read_text()
    assert table.startswith("# Calibration of nadamw, adamw\n\n`hpbench calibrate ")
    assert (
        "calibrate_nadamw.toml: search: grid, resolution 3, space inline [search.space]; "
        "training seeds [0]; horizons 0.5, 1; top 2 re-run with seeds [1]"
    ) in table
    assert "| candidate | score | on the search's seeds | criteo | ogbg | wmt |" in table
    # every seed reaches the targets at the same steps: the search trials score as the re-runs
    assert "| nadamw h=0.5 point 1 **(chosen)** | 0.7811 | 0.7811 |" in table
    assert "- nadamw: the search's seeds [0] choose the same point (nadamw h=0.5 point 1)." in table
    assert "# nadamw: the search's seeds [0] choose the same point" in text
    assert "| candidate | learning_rate | re-run seeds |" in table
    assert "| nadamw h=1 point 3 | 0.01 | [1] |" in table


def test_the_seed_check_says_when_the_search_seed_would_choose_another_point(tmp_path):
    # seed 0 (the search) ranks 1e-4 first everywhere, the re-run seed 1 ranks 1e-3 first
    path = write_spec(tmp_path, "nadamw", "[1e-4, 1e-3]", "[select]\ntop_k = 2\nseeds = [1]\n")
    spec, results = load_spec(path), tmp_path / "results"
    fractions = {(1e-4, 0): 0.2, (1e-4, 1): 0.6, (1e-3, 0): 0.4, (1e-3, 1): 0.3}
    for (rate, seed), fraction in fractions.items():
        point = {"learning_rate": rate, "horizon": 1.0}
        for trial in point_trials(spec, point, seeds=(seed,)):
            write_result(results, trial, fraction)
    (cal,) = calibrate([spec], results, pack=8).specs
    assert cal.chosen.point == {"learning_rate": 1e-3}  # the procedure: the re-runs decide
    assert cal.chosen_by_search.point == {"learning_rate": 1e-4}
    # each pool's fastest is its own: 1 against 2 (seed 0), 1 against 1/0.5 = 2 (seed 1)
    by_rate = {c.point["learning_rate"]: c for c in cal.candidates}
    assert (by_rate[1e-4].search_score, by_rate[1e-3].search_score) == pytest.approx(
        (1.0, by_rate[1e-4].score), abs=0.015
    )
    report = tmp_path / "report.md"
    argv = ["calibrate", str(path), "--results", str(results), "--quiet", "--report", str(report)]
    assert main([*argv, "--emit", str(tmp_path / "emitted.toml")]) == 0
    assert (
        "- nadamw: the search's seeds [0] would choose nadamw h=1 point 1 (score there 1.0000 "
        "against " in report.read_text()
    )
    assert "not nadamw h=1 point 2: the calibrated point rests on the re-run seeds' draw." in (
        report.read_text()
    )
    assert "# nadamw: the search's seeds [0] would choose nadamw h=1 point 1" in (
        (tmp_path / "emitted.toml").read_text()
    )


def test_with_several_rerun_seeds_the_report_says_what_each_seed_alone_would_choose(tmp_path):
    # the median over re-run seeds 1, 2, 3 decides; seeds 1 and 3 alone rank 1e-4 first,
    # seed 2 alone ranks 1e-3 first (step fractions on every workload, by rate and seed)
    select = "[select]\ntop_k = 2\nseeds = [1, 2, 3]\n"
    path = write_spec(tmp_path, "nadamw", "[1e-4, 1e-3]", select)
    spec, results = load_spec(path), tmp_path / "results"
    fractions = {1e-4: (0.3, 0.3, 0.9, 0.3), 1e-3: (0.4, 0.6, 0.3, 0.6)}  # seeds 0, 1, 2, 3
    for rate, per_seed in fractions.items():
        for seed, fraction in enumerate(per_seed):
            point = {"learning_rate": rate, "horizon": 1.0}
            for trial in point_trials(spec, point, seeds=(seed,)):
                write_result(results, trial, fraction)
    (cal,) = calibrate([spec], results, pack=8).specs
    assert cal.chosen.point == {"learning_rate": 1e-4}  # medians 0.3 against 0.6
    picks = {seed: c.point["learning_rate"] for seed, c in cal.chosen_by_seed.items()}
    assert picks == {1: 1e-4, 2: 1e-3, 3: 1e-4}
    report = tmp_path / "report.md"
    argv = ["calibrate", str(path), "--results", str(results), "--quiet", "--report", str(report)]
    assert main(argv) == 0
    assert (
        "Each re-run seed alone (its trials scored in their own pool) chooses: seed 1 h=1 "
        "point 1, seed 2 h=1 point 2, seed 3 h=1 point 1; 2 of 3 agree with the calibrated point."
    ) in report.read_text()
    # findings.md's sentence on the same choice: its margin (ratios 1 against 2 on every
    # workload: scores 1 and 6/9, see the first test) and its checks
    sentence = selection_sentence(cal)
    chosen, runner_up = map(float, re.findall(r"\d\.\d{4}", sentence))
    assert (chosen, runner_up) == pytest.approx((1.0, 6 / 9), abs=0.015)
    assert sentence.startswith("nadamw chose h=1 point 1 (benchmark score ")
    assert sentence.endswith(
        "; the runner-up, h=1 point 2, "
        f"{runner_up:.4f}), the search's seed 0 alone would choose the same point, each re-run "
        "seed alone: seed 1 h=1 point 1, seed 2 h=1 point 2, seed 3 h=1 point 1 (2 of 3), so "
        "the choice changes with the seeds it is made on"
    )


def test_an_emitted_spec_keeps_the_suite_its_procedure_spec_swapped_in(specs, tmp_path):
    # the procedure spec is skipped (its [search] must not be inherited), its suite is not
    paths, results = specs
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "same.toml").write_text(WORKLOADS)
    graded = tmp_path / "graded_nadamw.toml"  # outside a repository: its directory is the root
    graded.write_text(
        '[benchmark]\nname = "graded_nadamw"\nextends = "calibrate_nadamw.toml"\n'
        'suite = "suites/same.toml"\n'
    )
    emitted = tmp_path / "graded_nadamw_calibrated.toml"
    argv = ["calibrate", str(graded), "--results", str(results), "--pack", "8", "--quiet"]
    argv += ["--emit", str(emitted), "--report", str(tmp_path / "report.md")]
    assert main(argv) == 0
    assert 'suite = "suites/same.toml"' in emitted.read_text()
    trials = load_plan(emitted).trials
    assert {t.workload for t in trials} == {"criteo", "ogbg", "wmt"}
    assert {t.id for t in trials} <= {r.trial.id for r in read_results(results)}


def test_calibrate_argument_errors(specs, capsys):
    paths, results = specs
    assert main(["calibrate", str(paths[0]), str(paths[1]), "--emit", "x.toml"]) == 2
    assert "1 --emit for 2 specs" in capsys.readouterr().err
    assert main(["calibrate", str(paths[0]), "--pack", "0"]) == 2
    assert main(["calibrate", str(paths[0]), str(paths[0])]) == 2
    assert "specs with the same [benchmark].name (nadamw, nadamw)" in capsys.readouterr().err


@pytest.mark.slow  # about 15 s of CPU, 55 s wall on the contended 2-core machine
def test_a_real_calibration_on_toy_mlp(tmp_path):
    """Mechanic on toy_mlp: 4 Halton points, 100 steps, the top 2 re-run with a fresh seed."""
    spec = tmp_path / "calibrate_toy.toml"
    spec.write_text(
        f"""
[benchmark]
name = "toy_calibration"
extends = "{ROOT / "specs" / "suites" / "toy.toml"}"
[algorithm]
name = "mechanic"
[workloads.toy_mlp]
eval_every = 10
[run]
seeds = [0]
[search]
points = 4
space.one_minus_beta1 = {{ scale = "log", low = 1e-2, high = 0.5 }}
space.weight_decay = {{ scale = "log", low = 1e-4, high = 1e-1 }}
[select]
horizons = [0.25]
top_k = 2
seeds = [1]
"""
    )
    emitted = tmp_path / "mechanic_toy.toml"
    argv = ["calibrate", str(spec), "--results", str(tmp_path / "r"), "--quiet"]
    assert main([*argv, "--emit", str(emitted), "--report", str(tmp_path / "r.md")]) == 0
    calibrated = load_spec(emitted)
    assert calibrated.algorithm == "mechanic" and calibrated.schedule.horizon == 0.25
    searched = load_spec(spec).points
    chosen = {k: calibrated.hyperparameters[k] for k in ("beta1", "weight_decay")}
    assert chosen in [dict(p) for p in searched]
    trials = load_plan(emitted).trials
    assert all((tmp_path / "r" / t.id / "status.json").is_file() for t in trials)


@pytest.mark.parametrize("command", ["calibrate", "build-list"])
def test_help_imports_neither_jax_nor_scipy(command):
    code = (
        "import sys\nfrom hpbench.cli import main\n"
        f"try:\n    main([{command!r}, '--help'])\nexcept SystemExit:\n    pass\n"
        "print('jax' in sys.modules, 'scipy' in sys.modules, file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "--emit" in done.stdout
    assert done.stderr.strip() == "False False"

"""``hpbench targets``: the best point's median-over-seeds best metric, worked by hand on
results written without training, written into a suite file in place; and one real run."""

from __future__ import annotations

import math
import re
import shutil
from pathlib import Path

import pytest
from search_helpers import WORKLOADS

from hpbench.cli import main
from hpbench.config._toml import tomllib
from hpbench.results.records import EvalRecord, Status, read_planned
from hpbench.results.store import TrialDir
from hpbench.search.targets import (
    BEGIN_MARK,
    END_MARK,
    Rerun,
    find_rerun_targets,
    rerun_trials,
    round_toward_easy,
)
from hpbench.spec import load_plan

ROOT = Path(__file__).resolve().parent.parent

#: (learning rate, seed) -> evaluated values of the workload's target metric.
CURVES = {
    "criteo": {  # min; lr 1e-3: medians of best (0.41, 0.40, 0.43) = 0.41; lr 1e-2: 0.42
        (1e-3, 0): (0.5, 0.41),
        (1e-3, 1): (0.45, 0.40),
        (1e-3, 2): (0.43, 0.44),
        (1e-2, 0): (0.42, 0.5),
        (1e-2, 1): (0.39, 0.6),
        (1e-2, 2): (math.nan, math.nan),  # diverged: the worst, so the median is 0.42
    },
    "wmt": {  # max; lr 1e-3: median 21.0; lr 1e-2: median of (25.5, 24.0, 10.0) = 24.0
        (1e-3, 0): (20.0, 21.0),
        (1e-3, 1): (21.0, 19.0),
        (1e-3, 2): (22.0, 22.5),
        (1e-2, 0): (25.5, 25.0),
        (1e-2, 1): (24.0, 23.98765),
        (1e-2, 2): (10.0, 9.0),
    },
}


def write_suite(tmp_path: Path) -> Path:
    suite = tmp_path / "suite.toml"
    suite.write_text(
        '# A suite with comments that must survive.\n\n[benchmark]\nname = "three"\n'
        + WORKLOADS.replace("value = 0.45 }", "value = 0.45 }  # the old target")
    )
    return suite


def write_search(tmp_path: Path, suite: Path) -> Path:
    spec = tmp_path / "targets.toml"
    spec.write_text(
        f'[benchmark]\nname = "search"\nextends = "{suite.name}"\n'
        '[algorithm]\nname = "nadamw"\n[schedule]\nhorizon = 1.0\n'
        "[grid]\nlearning_rate = [1e-3, 1e-2]\n[run]\nseeds = [0, 1, 2]\n"
    )
    return spec


@pytest.fixture
def search(tmp_path) -> tuple[Path, Path, Path]:
    """The suite, the search spec and its results (criteo and wmt; ogbg never ran)."""
    suite = write_suite(tmp_path)
    spec = write_search(tmp_path, suite)
    results = tmp_path / "results"
    for trial in load_plan(spec).trials:
        curve = CURVES.get(trial.workload, {}).get((trial.params["learning_rate"], trial.seed))
        if curve is not None:
            write_curve(results, trial, curve)
    return suite, spec, results


@pytest.mark.parametrize(
    ("value", "direction", "expected"),
    [
        (0.381234, "min", 0.3813),  # up: a minimised metric at 0.381234 still reaches 0.3813
        (0.381234, "max", 0.3812),
        (98.4567, "max", 98.45),
        (0.12, "min", 0.12),  # exact at 4 digits: unchanged
        (0.0004, "min", 0.0004),
    ],
)
def test_targets_round_toward_the_easy_side(value, direction, expected):
    assert round_toward_easy(value, direction) == expected


def finish_ogbg(spec: Path, results: Path) -> None:
    """The ogbg trials ``search`` leaves untrained, finished: mAP 0.30, 0.31, 0.32 on seeds
    0-2 (median 0.31)."""
    for trial in load_plan(spec).trials:
        if trial.workload == "ogbg":
            directory = TrialDir(results, trial)
            directory.write_trial()
            directory.append_eval(EvalRecord(10, 0.1, 1.0, {"map": 0.3 + trial.seed / 100}))
            directory.write_status(Status(state="done", step=10))


def test_targets_are_the_best_points_median_and_go_into_the_suite(search, capsys):
    suite, spec, results = search
    report = suite.parent / "targets.md"
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--version", "v-test"]
    finish_ogbg(spec, results)
    assert main([*argv, "--write", str(suite), "--report", str(report)]) == 0
    text = suite.read_text()
    targets = {name: w["target"]["value"] for name, w in tomllib.loads(text)["workloads"].items()}
    assert targets == {"criteo": 0.41, "wmt": 24.0, "ogbg": 0.31}
    assert "# A suite with comments that must survive." in text
    assert "value = 0.41 }  # the old target" in text
    assert text.count(BEGIN_MARK) == 1 and text.count(END_MARK) == 1
    assert 'Targets version "v-test"' in text
    assert "#   criteo: cross_entropy 0.41 (median 0.41; seeds 0.41, 0.4, 0.43;" in text
    table = report.read_text()
    assert "| wmt | bleu (max) | 24 | 20 | 24 | 25.5, 24, 10 |  | 2 | " in table
    # A rerun replaces the block and finds the same values: the file is a fixed point.
    assert main([*argv, "--write", str(suite)]) == 0
    assert suite.read_text() == text


def write_curve(results: Path, trial, curve) -> None:
    """A finished trial whose evaluations of its target metric are ``curve`` (done at its
    last evaluation: the rows are then the trial's whole record)."""
    directory = TrialDir(results, trial)
    directory.write_trial()
    for i, value in enumerate(curve):
        step = (i + 1) * trial.eval_every
        directory.append_eval(EvalRecord(step, step * 0.01, 1.0, {trial.target.metric: value}))
    directory.write_status(Status(state="done", step=len(curve) * trial.eval_every))


#: (workload, learning rate) -> seed 0's curve in the one-seed search over the full budget.
SEARCH = {
    ("criteo", 1e-3): (0.5, 0.41),
    ("criteo", 1e-2): (0.39, 0.45),  # the winner: best 0.39
    ("ogbg", 1e-3): (0.2, 0.25),  # the winner (max): best 0.25
    ("ogbg", 1e-2): (0.1, 0.2),
    ("wmt", 1e-3): (math.nan,),  # diverged: never the winner
    ("wmt", 1e-2): (5.0, 9.0),
}
#: (workload, seed) -> the winner's curve retrained over half the budget.
RERUN = {
    ("criteo", 0): (0.47, 0.44),  # medians: criteo of (0.44, 0.40, worst) = 0.44
    ("criteo", 1): (0.40, 0.42),
    ("criteo", 2): (math.nan,),
    ("ogbg", 0): (0.21, 0.22),  # ogbg of (0.22, 0.24, 0.23) = 0.23
    ("ogbg", 1): (0.24, 0.2),
    ("ogbg", 2): (0.23, 0.23),
    ("wmt", 0): (7.0, 8.0),  # wmt of (8, 6, 7) = 7
    ("wmt", 1): (6.0, 6.0),
    ("wmt", 2): (7.0, 1.0),
}


@pytest.fixture
def one_seed_search(tmp_path) -> tuple[Path, Path, Path]:
    """The suite, a one-seed search spec and its results (SEARCH's curves), not yet rerun."""
    suite = write_suite(tmp_path)
    spec = write_search(tmp_path, suite)
    spec.write_text(spec.read_text().replace("seeds = [0, 1, 2]", "seeds = [0]"))
    results = tmp_path / "results"
    for trial in load_plan(spec).trials:
        write_curve(results, trial, SEARCH[trial.workload, trial.params["learning_rate"]])
    return suite, spec, results


def test_rerun_targets_are_the_median_of_the_best_points_reruns(one_seed_search, tmp_path, capsys):
    suite, spec, results = one_seed_search
    plan = load_plan(spec)
    rerun = Rerun([0, 1, 2], horizon=0.5)
    with pytest.raises(ValueError, match="criteo .base.: the rerun of its best point"):
        find_rerun_targets(plan, read_planned(results, plan.trials), rerun)  # not retrained
    winners = {
        t.workload: t
        for t in plan.trials
        if (t.workload, t.params["learning_rate"])
        in {("criteo", 1e-2), ("ogbg", 1e-3), ("wmt", 1e-2)}
    }
    for workload, winner in winners.items():
        for trial in rerun.trials(winner):
            assert (trial.horizon, trial.horizon_steps) == (0.5, 50)
            write_curve(results, trial, RERUN[workload, trial.seed])
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--write", str(suite)]
    report = tmp_path / "targets.md"
    assert (
        main([*argv, "--rerun-seeds", "0,1,2", "--rerun-horizon", "0.5", "--report", str(report)])
        == 0
    )
    text = suite.read_text()
    targets = {name: w["target"]["value"] for name, w in tomllib.loads(text)["workloads"].items()}
    assert targets == {"criteo": 0.44, "ogbg": 0.23, "wmt": 7.0}
    prose = " ".join(line.lstrip("# ") for line in text.splitlines())
    assert "retrained with seeds 0, 1, 2 over horizon 0.5 of max_steps" in prose
    assert "#   criteo: cross_entropy 0.44 (median 0.44; seeds 0.44, 0.4, nan; search 0.39;" in text
    assert (
        "| ogbg | map (max) | 0.23 | 0.3 | 0.23 | 0.22, 0.24, 0.23 | 0.25 | 2 | "
        in report.read_text()
    )
    assert main([*argv, "--rerun-horizon", "0.5"]) == 2
    assert "--rerun-horizon needs --rerun-seeds" in capsys.readouterr().err
    assert main([*argv, "--rerun-seeds", "0,0"]) == 2
    assert "expected distinct integer seeds >= 0" in capsys.readouterr().err


def test_an_export_with_the_reruns_restores_the_rerun_targets(one_seed_search, tmp_path, capsys):
    suite, spec, results = one_seed_search
    plan = load_plan(spec)
    archive = tmp_path / "search.tar.xz"
    export = ["results", "export", str(spec), "--out", str(archive), "--results", str(results)]
    rerun = ["--rerun-seeds", "0,1,2", "--rerun-horizon", "0.5"]
    assert main([*export, *rerun]) == 0  # reruns planned from the search, none trained yet
    assert "6 finished trials of 15 planned" in capsys.readouterr().out
    for trial in rerun_trials(plan, read_planned(results, plan.trials), Rerun([0, 1, 2], 0.5)):
        write_curve(results, trial, RERUN[trial.workload, trial.seed])
    assert main([*export, *rerun]) == 0
    assert "15 finished trials of 15 planned" in capsys.readouterr().out
    targets = ["targets", str(spec), "--quiet", *rerun, "--report"]
    assert main([*targets, str(tmp_path / "before.md"), "--results", str(results)]) == 0
    restored = tmp_path / "restored"
    assert main(["results", "import", str(archive), "--results", str(restored)]) == 0
    assert main([*targets, str(tmp_path / "after.md"), "--results", str(restored)]) == 0
    before, after = ((tmp_path / f"{name}.md").read_text() for name in ("before", "after"))
    assert "| ogbg | map (max) | 0.23 |" in after
    assert after.split("\n", 3)[3] == before.split("\n", 3)[3]  # all but the dated header
    # --no-train reads the same targets from the restored trials, and with one rerun gone
    # says what is missing (6 search trials + 3 workloads x 3 rerun seeds), writing nothing
    read = tmp_path / "read.md"
    assert main([*targets, str(read), "--results", str(restored), "--no-train"]) == 0
    assert read.read_text().split("\n", 3)[3] == before.split("\n", 3)[3]
    reruns = rerun_trials(plan, read_planned(restored, plan.trials), Rerun([0, 1, 2], 0.5))
    shutil.rmtree(restored / reruns[0].id)
    suite_before = suite.read_text()
    capsys.readouterr()
    argv = [*targets, str(tmp_path / "none.md"), "--results", str(restored), "--no-train"]
    assert main([*argv, "--write", str(suite)]) == 1
    assert "hpbench targets --no-train: 1 of the 15 trials it needs so far" in (
        capsys.readouterr().err
    )
    assert suite.read_text() == suite_before and not (tmp_path / "none.md").exists()
    assert (
        main(
            ["results", "export", str(write_search(tmp_path, suite)), "--out"]
            + [str(archive), "--results", str(tmp_path / "empty"), *rerun]
        )
        == 2
    )
    assert "no reruns to export: criteo (base): no point has a finite best metric" in (
        capsys.readouterr().err
    )


def test_the_provenance_gives_the_winning_point_exactly(one_seed_search, capsys):
    # a Halton point's learning rate has 10 significant digits; the provenance must give
    # all of them, or a spec copied from it trains other trials than the winner's
    suite, spec, results = one_seed_search
    exact = 0.002596866784
    text = spec.read_text().replace("learning_rate = [1e-3, 1e-2]", f"learning_rate = [{exact}]")
    spec.write_text(text)
    plan = load_plan(spec)
    for trial in plan.trials:
        write_curve(results, trial, SEARCH[trial.workload, 1e-2])
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--write", str(suite)]
    assert main(argv) == 0
    written = re.findall(r"best of 1 points: (.*)\)$", suite.read_text(), flags=re.M)
    assert len(written) == 3  # one line per workload
    point = dict(pair.split("=") for pair in written[0].split(", "))
    assert float(point["learning_rate"]) == exact
    assert float(point["horizon"]) == plan.trials[0].horizon
    params = plan.trials[0].params  # the schedule's horizon and warmup are written too
    assert {k: float(point[k]) for k in params} == params
    assert set(point) == {*params, "horizon", "warmup"}


def test_targets_writes_the_target_lines_a_suite_lacks(search, capsys):
    """A suite file without targets (a new suite, or one that changes a budget over a parent)
    gets a target line under each workload's table, or a new table where it has none."""
    suite, spec, results = search
    finish_ogbg(spec, results)
    bare = suite.parent / "bare.toml"
    bare.write_text('[benchmark]\nname = "bare"\n\n[workloads.criteo]  # kept\nmax_steps = 100')
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--write", str(bare)]
    assert main(argv) == 0
    text = bare.read_text()
    workloads = tomllib.loads(text)["workloads"]
    assert {name: w["target"]["value"] for name, w in workloads.items()} == {
        "criteo": 0.41,
        "ogbg": 0.31,
        "wmt": 24.0,
    }
    assert workloads["criteo"]["max_steps"] == 100 and "[workloads.criteo]  # kept" in text
    assert workloads["wmt"]["target"]["metric"] == "bleu"
    assert main(argv) == 0 and bare.read_text() == text  # a fixed point, as with lines written


@pytest.mark.parametrize(
    "workloads",
    [
        '[workloads.criteo]\ntarget.metric = "cross_entropy"\n',  # a target without its value
        "[workloads]\ncriteo = { max_steps = 100 }\n",  # an inline table: no line to add to
    ],
)
def test_targets_refuses_a_target_it_cannot_complete(search, capsys, workloads):
    suite, spec, results = search
    odd = suite.parent / "odd.toml"
    odd.write_text(f'[benchmark]\nname = "odd"\n{workloads}')
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--write", str(odd)]
    assert main(argv) == 2
    assert "criteo: no `workloads.criteo.target.value` written" in capsys.readouterr().err
    assert odd.read_text() == f'[benchmark]\nname = "odd"\n{workloads}'


def test_targets_refuses_a_missing_suite_file(search, capsys):
    suite, spec, _ = search
    assert main(["targets", str(spec), "--write", str(suite.parent / "nope.toml")]) == 2
    assert "no such suite file" in capsys.readouterr().err


@pytest.mark.slow  # toy_mlp: 2 learning rates x 2 seeds of 100 steps
def test_a_real_target_search_on_toy_mlp(tmp_path):
    suite = tmp_path / "toy.toml"
    suite.write_text((ROOT / "specs" / "suites" / "toy.toml").read_text())
    spec = tmp_path / "targets.toml"
    spec.write_text(
        f'[benchmark]\nname = "toy_targets"\nextends = "{suite.name}"\n'
        '[algorithm]\nname = "nadamw"\n[schedule]\nhorizon = 0.25\n'
        "[grid]\nlearning_rate = [1e-3, 1e-2]\n[run]\nseeds = [0, 1]\n"
    )
    results = tmp_path / "results"
    argv = ["targets", str(spec), "--results", str(results), "--quiet", "--write", str(suite)]
    assert main(argv) == 0
    value = tomllib.loads(suite.read_text())["workloads"]["toy_mlp"]["target"]["value"]
    assert 0 <= value < 0.5  # an error rate better than chance on 2+ classes
    assert main(argv) == 0  # the rerun trains nothing and writes the same file
    assert len(list(results.glob("*/trial.json"))) == 4

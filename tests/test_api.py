"""The Python API (hpbench.load_spec/plan/run/score/report/Results), trained for real on the
toy suite, and docs/api.md's code blocks executed so the walkthrough cannot go stale."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from trial_helpers import CLOCKS

import hpbench
from hpbench.cli import main
from hpbench.spec import load_plan
from hpbench.train import CheckpointPolicy, make_jobs

ROOT = Path(__file__).resolve().parent.parent
SPEC = """[benchmark]
name = "{name}"
description = "AdamW on the toy suite"
extends = "suites/toy.toml"

[algorithm]
name = "adamw"
learning_rate = 1e-2

[run]
seeds = [0, 1]
checkpoint_seconds = 45
"""


def write_spec(directory: Path, name: str = "adamw_api") -> Path:
    (directory / "suites").mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "specs" / "suites" / "toy.toml", directory / "suites" / "toy.toml")
    path = directory / f"{name}.toml"
    path.write_text(SPEC.format(name=name))
    return path


def metrics(results: Path, trial_id: str) -> list[dict]:
    """metrics.jsonl without the wall-clock fields (what must be reproducible)."""
    lines = (results / trial_id / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in CLOCKS} for line in lines]


def test_everything_but_run_stays_jax_free(tmp_path):
    spec = write_spec(tmp_path)
    code = (
        "import sys, hpbench\n"
        f"plan = hpbench.plan(hpbench.load_spec({str(spec)!r}))\n"
        "assert len(plan.trials) == 2\n"
        f"hpbench.Results({str(tmp_path / 'results')!r}).of(plan)\n"
        "assert 'jax' not in sys.modules, 'jax imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)


def test_plan_takes_a_spec_or_its_path_and_keeps_the_ids(tmp_path):
    spec = write_spec(tmp_path)
    ids = [t.id for t in load_plan(spec).trials]
    assert [t.id for t in hpbench.plan(spec).trials] == ids
    assert [t.id for t in hpbench.plan(hpbench.load_spec(spec)).trials] == ids
    assert hpbench.plan(str(spec)).checkpoint_seconds == 45


def test_make_jobs_reads_the_plans_checkpoint_cadence(tmp_path):
    plan = hpbench.plan(write_spec(tmp_path))
    assert {j.checkpoint for j in make_jobs(plan, pack=1)} == {CheckpointPolicy(every_seconds=45)}
    given = CheckpointPolicy(every_steps=100, every_seconds=None)
    assert {j.checkpoint for j in make_jobs(plan, pack=1, checkpoint=given)} == {given}
    assert {j.checkpoint for j in make_jobs(plan.trials, pack=1)} == {CheckpointPolicy()}


def test_checkpoint_policy_and_unique_trials():
    from hpbench.api import checkpoint_policy, unique_trials

    plans = [load_plan(ROOT / "specs" / "list_toy.toml")] * 2
    assert len(unique_trials(plans)) == len(plans[0].trials)
    assert checkpoint_policy(plans, "30s") == CheckpointPolicy(every_seconds=30.0)
    assert checkpoint_policy(plans, "500") == CheckpointPolicy(every_steps=500, every_seconds=None)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory) -> tuple[Path, Path]:
    """The spec trained by ``hpbench run``: what the API must reproduce."""
    tmp = tmp_path_factory.mktemp("cli")
    spec = write_spec(tmp)
    assert main(["run", str(spec), "--results", str(tmp / "results"), "--quiet"]) == 0
    return spec, tmp / "results"


@pytest.mark.parametrize("runner", ["local", str(ROOT / "runners" / "pool.toml")])
def test_run_with_a_runner_matches_the_cli(cli_run, tmp_path, runner):
    spec, cli_results = cli_run
    plan = hpbench.plan(spec)
    results = tmp_path / "results"
    outcomes = hpbench.run(plan, runner=runner, results=results)
    assert sorted(o.trial.id for o in outcomes) == sorted(t.id for t in plan.trials)
    assert {o.state for o in outcomes} == {"done"}
    for trial in plan.trials:
        assert metrics(results, trial.id) == metrics(cli_results, trial.id)
    again = hpbench.run(plan, runner=runner, results=results)
    assert {o.state for o in again} == {"skipped"}


def test_results_score_and_report_read_the_cli_run(cli_run, tmp_path):
    spec, results = cli_run
    plan = hpbench.plan(spec)
    view = hpbench.Results(results)
    assert set(view.ids()) == {t.id for t in plan.trials} and len(view) == 2
    assert all(t in view for t in plan.trials)
    found = view.of(plan)
    assert {r.status.state for r in found.values()} == {"done"}
    assert {r.id for r in view} == set(found)
    # the toy suite's note: AdamW at 1e-2 reaches 0.06 error near step 40 of 400
    scores = hpbench.score(spec, results)
    assert set(scores.benchmark) == {"adamw_api"}
    assert 0 < scores.benchmark["adamw_api"] <= 1
    report = hpbench.report([spec], results, out=tmp_path / "report")
    assert report.scores.benchmark == scores.benchmark
    assert (tmp_path / "report" / "index.md").read_text().count("adamw_api") >= 1
    assert (tmp_path / "report" / "index.html").exists()


def test_nightly_trains_in_process_through_the_api(cli_run, tmp_path):
    from hpbench.nightly.run import run_spec

    spec, cli_results = cli_run
    results = tmp_path / "results"
    assert run_spec(spec, results) == 0
    for trial in hpbench.plan(spec).trials:
        assert metrics(results, trial.id) == metrics(cli_results, trial.id)


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


def test_the_api_walkthrough_runs(tmp_path, monkeypatch):
    blocks = python_blocks((ROOT / "docs" / "api.md").read_text())
    assert len(blocks) >= 5
    (tmp_path / "specs" / "suites").mkdir(parents=True)
    shutil.copy(ROOT / "specs" / "suites" / "toy.toml", tmp_path / "specs" / "suites")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "docs/api.md", "exec"), namespace)
    assert (tmp_path / "reports" / "adamw_toy_notebook" / "index.html").exists()


def test_search_training_honours_the_runner_profile(cli_run, tmp_path):
    from hpbench.search.runs import train

    spec, cli_results = cli_run
    trials = hpbench.plan(spec).trials
    outcomes = train(trials, tmp_path / "results", runner=ROOT / "runners" / "pool.toml")
    assert {o.state for o in outcomes} == {"done"}
    assert (tmp_path / "results" / "_logs").is_dir()  # the pool's worker logs: not local
    for trial in trials:
        assert metrics(tmp_path / "results", trial.id) == metrics(cli_results, trial.id)

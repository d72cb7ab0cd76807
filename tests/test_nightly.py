"""The nightly: history, regressions against the previous night, the site index, the run
step and bad nightly files. Results are synthetic, except in the slow test that trains."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from report_helpers import write_results, write_specs

from hpbench.cli import main as hpbench
from hpbench.nightly.file import load_nightly
from hpbench.nightly.run import run_nightly
from hpbench.report import papers
from hpbench.report.findings import ARMS, KINDS, MINI, PUBLISHED
from hpbench.spec import load_plan

ROOT = Path(__file__).resolve().parent.parent


def nightly_file(directory: Path, specs: list[Path], noise: float = 0.02) -> Path:
    path = directory / "nightly.toml"
    names = ", ".join(f'"{spec.name}"' for spec in specs)
    path.write_text(
        f'[nightly]\nnoise = {noise}\n\n[[report]]\nname = "toy"\ntitle = "Toy <suite>"\n'
        f"specs = [{names}]\n"
    )
    return path


def nightly(tmp_path: Path, *extra: str) -> int:
    return hpbench(
        [
            "nightly",
            str(tmp_path / "nightly.toml"),
            "--results",
            str(tmp_path / "results"),
            "--reports",
            str(tmp_path / "reports"),
            "--no-run",
            *extra,
        ]
    )


def test_nightly_detects_an_injected_regression(tmp_path, capsys):
    specs = write_specs(tmp_path)
    nightly_file(tmp_path, specs)
    reports = tmp_path / "reports"
    # adamw reaches at step 120, nadamw at 200 (ratio 5/3), sgd never.
    write_results(specs, tmp_path / "results", reach=(0.3, 0.5, 1.5))
    assert nightly(tmp_path) == 0
    first = json.loads((reports / "history.json").read_text())["nights"][0]["reports"]["toy"]
    assert first["scores"]["adamw_toy"] == 1.0 and first["scores"]["sgd_toy"] == 0.0
    assert first["reached"] == {"adamw_toy": 1, "nadamw_toy": 1, "sgd_toy": 0}
    assert (reports / "toy" / "index.html").exists() and (reports / "toy" / "index.md").exists()
    site = (reports / "index.md").read_text()
    assert "No regression beyond the noise threshold (0.02)" in site
    assert "[Toy &lt;suite&gt;](toy/index.md)" in site
    assert 'href="toy/index.html"' in (reports / "index.html").read_text()

    # Inject a regression: adamw now misses its target; nadamw becomes the fastest.
    write_results(specs[:1], tmp_path / "results", reach=(1.5,))
    capsys.readouterr()
    assert nightly(tmp_path) == 1
    err = capsys.readouterr().err
    assert re.search(r"regression: toy: adamw_toy scored 0\.000, down 1\.000 from 1\.000", err)
    assert "nadamw_toy" not in err  # it improved
    site = (reports / "index.md").read_text()
    assert site.index("## Regressions") < site.index("## [Toy")
    assert "**toy**: adamw_toy scored 0.000, down 1.000" in site
    html = (reports / "index.html").read_text()
    assert html.index('class="regression"') < html.index('id="report-toy"')
    assert len(json.loads((reports / "history.json").read_text())["nights"]) == 2

    # The next night compares with the regressed one: nothing new.
    assert nightly(tmp_path) == 0
    assert "No regression" in (reports / "index.md").read_text()
    history = (reports / "index.md").read_text()
    assert history.count("| 0.000 | 1.000 |") >= 2  # adamw_toy and nadamw_toy, two nights


def test_drops_within_the_noise_are_not_regressions(tmp_path):
    specs = write_specs(tmp_path)
    nightly_file(tmp_path, specs)
    write_results(specs, tmp_path / "results", reach=(0.3, 0.5, 1.5))
    assert nightly(tmp_path) == 0
    # nadamw reaches at step 220 instead of 200: its ratio goes from 5/3 to 11/6, its score
    # drops by about (11/6 - 5/3) / 3 = 0.056.
    write_results(specs[1:2], tmp_path / "results", reach=(0.55,))
    assert nightly(tmp_path, "--noise", "0.1") == 0
    write_results(specs[1:2], tmp_path / "results", reach=(0.6,))
    assert nightly(tmp_path, "--noise", "0.02") == 1


def test_run_step_trains_each_spec_once(tmp_path):
    specs = write_specs(tmp_path)
    path = tmp_path / "nightly.toml"
    names = ", ".join(f'"{spec.name}"' for spec in specs)
    path.write_text(
        f'[[report]]\nname = "all"\nspecs = [{names}]\n\n'
        f'[[report]]\nname = "two"\nspecs = ["{specs[0].name}", "{specs[1].name}"]\n'
    )
    trained = []

    def train(spec: Path, results: Path) -> int:
        """Stands in for `hpbench run` (the engine's tests train for real)."""
        trained.append(spec.name)
        write_results([spec], results, reach=(0.4,))
        return 1 if spec.name == "sgd_toy.toml" else 0

    outcome = run_nightly(
        path, results=tmp_path / "results", reports=tmp_path / "reports", runner=train
    )
    assert trained == ["adamw_toy.toml", "nadamw_toy.toml", "sgd_toy.toml"]
    assert outcome.failed_runs == (str(specs[2]),)
    assert not outcome.regressions
    site = (tmp_path / "reports" / "index.md").read_text()
    assert "## Runs that failed" in site and "sgd_toy.toml" in site
    assert (tmp_path / "reports" / "two" / "index.html").exists()


def test_bad_nightly_files_list_every_problem(tmp_path, capsys):
    specs = write_specs(tmp_path)
    path = tmp_path / "nightly.toml"
    path.write_text(
        '[nightly]\nnoize = 0.1\nfindings = "yes"\n\n'
        f'[[report]]\nname = "toy"\nspecs = ["{specs[0].name}", "missing.toml"]\n'
    )
    assert nightly(tmp_path) == 2
    err = capsys.readouterr().err
    assert re.search(
        r"nightly\.toml:2:1: nightly\.noize: unknown key \"noize\"; did you mean \"noise\"\?", err
    )
    assert "nightly.toml:3:12: nightly.findings: expected true or false" in err
    assert re.search(
        r"nightly\.toml:7:\d+: report\[0\]\.specs\[1\]: expected an existing spec file", err
    )
    assert not (tmp_path / "reports").exists()


def test_findings_need_the_repositorys_findings_arms(tmp_path, capsys):
    (tmp_path / "pyproject.toml").write_text("")  # the repository: the toy specs, no findings
    nightly_file(tmp_path, write_specs(tmp_path))
    path = tmp_path / "nightly.toml"
    path.write_text(path.read_text().replace("[nightly]\n", "[nightly]\nfindings = true\n"))
    assert nightly(tmp_path) == 2
    err = capsys.readouterr().err
    assert "findings = true renders hpbench's findings from the repository's specs/findings/" in err
    assert not (tmp_path / "reports").exists()


def test_a_broken_history_stops_the_night_before_anything_runs(tmp_path, capsys):
    specs = write_specs(tmp_path)
    nightly_file(tmp_path, specs)
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "history.json").write_text("{not json")
    assert nightly(tmp_path) == 2
    assert "not a nightly history file" in capsys.readouterr().err


def test_the_shipped_nightly_file_is_valid(capsys):
    specs = Path(__file__).resolve().parent.parent / "specs"
    nightly = load_nightly(specs / "nightly.toml")
    assert len(nightly.reports[0].specs) >= 3
    # `hpbench validate specs/*.toml` (what a spec PR runs) accepts it and its specs
    assert hpbench(["validate", *map(str, sorted(specs.glob("*.toml")))]) == 0
    out = capsys.readouterr().out
    reports = len(nightly.reports)
    assert (
        f"nightly.toml: a nightly file: {reports} report(s) of {len(nightly.specs)} spec(s)" in out
    )


def _shipped_pools() -> dict[str, set[str]]:
    nightly = load_nightly(ROOT / "specs" / "nightly.toml")
    return {
        r.name: {str(Path(spec).resolve().relative_to(ROOT)) for spec in r.specs}
        for r in nightly.reports
    }


def test_the_shipped_nightly_pools_are_the_findings_pools():
    """Each night scores what reports/findings.md scores, pooled as it pools them: the single
    configurations together, the equal-budget arms together, the published list alone (the
    sweeps, grid specs, stay in findings.md's list pool)."""
    by_kind = {kind: {arm.spec for arm in ARMS if arm.kind == kind} for kind in KINDS}
    assert _shipped_pools() == {
        "mini_suite": by_kind["naive"] | by_kind["calibrated"] | by_kind["reference"],
        "equal_budget": by_kind["equal"],
        "published_list": {arm.spec for arm in ARMS if arm.label == PUBLISHED},
    }
    assert all(arm.spec.startswith(MINI.directory) for arm in ARMS)


@pytest.fixture(scope="module")
def committed_night(tmp_path_factory) -> tuple[Path, Path]:
    """What the nightly workflow does before it trains: import the committed archives of the
    findings' arms, of the target search their leave-one-out lists come from and of the
    calibrations that chose the calibrated points; then one night, training nothing. Its
    results and site directories."""
    tmp_path = tmp_path_factory.mktemp("night")
    results, site = tmp_path / "results", tmp_path / "site"
    for archive in MINI.archives:
        assert hpbench(["results", "import", str(ROOT / archive), "--results", str(results)]) == 0
    outcome = run_nightly(
        ROOT / "specs" / "nightly.toml", results=results, reports=site, train=False
    )
    assert outcome.regressions == () and outcome.failed_runs == ()
    assert outcome.verdict_changes == ()
    return results, site


def test_the_committed_archive_renders_the_committed_scores(committed_night):
    """From the committed archives alone, a night scores every arm as reports/mini and
    findings.md do, and renders findings.md byte for byte."""
    results, site = committed_night
    pools = _shipped_pools()
    planned = {t.id for specs in pools.values() for s in specs for t in load_plan(ROOT / s).trials}
    assert planned <= {p.name for p in results.iterdir()}
    (night,) = json.loads((site / "history.json").read_text())["nights"]
    scores = {name: report["scores"] for name, report in night["reports"].items()}
    committed = (ROOT / "reports" / "mini" / "index.md").read_text()
    committed = committed.split("## Benchmark score")[1].split("\n## ")[0]
    mini = dict(re.findall(r"^\| (findings_\w+) \| \**([0-9.]+)\** \|", committed, re.M))
    assert len(mini) == 9
    assert {k: f"{v:.3f}" for k, v in scores["mini_suite"].items()} == mini
    findings_md = (ROOT / MINI.out).read_text()
    for label, score in scores["equal_budget"].items():
        name = label.removeprefix("findings_equal_budget_")
        algorithm = {"adamw": "AdamW", "nadamw": "NAdamW"}.get(name, name.capitalize())
        assert f"{algorithm}, equal budget (horizon 0.5) score {score:.3f}" in findings_md
    # a list's score alone in its pool is the share of workloads its median time reaches:
    # findings.md's count for the published list (Table 9's rule)
    assert scores["published_list"] == {"findings_nadamw_list5": 7 / 8}
    assert "published NAdamW list" in findings_md and "it reaches 7 of 8" in findings_md
    # the papers' findings: the committed document, and each verdict in the history
    assert (site / "findings.md").read_text() == findings_md
    for finding in papers.FINDINGS:  # the summary table's row
        (row,) = [
            line for line in findings_md.splitlines() if line.startswith(f"| {finding.statement}")
        ]
        assert f"| {night['findings'][finding.key]} |" in row
    page = (site / "findings.html").read_text()  # the same document as a page
    tables = len(re.findall(r"^\| ?:?-{3}", findings_md, re.M))  # each table's rule
    assert page.count("<table>") == tables > 0
    assert "<h2>Summary</h2>" in page and "<strong>reproduced</strong>" in page
    assert '<a href="findings.html">' in (site / "index.html").read_text()
    index = (site / "index.md").read_text()
    assert "## [The papers' findings](findings.md)" in index
    assert f"({papers.PUBLISHED_LIST.source}) | **reproduced** | n/a |" in index


def test_the_findings_page_shows_raw_html_as_text():
    from hpbench.nightly.findings import html_page

    page = html_page("# T <i>\n\n| a | b |\n|---|---|\n| <script>x()</script> | 1 |\n", "t")
    assert "<script>x()" not in page and "&lt;script&gt;x()&lt;/script&gt;" in page
    assert "<h1>T &lt;i&gt;</h1>" in page and "<td>1</td>" in page


def test_a_changed_verdict_is_listed_at_the_top(committed_night, tmp_path):
    """A verdict that differs from the previous night's, either way, heads the site (it
    fails nothing: the published list's score, in its own pool, does that)."""
    results, site = committed_night
    history = json.loads((site / "history.json").read_text())
    history["nights"][0]["findings"][papers.PUBLISHED_LIST.key] = "partly"
    (tmp_path / "history.json").write_text(json.dumps(history))
    outcome = run_nightly(
        ROOT / "specs" / "nightly.toml", results=results, reports=tmp_path, train=False
    )
    (change,) = outcome.verdict_changes
    assert (change.key, change.previous, change.current) == (
        "published_list",
        "partly",
        "reproduced",
    )
    index = (tmp_path / "index.md").read_text()
    top = index.split("## [The papers' findings]")[0]
    assert "## Verdicts that changed since the previous night" in top
    assert f"- {papers.PUBLISHED_LIST.statement} (Tables 9 and 10): reproduced, was partly" in top
    assert "| **reproduced** | partly |" in index
    assert "Verdicts that changed" in (tmp_path / "index.html").read_text()


def test_validate_checks_the_specs_a_nightly_file_lists(tmp_path, capsys):
    specs = write_specs(tmp_path)
    specs[0].write_text(specs[0].read_text() + "\n[schedule]\nwarmup = 2.0\n")
    path = nightly_file(tmp_path, specs)
    assert hpbench(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{specs[0].name}:" in err and "schedule.warmup" in err
    assert "nightly.toml" not in err  # the nightly file itself is fine


@pytest.mark.slow
def test_nightly_trains_the_toy_specs_for_real(tmp_path):
    """The run step for real: `hpbench run` trains each spec in a child process; the second
    night reuses every finished trial and finds no regression."""
    specs = write_specs(tmp_path)
    for spec in specs:
        spec.write_text(spec.read_text().replace("seeds = [0, 1, 2]", "seeds = [0]"))
    path = nightly_file(tmp_path, specs)
    results, reports = tmp_path / "results", tmp_path / "reports"
    first = run_nightly(path, results=results, reports=reports)
    assert first.failed_runs == () and first.regressions == ()
    statuses = [json.loads(p.read_text()) for p in results.glob("*/status.json")]
    assert len(statuses) == 3 and all(s["state"] in ("done", "diverged") for s in statuses)
    modified = {p: p.stat().st_mtime_ns for p in results.glob("*/metrics.jsonl")}
    second = run_nightly(path, results=results, reports=reports)
    assert second.regressions == ()
    assert {p: p.stat().st_mtime_ns for p in results.glob("*/metrics.jsonl")} == modified
    assert "| adamw_toy |" in (reports / "toy" / "index.md").read_text()

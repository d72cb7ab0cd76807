"""Reports: numbers checked by hand, the paper layouts, escaping, the trial summary, the
files written, and the ``report`` / ``score`` commands on real spec files."""

from __future__ import annotations

import hashlib
import math
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from importlib.metadata import version
from pathlib import Path

import attrs
import pytest
from report_helpers import write_results, write_specs

from benchmarks.synthetic_results import make_result, make_trial
from hpbench import machine
from hpbench.cli import main as hpbench
from hpbench.plan import Plan
from hpbench.report import data as data_module
from hpbench.report import svg, tables
from hpbench.report.data import SpecRun, build_report
from hpbench.report.render import render

REPO = Path(__file__).resolve().parent.parent
SEEDS = (0, 1, 2)


def spec_run(name, points, reach, *, algorithm="nadamw", description="", extra=(), is_list=False):
    """A spec over criteo and ogbg (1000 steps each, evaluated every 50) whose curves cross
    their targets at ``reach[point][workload] * T`` (> 1: never); a list if ``is_list``,
    else a grid (one report entry per point)."""
    trials, results = [], {}
    for index, hyperparameters in enumerate(points):
        for workload in ("criteo", "ogbg"):
            for seed in SEEDS:
                trial = make_trial(workload, algorithm, hyperparameters, seed=seed, max_steps=1000)
                trials.append(trial)
                fraction = reach[index][workload]
                fraction = fraction(seed) if callable(fraction) else fraction
                results[trial.id] = make_result(trial, fraction)
    for trial, result in extra:
        trials.append(trial)
        if result is not None:
            results[trial.id] = result
    plan = Plan(
        name=name, trials=tuple(trials), description=description, source=f"specs/{name}.toml"
    )
    return SpecRun(plan, results, is_list=is_list)


def hand_worked_runs():
    # A reaches both at step 250 (0.21 * 1000, rounded up to an evaluation; its seed 2
    # misses criteo, which leaves the median at 250); B reaches criteo at 450 and misses
    # ogbg; C is a two-point list: point 1 reaches only ogbg (150), point 2 only criteo (650).
    return [
        spec_run(
            "A",
            [{"learning_rate": 1e-3}],
            [{"criteo": lambda s: 0.21 if s < 2 else 1.5, "ogbg": 0.21}],
        ),
        spec_run(
            "B", [{"learning_rate": 2e-3}], [{"criteo": 0.41, "ogbg": 1.5}], algorithm="adamw"
        ),
        spec_run(
            "C",
            [{"learning_rate": 1e-2}, {"learning_rate": 1e-4}],
            [{"criteo": 1.5, "ogbg": 0.11}, {"criteo": 0.61, "ogbg": 1.5}],
            is_list=True,
        ),
    ]


@pytest.fixture(scope="module")
def report():
    return build_report(hand_worked_runs(), integral="exact")


def texts(table):
    return [[cell.text for cell in row] for row in table.rows]


def test_benchmark_score_and_normalised_times_by_hand(report):
    # Times (steps): A (250, 250), B (450, inf), C (650, 150); fastest: 250 and 150.
    # Ratios: A (1, 5/3), B (1.8, inf), C (2.6, 1). Exact area on [1, 4] over 3, per workload 1/2:
    expected = {
        "A": ((4 - 1) / 3 + (4 - 5 / 3) / 3) / 2,
        "B": ((4 - 1.8) / 3) / 2,
        "C": ((4 - 2.6) / 3 + (4 - 1) / 3) / 2,
    }
    for label, score in expected.items():
        assert report.scores.benchmark[label] == pytest.approx(score)
    assert texts(tables.score_table(report)) == [
        ["A", "0.889", "0.389–0.889", "2/2", "0.250", "0.250"],
        ["C", "0.733", "0.733–0.926", "2/2", "0.650", "0.150"],
        ["B", "0.367", "0.367–0.500", "1/2", "0.450", "∞"],
    ]


def test_seed_spread_and_bootstrap_intervals_by_hand(report):
    # A's criteo seeds are 0.25, 0.25, inf: min-max 0.25-inf; a resample's median is inf when
    # 2 or 3 of its 3 draws are seed 2, with probability 7/27 > 2.5%: the interval reaches inf.
    # Then criteo's fastest is B (450): B's ratio 1 -> score 3/3/2 = 0.5; C's 650/450 ->
    # ((4 - 13/9) / 3 + 1) / 2 = 0.926; A keeps ogbg at ratio 5/3: (4 - 5/3) / 3 / 2 = 0.389.
    spread = report.spread
    assert (spread.resamples, spread.confidence, spread.rng_seed) == (1000, 0.95, 0)
    a = spread.row("A", "criteo")
    assert (a.seeds, a.low, a.high, a.interval) == (3, 0.25, math.inf, (0.25, math.inf))
    assert spread.row("C", "ogbg").interval == (0.15, 0.15)  # every seed equal
    assert spread.score["A"] == pytest.approx((7 / 18, 8 / 9))
    assert spread.score["B"] == pytest.approx((0.55 / 1.5, 0.5))
    assert spread.score["C"] == pytest.approx((0.7333333, ((4 - 13 / 9) / 3 + 1) / 2))
    assert texts(tables.spread_table(report))[:2] == [
        ["A", "criteo", "3", "0.250", "0.250–∞", "0.250–∞"],
        ["A", "ogbg", "3", "0.250", "0.250–0.250", "0.250–0.250"],
    ]
    # a fixed RNG seed: the same pool gives the same intervals
    again = build_report(hand_worked_runs(), integral="exact")
    assert again.spread.score == spread.score


def test_point_scores_and_spread_are_computed_on_first_use(monkeypatch):
    # `hpbench score` shows neither: building the report scores the entries only; the
    # points (C's two, A's and B's one each) are scored once, when first read
    calls = []
    scored = data_module.score_results
    monkeypatch.setattr(
        data_module, "score_results", lambda *a, **k: calls.append(a[1]) or scored(*a, **k)
    )
    report = build_report(hand_worked_runs(), integral="exact", bootstrap=0)
    assert len(calls) == 1 and set(calls[0].values()) == {"A", "B", "C"}
    assert report.spread is None
    points = report.point_scores
    assert report.point_scores is points and len(calls) == 2
    assert points.labels == ("A #1", "B #1", "C #1", "C #2")
    assert points.row("C #2", "criteo").steps == 650 and points.row("C #1", "ogbg").steps == 150
    assert points.profile_options["integral"] == "exact"


def test_list_table_step_fractions_and_cost_by_hand(report):
    entry = next(e for e in report.entries if e.label == "C")
    assert [e.label for e in report.entries if e.is_list] == ["C"]
    # first point: criteo missed, ogbg 150/1000; C_2 = sqrt(min(inf, 2) * 0.15).
    # both points: (0.65, 0.15); C_2 = sqrt(0.65 * 0.15).
    assert texts(tables.list_table(report, entry)) == [
        ["first 1 point", "∞", "0.150", f"{math.sqrt(2 * 0.15):.3f}"],
        ["first 2 points", "0.650", "0.150", f"{math.sqrt(0.65 * 0.15):.3f}"],
    ]
    assert texts(tables.hyperparameter_table([entry])) == [
        ["1", "nadamw", "0.01", "warmup_cosine", "0.05", "1.0"],
        ["2", "nadamw", "0.0001", "warmup_cosine", "0.05", "1.0"],
    ]


def final_value(target, direction, reach):
    """The synthetic curve at the horizon: target -/+ target / 2 * (e^(-1/0.3) - e^(-reach/0.3))."""
    gap = math.exp(-1 / 0.3) - math.exp(-reach / 0.3)
    return target + 0.5 * target * gap if direction == "min" else target - 0.5 * target * gap


def test_best_metric_table_by_hand(report):
    table = tables.best_metric_table(report)
    assert table.header[0] == ("Algorithm", "criteo", "ogbg")
    assert table.header[1] == ("Metric", "cross_entropy ↓", "map ↑")
    assert table.header[2] == ("Target", "0.45", "0.5")
    a, b, _ = table.rows
    # A on criteo: seeds 0 and 1 end at the reach-0.21 value, seed 2 higher: median is the former.
    assert a[1].text == f"{final_value(0.45, 'min', 0.21):.4g}" and a[1].strong
    assert b[2].text == f"{final_value(0.5, 'max', 1.5):.4g}" and not b[2].strong


def test_markdown_and_html_show_the_same_tables(report):
    rendered = render(report)
    html_text = re.sub(r"<[^>]+>", " ", rendered.html)
    for table in (tables.score_table(report), tables.best_metric_table(report)):
        for row in table.rows:
            for cell in row:
                assert cell.text in rendered.markdown
                assert cell.text in html_text
    assert "| **0.889** |" in rendered.markdown  # the best score is emphasised
    assert "## Lists" in rendered.markdown and 'id="lists"' in rendered.html


def test_spec_text_is_escaped_in_both_formats():
    hostile = 'Tries <script>alert("x")</script> & a | pipe'
    runs = [
        spec_run("<b>bold</b>", [{}], [{"criteo": 0.3, "ogbg": 0.3}], description=hostile),
        spec_run("plain", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    rendered = render(build_report(runs))
    assert "<script" not in rendered.html and "<b>bold" not in rendered.html
    assert "Tries &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; a | pipe" in rendered.html
    assert "&lt;b&gt;bold&lt;/b&gt;" in rendered.html
    assert "<script" not in rendered.markdown and "<b>" not in rendered.markdown
    assert 'Tries &lt;script&gt;alert("x")&lt;/script&gt; &amp; a \\| pipe' in rendered.markdown
    for figure in rendered.figures:  # SVG labels are escaped too, and parse as XML
        assert "<b>" not in figure.svg
        ET.fromstring(figure.svg)


def test_trial_summary_counts_outcomes_and_reasons():
    reached_then_diverged = make_trial(
        "criteo", "nadamw", {"learning_rate": 1.0}, seed=7, max_steps=1000
    )
    diverged = make_trial("criteo", "nadamw", {"learning_rate": 1.0}, seed=8, max_steps=1000)
    failed = make_trial("ogbg", "nadamw", {"learning_rate": 1.0}, seed=9, max_steps=1000)
    not_run = make_trial("ogbg", "nadamw", {"learning_rate": 1.0}, seed=10, max_steps=1000)
    extra = [
        (
            reached_then_diverged,
            make_result(
                reached_then_diverged, 0.1, state="diverged", stop_step=500, reason="loss is NaN"
            ),
        ),
        (
            diverged,
            make_result(
                diverged, 0.9, state="diverged", stop_step=300, reason="loss is inf at step 300"
            ),
        ),
        (
            failed,
            make_result(
                failed,
                0.2,
                state="failed",
                stop_step=100,
                reason="ValueError: shapes (3,) and (4,)",
            ),
        ),
        (not_run, None),
    ]
    runs = [
        spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 1.5}], extra=extra, is_list=True),
        spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    report = build_report(runs)
    summary = texts(tables.summary_table(report))
    # reached, missed, diverged, failed, running, interrupted, pending, corrupt, not run, total
    assert summary[0] == ["A", "4", "3", "1", "1", "0", "0", "0", "0", "1", "10"]
    problems = texts(tables.problems_table(report))
    assert [(p[1], p[4], p[5], p[6]) for p in problems] == [
        ("criteo", "diverged", "300", "loss is inf at step 300"),
        ("ogbg", "failed", "100", "ValueError: shapes (3,) and (4,)"),
    ]
    rendered = render(report)
    assert "ValueError: shapes (3,) and (4,)" in rendered.markdown
    assert "ValueError: shapes (3,) and (4,)" in rendered.html


def test_variant_column_and_target_mismatch_warning():
    variant = make_trial("criteo", "nadamw", {}, variant="layernorm", max_steps=1000)
    runs = [
        spec_run(
            "A", [{}], [{"criteo": 0.3, "ogbg": 0.3}], extra=[(variant, make_result(variant, 1.5))]
        ),
        spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    report = build_report(runs)
    assert [c.key for c in report.columns] == ["criteo", "criteo/layernorm", "ogbg"]
    header = tables.best_metric_table(report).header
    assert header[1] == ("", "", "+ layernorm", "")
    # A missed the held-out variant: its base workload counts as missed (AlgoPerf's gating).
    assert math.isinf(report.scores.row("A", "criteo").normalized_time)
    assert report.warnings == ("B: no results on criteo/layernorm",)  # B did not plan it


def test_provenance_names_versions_devices_and_hashes(tmp_path):
    spec = tmp_path / "A.toml"
    spec.write_text("# a spec file\n")
    run = spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}])
    run = SpecRun(Plan(name="A", trials=run.plan.trials, source=str(spec)), run.results)
    report = build_report(
        [run, spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw")]
    )
    rows = dict(texts(tables.provenance_table(report)))
    assert rows["hpbench version"] == version("hpbench")
    assert rows["JAX version"] == version("jax")
    assert rows["devices"] == "cpu (synthetic)"
    assert rows["trained with"] == "hpbench synthetic, jax none"
    assert rows["trained on"] == "not recorded"  # synthetic results name no machine
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty)?", rows["git commit"])
    assert hashlib.sha256(spec.read_bytes()).hexdigest()[:12] in rows["spec A"]


def test_provenance_names_the_machines_that_trained(tmp_path):
    # trials trained on two machines, as a store imported from another machine holds
    run = spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}])
    hosts = iter(["AMD EPYC 7B13, 2 CPUs, Linux x86_64", "Intel(R) Xeon(R), 2 CPUs, Linux x86_64"])
    for trial_id, result in list(run.results.items())[:2]:
        provenance = {**result.status.provenance, "host": next(hosts)}
        status = attrs.evolve(result.status, provenance=provenance)
        run.results[trial_id] = attrs.evolve(result, status=status)
    rows = dict(texts(tables.provenance_table(build_report([run]))))
    assert rows["trained on"] == (
        "AMD EPYC 7B13, 2 CPUs, Linux x86_64; Intel(R) Xeon(R), 2 CPUs, Linux x86_64"
    )


def test_the_machine_is_its_processor_model_and_cpus(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    assert machine.processor_model(cpuinfo) == "AMD EPYC 7B13"
    fallback = machine.processor_model(tmp_path / "missing")  # not Linux: platform's words
    assert fallback and fallback != "AMD EPYC 7B13"
    assert re.fullmatch(r".+, \d+ CPUs, \w+ \w+", machine.describe())


def test_reports_do_not_import_jax():
    code = (
        "import sys, hpbench.cli.report, hpbench.report.data, hpbench.report.render, "
        "hpbench.nightly.run, hpbench.cli.nightly; assert 'jax' not in sys.modules, 'jax'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_score_never_imports_the_templates_code(tmp_path):
    """``hpbench score`` prints a table: jinja2 (0.1-0.2 s to import) is the report's."""
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    argv = ["score", *map(str, specs), "--results", str(tmp_path / "results")]
    code = (
        "import sys\n"
        "from hpbench.cli import main\n"
        f"assert main({argv!r}) == 0\n"
        "assert 'jinja2' not in sys.modules, 'jinja2 imported'\n"
        "import hpbench.report\n"
        "from hpbench.report.render import Rendered, render_github\n"
        "assert hpbench.report.render.__name__ == 'render', 'the submodule hid the function'\n"
        "assert hpbench.report.Rendered is Rendered\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "adamw_toy" in result.stdout


def test_written_files_are_self_contained(tmp_path, report):
    written = render(report).write(tmp_path)
    assert {p.name for p in written} >= {
        "index.md",
        "index.html",
        "profiles.svg",
        "curves-criteo.svg",
    }
    markdown = (tmp_path / "index.md").read_text()
    for link in re.findall(r"\]\((plots/[^)]+)\)", markdown):
        ET.parse(tmp_path / link)  # every linked plot exists and is well-formed
    html = (tmp_path / "index.html").read_text()
    assert html.count("<svg") == 1 + len(report.columns)
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), (
        "the page must not load anything"
    )
    assert "<script" not in html


def test_nice_ticks_and_broken_lines():
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(0, 1000) == [0, 200, 400, 600, 800, 1000]
    assert svg.nice_ticks(1, 4) == [1, 2, 3, 4]
    assert svg.nice_ticks(0.3, 0.62) == [0.3, 0.4, 0.5, 0.6]
    chart = svg.line_chart(
        [svg.Series("s", (0, 1, 2, 3, 4), (1, 2, math.nan, 3, 4), "#000")],
        title="t",
        x_label="x",
        y_label="y",
    )
    path = ET.fromstring(chart).find(
        "{http://www.w3.org/2000/svg}g/{http://www.w3.org/2000/svg}path"
    )
    assert path.get("d").count("M") == 2  # NaN breaks the line


# --- the commands, on real spec files ---


def test_report_and_score_commands(tmp_path, capsys):
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    out = tmp_path / "report"
    code = hpbench(
        ["report", *map(str, specs), "--results", str(tmp_path / "results"), "--out", str(out)]
    )
    assert code == 0
    markdown = (out / "index.md").read_text()
    assert "| adamw_toy | **1.000** | 1.000–1.000 | 1/1 |" in markdown
    assert "| sgd_toy | 0.000 | 0.000–0.000 | 0/1 | ∞ |" in markdown
    assert (out / "index.html").exists() and (out / "plots" / "curves-toy_mlp.svg").exists()
    capsys.readouterr()
    assert hpbench(["score", *map(str, specs), "--results", str(tmp_path / "results")]) == 0
    printed = capsys.readouterr().out
    assert "adamw_toy" in printed and "1.0000" in printed


def test_report_errors_are_the_users_terms(tmp_path, capsys):
    specs = write_specs(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(
        '[benchmark]\nname = "bad"\nextends = "toy.toml"\n\n[algorithm]\nname = "adamww"\n'
    )
    assert hpbench(["report", str(specs[0]), str(bad), "--results", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"bad\.toml:6:\d+: algorithm\.name: .*adamw", err)
    assert hpbench(["report", str(specs[0]), "--results", str(tmp_path / "empty")]) == 1
    assert "no results for any trial" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()


def test_a_planned_workload_without_results_is_a_column_of_not_run():
    planned = make_trial("wmt", "nadamw", {}, max_steps=1000)
    runs = [
        spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}], extra=[(planned, None)]),
        spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    report = build_report(runs)
    assert [c.key for c in report.columns] == ["criteo", "ogbg", "wmt"]
    assert texts(tables.score_table(report))[0][-1] == "n/a"
    assert texts(tables.best_metric_table(report))[1][-1] == "n/a"


def test_trials_shared_by_two_specs_count_for_the_first():
    same = [{"learning_rate": 1e-3}], [{"criteo": 0.3, "ogbg": 0.3}]
    runs = [
        spec_run("A", *same),
        spec_run("A again", *same),
        spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    report = build_report(runs)
    assert report.warnings == ("6 trials of A again are also in A; they count for A only",)
    assert math.isnan(report.score(report.entries[1]))
    assert texts(tables.score_table(report))[-1][:2] == ["A again", "n/a"]


def test_an_unreadable_trial_is_named_corrupt_and_never_scored(tmp_path, capsys):
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    broken = next((tmp_path / "results").glob("*/metrics.jsonl")).parent
    (broken / "trial.json").write_text('{"id": "torn')
    out = tmp_path / "report"
    assert (
        hpbench(
            ["report", *map(str, specs), "--results", str(tmp_path / "results"), "--out", str(out)]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert f"warning: corrupt, never scored: {broken}: trial.json: JSONDecodeError" in err
    assert "1 corrupt of 3 trials; its scores are not final" in (out / "index.md").read_text()


def test_unfinished_trials_are_told_apart_from_missed_targets():
    """Issue 20: a running trial is not a miss, and seeds not started make no score final."""
    running = make_trial("ogbg", "nadamw", {}, seed=3, max_steps=1000)
    pending = [make_trial("ogbg", "nadamw", {}, seed=s, max_steps=1000) for s in (4, 5)]
    unfinished = make_result(running, 1.5, state="running", stop_step=300)
    extra = [(running, unfinished), *((t, None) for t in pending)]
    runs = [
        spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}], extra=extra),
        spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw"),
    ]
    report = build_report(runs)
    a = report.entries[0]
    assert (a.outcomes["running"], a.outcomes["not run"], a.outcomes["missed"]) == (1, 2, 0)
    assert report.progress == {("A", "ogbg"): {"running": 1, "not run": 2}}
    rows = {row[0]: row for row in texts(tables.score_table(report))}
    assert rows["A"][3] == "2/2, 1 running, 2 not run" and rows["B"][3] == "2/2"
    assert "A: 1 running, 2 not run of 9 trials; its scores are not final" in report.warnings
    assert not any(w.startswith("B:") for w in report.warnings)


def test_a_pool_of_one_and_a_spec_without_results_are_said():
    alone = build_report([spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}])])
    assert any(w.startswith("one entry in the pool") for w in alone.warnings)
    empty = spec_run("B", [{}], [{"criteo": 0.5, "ogbg": 0.5}], algorithm="adamw")
    empty = SpecRun(empty.plan, {})
    report = build_report([spec_run("A", [{}], [{"criteo": 0.3, "ogbg": 0.3}]), empty])
    assert "B: no results yet (6 trials not run); run `hpbench run specs/B.toml`" in (
        report.warnings
    )

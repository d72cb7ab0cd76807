"""The HTML report in a real headless Chromium (Debian's ``chromium``, or the Chrome that
GitHub's Ubuntu runners ship): it loads with no console message, every plot is laid out with a
non-zero size and draws its lines, and a screenshot is kept in ``test-artifacts/`` for a person
to look at."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from benchmarks.synthetic_results import make_result, make_trial
from hpbench.plan import Plan
from hpbench.report.data import SpecRun, build_report
from hpbench.report.render import render

#: Where to look for the browser, in order: ``$HPBENCH_CHROMIUM``, then these on ``PATH``
#: (Ubuntu's ``chromium-browser`` is a snap wrapper that cannot run headless in CI).
BROWSERS = ("chromium", "google-chrome", "google-chrome-stable")


def find_chromium() -> Path | None:
    """The headless browser to drive: ``$HPBENCH_CHROMIUM`` where set, else the first of
    BROWSERS on ``PATH``; None when there is none."""
    if chosen := os.environ.get("HPBENCH_CHROMIUM"):
        return Path(chosen)
    found = next(filter(None, map(shutil.which, BROWSERS)), None)
    return Path(found) if found else None


CHROMIUM = find_chromium()
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None or not CHROMIUM.exists(),
        reason="needs a Chromium: Debian's `apt-get install chromium`, Google Chrome, or "
        "$HPBENCH_CHROMIUM",
    ),
]

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--enable-logging=stderr",
    "--v=0",
)
CONSOLE = re.compile(r":CONSOLE(?::\d+|\(\d+\))\] (.*)")

#: Appended to a copy of the page: records each SVG's laid-out size and its drawn lines.
PROBE = """<script>
const svgs = [...document.querySelectorAll("svg")].map(s => {
  const box = s.getBoundingClientRect(), style = getComputedStyle(s);
  const visible = style.visibility !== "hidden" && style.display !== "none";
  const lines = [...s.querySelectorAll("path")].filter(p => p.getBBox().width > 0).length;
  return {width: box.width, height: box.height, visible, lines};
});
document.body.setAttribute("data-probe", JSON.stringify(svgs));
</script>"""


def chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def console_messages(stderr: str) -> list[str]:
    return [m.group(1) for m in CONSOLE.finditer(stderr)]


def sample_runs() -> list[SpecRun]:
    """Three specs, one a two-point list, on four workloads and a held-out variant."""
    runs = []
    for name, algorithm, points, base in (
        ("nadamw_list", "nadamw", ({"learning_rate": 1e-3}, {"learning_rate": 1e-2}), 0.3),
        ("adamw", "adamw", ({"learning_rate": 2e-3},), 0.45),
        ("prodigy", "prodigy", ({"d_coef": 1.0},), 0.6),
    ):
        trials = [
            make_trial(workload, algorithm, point, variant=variant, seed=seed, horizon=0.5)
            for point in points
            for workload, variant in (
                ("criteo", "base"),
                ("criteo", "layernorm"),
                ("fastmri", "base"),
                ("ogbg", "base"),
                ("wmt", "base"),
            )
            for seed in (0, 1)
        ]
        results = {
            t.id: make_result(t, base + 0.1 * t.seed + (0.5 if t.workload == "wmt" else 0))
            for t in trials
        }
        runs.append(
            SpecRun(Plan(name, tuple(trials), description=f"{algorithm} <synthetic>"), results)
        )
    return runs


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("report")
    report = build_report(sample_runs())
    render(report).write(directory)
    return directory / "index.html"


def test_report_loads_without_console_messages_and_is_screenshotted(page, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    screenshot = ARTIFACTS / "report.png"
    screenshot.unlink(missing_ok=True)
    run = chromium(tmp_path, f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri())
    assert console_messages(run.stderr) == []
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000  # tables and plots, not a blank page


def test_every_plot_is_laid_out_and_draws_lines(page, tmp_path):
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    run = chromium(tmp_path, "--dump-dom", probe.as_uri())
    assert console_messages(run.stderr) == []
    found = json.loads(
        re.search(r'data-probe="([^"]*)"', run.stdout).group(1).replace("&quot;", '"')
    )
    assert len(found) == 1 + 5  # the profiles, then one learning-curve plot per workload
    for svg in found:
        assert svg["visible"] and svg["width"] > 100 and svg["height"] > 100
        assert svg["lines"] >= 3  # every algorithm has a line (the target line is not a path)


def test_the_console_check_catches_errors(tmp_path):
    """The check above would pass vacuously if Chromium's log format changed: pin it."""
    broken = tmp_path / "broken.html"
    broken.write_text(
        "<!DOCTYPE html><title>x</title><script>console.error('boom'); missing();</script>"
    )
    messages = console_messages(chromium(tmp_path, "--dump-dom", broken.as_uri()).stderr)
    assert any("boom" in m for m in messages)
    assert any("missing is not defined" in m for m in messages)


def test_the_nightly_site_loads_and_draws_each_score_history(tmp_path):
    """The nightly index (hpbench.nightly.site) with findings and a changed verdict: no
    console message, each report's history chart laid out with a line per algorithm."""
    from hpbench.nightly.findings import VerdictChange
    from hpbench.nightly.site import render_site
    from hpbench.report.papers import FINDINGS, PUBLISHED_LIST

    def night(day: int, scores: dict[str, float], listed: str) -> dict:
        return {
            "date": f"2026-12-0{day}T03:17:00+00:00",
            "commit": f"{day:012d}",
            "reports": {
                "mini": {
                    "scores": scores,
                    "reached": {label: 2 for label in scores},
                    "workloads": 4,
                }
            },
            "findings": {f.key: listed if f is PUBLISHED_LIST else "partly" for f in FINDINGS},
        }

    nights = [
        night(1, {"adamw <b>": 0.5, "prodigy": 0.25}, "partly"),
        night(2, {"adamw <b>": 0.55, "prodigy": 0.2}, "reproduced"),
    ]
    changed = [VerdictChange(PUBLISHED_LIST.key, "partly", "reproduced", nights[0]["date"])]
    site = tmp_path / "site"
    render_site(site, nights, {"mini": "Mini <suite>"}, [], 0.02, (), changed)
    probe = site / "probe.html"
    probe.write_text((site / "index.html").read_text().replace("</body>", PROBE + "</body>"))
    run = chromium(tmp_path, "--dump-dom", probe.as_uri())
    assert console_messages(run.stderr) == []
    found = json.loads(
        re.search(r'data-probe="([^"]*)"', run.stdout).group(1).replace("&quot;", '"')
    )
    (chart,) = found  # one report, one history chart
    assert chart["visible"] and chart["width"] > 100 and chart["height"] > 100
    assert chart["lines"] >= 2
    assert "Verdicts that changed since the previous night" in run.stdout
    assert "adamw &lt;b&gt;" in run.stdout and "Mini &lt;suite&gt;" in run.stdout  # as text


def test_the_findings_page_loads_without_console_messages(tmp_path):
    from hpbench.nightly.findings import html_page

    page = tmp_path / "findings.html"
    page.write_text(
        html_page("# Findings\n\n| finding | verdict |\n|---|---|\n| a | **partly** |\n", "F")
    )
    run = chromium(tmp_path, "--dump-dom", page.as_uri())
    assert console_messages(run.stderr) == []
    assert "<strong>partly</strong>" in run.stdout

"""``hpbench report --format github``: one Markdown document, plots as Mermaid charts, no
file beside it; and hostile spec strings escaped in HTML, Markdown, GitHub Markdown and
Mermaid (no forged table row, heading, link, raw HTML, new line, mention or directive)."""

from __future__ import annotations

import html.parser
import math
import re
import shutil
import subprocess

import attrs
import numpy as np
import pytest
from report_helpers import write_results, write_specs

from benchmarks.synthetic_results import make_result, make_trial
from hpbench.cli import main as hpbench
from hpbench.nightly.pr import main as pr_main
from hpbench.nightly.pr import mini_pool, score_change_table
from hpbench.plan import Plan
from hpbench.report.data import SpecRun, build_report
from hpbench.report.mermaid import mermaid_text, resample
from hpbench.report.render import fenced, markdown_escape, render, render_github

HOSTILE = (
    "evil | cell\n# Heading\n[link](https://example.com) ![img](x.png) <script>alert(1)</script>"
    ' <img src=x onerror="y"> ``` %%{init: {}}%% @org/team *bold* _em_ ~~gone~~ $x$ \\ end'
)
UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
MERMAID_LINE = re.compile(
    r'^(```mermaid|```|%%\{init: \{"themeVariables": \{"xyChart": \{"plotColorPalette": '
    r'"(#[0-9a-f]{6}(, )?)+"\}\}\}\}%%|xychart-beta|    title "[^"`%\[\]\n]*"|'
    r'    x-axis "[^"`%\[\]\n]*" [-0-9.e]+ --> [-0-9.e]+|'
    r'    y-axis "[^"`%\[\]\n]*"( [-0-9.e]+ --> [-0-9.e]+)?|'
    r"    line \[[-0-9.e]+(, [-0-9.e]+)*\])$"
)


def hostile_report(name: str = HOSTILE):
    """Two specs over criteo and ogbg; the first's name, description, a hyperparameter's
    name and an option's value are ``name``."""
    runs = []
    for label, reach in ((name, 0.3), ("plain", 0.6)):
        trials, results = [], {}
        for workload in ("criteo", "ogbg"):
            for seed in (0, 1):
                trial = make_trial(
                    workload, "nadamw", {"learning_rate": 1e-3}, seed=seed, max_steps=1000
                )
                if label == name:
                    hyperparameters = {**trial.params, name: 1.0}
                    trial = attrs.evolve(
                        trial, hyperparameters=hyperparameters, options={"base": name}
                    )
                trials.append(trial)
                results[trial.id] = make_result(trial, reach)
        plan = Plan(name=label, trials=tuple(trials), description=label, source=f"{label}.toml")
        runs.append(SpecRun(plan, results))
    return build_report(runs, bootstrap=50)


def table_rows(markdown: str) -> list[str]:
    return [line for line in markdown.splitlines() if line.startswith("|")]


def check_markdown_is_inert(markdown: str) -> None:
    """Nothing of HOSTILE acts as Markdown or HTML: it stays on the lines it belongs to."""
    assert "<script" not in markdown and "<img" not in markdown
    assert "](https://example.com)" not in markdown.replace("\\](https://example.com)", "")
    assert not any(line.lstrip().startswith("# Heading") for line in markdown.splitlines())
    for line in markdown.splitlines():
        if "evil" in line:  # the title line, a list item or a table cell: all of it inline
            assert line.startswith(("# ", "- **", "|", "### ", "<details><summary>", "Targets"))
            assert "\\# Heading" in line and "\\[link\\]" in line and "\\*bold\\*" in line
            assert "\\`\\`\\`" in line and "\\~\\~gone\\~\\~" in line and "\\$x\\$" in line
    # every table row has as many cells as its table's header row
    for block in re.split(r"\n\n+", markdown):
        rows = [line for line in block.splitlines() if line.startswith("|")]
        if rows:
            widths = {len(UNESCAPED_PIPE.findall(row)) for row in rows}
            assert len(widths) == 1, rows


def test_hostile_spec_strings_are_inert_in_markdown_and_html():
    report = hostile_report()
    rendered = render(report)
    check_markdown_is_inert(rendered.markdown)
    assert "<script" not in rendered.html and "<img src=x" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html

    class Tags(html.parser.HTMLParser):
        found: set[str] = set()

        def handle_starttag(self, tag, attrs):
            self.found.add(tag)

    parser = Tags()
    parser.feed(rendered.html)
    assert "script" not in parser.found and "img" not in parser.found


def test_hostile_spec_strings_are_inert_in_github_markdown_and_mermaid():
    text = render_github(hostile_report())
    check_markdown_is_inert(text)
    assert "@org" not in text and "@\u200borg/team" in text  # nobody is mentioned
    in_chart = False
    for line in text.splitlines():
        if line == "```mermaid":
            in_chart = True
        if in_chart:
            assert MERMAID_LINE.match(line), line
        if line == "```":
            in_chart = False
    assert not any(c in mermaid_text(HOSTILE) for c in '"`%[]{}<>\n#;|\\')


def test_a_fence_is_longer_than_any_backtick_run_inside():
    block = fenced('name = "```` x"\n```\n', "toml")
    assert block.startswith("`````toml\n") and block.endswith("\n`````")
    assert markdown_escape(block) == block  # already safe: not escaped again


def test_github_format_has_no_relative_files_and_draws_mermaid_charts(tmp_path, capsys):
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    code = hpbench(
        ["report", *map(str, specs), "--results", str(tmp_path / "results"), "--format", "github"]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "](plots/" not in text and ".svg" not in text and "<img" not in text
    assert not list(tmp_path.glob("reports*")) and not (tmp_path / "plots").exists()
    charts = re.findall(r"```mermaid\n(.*?)\n```", text, re.DOTALL)
    assert len(charts) == 2  # the profiles, and the curves of toy_mlp
    for chart, legend in zip(
        charts, re.findall(r"\| Colour \|.*?\n\n", text, re.DOTALL), strict=True
    ):
        lines = re.findall(r"    line \[(.*)\]", chart)
        assert len(lines) == len(legend.strip().splitlines()) - 2  # one legend row per line
        assert len({len(line.split(", ")) for line in lines}) == 1
        for line in chart.splitlines():
            assert MERMAID_LINE.match(line), line
    # the profiles: adamw_toy is fastest (rho = 1 from tau = 1), sgd_toy never reaches
    profile = re.findall(r"    line \[(.*)\]", charts[0])
    assert set(profile[0].split(", ")) == {"1"} and set(profile[2].split(", ")) == {"0"}
    out = tmp_path / "comment.md"
    assert (
        hpbench(
            [
                "report",
                *map(str, specs),
                "--results",
                str(tmp_path / "results"),
                "--format",
                "github",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert out.read_text() == text.replace(
        text[text.index("| date (UTC) |") :].split("\n", 1)[0],
        out.read_text()[out.read_text().index("| date (UTC) |") :].split("\n", 1)[0],
    )


def test_pr_comment_fences_logs_and_shows_the_score_change(tmp_path):
    specs = write_specs(tmp_path)  # adamw reaches at 0.3, nadamw at 0.5, sgd never
    write_results(specs, tmp_path / "results")
    log = tmp_path / "validate.txt"
    log.write_text("specs/x.toml:1:1: name: expected a plain name\n```\n# not a heading\n")
    out = tmp_path / "comment.md"
    code = pr_main(
        [
            "--log",
            f"validate={log}",
            "--base",
            str(specs[0]),
            str(specs[2]),
            "--head",
            *map(str, specs),
            "--results",
            str(tmp_path / "results"),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    text = out.read_text()
    # the log keeps its text, in a fence longer than its own ``` line
    assert "````\nspecs/x.toml:1:1: name: expected a plain name\n```\n# not a heading\n````" in text
    # base pool {adamw, sgd}: 1 and 0; head adds nadamw: its ratio 0.5 / 0.3 on the one
    # workload, trapezoid score 0.783 (as `hpbench report` prints it); adamw and sgd keep theirs
    assert "| adamw_toy | 1.000 | 1.000 | +0.000 |" in text
    assert "| sgd_toy | 0.000 | 0.000 | +0.000 |" in text
    assert "| nadamw_toy | n/a | 0.783 | n/a |" in text
    assert "<details><summary>The pull request's report</summary>" in text
    assert "```mermaid" in text and "](plots/" not in text


def _toy_list(directory, name: str, rates=(1e-3, 3e-3)):
    points = "".join(f"[[algorithm.points]]\nlearning_rate = {r}\n" for r in rates)
    path = directory / f"{name}.toml"
    path.write_text(
        f'[benchmark]\nname = "{name}"\nextends = "toy.toml"\n\n[algorithm]\nname = "adamw"\n'
        f"{points}\n[run]\nseeds = [0, 1, 2]\n"
    )
    return path


def test_pr_scores_lists_and_single_configurations_in_pools_of_their_own(tmp_path):
    """The pool holds the nightly's lists too, and the comment scores a changed list
    against them only; the single configurations keep their own pool and scores (findings.md's
    pools)."""
    adamw, nadamw, sgd = write_specs(tmp_path)
    published, changed = _toy_list(tmp_path, "published"), _toy_list(tmp_path, "mine", (2e-3,) * 2)
    nightly = tmp_path / "nightly.toml"
    nightly.write_text(
        '[[report]]\nname = "mini"\nspecs = ["adamw_toy.toml", "sgd_toy.toml"]\n\n'
        '[[report]]\nname = "lists"\nspecs = ["published.toml"]\n'
    )
    pool = [p.name for p in mini_pool(nightly, "mini", [changed])]
    assert pool == ["adamw_toy.toml", "sgd_toy.toml", "mine.toml", "published.toml"]
    pool = [p.name for p in mini_pool(nightly, "mini", [nadamw])]
    assert pool == ["adamw_toy.toml", "sgd_toy.toml", "nadamw_toy.toml", "published.toml"]
    assert [p.name for p in mini_pool(nightly, "mini", [])][-1] == "published.toml"  # the base
    results = tmp_path / "results"
    write_results([adamw, nadamw, sgd, published, changed], results, (0.3, 0.5, 1.5, 0.2, 0.4))
    out = tmp_path / "comment.md"
    head = [adamw, sgd, changed, published]
    argv = ["--base", str(adamw), str(sgd), str(published), "--head", *map(str, head)]
    assert pr_main([*argv, "--results", str(results), "--out", str(out)]) == 0
    text = out.read_text()
    singles, lists = text.split("#### Single configurations")[1].split("#### Lists")
    lists = lists.split("<details>")[0]
    # each pool scored alone: adamw is best among the singles although both lists beat it
    assert "| adamw_toy | 1.000 | 1.000 | +0.000 |" in singles and "published" not in singles
    assert "| published | 1.000 | 1.000 | +0.000 |" in lists and "adamw_toy" not in lists
    assert "| mine | n/a |" in lists


def test_score_change_is_bold_when_it_changes():
    table = score_change_table({"a": 0.5, "b": 0.25}, {"a": 0.75, "b": 0.25})
    assert [[c.text for c in row] for row in table.rows] == [
        ["a", "0.500", "0.750", "+0.250"],
        ["b", "0.250", "0.250", "+0.000"],
    ]
    assert [row[3].strong for row in table.rows] == [True, False]


@pytest.mark.skipif(not shutil.which("mmdc"), reason="needs mermaid-cli (npm) on PATH")
def test_mermaid_cli_renders_every_chart(tmp_path, capsys):
    """Mermaid's own parser and renderer (what GitHub runs) draws each chart."""
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    comment = tmp_path / "comment.md"
    args = ["report", *map(str, specs), "--results", str(tmp_path / "results")]
    assert hpbench([*args, "--format", "github", "--out", str(comment)]) == 0
    subprocess.run(
        ["mmdc", "-i", str(comment), "-o", str(tmp_path / "out.md")], check=True, timeout=300
    )
    svgs = sorted(tmp_path.glob("out-*.svg"))
    assert len(svgs) == 2 and all("<path" in svg.read_text() for svg in svgs)
    hostile = tmp_path / "hostile.md"  # hostile names: every chart still parses and draws
    hostile.write_text(render_github(hostile_report()))
    subprocess.run(
        ["mmdc", "-i", str(hostile), "-o", str(tmp_path / "h.md")], check=True, timeout=300
    )
    svgs = sorted(tmp_path.glob("h-*.svg"))
    assert len(svgs) == 3 and all("<path" in svg.read_text() for svg in svgs)


def test_hostile_strings_render_as_text_in_a_commonmark_renderer():
    """markdown-it (CommonMark with GFM tables and strikethrough, as rich ships it) renders
    each Markdown format: the hostile string shows whole, as text, in one cell or line."""
    from markdown_it import MarkdownIt

    parser = MarkdownIt("commonmark").enable(["table", "strikethrough"])
    report = hostile_report()
    shown = HOSTILE.replace("\n", " ").replace("&", "&amp;").replace("<", "&lt;")
    shown = shown.replace(">", "&gt;").replace('"', "&quot;")
    for markdown in (render(report).markdown, render_github(report).replace("@\u200b", "@")):
        page = parser.render(markdown)
        assert "<script" not in page and 'src="x.png"' not in page and "<a " not in page
        assert not re.search(r"<img[^>]*onerror", page)
        assert "<del>" not in page and "<em>em</em>" not in page and "<em>bold" not in page
        assert not re.search(r"<h\d>Heading", page)
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", page)
        assert shown in cells  # the hyperparameter's name, whole, in one header cell
        assert f"<h1>{shown} vs plain</h1>" in page  # the title: one heading, all text


def test_bootstrap_option(tmp_path, capsys):
    specs = write_specs(tmp_path)
    write_results(specs, tmp_path / "results")
    args = ["report", *map(str, specs), "--results", str(tmp_path / "results"), "--format"]
    assert hpbench([*args, "github", "--bootstrap", "0"]) == 0
    text = capsys.readouterr().out
    assert "95% CI" not in text and "## Seeds and spread" not in text
    assert hpbench([*args, "github", "--bootstrap", "-1"]) == 2
    assert "--bootstrap -1: expected a number of resamples >= 0" in capsys.readouterr().err
    score = ["score", *map(str, specs), "--results", str(tmp_path / "results")]
    with pytest.raises(SystemExit) as exit_:  # score shows no intervals: no such option
        hpbench([*score, "--bootstrap", "10"])
    assert exit_.value.code == 2 and "--bootstrap" in capsys.readouterr().err


def test_curves_are_sampled_as_the_last_evaluation_at_or_before_each_step():
    # evaluations at 10, 20 (NaN: diverged there, held over), 30; before the first
    # evaluation the first value shows, after the last the last value is held.
    grid = np.array([5.0, 10, 15, 20, 25, 30, 35])
    assert resample([10, 20, 30], [1.0, math.nan, 3.0], grid) == [1, 1, 1, 1, 1, 3, 3]
    assert mermaid_text('a "b"\n%%{init}%% [c] `d` <e> #f;') == "a ?b? ???init??? ?c? ?d? ?e? ?f?"

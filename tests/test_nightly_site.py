"""The nightly workflow's site branch (.github/nightly-site.sh), on real git repositories: a
bare `origin`, and runners' clones of it as actions/checkout leaves them."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / ".github" / "nightly-site.sh"
WORKFLOW = ROOT / ".github" / "workflows" / "nightly.yml"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def sh(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def runner_checkout(origin: Path, directory: Path) -> Path:
    """A fresh runner's checkout of main, with every branch fetched (fetch-depth 0)."""
    sh("git", "clone", "-q", origin, directory, cwd=origin.parent)
    return directory


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """The repository: main with a committed reports/ directory, as hpbench's has."""
    bare = tmp_path / "origin.git"
    sh("git", "init", "-q", "--bare", "-b", "main", bare, cwd=tmp_path)
    work = tmp_path / "seed"
    sh("git", "clone", "-q", bare, work, cwd=tmp_path)
    (work / "reports").mkdir()
    (work / "reports" / "findings.md").write_text("committed findings\n")
    sh("git", "add", "-A", cwd=work)
    sh("git", "commit", "-q", "-m", "main", cwd=work)
    sh("git", "push", "-q", "origin", "HEAD:main", cwd=work)
    return bare


def night(origin: Path, runner: Path, index: str) -> str | None:
    """One night on a fresh runner: check the site out, render into it, publish it; the
    previous night's index, if any."""
    work = runner_checkout(origin, runner)
    sh("bash", SCRIPT, "checkout", "nightly-site", cwd=work)
    site = work / "nightly-site"
    previous = (site / "index.md").read_text() if (site / "index.md").exists() else None
    (site / "index.md").write_text(index)
    sh("bash", SCRIPT, "publish", "nightly-site", cwd=work)
    return previous


def test_nights_publish_to_their_own_branch_beside_the_committed_reports(origin, tmp_path):
    assert night(origin, tmp_path / "runner1", "night 1\n") is None  # an empty orphan branch
    assert night(origin, tmp_path / "runner2", "night 2\n") == "night 1\n"
    log = sh("git", "log", "--format=%s", "nightly-reports", cwd=origin).splitlines()
    main = sh("git", "rev-parse", "--short=12", "main", cwd=origin).strip()
    assert log == [f"Nightly reports of {main}"] * 2
    files = sh("git", "ls-tree", "-r", "--name-only", "nightly-reports", cwd=origin).split()
    assert files == ["index.md"]  # none of main's files, so not reports/findings.md
    # main is untouched: its committed reports stay what they were
    assert sh("git", "show", "main:reports/findings.md", cwd=origin) == "committed findings\n"


def test_a_night_without_changes_publishes_nothing_new(origin, tmp_path):
    night(origin, tmp_path / "runner1", "same\n")
    night(origin, tmp_path / "runner2", "same\n")
    assert len(sh("git", "log", "--format=%H", "nightly-reports", cwd=origin).split()) == 1


def test_the_site_refuses_a_directory_that_exists(origin, tmp_path):
    work = runner_checkout(origin, tmp_path / "runner")
    done = subprocess.run(
        ["bash", str(SCRIPT), "checkout", "reports"], cwd=work, capture_output=True, text=True
    )
    assert done.returncode == 2 and "reports exists" in done.stderr


def test_the_workflow_renders_into_the_site_it_publishes():
    text = WORKFLOW.read_text()
    assert ".github/nightly-site.sh checkout nightly-site" in text
    assert "--reports nightly-site" in text
    assert ".github/nightly-site.sh publish nightly-site" in text
    assert "git worktree add reports" not in text  # reports/ is committed: that add fails

"""Every benchmark parses its own options: ``python -m benchmarks NAME --help`` prints NAME's
usage and runs nothing, and an option NAME does not take is refused, never read as data."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import benchmarks

MODULES = sorted(
    m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
)


@pytest.mark.parametrize(
    ("argv", "code", "expected"),
    [
        (["--help"], 0, "usage:"),
        (["--no-such-option"], 2, "unrecognized arguments: --no-such-option"),
    ],
)
@pytest.mark.parametrize("name", MODULES)
def test_options_are_parsed_before_anything_runs(name, argv, code, expected, capsys):
    """``--help`` prints the usage and the module's first docstring line; an option the module
    does not take exits 2. Either way nothing is measured (a measure takes seconds to minutes)."""
    module = importlib.import_module(f"benchmarks.{name}")
    with pytest.raises(SystemExit) as exit_:
        module.main(argv)
    assert exit_.value.code == code
    printed = capsys.readouterr()
    assert expected in printed.out + printed.err
    if code == 0:
        first_line = module.__doc__.strip().splitlines()[0]
        assert " ".join(first_line.split()[:3]) in " ".join(printed.out.split())


def test_runner_passes_help_to_the_named_module():
    """Until 2026-12-07 ``python -m benchmarks workloads --help`` measured a workload named
    ``--help`` (a KeyError); the runner now hands each module its options to parse."""
    root = Path(__file__).parent.parent
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "workloads", "--help"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "usage: python -m benchmarks workloads [-h] [names ...]" in run.stdout

"""Spec files on the toy suite and synthetic results for them, for the report and nightly tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from benchmarks.synthetic_results import make_result, write_result
from hpbench.spec import load_plan

REPO = Path(__file__).resolve().parent.parent


def write_specs(directory: Path) -> list[Path]:
    """Three one-point specs on the toy suite (copied beside them)."""
    shutil.copy(REPO / "specs" / "suites" / "toy.toml", directory / "toy.toml")
    specs = []
    for name, algorithm, rate in (
        ("adamw_toy", "adamw", 1e-3),
        ("nadamw_toy", "nadamw", 2e-3),
        ("sgd_toy", "sgd", 0.1),
    ):
        path = directory / f"{name}.toml"
        path.write_text(
            f'[benchmark]\nname = "{name}"\ndescription = "{algorithm} on the toy suite"\n'
            f'extends = "toy.toml"\n\n[algorithm]\nname = "{algorithm}"\nlearning_rate = {rate}\n\n'
            "[run]\nseeds = [0, 1, 2]\n"
        )
        specs.append(path)
    return specs


def write_results(specs, results: Path, reach=(0.3, 0.5, 1.5)):
    """Results for every trial of each spec, crossing the target at reach * T (> 1: never)."""
    for spec, fraction in zip(specs, reach, strict=True):
        for trial in load_plan(spec).trials:
            write_result(make_result(trial, fraction), results)

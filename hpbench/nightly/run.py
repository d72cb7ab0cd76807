"""The nightly benchmark: run the listed specs, re-render their reports, keep a score history
(:mod:`hpbench.nightly.history`) and flag regressions, then render the site.

``specs/nightly.toml`` lists reports, each a pool of specs scored together::

    [nightly]
    noise = 0.02            # a score drop larger than this is a regression

    [[report]]
    name = "mini_suite"     # rendered under <site>/mini_suite/
    specs = ["findings/naive_adam.toml", "findings/naive_mechanic.toml"]  # relative to this file

``<site>/history.json`` keeps every night's scores; each night is compared with the last.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from hpbench.config.confine import repository_root, under
from hpbench.nightly.file import load_nightly
from hpbench.nightly.findings import (
    VerdictChange,
    check_findings_root,
    render_findings,
    verdict_changes,
)
from hpbench.nightly.history import (
    Regression,
    night_entry,
    now_utc,
    read_history,
    regressions,
    write_history,
)
from hpbench.nightly.site import render_site
from hpbench.report.data import Report, build_report, compile_specs, load_runs
from hpbench.report.provenance import git_commit
from hpbench.report.render import render

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile


def run_spec(spec: Path, results_dir: Path, runner: RunnerProfile | str | None = None) -> int:
    """Train ``spec``'s unfinished trials with :func:`hpbench.run` in this process (finished
    trials are reused); 0 when all trained, 1 when some failed or the store could not be
    written (the night goes on and reports what it has).

    In this process: ``hpbench nightly`` set up the CPU devices and the allocator before
    JAX started (:func:`hpbench.backends.prepare.prepare_process`). Called where JAX already
    runs, training uses the devices JAX has; the results are the same, packs only train
    side by side on fewer devices."""
    from hpbench.api import checked_plan, run
    from hpbench.results.store import StoreError
    from hpbench.train.progress import PlainProgress

    with PlainProgress() as progress:
        try:
            plan = checked_plan(spec, runner)  # a spec from a PR: its data paths confined
            outcomes = run(plan, runner=runner, results=results_dir, progress=progress)
        except StoreError as error:
            print(f"hpbench nightly: {spec}: {error}", file=sys.stderr)
            return 1
    return int(any(o.state == "failed" for o in outcomes))


@attrs.frozen
class Outcome:
    """What a nightly run found."""

    regressions: tuple[Regression, ...]
    failed_runs: tuple[str, ...]  # specs whose run step exited non-zero
    written: tuple[Path, ...]
    verdict_changes: tuple[VerdictChange, ...] = ()


def run_nightly(
    path: Path | str,
    *,
    results: Path,
    reports: Path,
    train: bool = True,
    noise: float | None = None,
    runner: Callable[[Path, Path], int] = run_spec,
) -> Outcome:
    """Run every spec of the nightly file (unless ``train`` is false), render each report
    under ``reports/<name>/`` (and with ``findings = true`` the papers' findings), append
    tonight's scores (and verdicts) to ``reports/history.json``, compare them with the
    previous night and render the site index.

    Every spec is compiled before anything runs, so a bad spec stops the night at once.
    """
    nightly = load_nightly(path)
    noise = nightly.noise if noise is None else noise
    root = repository_root(Path(path).parent)
    if nightly.findings:
        check_findings_root(root, nightly.file)
    history_path = reports / "history.json"
    nights = read_history(history_path)  # a broken history stops the night before it trains
    compile_specs(nightly.specs)
    failed = [str(spec) for spec in nightly.specs if train and runner(spec, results) != 0]
    rendered: dict[str, Report] = {}
    written: list[Path] = []
    for entry in nightly.reports:
        runs = load_runs(entry.specs, results)
        report = build_report(runs, title=entry.title or entry.name, time=nightly.time)
        written += render(report).write(under(reports, reports / entry.name))
        rendered[entry.name] = report
    tonight = night_entry(rendered, now_utc(), git_commit())
    if nightly.findings:
        tonight["findings"], findings_files = render_findings(results, reports, root)
        written += findings_files
    previous = nights[-1] if nights else None
    found = regressions(previous, tonight, noise)
    changed = verdict_changes(previous, tonight)
    nights.append(tonight)
    write_history(history_path, nights)
    titles = {entry.name: entry.title or entry.name for entry in nightly.reports}
    written += render_site(reports, nights, titles, found, noise, failed, changed)
    return Outcome(tuple(found), tuple(failed), tuple(written), tuple(changed))

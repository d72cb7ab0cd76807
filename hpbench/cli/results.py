"""``hpbench results export SPEC... --out FILE.tar.xz`` and ``hpbench results import FILE``:
the finished trials of specs as one archive to commit, and its restore (hpbench.results.archive).

A calibration spec (``[select]``) exports every trial ``hpbench calibrate`` trains for it
(each horizon's search and its top points' re-runs); with ``--rerun-seeds`` (and
``--rerun-horizon``) as given to ``hpbench targets``, ``export`` adds a target search's
reruns. Exit codes: 0 done; 1 an export with no finished trial, or an import that kept a
different trial already there; 2 a spec with problems, a search without results to rerun,
or an archive that is refused (nothing written).
No JAX import.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.cli import Command, add_rerun_options, add_results_option, rerun_of

if TYPE_CHECKING:
    from hpbench.plan import Trial


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="export or import"
    )
    export = sub.add_parser(
        "export", help="write the finished trials of specs to a .tar.xz (no checkpoints)"
    )
    export.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files")
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .tar.xz")
    add_rerun_options(
        export,
        "also export the reruns of `hpbench targets SPEC --rerun-seeds ...` with these seeds "
        "(each workload's best point of the specs' searches, as found in the results)",
    )
    restore = sub.add_parser("import", help="restore an exported .tar.xz into the results dir")
    restore.add_argument("archive", type=Path, metavar="FILE", help="a .tar.xz from export")
    for command in (export, restore):
        add_results_option(command)


def _planned(args: argparse.Namespace) -> list[Trial]:
    """The trials to export: the specs' plans (a calibration's every horizon and re-run,
    hpbench.search.calibrate.calibration_trials), then with ``--rerun-seeds`` the reruns of
    each spec's best points (hpbench.search.targets.rerun_trials over the results found)."""
    from hpbench.search.calibrate import calibration_trials
    from hpbench.spec import load_spec
    from hpbench.spec.compile import compile_plan

    rerun = rerun_of(args)
    specs = [load_spec(path) for path in args.specs]
    plans = [compile_plan(spec) for spec in specs]
    trials = []
    for spec, plan in zip(specs, plans, strict=True):
        trials += plan.trials if spec.select is None else calibration_trials(spec, args.results)
    if rerun is None:
        return trials
    from hpbench.results import read_planned
    from hpbench.search.targets import rerun_trials

    for spec, plan in zip(args.specs, plans, strict=True):
        try:
            trials += rerun_trials(plan, read_planned(args.results, plan.trials), rerun)
        except ValueError as e:
            raise ValueError(f"{spec}: no reruns to export: {e}") from None
    return trials


def main(args: argparse.Namespace) -> int:
    from hpbench.results.archive import ArchiveError, export_results, import_results

    if args.action == "export":
        try:
            trials = _planned(args)
        except ValueError as e:
            print(f"hpbench results export: {e}", file=sys.stderr)
            return 2
        exported = export_results(args.results, trials, args.out)
        reasons: dict[str, list[str]] = {}
        for trial_id, why in sorted(exported.left_out.items()):
            reasons.setdefault(why, []).append(trial_id)
        for why, ids in reasons.items():
            first = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
            print(f"left out {len(ids)} trials: {why} ({first})", file=sys.stderr)
        print(
            f"{args.out}: {len(exported.trials)} finished trials of "
            f"{len({t.id for t in trials})} planned "
            f"({args.out.stat().st_size} bytes); restore with: hpbench results import {args.out}"
        )
        if not exported.trials:
            print(f"nothing exported: no finished trials under {args.results}", file=sys.stderr)
            return 1
        return 0
    try:
        imported = import_results(args.archive, args.results)
    except ArchiveError as error:
        print(f"hpbench results import: refused, nothing written: {error}", file=sys.stderr)
        return 2
    for trial_id, why in sorted(imported.conflicts.items()):
        print(f"kept {trial_id}: {why}", file=sys.stderr)
    print(
        f"{args.results}: restored {len(imported.restored)} trials, skipped "
        f"{len(imported.skipped)} already there, kept {len(imported.conflicts)} different"
    )
    return 1 if imported.conflicts else 0


COMMANDS = {"results": Command(add_arguments, main)}

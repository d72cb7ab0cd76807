"""``hpbench results export SPEC... --out FILE.tar.xz`` and ``hpbench results import FILE``:
the finished trials of specs as one archive to commit, and its restore (hpbench.results.archive).

Exit codes: 0 done; 1 an export with no finished trial, or an import that kept a different
trial already there; 2 a spec with problems or an archive that is refused (nothing written).
No JAX import.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpbench.cli import Command, add_results_option


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, help="export or import"
    )
    export = sub.add_parser(
        "export", help="write the finished trials of specs to a .tar.xz (no checkpoints)"
    )
    export.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files")
    export.add_argument("--out", type=Path, required=True, metavar="FILE", help="the .tar.xz")
    restore = sub.add_parser("import", help="restore an exported .tar.xz into the results dir")
    restore.add_argument("archive", type=Path, metavar="FILE", help="a .tar.xz from export")
    for command in (export, restore):
        add_results_option(command)


def main(args: argparse.Namespace) -> int:
    from hpbench.results.archive import ArchiveError, export_results, import_results

    if args.action == "export":
        from hpbench.spec import load_plan

        trials = [trial for spec in args.specs for trial in load_plan(spec).trials]
        exported = export_results(args.results, trials, args.out)
        reasons: dict[str, list[str]] = {}
        for trial_id, why in sorted(exported.left_out.items()):
            reasons.setdefault(why, []).append(trial_id)
        for why, ids in reasons.items():
            first = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
            print(f"left out {len(ids)} trials: {why} ({first})", file=sys.stderr)
        print(
            f"{args.out}: {len(exported.trials)} finished trials of {len(trials)} planned "
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

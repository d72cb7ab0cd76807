"""``hpbench calibrate SPEC...``, ``hpbench build-list SPEC`` and ``hpbench targets SPEC``: the
papers' procedures and the target setting run from specs, writing a spec (``--emit``, or the
suite's targets with ``--write``) and a Markdown report (``--report``, else stdout).

Trials go through the engine into ``--results`` (finished ones are reused, so a rerun or a
longer search trains only what is new; ``--no-train`` reads them only). Exit codes: 0 done,
1 trials missing under ``--no-train`` (or targets not found), 2 bad spec or arguments.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.cli import Command, add_rerun_options, add_results_option, rerun_of

if TYPE_CHECKING:
    from collections.abc import Sequence

    from hpbench.plan import Trial


def _common(parser: argparse.ArgumentParser) -> None:
    add_results_option(parser)
    parser.add_argument(
        "--pack", type=int, metavar="K", help="trials per compiled program (default: from memory)"
    )
    parser.add_argument(
        "--report", type=Path, metavar="PATH", help="write the Markdown report here"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    parser.add_argument(
        "--no-train",
        action="store_true",
        help="read finished trials only (re-rendering from an archive): exit 1, training and "
        "writing nothing, if any the procedure needs is missing",
    )


def _progress(args: argparse.Namespace):
    if args.quiet:
        return None
    from hpbench.train.progress import PlainProgress

    return PlainProgress()


def _write(path: Path | None, text: str) -> None:
    if path is None:
        sys.stdout.write(text)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    print(f"wrote {path}", file=sys.stderr)


def _command(name: str, args: argparse.Namespace) -> str:
    return " ".join(["hpbench", name, *map(str, args.specs)])


def _bad_pack(args: argparse.Namespace, name: str) -> bool:
    if args.pack is not None and args.pack < 1:
        print(f"hpbench {name}: --pack {args.pack}: expected at least 1", file=sys.stderr)
        return True
    return False


def _checked(spec):
    """``spec`` once its data paths lie in the repository or $HPBENCH_DATA_DIR (the search
    commands take no runner profile, so no other data directory)."""
    from hpbench.spec.confine import check_data_paths

    hint = (
        "the search commands take no runner profile: set HPBENCH_DATA_DIR to a directory "
        "above it, or keep the data inside the repository"
    )
    check_data_paths(spec, (), hint)
    return spec


def add_calibrate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="+", type=Path, metavar="SPEC", help="specs with [search] and [select]"
    )
    parser.add_argument(
        "--emit",
        type=Path,
        action="append",
        metavar="PATH",
        help="write the calibrated spec of each SPEC here (once per SPEC, in order)",
    )
    _common(parser)


def calibrate_main(args: argparse.Namespace) -> int:
    from hpbench.spec import load_spec

    emits = args.emit or []
    if emits and len(emits) != len(args.specs):
        print(
            f"hpbench calibrate: {len(emits)} --emit for {len(args.specs)} specs; "
            "give one --emit per SPEC, in the same order",
            file=sys.stderr,
        )
        return 2
    if _bad_pack(args, "calibrate"):
        return 2
    specs = [_checked(load_spec(path)) for path in args.specs]  # SpecError: exit 2
    names = [spec.name for spec in specs]
    if len(set(names)) < len(names):
        print(
            f"hpbench calibrate: specs with the same [benchmark].name ({', '.join(names)}); "
            "candidates are labelled by it: give each spec its own name",
            file=sys.stderr,
        )
        return 2

    from hpbench.search.calibrate import calibrate, calibration_trials, read_calibration
    from hpbench.search.emit import calibrated_spec, calibration_report

    if args.no_train:
        outcome = read_calibration(specs, args.results)
        if outcome is None:
            needed = [t for spec in specs for t in calibration_trials(spec, args.results)]
            return _unfinished("calibrate", needed, args.results)
    else:
        outcome = calibrate(specs, args.results, args.pack, _progress(args))
    pool = sum(len(sc.candidates) for sc in outcome.specs)
    for cal, path in zip(outcome.specs, emits, strict=False):
        _write(path, calibrated_spec(cal, pool, path, _command("calibrate", args)))
    _write(args.report, calibration_report(outcome, _command("calibrate", args)))
    return 0


def _unfinished(command: str, needed: Sequence[Trial], results: Path) -> int:
    """``--no-train``'s error: how many of the trials the procedure needs so far (a search's
    re-runs are known once it has finished) have not finished in ``results``."""
    from hpbench.search.runs import unfinished

    print(
        f"hpbench {command} --no-train: {unfinished(results, needed)} of the "
        f"{len({t.id for t in needed})} trials it needs so far "
        f"have not finished in {results} (re-runs of the best points follow once the search "
        "has): restore them with `hpbench results import ARCHIVE`, or run without --no-train "
        "to train them; nothing was written",
        file=sys.stderr,
    )
    return 1


def add_build_list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs=1, type=Path, metavar="SPEC", help="a spec with [search] and [list]"
    )
    parser.add_argument("--emit", type=Path, metavar="PATH", help="write the list spec here")
    _common(parser)


def build_list_main(args: argparse.Namespace) -> int:
    from hpbench.spec import load_spec

    if _bad_pack(args, "build-list"):
        return 2
    spec = _checked(load_spec(args.specs[0]))

    from hpbench.search.emit import list_report, list_spec
    from hpbench.search.lists import build_list, list_search_trials, read_list

    if args.no_train:
        built = read_list(spec, args.results)
        if built is None:
            return _unfinished("build-list", list_search_trials(spec), args.results)
    else:
        built = build_list(spec, args.results, args.pack, _progress(args))
    if args.emit is not None:
        _write(args.emit, list_spec(built, args.emit, _command("build-list", args)))
    _write(args.report, list_report(built, _command("build-list", args)))
    return 0


def add_targets_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs=1, type=Path, metavar="SPEC", help="a target-setting search spec"
    )
    parser.add_argument(
        "--write",
        type=Path,
        metavar="SUITE",
        help="put the targets into this suite file (in place, comments kept)",
    )
    parser.add_argument(
        "--version",
        default=None,
        metavar="NAME",
        help="the targets' version label recorded in the suite (default: SPEC's name "
        "and today's date)",
    )
    add_rerun_options(
        parser,
        "AlgoPerf's last step: train each workload's best point again with these seeds; the "
        "target is the median of their best metrics (default: the search's best median is "
        "the target)",
    )
    _common(parser)


def targets_main(args: argparse.Namespace) -> int:
    import datetime

    from hpbench import __version__
    from hpbench.spec import compile_plan, load_spec

    if _bad_pack(args, "targets"):
        return 2
    try:
        rerun = rerun_of(args)
    except ValueError as e:
        print(f"hpbench targets: {e}", file=sys.stderr)
        return 2
    plan = compile_plan(_checked(load_spec(args.specs[0])))
    if args.write is not None and not args.write.is_file():
        print(f"hpbench targets: --write {args.write}: no such suite file", file=sys.stderr)
        return 2

    from hpbench.search.targets import (
        check_writable,
        provenance_lines,
        read_targets,
        set_targets,
        target_trials,
        targets_report,
        write_targets,
    )

    if args.write is not None:
        problems = check_writable(args.write.read_text(), plan)
        for problem in problems:
            print(f"hpbench targets: {args.write}: {problem}", file=sys.stderr)
        if problems:
            return 2
    try:
        if args.no_train:
            found = read_targets(plan, args.results, rerun)
            if found is None:
                return _unfinished(
                    "targets", target_trials(plan, args.results, rerun), args.results
                )
            setting = found
        else:
            setting = set_targets(plan, args.results, args.pack, _progress(args), rerun=rerun)
    except ValueError as e:
        print(f"hpbench targets: {e}", file=sys.stderr)
        return 1
    version = args.version or f"{plan.name}-{datetime.date.today().isoformat()}"
    if args.write is not None:
        header = provenance_lines(setting, version, __version__)
        try:
            text = write_targets(args.write.read_text(), setting, header)
        except ValueError as e:
            print(f"hpbench targets: {args.write}: {e}", file=sys.stderr)
            return 2
        _write(args.write, text)
    _write(args.report, targets_report(setting, version))
    return 0


COMMANDS = {
    "calibrate": Command(add_calibrate_arguments, calibrate_main),
    "build-list": Command(add_build_list_arguments, build_list_main),
    "targets": Command(add_targets_arguments, targets_main),
}

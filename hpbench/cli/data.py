"""``hpbench data SUBCOMMAND``: user data for the ``full`` workloads.

``hpbench data import WORKLOAD SOURCE... --out DIR`` turns NumPy arrays (``.npy`` files
named by array, ``.npz`` files keyed by array) into the directory of zarr arrays that
``size = "full"`` reads (docs/data.md), checking them against the workload's layout first.
Each subcommand is a :class:`~hpbench.cli.Command` in :data:`SUBCOMMANDS`, so more can
join it.
Exit codes: 0 done; 2 bad arguments or data (one message, nothing written). No JAX import
at module level: ``hpbench data --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from hpbench.cli import Command

if TYPE_CHECKING:
    from hpbench.workloads.importer import WrittenArray

SIZES = ("full",)


def _error(text: str) -> None:
    print(text, file=sys.stderr)


# --- hpbench data import ---


def full_workloads() -> list[str]:
    """The registered workloads that have a ``full`` size (so read user data)."""
    from hpbench.workloads.registry import WORKLOADS

    return sorted(name for name, info in WORKLOADS.items() if "full" in info.sizes)


def add_import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "workload", metavar="WORKLOAD", help=f"one of: {', '.join(full_workloads())}"
    )
    parser.add_argument(
        "sources",
        nargs="+",
        type=Path,
        metavar="SOURCE",
        help=".npz files (each key an array) and .npy files (the file name is the array)",
    )
    parser.add_argument(
        "--out", type=Path, required=True, metavar="DIR", help="the dataset directory to write"
    )
    parser.add_argument(
        "--size", choices=SIZES, default="full", help="the size that reads the data (full)"
    )
    parser.add_argument("--force", action="store_true", help="replace the dataset already in --out")


def workload_problem(workload: str) -> str | None:
    """Why ``workload`` cannot take imported data, or None."""
    known = full_workloads()
    if workload in known:
        return None
    return f"hpbench data import: unknown workload {workload!r}; one of: {', '.join(known)}"


def summary(written: Sequence[WrittenArray], out: Path, disk: int) -> str:
    """What was written: one line per array, the totals, and the spec lines to use it."""
    width = max(len(array.name) for array in written)
    lines = [f"wrote {out}:"]
    for array in written:
        shape = "[" + ", ".join(map(str, array.shape)) + "]"
        converted = f" (from {array.converted_from})" if array.converted_from else ""
        lines.append(
            f"  {array.name:<{width}}  {array.dtype}{converted} {shape}  {array.nbytes:,} bytes"
        )
    total = sum(array.nbytes for array in written)
    lines.append(f"  {len(written)} arrays, {total:,} bytes ({disk:,} bytes on disk)")
    return "\n".join(lines)


def spec_snippet(workload: str, size: str, out: Path) -> str:
    """The spec lines that train ``workload`` on the dataset at ``out`` (absolute path)."""
    path = json.dumps(str(out.resolve()), ensure_ascii=False)
    return f'[workloads.{workload}]\nsize = "{size}"\ndata = {path}'


def import_main(args: argparse.Namespace) -> int:
    from hpbench.workloads.importer import ImportProblem, disk_bytes, import_arrays

    problem = workload_problem(args.workload)
    if problem:
        _error(problem)
        return 2
    try:
        written = import_arrays(args.workload, args.sources, args.out, force=args.force)
    except ImportProblem as e:
        for problem in e.problems:
            _error(f"hpbench data import: {problem}")
        if e.expected:
            _error(e.expected)
        return 2
    print(summary(written, args.out, disk_bytes(args.out)))
    print("\nIn a spec:\n" + spec_snippet(args.workload, args.size, args.out))
    return 0


SUBCOMMANDS: dict[str, Command] = {
    "import": Command(
        add_import_arguments,
        import_main,
        help="check NumPy arrays against a workload's full layout and write them as zarr",
    ),
}


# --- hpbench data ---


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(
        dest="data_command", metavar="SUBCOMMAND", required=True, help="what to do with data"
    )
    for name, subcommand in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=subcommand.help, description=subcommand.help)
        subcommand.add_arguments(sub_parser)


def main(args: argparse.Namespace) -> int:
    return SUBCOMMANDS[args.data_command].main(args)


COMMANDS = {"data": Command(add_arguments, main)}

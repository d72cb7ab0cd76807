"""The ``hpbench`` command: a dispatcher that imports only the module of the command run.

Each command is a :class:`Command` in the ``COMMANDS`` dict of a module of this package (one
per group: ``spec``, ``run``, ``status``, ``report``, ``search``, ``data``, ``results``,
``nightly``), listed for it in :data:`COMMANDS` here with its help line, so ``hpbench
--help`` imports nothing. The package sits above the API and everything it calls, none of
which imports it, so no import cycle goes through the CLI. Modules must not import JAX at
module level, so ``hpbench --help`` and ``hpbench validate`` stay instant. A config problem
(:class:`hpbench.config.ConfigError`), or a runner profile naming a backend whose extra is
not installed, is printed without a traceback and exits with 2.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

import attrs

from hpbench import __version__


@attrs.frozen
class Command:
    """A command (or a subcommand, which also carries its ``help`` line): ``add_arguments``
    fills its parser, ``main`` runs it and returns the exit code."""

    add_arguments: Callable[[argparse.ArgumentParser], None]
    main: Callable[[argparse.Namespace], int]
    help: str = ""


#: Where trials are written and read unless ``--results`` says otherwise.
DEFAULT_RESULTS = Path("results")


def add_results_option(parser: argparse.ArgumentParser) -> None:
    """``--results DIR``, the same for every command that reads or writes trials."""
    parser.add_argument(
        "--results",
        type=Path,
        default=DEFAULT_RESULTS,
        metavar="DIR",
        help="results directory (default: results)",
    )


def seed_list(text: str) -> tuple[int, ...]:
    """``0,1,2`` as seeds (argparse reports the error as a bad value)."""
    try:
        return tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected seeds separated by commas, e.g. 0,1,2,3,4"
        ) from None


def add_rerun_options(parser: argparse.ArgumentParser, seeds_help: str) -> None:
    """``--rerun-seeds`` and ``--rerun-horizon``: AlgoPerf's last step of target setting
    (hpbench.search.targets.Rerun), for ``hpbench targets`` and ``hpbench results export``."""
    parser.add_argument("--rerun-seeds", type=seed_list, metavar="S,S,...", help=seeds_help)
    parser.add_argument(
        "--rerun-horizon",
        type=float,
        metavar="F",
        help="with --rerun-seeds: the target-setting budget, a fraction of max_steps "
        "(default: the search's horizon)",
    )


def rerun_of(args: argparse.Namespace):
    """The ``Rerun`` that ``add_rerun_options``' arguments ask for, or None; ``ValueError``
    with the message to print for bad values or a horizon without seeds."""
    from hpbench.search.targets import Rerun

    if args.rerun_seeds is None:
        if args.rerun_horizon is not None:
            raise ValueError("--rerun-horizon needs --rerun-seeds")
        return None
    try:
        return Rerun(args.rerun_seeds, args.rerun_horizon)
    except ValueError as e:
        raise ValueError(f"--rerun-seeds/--rerun-horizon: {e}") from None


#: command -> (module whose ``COMMANDS`` holds it, one-line help). Keep the help here:
#: ``hpbench --help`` imports nothing.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("hpbench.cli.spec", "check spec files and report every problem"),
    "plan": ("hpbench.cli.spec", "show a spec's trials, their results and their cost"),
    "diff": ("hpbench.cli.spec", "show which trials a change from OLD to NEW would rerun"),
    "schema": (
        "hpbench.cli.spec",
        "print the JSON Schema of specs, runner profiles or nightly files",
    ),
    "list": ("hpbench.cli.spec", "list the registered algorithms or workloads"),
    "run": ("hpbench.cli.run", "train the trials of a spec"),
    "status": (
        "hpbench.cli.status",
        "show what is running, done and failed in a results dir (default: results) or a spec",
    ),
    "report": ("hpbench.cli.report", "render a spec's results as Markdown and HTML"),
    "score": ("hpbench.cli.report", "print the benchmark scores of specs"),
    "nightly": ("hpbench.cli.nightly", "run the nightly specs and re-render the reports"),
    "targets": ("hpbench.cli.search", "set workload targets from a tuned NAdamW search"),
    "data": ("hpbench.cli.data", "import user data (NumPy arrays) for full workloads"),
    "calibrate": (
        "hpbench.cli.search",
        "calibrate an algorithm's hyperparameters by a search",
    ),
    "build-list": ("hpbench.cli.search", "build a greedy hyperparameter list from a search"),
    "results": (
        "hpbench.cli.results",
        "export specs' finished trials to a .tar.xz, or import one",
    ),
}


#: command -> one example, shown at the end of its help. Kept here with the help above.
EXAMPLES: dict[str, str] = {
    "validate": "hpbench validate specs/*.toml",
    "plan": "hpbench plan specs/nadamw_list5.toml --results results",
    "diff": "hpbench diff specs/adamw_baseline.toml specs/naive_adam.toml",
    "schema": "hpbench schema runner --out runner.schema.json",
    "list": "hpbench list workloads",
    "run": "hpbench run specs/adamw_baseline.toml --results results --plain",
    "status": "hpbench status specs/adamw_baseline.toml --results results --all",
    "report": "hpbench report specs/findings/naive_adam.toml specs/findings/naive_mechanic.toml",
    "score": "hpbench score specs/adamw_baseline.toml specs/naive_adam.toml --time seconds",
    "nightly": "hpbench nightly specs/nightly.toml --no-run",
    "targets": (
        "hpbench targets specs/targets_graded.toml --rerun-seeds 0,1,2,3,4 "
        "--rerun-horizon 0.25 --write specs/suites/algoperf_mini.toml"
    ),
    "data": "hpbench data import criteo train.npz valid.npz --out /data/criteo_full",
    "calibrate": "hpbench calibrate specs/calibrate_toy.toml --report reports/calibration.md",
    "build-list": "hpbench build-list specs/list_toy.toml --emit specs/my_list.toml",
    "results": "hpbench results export specs/naive_adam.toml --out reports/results.tar.xz",
}


class NotBuilt(Exception):
    """The module of a command does not exist yet."""


def load_command(name: str) -> Command:
    """The :class:`Command` ``name``, from its module's ``COMMANDS``."""
    module_name = COMMANDS[name][0]
    try:
        module: ModuleType = importlib.import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name and (module_name == e.name or module_name.startswith(e.name + ".")):
            raise NotBuilt(f"hpbench {name}: not built yet ({module_name} is missing)") from None
        raise
    return module.COMMANDS[name]


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser; only the ``chosen`` command's module is imported to add its arguments."""
    parser = argparse.ArgumentParser(
        prog="hpbench",
        description="Declarative benchmarks of neural-network training algorithms, on JAX.",
    )
    parser.add_argument("--version", action="version", version=f"hpbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(
            name,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=f"example:\n  {EXAMPLES[name]}" if name in EXAMPLES else None,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == chosen:
            command = load_command(name)
            command.add_arguments(command_parser)
            command_parser.set_defaults(run=command.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hpbench`` console script; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    from hpbench.backends.prepare import prepare_process

    prepare_process()  # one CPU device per core and the allocator, read when JAX starts
    chosen = next((a for a in argv if not a.startswith("-")), None)
    try:
        parser = build_parser(chosen if chosen in COMMANDS else None)
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return 2
        return int(args.run(args) or 0)
    except NotBuilt as e:
        _print_error(str(e))
        return 1
    except Exception as e:
        from hpbench.backends.registry import BackendUnavailable
        from hpbench.config.errors import ConfigError

        if isinstance(e, ConfigError):
            _print_error(e.render())
            return 2
        if isinstance(e, BackendUnavailable):  # the profile's backend lacks its extra
            _print_error(f"hpbench: {e}")
            return 2
        raise
    except KeyboardInterrupt:
        _print_error("interrupted")
        return 130


def _print_error(text: str) -> None:
    """Plain text on stderr: one problem per line, never re-wrapped, easy to grep."""
    print(text, file=sys.stderr)

"""The ``nightly`` command: train the nightly file's specs, re-render their reports and the
site, and flag regressions (no JAX import until it trains).

Exit codes: 0 done; 1 a failed run step or a regression; 2 a spec or nightly file with
problems (every problem printed, nothing run or written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hpbench.cli import Command, add_results_option

#: The nightly site's directory: its own, not the committed reports/ (CI publishes it on the
#: nightly-reports branch, .github/nightly-site.sh).
DEFAULT_SITE = Path("nightly-site")


def _error(text: str) -> None:
    print(text, file=sys.stderr)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "nightly", type=Path, metavar="NIGHTLY", help="the nightly file, e.g. specs/nightly.toml"
    )
    add_results_option(parser)
    parser.add_argument(
        "--reports",
        type=Path,
        default=DEFAULT_SITE,
        metavar="DIR",
        help=f"the site's directory: its reports, index and history (default: {DEFAULT_SITE})",
    )
    parser.add_argument(
        "--no-run", action="store_true", help="render from the existing results, train nothing"
    )
    parser.add_argument(
        "--noise", type=float, help="override the nightly file's regression threshold"
    )


def main(args: argparse.Namespace) -> int:
    from hpbench.config.errors import ConfigError
    from hpbench.nightly.run import run_nightly

    if args.noise is not None and not 0 <= args.noise < 1:
        _error(f"--noise {args.noise}: expected a score difference in [0, 1)")
        return 2
    try:
        outcome = run_nightly(
            args.nightly,
            results=args.results,
            reports=args.reports,
            train=not args.no_run,
            noise=args.noise,
        )
    except ConfigError as e:
        _error(e.render())
        return 2
    except ValueError as e:
        _error(str(e))
        return 2
    for regression in outcome.regressions:
        _error(f"regression: {regression.describe()}")
    for spec in outcome.failed_runs:
        _error(f"run failed: hpbench run {spec}")
    print(f"wrote {args.reports / 'index.md'} and {args.reports / 'index.html'}")
    return 1 if outcome.regressions or outcome.failed_runs else 0


COMMANDS = {"nightly": Command(add_arguments, main)}

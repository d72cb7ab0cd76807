"""``hpbench run SPEC...``: train the trials of specs into a results directory.

Trials already finished are reused (``--force`` retrains them), interrupted ones resume
from their last checkpoint, damaged ones are set aside and trained again. Exit codes: 0 all
trained, 1 some trial failed, 2 bad spec or arguments, 73 the results directory is not
writable, 75 the disk is full (the detail in a log file; rerun once there is space),
130/143 stopped by SIGINT/SIGTERM (a checkpoint was saved first; a second signal stops
without a new one).
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import shutil
import signal
import sys
import tempfile
import traceback
from pathlib import Path

from hpbench.cli import Command, add_results_option

#: Above this many trials the summary counts outcomes per workload instead of listing each.
SUMMARY_ROWS = 40


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files to run")
    add_results_option(parser)
    parser.add_argument("--force", action="store_true", help="retrain trials that already finished")
    parser.add_argument(
        "--pack", type=int, metavar="K", help="trials per compiled program (default: from memory)"
    )
    parser.add_argument(
        "--checkpoint-every",
        metavar="WHEN",
        help="checkpoint cadence: steps (500), or time (30s, 10m); default: the spec's, else 5m",
    )
    parser.add_argument(
        "--runner",
        metavar="PROFILE",
        help="runner profile: a file, or a name in runners/ (pool, ray, slurm); default: local",
    )
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    parser.add_argument(
        "--every-trial",
        action="store_true",
        help=f"a summary row per trial however many (default: above {SUMMARY_ROWS} trials, "
        "counts per workload and a row for each trial that failed, diverged, did not finish "
        "or was repaired)",
    )
    parser.add_argument(
        "--plain", action="store_true", help="plain progress lines (default when not a terminal)"
    )


def main(args: argparse.Namespace) -> int:
    from rich.console import Console

    from hpbench.api import checked_plan, checkpoint_policy, make_run_jobs
    from hpbench.backends.profile import resolve_profile

    args.profile = resolve_profile(args.runner)  # SpecError: the dispatcher exits 2
    error = None
    if args.pack is not None and args.pack < 1:
        error = f"--pack {args.pack}: expected a pack size of at least 1"
    policy = None
    if error is None and args.checkpoint_every is not None:
        try:
            policy = checkpoint_policy((), args.checkpoint_every)
        except ValueError as e:
            error = f"--checkpoint-every: {e}"
    if error is not None:
        print(f"hpbench run: {error}", file=sys.stderr)
        return 2

    plans = [checked_plan(path, args.profile) for path in args.specs]  # SpecError: exit 2
    console = Console(stderr=True)
    jobs = make_run_jobs(plans, args.profile, pack=args.pack, checkpoint=policy, force=args.force)
    if not args.quiet:
        trials = sum(len(job.trials) for job in jobs)
        console.print(f"{trials} trials in {len(jobs)} jobs -> {args.results}/", highlight=False)
    return _run(jobs, args, console)


def next_commands(specs: list[Path], results: Path) -> str:
    """What to run after ``run``: the report and the score of the specs just trained."""
    import shlex

    names = " ".join(shlex.quote(str(p)) for p in specs)
    where = "" if results == Path("results") else f" --results {shlex.quote(str(results))}"
    return f"next: hpbench report {names}{where}\n      hpbench score {names}{where}"


def _run(jobs: list, args: argparse.Namespace, console) -> int:
    from hpbench.backends import run_jobs
    from hpbench.results.store import StoreError
    from hpbench.train.progress import LiveProgress, PlainProgress
    from hpbench.train.run import Interrupted

    if args.quiet:
        reporter = None
    elif args.plain or not console.is_terminal:
        reporter = PlainProgress()
    else:
        reporter = LiveProgress(console)
    detail = _DetailLog()
    try:
        with detail:
            if reporter is None:
                outcomes = run_jobs(jobs, args.results, args.profile)
            else:
                with reporter:
                    outcomes = run_jobs(jobs, args.results, args.profile, progress=reporter)
    except Interrupted as stop:
        _ignore_signals()
        print(
            f"hpbench run: stopped by {stop}; checkpoint saved, rerun the same command to resume",
            file=sys.stderr,
        )
        return 128 + stop.signum
    except KeyboardInterrupt:
        _ignore_signals()
        print(
            "hpbench run: stopped by a second signal; rerun the same command to resume from "
            "the last checkpoint",
            file=sys.stderr,
        )
        return 130
    except StoreError as error:
        return _store_failure(error, args.results, detail)
    _print_summary(outcomes, args, console.width)
    print(next_commands(args.specs, args.results), flush=True)  # never wrapped: copied
    failed = [o for o in outcomes if o.state == "failed"]
    if failed:
        print(
            f"hpbench run: {len(failed)} trial(s) failed; see status.json in each trial directory",
            file=sys.stderr,
        )
    if detail.path.exists():
        print(f"hpbench run: library warnings are in {detail.path}", file=sys.stderr)
    return 1 if failed else 0


def _print_summary(outcomes: list, args: argparse.Namespace, width: int) -> None:
    """A row per trial; above ``SUMMARY_ROWS`` trials (unless ``--every-trial``), counts per
    workload and a row for each trial that needs attention."""
    from rich.console import Console

    from hpbench.train.progress import needs_attention, outcome_counts, summary_table

    out = Console(file=sys.stdout, width=max(width, 100))
    if args.every_trial or len(outcomes) <= SUMMARY_ROWS:
        out.print(summary_table(outcomes, args.results))
        return
    out.print(outcome_counts(outcomes, args.results))
    flagged = [o for o in outcomes if needs_attention(o)]
    if flagged:
        out.print(summary_table(flagged, args.results, title="trials that need attention"))
    print(
        "(a row per trial: the same command with --every-trial; finished trials are not retrained)",
        flush=True,
    )


def _ignore_signals() -> None:
    """Stopping already: a further Ctrl-C must not cut the exit (JAX and Orbax clean up at
    exit, and a signal there prints their traceback)."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


class _DetailLog:
    """Library log records (Orbax logs through absl, from its background threads) go to a
    file in the temporary directory, not the terminal: on a failing disk they would bury
    the one useful line. The results disk may be the full one, hence not there."""

    LOGGERS = ("absl",)

    def __init__(self) -> None:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
        self.path = Path(tempfile.gettempdir()) / f"hpbench-run-{stamp}-{os.getpid()}.log"
        self._handler = logging.FileHandler(self.path, delay=True)
        self._handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
        )
        self._propagate: dict[str, bool] = {}

    def __enter__(self) -> _DetailLog:
        for name in self.LOGGERS:
            logger = logging.getLogger(name)
            self._propagate[name] = logger.propagate
            logger.addHandler(self._handler)
            logger.propagate = False
        return self

    def __exit__(self, *exc: object) -> None:
        for name, propagate in self._propagate.items():
            logger = logging.getLogger(name)
            logger.removeHandler(self._handler)
            logger.propagate = propagate
        self._handler.close()

    def write(self, text: str) -> str:
        """Append ``text``; the log's path, or why it could not be written."""
        try:
            with open(self.path, "a") as f:
                f.write(text)
        except OSError as e:
            return f"not written ({e.strerror})"
        return str(self.path)


#: Exit codes of a results store that cannot be written (sysexits.h: EX_CANTCREAT, EX_TEMPFAIL).
EXIT_READ_ONLY = 73
EXIT_FULL = 75


def _store_failure(error, results: Path, detail: _DetailLog) -> int:
    """One message for a store that cannot be written, the detail in the log file."""
    log = detail.write("".join(traceback.format_exception(error)))
    where = error.path or str(results)
    if error.kind == "read-only":
        print(
            f"hpbench run: {where}: cannot write ({error.detail}); make {results} writable, or "
            f"pass --results DIR with a writable directory (detail: {log})",
            file=sys.stderr,
        )
        return EXIT_READ_ONLY
    finished = _finished_trials(results)
    free = shutil.disk_usage(results).free if results.exists() else 0
    print(
        f"hpbench run: no space left on the device of {where} ({free / 2**20:.1f} MiB free). "
        f"Saved: {finished} finished trials; the others resume from their last checkpoint. "
        f"Free some space and rerun the same command (detail: {log})",
        file=sys.stderr,
    )
    return EXIT_FULL


def _finished_trials(results: Path) -> int:
    from hpbench.results.records import Damaged, read_trial, trial_directories

    finished = 0
    for directory in trial_directories(results) if results.is_dir() else []:
        try:
            finished += read_trial(directory).status.finished
        except Damaged:
            continue
    return finished


COMMANDS = {"run": Command(add_arguments, main)}

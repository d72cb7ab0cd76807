"""The spec commands: ``validate``, ``plan``, ``diff``, ``schema`` and ``list``.

Each command is an ``add_arguments(parser)`` / ``main(args) -> int`` pair in
:data:`COMMANDS`, dispatched by :mod:`hpbench.cli`. Nothing here imports JAX.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hpbench.cli import Command, add_results_option
from hpbench.config.errors import ConfigError
from hpbench.nightly.file import check_nightly, is_nightly_file
from hpbench.plan import Plan, Trial
from hpbench.spec.bounds import MAX_TRIALS, MAX_TRIALS_VARIABLE
from hpbench.spec.check import check
from hpbench.spec.compile import compile_plan, load_plan, load_spec
from hpbench.spec.model import Spec
from hpbench.spec.source import load_document

if TYPE_CHECKING:
    from rich.console import Console

    from hpbench.algorithms.registry import Hyperparameter


def console() -> Console:
    """Rich console on stdout, imported on first use (``validate`` does not need rich)."""
    from rich.console import Console

    return Console(highlight=False)


# --- validate ---------------------------------------------------------------------------

#: Above this many trials ``validate`` counts them instead of expanding the plan.
EXPAND_AT_MOST = 2_000


def _add_max_trials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-trials",
        type=_positive,
        metavar="N",
        help=f"refuse a spec of more trials (default: ${MAX_TRIALS_VARIABLE} or {MAX_TRIALS:,})",
    )


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, found {text!r}")
    return int(text)


def _validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", nargs="+", type=Path, metavar="SPEC", help="spec files to check")
    _add_max_trials(parser)


def _validate(args: argparse.Namespace) -> int:
    """Check every spec (or nightly file); report all problems of every file; exit 2 if any."""
    failed = 0
    for path in args.specs:
        try:
            summary = _check(path, args.max_trials)
        except ConfigError as e:
            print(e.render(), file=sys.stderr)
            failed += 1
            continue
        print(f"ok {path}: {summary}")
    return 2 if failed else 0


def _check(path: Path, max_trials: int | None = None) -> str:
    """Check one file: a spec, or a nightly file and every spec it lists; the summary line."""
    doc = load_document(path)
    if not is_nightly_file(doc):
        return _summary(check(doc, max_trials))
    nightly = check_nightly(doc, path.parent)
    problems = []
    for listed in nightly.specs:
        try:
            load_spec(listed, max_trials)
        except ConfigError as e:
            problems.extend(e.problems)
    if problems:
        raise ConfigError(problems)
    reports, specs = len(nightly.reports), len(nightly.specs)
    return f"a nightly file: {reports} report(s) of {specs} spec(s), every spec valid"


def _summary(spec: Spec) -> str:
    """What ``spec`` runs; a large plan is counted, not expanded, so validating stays quick."""
    workloads = len(spec.workloads)
    if spec.algorithm is None:
        return f"a suite of {workloads} workloads (no [algorithm]: nothing to run)"
    if spec.counted_trials > EXPAND_AT_MOST:
        return (
            f"at most {spec.counted_trials:,} trials of {spec.algorithm} on {workloads} "
            "workloads (counted; hpbench plan expands them, merging equal points)"
        )
    trials = len(compile_plan(spec).trials)
    return f"{trials} trials of {spec.algorithm} on {workloads} workloads"


# --- plan -------------------------------------------------------------------------------


def _plan_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, metavar="SPEC", help="the spec file to plan")
    add_results_option(parser)
    parser.add_argument("--json", action="store_true", help="print the plan as JSON")
    _add_max_trials(parser)


def trial_state(results: Path, trial: Trial) -> str:
    """The trial's state in ``results`` (``hpbench.results``; "corrupt" when its files fail
    their checks), "new" when it has none there."""
    from hpbench.results.records import read_started_trial

    result = read_started_trial(results, trial)
    return "new" if result is None else result.status.state


def trial_columns(trial: Trial) -> dict[str, Any]:
    """The values a table shows for ``trial``: what identifies it, hyperparameters included
    (its data variant only when it has one)."""
    return {
        "workload": trial.workload,
        "variant": trial.variant,
        "size": trial.size,
        **({} if trial.train_rows is None else {"train_rows": trial.train_rows}),
        **({"label_noise": trial.label_noise} if trial.label_noise else {}),
        **({} if trial.width is None else {"width": trial.width}),
        "algorithm": trial.algorithm,
        **dict(trial.options),
        **trial.params,
        "schedule": trial.schedule,
        "warmup": trial.warmup,
        "horizon": trial.horizon,
        "seed": trial.seed,
    }


def _plan(args: argparse.Namespace) -> int:
    """Show the trials of a spec, which already have results, and the steps to train."""
    from hpbench.results.records import FINISHED_STATES

    spec = load_spec(args.spec, args.max_trials)
    plan = compile_plan(spec)
    states = [trial_state(args.results, t) for t in plan.trials]
    to_train = [  # a diverged trial is finished: `run` does not retrain it
        t for t, s in zip(plan.trials, states, strict=True) if s not in FINISHED_STATES
    ]
    todo = sum(t.horizon_steps for t in to_train)
    if args.json:
        trials = [
            {"id": t.id, "state": s, "horizon_steps": t.horizon_steps, **t.canonical()}
            for t, s in zip(plan.trials, states, strict=True)
        ]
        summary = {
            "name": plan.name,
            "description": plan.description,
            "owner": plan.owner,
            "source": plan.source,
            "checkpoint_seconds": plan.checkpoint_seconds,
            "steps_to_train": todo,
            "trials": trials,
        }
        json.dump(summary, sys.stdout, indent=1)
        print()
        return 0
    _print_trials(plan.name, plan.trials, states)
    done, diverged = states.count("done"), states.count("diverged")
    console().print(
        f"{len(plan.trials)} trials: {done} done, "
        + (f"{diverged} diverged, " if diverged else "")
        + f"{len(to_train)} to train ({todo:,} steps)",
        markup=False,
    )
    if spec.select is not None:
        console().print(_calibration_note(spec, len(plan.trials)), markup=False)
    return 0


def _calibration_note(spec: Spec, trials: int) -> str:
    """What ``hpbench calibrate`` trains beyond a calibration spec's plan (one horizon)."""
    select = spec.select
    horizons = ", ".join(f"{h:g}" for h in select.horizons)
    unused = (
        ""
        if spec.schedule.horizon in select.horizons
        else " (not one of its horizons: `hpbench run` of it trains what calibrate never reads)"
    )
    return (
        f"a calibration: the trials above are its search at horizon {spec.schedule.horizon:g}"
        f"{unused}; `hpbench calibrate` trains the search at each of horizons {horizons} ({trials} "
        f"trials each) and re-runs its top {select.top_k} with seeds "
        f"{', '.join(map(str, select.seeds))} (results export writes them all)"
    )


def _print_trials(title: str, trials: Sequence[Trial], states: Sequence[str] | None = None) -> None:
    """A table with one row per trial and a column per value that differs between trials;
    the values all trials share are printed once, below it."""
    from rich.table import Table

    rows = [trial_columns(t) for t in trials]
    names = list(dict.fromkeys(k for row in rows for k in row))
    varying = [n for n in names if len({repr(row.get(n)) for row in rows}) > 1]
    table = Table(title=title, title_justify="left")
    table.add_column("id", no_wrap=True, min_width=16)
    for name in varying:
        table.add_column(name, justify="right" if name == "seed" else "left")
    table.add_column("steps", justify="right")
    if states is not None:
        table.add_column("state")
    for i, (trial, row) in enumerate(zip(trials, rows, strict=True)):
        cells = [trial.id, *(_cell(row.get(n)) for n in varying), f"{trial.horizon_steps:,}"]
        table.add_row(*cells, *([states[i]] if states is not None else []))
    out = console()
    out.print(table)
    if rows:
        shared = ", ".join(f"{n}={_cell(rows[0][n])}" for n in names if n not in varying)
        out.print(f"all trials: {shared}", markup=False)


def _cell(value: Any) -> str:
    return "" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)


# --- diff -------------------------------------------------------------------------------


def _diff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", type=Path, metavar="OLD", help="the spec file before the change")
    parser.add_argument("new", type=Path, metavar="NEW", help="the spec file after the change")
    parser.add_argument("--json", action="store_true", help="print the ids as JSON")
    _add_max_trials(parser)


def plan_diff(old: Plan, new: Plan) -> dict[str, list[Trial]]:
    """Trials only in ``new`` (added: would run), only in ``old`` (removed) and in both."""
    old_ids = {t.id for t in old.trials}
    new_ids = {t.id for t in new.trials}
    return {
        "added": [t for t in new.trials if t.id not in old_ids],
        "removed": [t for t in old.trials if t.id not in new_ids],
        "kept": [t for t in new.trials if t.id in old_ids],
    }


def _diff(args: argparse.Namespace) -> int:
    """What a change from OLD to NEW would rerun: added, removed and kept trials."""
    problems = []
    plans = []
    for path in (args.old, args.new):
        try:
            plans.append(load_plan(path, args.max_trials))
        except ConfigError as e:
            problems.extend(e.problems)
    if problems:
        raise ConfigError(problems)
    diff = plan_diff(*plans)
    if args.json:
        json.dump({k: [t.id for t in v] for k, v in diff.items()}, sys.stdout, indent=1)
        print()
        return 0
    for kind in ("added", "removed"):
        if diff[kind]:
            _print_trials(f"{kind} ({len(diff[kind])})", diff[kind])
    console().print(
        f"{len(diff['added'])} added (to train), {len(diff['removed'])} removed, "
        f"{len(diff['kept'])} kept (results reused)",
        markup=False,
    )
    return 0


# --- schema -----------------------------------------------------------------------------


def _schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what",
        nargs="?",
        default="spec",
        choices=("spec", "runner", "nightly"),
        help="spec files (default), runner profiles (runners/*.toml) or nightly files",
    )
    parser.add_argument("--out", type=Path, help="write to this file instead of stdout")


def _schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of spec files, runner profiles or nightly files (for editors
    and taplo)."""
    if args.what == "runner":
        from hpbench.backends.profile import profile_schema as make_schema
    elif args.what == "nightly":
        from hpbench.nightly.file import nightly_schema as make_schema
    else:
        from hpbench.spec.schema import spec_schema as make_schema

    text = json.dumps(make_schema(), indent=2) + "\n"
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)
    return 0


# --- list -------------------------------------------------------------------------------


def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", choices=("algorithms", "workloads"), help="what to list: algorithms or workloads"
    )


def _list(args: argparse.Namespace) -> int:
    """The registered algorithms (hyperparameters, defaults, ranges) or workloads."""
    if args.what == "algorithms":
        _list_algorithms()
    else:
        _list_workloads()
    return 0


def _list_algorithms() -> None:
    from rich.table import Table

    from hpbench.algorithms.registry import ALGORITHMS

    for info in ALGORITHMS.values():
        free = " (learning-rate-free)" if info.learning_rate_free else ""
        table = Table(title=f"{info.name}{free}: {info.description}", title_justify="left")
        table.add_column("hyperparameter", no_wrap=True)
        for column in ("kind", "default", "range", "packable", "meaning"):
            table.add_column(column)
        for h in info.hyperparameters:
            table.add_row(
                h.name, h.kind, _text(h.default), _range(h), "yes" if h.packable else "no", h.doc
            )
        console().print(table)


def _text(value: Any) -> str:
    from hpbench.config.errors import show

    return "unset" if value is None else show(value)


def _range(h: Hyperparameter) -> str:
    from hpbench.spec.values import interval_of

    if h.choices is not None:
        return ", ".join(_text(c) for c in h.choices)
    return "" if h.low is None and h.high is None else str(interval_of(h))


def _list_workloads() -> None:
    """One row per (workload, size) with its budget, then each workload's description."""
    from rich.table import Table

    from hpbench.workloads.registry import WORKLOADS

    table = Table(title="workloads", title_justify="left")
    for column in ("workload", "target metric", "other metrics", "variants", "size"):
        table.add_column(column, no_wrap=column in ("workload", "size"))
    table.add_column("max_steps", justify="right", no_wrap=True)
    table.add_column("batch_size", justify="right", no_wrap=True)
    table.add_column("train rows", justify="right", no_wrap=True)
    for info in WORKLOADS.values():
        for i, size in enumerate(info.sizes):
            steps, batch = info.max_steps.get(size), info.batch_size.get(size)
            rows = info.train_rows.get(size)
            first = (
                info.name,
                f"{info.metric} ({info.direction})",
                ", ".join(m for m in info.metrics if m != info.metric),
                ", ".join(("base", *info.variants)),
            )
            table.add_row(
                *(first if i == 0 else ("",) * 4),
                size,
                "spec" if steps is None else f"{steps:,}",
                "spec" if batch is None else f"{batch:,}",
                "data" if rows is None else f"{rows:,}" + ("" if info.class_labels else " *"),
            )
    out = console()
    out.print(table)
    out.print("'spec': no default, the spec sets it.", markup=False)
    out.print(
        "train rows: what a spec's train_rows may cut ('data': the user's, not cut); "
        "*: no class labels for label_noise.",
        markup=False,
    )
    widening = ", ".join(info.name for info in WORKLOADS.values() if info.widens)
    out.print(f"width (a spec may widen the model): {widening}.", markup=False)
    for info in WORKLOADS.values():
        out.print(f"{info.name}: {info.description}", markup=False)


COMMANDS: dict[str, Command] = {
    "validate": Command(_validate_arguments, _validate),
    "plan": Command(_plan_arguments, _plan),
    "diff": Command(_diff_arguments, _diff),
    "schema": Command(_schema_arguments, _schema),
    "list": Command(_list_arguments, _list),
}

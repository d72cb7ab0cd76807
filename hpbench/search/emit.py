"""What the builders write: the calibrated spec and the list spec (normal spec files, with
their provenance in comments) and Markdown tables in the papers' layouts.

Emitted specs extend the same suite as the spec they come from and repeat its own
``[workloads]`` settings, so their trials are the trials already trained (same ids): running
an emitted spec reuses the results of the calibration's re-runs or of the list's search.
"""

from __future__ import annotations

import datetime
import math
import os
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import hpbench
from hpbench.config.write import toml_value
from hpbench.search.calibrate import Calibration, SpecCalibration
from hpbench.search.lists import BuiltList
from hpbench.spec import Spec

#: Column order of points in tables (the NAdamW-list paper's Table 10), then the rest.
POINT_COLUMNS = (
    "learning_rate",
    "warmup",
    "beta1",
    "beta2",
    "weight_decay",
    "dropout",
    "label_smoothing",
)
SCHEDULE_KEYS = ("warmup", "horizon")


def _number(value: float, digits: int = 4) -> str:
    if math.isnan(value):
        return "-"
    return "inf" if math.isinf(value) else f"{value:.{digits}g}"


def _comment(lines: Iterable[str]) -> str:
    return "".join(f"# {line}".rstrip() + "\n" for line in lines)


#: Tables of a procedure spec; an emitted spec must not inherit them.
PROCEDURE_TABLES = ("search", "select", "list")


def _extends(spec: Spec, emit_path: Path) -> tuple[str | None, str | None]:
    """The nearest file up ``spec``'s ``extends`` chain that holds no search, selection or
    list (normally the suite), and the ``suite`` the nearest skipped file names (None when
    none does), as paths relative to ``emit_path``'s directory: a procedure spec may extend
    another one (``calibrate_mechanic_mini.toml`` extends ``calibrate_mechanic.toml``),
    whose ``[search]`` the emitted spec must not inherit, and may swap its workloads for
    another suite's (through ``suite``), which the emitted spec must keep."""
    from hpbench.spec.source import load_document

    own = spec.document.own if spec.document else {}
    path = Path(spec.file)
    suite = None
    while True:
        benchmark = own.get("benchmark", {})
        benchmark = benchmark if isinstance(benchmark, dict) else {}
        if suite is None and isinstance(benchmark.get("suite"), str):
            suite = os.path.relpath(
                (path.parent / benchmark["suite"]).resolve(), emit_path.resolve().parent
            )
        extends = benchmark.get("extends")
        if not isinstance(extends, str):
            return None, suite
        path = (path.parent / extends).resolve()
        own = load_document(path).own
        if not any(table in own for table in PROCEDURE_TABLES):
            return os.path.relpath(path, emit_path.resolve().parent), suite


def _sections(
    spec: Spec,
    emit_path: Path,
    name: str,
    description: str,
    algorithm: Mapping[str, Any],
    points: Sequence[Mapping[str, Any]],
    schedule: Mapping[str, Any],
    seeds: Sequence[int],
) -> str:
    """The TOML of a spec: benchmark, algorithm (and points), schedule, own workloads, run."""
    out = ["[benchmark]", f"name = {toml_value(name)}", f"description = {toml_value(description)}"]
    if spec.owner:
        out.append(f"owner = {toml_value(spec.owner)}")
    extends, suite = _extends(spec, emit_path)
    if extends:
        out.append(f"extends = {toml_value(extends)}")
    if suite:
        out.append(f"suite = {toml_value(suite)}")
    out += ["", "[algorithm]", f"name = {toml_value(spec.algorithm)}"]
    out += [f"{k} = {toml_value(v)}" for k, v in algorithm.items()]
    for i, point in enumerate(points, 1):
        out += ["", f"[[algorithm.points]]  # {i}"]
        out += [f"{k} = {toml_value(v)}" for k, v in _ordered(point).items()]
    out += ["", "[schedule]", f"shape = {toml_value(spec.schedule.shape)}"]
    out += [f"{k} = {toml_value(v)}" for k, v in schedule.items()]
    own = spec.document.own.get("workloads", {}) if spec.document else {}
    for workload, table in (own if isinstance(own, dict) else {}).items():
        out += ["", f"[workloads.{workload}]"]
        out += [f"{k} = {toml_value(v)}" for k, v in table.items()]
    out += ["", "[run]", f"seeds = {toml_value(list(seeds))}"]
    if spec.stop_at_target:
        out.append("stop_at_target = true")
    if spec.checkpoint_seconds is not None:
        out.append(f"checkpoint_seconds = {toml_value(spec.checkpoint_seconds)}")
    return "\n".join(out) + "\n"


def _ordered(point: Mapping[str, Any]) -> dict[str, Any]:
    known = [k for k in POINT_COLUMNS if k in point]
    return {k: point[k] for k in known + sorted(set(point) - set(known))}


def _today() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _search_line(cal_search: Any, spec: Spec) -> str:
    space = cal_search.space_file or "inline [search.space]"
    count = (
        f"grid, resolution {cal_search.resolution}"
        if cal_search.method == "grid"
        else f"{cal_search.method}, {cal_search.points} points, sequence seed {cal_search.seed}"
    )
    return f"search: {count}, space {space}; training seeds {list(spec.seeds)}"


# --- calibration ---------------------------------------------------------------------------


def calibrated_spec(cal: SpecCalibration, pool: int, emit_path: Path, command: str) -> str:
    """The calibrated spec of one algorithm, its provenance in comments."""
    spec, chosen = cal.spec, cal.chosen
    hyper = {k: v for k, v in chosen.point.items() if k not in SCHEDULE_KEYS}
    header = [
        f"{spec.algorithm} calibrated by `{command}`",
        f"on {_today()} (hpbench {hpbench.__version__}), from {spec.file}.",
        "",
        "Procedure (the lr-free paper, Section 3.2): per horizon, the search's points on every",
        f"workload; the top {cal.select.top_k} by single-point C_tau (tau {cal.select.tau:g}) "
        f"re-run with seeds {list(cal.select.seeds)};",
        f"all {pool} candidates of all calibrated specs scored together (AlgoPerf benchmark",
        "score, steps); the best per horizon below, the best of them written here.",
        _search_line(cal.search, spec),
        "",
        "horizon  point  search C_tau  benchmark score  on the search's seeds",
    ]
    for candidate in cal.candidates:
        mark = (
            "  <- chosen"
            if candidate is chosen
            else ("  (best at this horizon)" if cal.best[candidate.horizon] is candidate else "")
        )
        header.append(
            f"{candidate.horizon:<8g} {candidate.index + 1:>5}  {candidate.search_cost:>12.4f}"
            f"  {candidate.score:>15.4f}  {candidate.search_score:>20.4f}{mark}"
        )
    header += textwrap.wrap(_seed_check(cal), 92)
    body = _sections(
        spec,
        emit_path,
        name=emit_path.stem,
        description=f"{spec.algorithm} with hyperparameters calibrated by hpbench calibrate.",
        algorithm={**spec.hyperparameters, **hyper},
        points=(),
        schedule={
            "warmup": chosen.point.get("warmup", spec.schedule.warmup),
            "horizon": chosen.horizon,
        },
        seeds=cal.select.seeds,
    )
    return _comment(header) + "\n" + body


def calibration_report(calibration: Calibration, command: str) -> str:
    """Markdown: what was run (``command``, each spec's search and selection), every
    candidate's benchmark score with its normalised time per workload (the lr-free paper's
    Table 6 layout), best validation metric per workload (Table 5), and its hyperparameters
    and seeds."""
    scores = calibration.scores
    workloads = calibration.workloads
    algorithms = ", ".join(sc.spec.algorithm or "?" for sc in calibration.specs)
    lines = [
        f"# Calibration of {algorithms}",
        "",
        f"`{command}` on {_today()} (hpbench {hpbench.__version__}). Per spec: the search's",
        "points on every workload at each horizon, the top k by single-point C_tau re-run",
        "with fresh seeds; every candidate of every spec scored together (AlgoPerf benchmark",
        "score, times in steps).",
        "",
    ]
    for sc in calibration.specs:
        horizons = ", ".join(f"{c:g}" for c in sorted(sc.best))
        lines.append(
            f"- {sc.spec.file}: {_search_line(sc.search, sc.spec)}; horizons {horizons}; "
            f"top {sc.select.top_k} re-run with seeds {list(sc.select.seeds)}"
        )
    lines += [
        "",
        "A seed check (not part of the procedure): the same choice made from the candidates'",
        "search trials, scored together in their own pool, instead of from their re-runs (and",
        "with several re-run seeds, from each seed's re-runs alone).",
        "",
        *(f"- {_seed_check(sc)}" for sc in calibration.specs),
    ]
    names = " | ".join(workloads)
    rule = "|---|---:|" + "---:|" * len(workloads)
    lines += [
        "",
        "## Benchmark score and normalised time to target",
        "",
        f"| candidate | score | on the search's seeds | {names} |",
        rule + "---:|",
    ]
    rows = [c for sc in calibration.specs for c in sc.candidates]
    for c in sorted(rows, key=lambda c: -c.score):
        mark = " **(chosen)**" if any(c is sc.chosen for sc in calibration.specs) else ""
        cells = [_number(_field(scores, c.label, w, "normalized_time"), 3) for w in workloads]
        lines.append(
            f"| {c.label}{mark} | {c.score:.4f} | {c.search_score:.4f} | "
            + " | ".join(cells)
            + " |"
        )
    lines += [
        "",
        "## Best validation metric (median over seeds)",
        "",
        f"| candidate | search C_tau | {names} |",
        rule,
    ]
    for c in rows:
        cells = [_number(_field(scores, c.label, w, "best_metric")) for w in workloads]
        lines.append(f"| {c.label} | {c.search_cost:.4f} | " + " | ".join(cells) + " |")
    keys = list(_ordered({k: None for c in rows for k in c.point}))
    lines += [
        "",
        "## The candidates' hyperparameters and seeds",
        "",
        "| candidate | " + " | ".join(keys) + " | re-run seeds |",
        "|---|" + "---:|" * (len(keys) + 1),
    ]
    for c in rows:
        cells = [toml_value(c.point[k]) if k in c.point else "-" for k in keys]
        seeds = sorted({t.seed for t in c.trials})
        lines.append(f"| {c.label} | " + " | ".join(cells) + f" | {toml_value(seeds)} |")
    return "\n".join(lines) + "\n"


def _seed_check(cal: SpecCalibration) -> str:
    """Whether the search's seeds alone would choose the calibrated point: when they would
    not, the point rests on the re-run seeds' draw, and the sentence says so."""
    chosen, other = cal.chosen, cal.chosen_by_search
    seeds = f"the search's seeds {list(cal.spec.seeds)}"
    if other is chosen:
        sentence = f"{cal.spec.name}: {seeds} choose the same point ({chosen.label})."
    else:
        sentence = (
            f"{cal.spec.name}: {seeds} would choose {other.label} (score there "
            f"{other.search_score:.4f} against {chosen.search_score:.4f}), not {chosen.label}: "
            "the calibrated point rests on the re-run seeds' draw."
        )
    return sentence + _per_seed(cal)


def _per_seed(cal: SpecCalibration) -> str:
    """With several re-run seeds, the point each of them alone would choose, and how many
    agree with the calibrated point (the median over them)."""
    if not cal.chosen_by_seed:
        return ""
    picks = ", ".join(f"seed {seed} {c.point_label}" for seed, c in cal.chosen_by_seed.items())
    return (
        f" Each re-run seed alone (its trials scored in their own pool) chooses: {picks}; "
        f"{cal.seeds_agreeing} of {len(cal.chosen_by_seed)} agree with the calibrated point."
    )


def _field(scores: Any, label: str, workload: str, field: str) -> float:
    row = scores.row(label, workload)
    return float("nan") if row is None else getattr(row, field)


# --- lists ---------------------------------------------------------------------------------


def list_spec(built: BuiltList, emit_path: Path, command: str) -> str:
    """The list as a spec that runs it (the form of ``specs/nadamw_list5.toml``)."""
    spec = built.spec
    header = [
        f"A {built.settings.size}-point {spec.algorithm} list built by `{command}`",
        f"on {_today()} (hpbench {hpbench.__version__}), from {spec.file}.",
        "",
        "Greedy by C_tau (the NAdamW-list paper's Algorithm 1), in priority order: its first k",
        "points are its best k-list. A list is tried point by point; its time to target on a",
        "workload is the earliest over its points. Step fractions: median over the seeds.",
        _search_line(built.search, spec),
        f"workloads: {', '.join(built.table.workloads)}; tau {built.settings.tau:g}",
        "",
        "k  point  C_tau of the first k",
    ]
    for k, (index, cost) in enumerate(zip(built.order, built.prefix_costs, strict=True), 1):
        header.append(f"{k:<2} {index + 1:>5}  {cost:.4f}")
    if built.best_subset is not None:
        subset = ", ".join(str(i + 1) for i in built.best_subset)
        header.append(
            f"exhaustive best subset (comparison only): points {subset}, "
            f"C_tau {built.best_subset_cost:.4f}"
        )
    body = _sections(
        spec,
        emit_path,
        name=emit_path.stem,
        description=f"A greedy {built.settings.size}-point {spec.algorithm} list.",
        algorithm=spec.hyperparameters,
        points=built.points(),
        schedule={"warmup": spec.schedule.warmup, "horizon": spec.schedule.horizon},
        seeds=spec.seeds,
    )
    return _comment(header) + "\n" + body


def list_report(built: BuiltList, command: str) -> str:
    """Markdown: what was run (``command``, the search), step fractions per workload (the
    NAdamW-list paper's Table 9 layout), the leave-one-workload-out folds, and the list's
    points (its Table 10 layout)."""
    table, size = built.table, built.settings.size
    workloads = table.workloads
    column = {w: j for j, w in enumerate(workloads)}
    full = [min(table.fractions[i, column[w]] for i in built.order) for w in workloads]
    spec = built.spec
    lines = [
        f"# A greedy {size}-point {spec.algorithm} list",
        "",
        f"`{command}` on {_today()} (hpbench {hpbench.__version__}), from {spec.file}:",
        f"{_search_line(built.search, spec)}; horizon {spec.schedule.horizon:.4g}; "
        f"tau {built.settings.tau:g}. Greedy by C_tau (the NAdamW-list paper's Algorithm 1);",
        "a step fraction is the median over seeds of a point's, and a list's is the earliest",
        "over its points.",
        "",
        "## Step fractions to hit targets (median over seeds; inf: missed)",
        "",
        "| list | " + " | ".join(workloads) + " |",
        "|---|" + "---:|" * len(workloads),
        f"| greedy {size}-point list | " + " | ".join(_number(x) for x in full) + " |",
    ]
    if built.held_out:
        held = {table.workloads[f.workload]: f for f in built.held_out}
        lines.append(
            f"| leave-one-workload-out {size}-point list | "
            + " | ".join(_number(held[w].step_fraction) for w in workloads)
            + " |"
        )
    if built.best_subset is not None:
        best = [min(table.fractions[i, column[w]] for i in built.best_subset) for w in workloads]
        lines.append(
            f"| best {size}-subset (exhaustive) | " + " | ".join(_number(x) for x in best) + " |"
        )
    if built.held_out:
        lines += [
            "",
            "## Leave-one-workload-out",
            "",
            "| held-out workload | list built on the others | step fraction | best metric |",
            "|---|---|---:|---:|",
        ]
        for fold in built.held_out:
            points = ", ".join(str(i + 1) for i in fold.points)
            lines.append(
                f"| {workloads[fold.workload]} | {points} | {_number(fold.step_fraction)} "
                f"| {_number(fold.best_metric)} |"
            )
    keys = list(_ordered({k: None for p in built.points() for k in p}))
    lines += [
        "",
        "## The list's points in priority order",
        "",
        "| id | point | " + " | ".join(keys) + " | C_tau of the first k |",
        "|---|---:|" + "---:|" * (len(keys) + 1),
    ]
    for k, (index, cost) in enumerate(zip(built.order, built.prefix_costs, strict=True), 1):
        point = built.spec.points[index]
        cells = [toml_value(point[key]) if key in point else "-" for key in keys]
        lines.append(f"| {k} | {index + 1} | " + " | ".join(cells) + f" | {cost:.4f} |")
    return "\n".join(lines) + "\n"

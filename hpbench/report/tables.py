"""The report's tables as plain rows of text, laid out as the papers lay them out.

Both formats render these same tables (Markdown and HTML templates only decide how), so
the two can never disagree. Layouts: best validation metric per algorithm and workload
(lr-free paper, Tables 4-5), benchmark score with per-workload normalised times (its
Table 6), list points and their step fractions (NAdamW-list paper, Tables 10 and 9).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import attrs

from hpbench.report.data import (
    SUMMARY_OUTCOMES,
    UNFINISHED,
    Column,
    Entry,
    Report,
    unfinished_text,
)
from hpbench.scoring import ScoreRow, prefix_costs

MISSED = "∞"
NOT_RUN_TEXT = "n/a"
ARROWS = {"min": "↓", "max": "↑"}
#: Problem rows shown in full; the rest are counted.
MAX_PROBLEMS = 50


@attrs.frozen
class Cell:
    """One table cell: its text, and whether it is emphasised (a reached target, the best)."""

    text: str
    strong: bool = False


@attrs.frozen
class Table:
    """A table: header rows, body rows, the first column being row labels, and a note."""

    header: tuple[tuple[str, ...], ...]
    rows: tuple[tuple[Cell, ...], ...]
    note: str = ""
    numeric: bool = True  # right-align the columns after the first


def fmt_number(value: float, digits: int = 3) -> str:
    """A time or score: fixed decimals; inf as ∞ (missed); NaN as n/a (nothing run)."""
    if math.isnan(value):
        return NOT_RUN_TEXT
    if math.isinf(value):
        return MISSED
    return f"{value:.{digits}f}"


def fmt_metric(value: float) -> str:
    """A metric as the papers print it: four significant digits (0.1235, 0.722, 29.64)."""
    if math.isnan(value):
        return NOT_RUN_TEXT
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def fmt_value(value: object) -> str:
    """A hyperparameter value, with full precision (a published list is copied from here)."""
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _workload_header(
    columns: Sequence[Column], first: str, with_metric: bool = True
) -> tuple[tuple[str, ...], ...]:
    rows = [
        (first, *(c.workload for c in columns)),
        ("", *("" if c.variant == "base" else f"+ {c.variant}" for c in columns)),
    ]
    if with_metric:
        rows.append(("Metric", *(f"{c.metric} {ARROWS[c.direction]}" for c in columns)))
    if not any(rows[1][1:]):
        del rows[1]
    return tuple(rows)


def _reached(row: ScoreRow | None) -> bool:
    return row is not None and math.isfinite(row.steps)


def best_metric_table(report: Report) -> Table:
    """Best validation metric per spec and workload; targets reached are emphasised."""
    header = (
        *_workload_header(report.columns, "Algorithm"),
        ("Target", *(f"{c.target:g}" for c in report.columns)),
    )
    rows = []
    for entry in report.entries:
        cells = [report.row(entry, c) for c in report.columns]
        rows.append(
            (
                Cell(entry.label),
                *(
                    Cell(fmt_metric(r.best_metric if r else math.nan), strong=_reached(r))
                    for r in cells
                ),
            )
        )
    note = (
        "Median over seeds of each seed's best value (best over a spec's points); "
        f"bold: the target is reached; {NOT_RUN_TEXT}: not run."
    )
    return Table(header=header, rows=tuple(rows), note=note)


def _interval(low: float, high: float, digits: int = 3) -> str:
    return f"{fmt_number(low, digits)}–{fmt_number(high, digits)}"


def score_table(report: Report) -> Table:
    """Benchmark score (with its bootstrap interval over seeds), best first, with each
    workload's time as a fraction of its budget."""
    spread = report.spread
    ci = [f"{spread.confidence:.0%} CI"] if spread else []
    first, *rest = _workload_header(report.columns, "Algorithm", with_metric=False)
    units = ("", "", *([""] * len(ci)), "", *("t / max_steps" for _ in report.columns))
    header = (
        (first[0], "Score", *ci, "Reached", *first[1:]),
        *((r[0], "", *([""] * len(ci)), "", *r[1:]) for r in rest),
        units,
    )
    scored = [report.score(e) for e in report.entries if not math.isnan(report.score(e))]
    best = max(scored, default=math.nan)
    rows = []
    for entry in report.ranking:
        fractions = [
            r.steps / c.max_steps if (r := report.row(entry, c)) else math.nan
            for c in report.columns
        ]
        rows.append(
            (
                Cell(entry.label),
                Cell(fmt_number(report.score(entry)), strong=report.score(entry) == best),
                *(
                    [
                        Cell(
                            _interval(*spread.score[entry.label])
                            if entry.label in spread.score
                            else NOT_RUN_TEXT
                        )
                    ]
                    if spread
                    else []
                ),
                Cell(_reached_text(report, entry)),
                *(Cell(fmt_number(f)) for f in fractions),
            )
        )
    note = (
        "Score: area under the performance profile for tau in [1, 4], normalised "
        f"({report.integral} integral, times in {report.scores.time}), as AlgoPerf computes "
        "it (docs/scoring.md). "
        + (
            f"CI: {spread.confidence:.0%} percentile bootstrap interval of the score over "
            f"{spread.resamples} resamples of the seeds (RNG seed {spread.rng_seed}). "
            if spread
            else ""
        )
        + "Workload columns: median time to target as a fraction of the workload's step budget "
        f"(max_steps); {MISSED}: missed; {NOT_RUN_TEXT}: not run."
    )
    return Table(header=header, rows=tuple(rows), note=note)


def _reached_text(report: Report, entry: Entry) -> str:
    """ "1/2", or "1/2, 2 pending" while trials of the entry are not final."""
    reached = f"{report.reached(entry)}/{len(report.columns)}"
    open_ = unfinished_text({o: n for o, n in entry.outcomes.items() if o in UNFINISHED})
    return f"{reached}, {open_}" if open_ else reached


def spread_table(report: Report) -> Table | None:
    """Per entry and workload: seeds, the median step fraction t/T (T: the horizon in
    steps), its min-max over seeds and its bootstrap interval."""
    spread = report.spread
    if spread is None:
        return None
    ci = f"{spread.confidence:.0%} CI of the median"
    header = (("Algorithm", "Workload", "Seeds", "Median t/T", "Min–max over seeds", ci),)
    rows = []
    for entry in report.entries:
        for column in report.columns:
            row = report.row(entry, column)
            found = spread.row(entry.label, column.key)
            if row is None or found is None:
                continue
            rows.append(
                (
                    Cell(entry.label),
                    Cell(column.key),
                    Cell(str(found.seeds)),
                    Cell(fmt_number(row.step_fraction)),
                    Cell(_interval(found.low, found.high)),
                    Cell(_interval(*found.interval)),
                )
            )
    note = (
        "t/T: the first step reaching the target over the horizon T; a seed's value is its "
        f"fastest trial; {MISSED}: missed. CI: percentile bootstrap over {spread.resamples} "
        f"resamples of each row's seeds (with replacement, RNG seed {spread.rng_seed}); with "
        "one seed the interval is that seed's value."
    )
    return Table(header=header, rows=tuple(rows), note=note)


def workloads_table(report: Report) -> Table:
    """Each workload's size, budget, batch size, metric and target, and the targets'
    version each spec declares; a variant column where a workload trains on a data variant
    or a widened model."""
    variants = any(c.data_variant for c in report.columns)
    data = ("Variant",) if variants else ()
    header = (("Workload", "Size", *data, "Max steps", "Batch size", "Metric", "Target"),)
    rows = tuple(
        (
            Cell(c.key),
            Cell(c.size),
            *((Cell(c.data_variant or "as registered"),) if variants else ()),
            Cell(str(c.max_steps)),
            Cell(str(c.batch_size)),
            Cell(f"{c.metric} {ARROWS[c.direction]}"),
            Cell(f"{c.target:g}"),
        )
        for c in report.columns
    )
    versions = dict.fromkeys(f"{e.spec}: {e.targets_version}" for e in report.entries)
    note = "Targets version (as each spec's suite names it): " + "; ".join(versions) + "."
    return Table(header=header, rows=rows, note=note, numeric=False)


def hyperparameter_table(entries: Sequence[Entry]) -> Table:
    """The points of one spec's entries in spec order (a list's: its priority order), one
    column per hyperparameter (Table 10 layout); a row is named by its point's index, or by
    its entry when the spec has an entry per point."""
    points = [(e, p) for e in entries for p in e.points]
    names = sorted({name for _, p in points for name in p.hyperparameters})
    options = sorted({name for _, p in points for name in p.options})
    per_point = len(entries) > 1
    first = "Entry" if per_point else "Id"
    header = ((first, "Algorithm", *names, "Schedule", "Warmup", "Horizon", *options),)
    rows = tuple(
        (
            Cell(e.label if per_point else str(p.index)),
            Cell(p.algorithm),
            *(Cell(fmt_value(p.hyperparameters.get(n, ""))) for n in names),
            Cell(p.schedule),
            Cell(fmt_value(p.warmup)),
            Cell(fmt_value(p.horizon)),
            *(Cell(fmt_value(p.options.get(n, ""))) for n in options),
        )
        for e, p in points
    )
    return Table(header=header, rows=rows)


def list_table(report: Report, entry: Entry) -> Table:
    """Step fractions t/T of the list's first k points per workload, and the list cost
    C_tau (Table 9 layout, a row per prefix: a greedy list's first k points are its k-list)."""
    first, *rest = _workload_header(report.columns, "List", with_metric=False)
    units = ("", *("t / T (horizon)" for _ in report.columns), "")  # which fraction
    header = ((*first, f"C_tau (tau={report.tau:g})"), *((*r, "") for r in rest), units)
    best, costs = prefix_costs(report.fractions(entry), report.tau)
    rows = [
        (
            Cell(f"first {k} point{'s' if k > 1 else ''}"),
            *(Cell(fmt_number(f)) for f in best[k - 1].tolist()),
            Cell(fmt_number(cost)),
        )
        for k, cost in enumerate(costs.tolist(), start=1)
    ]
    note = (
        "Step fraction: the first step reaching the target over the horizon T (median over "
        f"seeds), minimum over the list's first k points; {MISSED}: missed. C_tau: geometric "
        f"mean over workloads of min(fraction, tau)."
    )
    return Table(header=header, rows=tuple(rows), note=note)


def summary_table(report: Report) -> Table:
    """Trials per spec by outcome."""
    header = (("Algorithm", *SUMMARY_OUTCOMES, "total"),)
    rows = tuple(
        (
            Cell(entry.label),
            *(
                Cell(str(entry.outcomes[o]), strong=o == "reached" and entry.outcomes[o] > 0)
                for o in SUMMARY_OUTCOMES
            ),
            Cell(str(sum(entry.outcomes.values()))),
        )
        for entry in report.entries
    )
    return Table(
        header=header,
        rows=rows,
        note="A trial that reached its target and diverged later counts as reached.",
    )


def problems_table(report: Report) -> Table | None:
    """Trials that diverged, failed or did not finish, with the reason."""
    if not report.problems:
        return None
    shown = report.problems[:MAX_PROBLEMS]
    header = (("Algorithm", "Workload", "Point", "Seed", "Outcome", "Step", "Reason", "Trial"),)
    rows = tuple(
        (
            Cell(p.label),
            Cell(p.workload),
            Cell(str(p.point)),
            Cell(str(p.seed)),
            Cell(p.outcome),
            Cell(str(p.step)),
            Cell(p.reason),
            Cell(p.trial_id),
        )
        for p in shown
    )
    hidden = len(report.problems) - len(shown)
    return Table(
        header=header, rows=rows, note=f"and {hidden} more" if hidden else "", numeric=False
    )


def provenance_table(report: Report) -> Table:
    """Versions, commit, devices, date, and each spec's hashes."""
    prov = report.provenance
    rows = [
        ("hpbench version", prov.hpbench_version),
        ("JAX version", prov.jax_version),
        ("git commit", prov.git_commit),
        ("devices", ", ".join(prov.devices) or f"not recorded; rendered on {prov.rendered_on}"),
        ("trained on", "; ".join(prov.hosts) or "not recorded"),
        ("trained with", "; ".join(prov.trained_with) or "not recorded"),
        ("date (UTC)", prov.date),
        *(
            (f"targets version ({spec})", version)
            for spec, version in dict.fromkeys((e.spec, e.targets_version) for e in report.entries)
        ),
        *(
            (
                f"spec {s.label}",
                f"{s.path} (file sha256 {s.file_sha256}, plan sha256 {s.plan_sha256})",
            )
            for s in prov.specs
        ),
    ]
    return Table(
        header=(("Item", "Value"),), rows=tuple((Cell(k), Cell(v)) for k, v in rows), numeric=False
    )

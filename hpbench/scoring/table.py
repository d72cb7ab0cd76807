"""The scores as a rich table, for ``hpbench score`` (one row per algorithm label)."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
from rich.table import Table

from hpbench.scoring.scores import Scores


def _ratio(value: float) -> str:
    if math.isnan(value):
        return "-"
    return "inf" if math.isinf(value) else f"{value:.2f}"


def scores_table(scores: Scores, unfinished: Mapping[str, str] | None = None) -> Table:
    """Benchmark score, base workloads reached (finite median time) and the normalised time
    per base workload (inf: missed, cut off at 4x or gated by a variant), best score first
    (the lr-free paper's Table 6 layout). ``unfinished``: label -> its trials that are not
    final ("2 pending"), shown in their own column: such a score is provisional."""
    unfinished = {k: v for k, v in (unfinished or {}).items() if v}
    table = Table(title=f"Benchmark scores (time to target in {scores.time})")
    table.add_column("algorithm")
    table.add_column("score", justify="right")
    table.add_column("reached", justify="right")
    if unfinished:
        table.add_column("not final")
    for workload in scores.base_workloads:
        table.add_column(workload, justify="right")
    ratios = scores.matrix("normalized_time", scores.base_workloads)
    times = scores.matrix(scores.time, scores.base_workloads)
    order = sorted(range(len(scores.labels)), key=lambda i: -scores.benchmark[scores.labels[i]])
    for i in order:
        label = scores.labels[i]
        reached = int(np.isfinite(times[i]).sum())
        table.add_row(
            label,
            f"{scores.benchmark[label]:.4f}",
            f"{reached}/{len(scores.base_workloads)}",
            *([unfinished.get(label, "")] if unfinished else []),
            *(_ratio(r) for r in ratios[i]),
        )
    return table

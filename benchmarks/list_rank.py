"""Where a hyperparameter list's points fall in each mini workload's broad-space landscape:
issue 17, item 2 wants the published NAdamW list's points in the good region of most mini
workloads.

Reads the best validation metric of every point of a broad search (``specs/hardness_graded.toml``:
200 points, seed 0, horizon 1/3) and of every point of a list trained at the same horizon
(``specs/nadamw_list5.toml``: the published list, Table 10, seed 0), and prints per workload
and seed both train the list's best point, how many search points of that seed do better (its
rank among them, as a share), and whether it and how many search points reach the target.
Points compare within a seed: on the mini suite a seed's luck moves every point together. At
full size the published list was built on these workloads (Table 9 is in-sample), so its
points are among their best by construction; on the mini suite the rank says whether a list
built elsewhere lands in the mini landscape's good region, and the target says how far into it
a point must be.
``python -m benchmarks.list_rank [--search SPEC] [--list SPEC] [--results DIR]``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path

import attrs

import hpbench
from benchmarks import parser
from benchmarks.bench_hardness import finished
from hpbench.direction import beats
from hpbench.plan import Target, Trial
from hpbench.results.records import TrialResult

ROOT = Path(__file__).resolve().parent.parent


@attrs.frozen
class Rank:
    """A list's best point on one workload, placed among a search's points."""

    workload: str
    seed: int  # the seed both the list's and the search's points trained with
    target: Target
    search: tuple[float, ...]  # every finished search point's best metric
    best: float  # the list's best point's best metric
    learning_rate: float  # that point's learning rate

    @property
    def better(self) -> int:
        """Search points strictly better than the list's best point."""
        return sum(beats(v, self.best, self.target.direction) for v in self.search)

    @property
    def reaching(self) -> int:
        """Search points that reach the target."""
        return sum(map(self.target.reached, self.search))

    @property
    def list_reaches(self) -> bool:
        return self.target.reached(self.best)


def best_metrics(trials: list[Trial], results: Mapping[str, TrialResult]) -> dict[str, list]:
    """Per workload, (trial, best metric) of each finished trial with a finite best metric
    (a run that diverged before its first evaluation has none)."""
    out: dict[str, list] = {}
    for trial, score in finished(trials, results):
        if score.best_metric is not None and math.isfinite(score.best_metric):
            out.setdefault(trial.workload, []).append((trial, score.best_metric))
    return out


def ranks(search: Path, listed: Path, results: Path) -> list[Rank]:
    """The list's best point per workload and seed against the search's points of that seed,
    for every seed both specs train; both must train one horizon, the same (a seed's luck moves
    every point of a workload together, so points compare within a seed only)."""
    plans = hpbench.plan(search), hpbench.plan(listed)
    horizons = [{t.horizon for t in p.trials} for p in plans]
    seeds = sorted({t.seed for t in plans[0].trials} & {t.seed for t in plans[1].trials})
    if len(horizons[0]) != 1 or horizons[0] != horizons[1] or not seeds:
        raise ValueError(
            f"{search} and {listed} must train one horizon, the same, and a seed in common: "
            f"horizons {sorted(horizons[0])} and {sorted(horizons[1])}"
        )
    store = hpbench.Results(results)
    found = [best_metrics(list(p.trials), store.of(p)) for p in plans]
    out = []
    for workload, seed in itertools.product(sorted(found[1]), seeds):
        listed_here = [(t, v) for t, v in found[1][workload] if t.seed == seed]
        search_here = tuple(v for t, v in found[0].get(workload, []) if t.seed == seed)
        if not listed_here or not search_here:
            continue
        target = listed_here[0][0].target
        best = target.best(v for _, v in listed_here)
        trial = next(t for t, v in listed_here if v == best)
        out.append(
            Rank(
                workload=workload,
                seed=seed,
                target=target,
                search=search_here,
                best=best,
                learning_rate=dict(trial.hyperparameters)["learning_rate"],
            )
        )
    return out


def markdown(rows: list[Rank]) -> str:
    """One row per workload and seed: the list's best point, its rank among the search's
    points of that seed and both against the target."""
    lines = [
        "| workload | seed | target | list's best (lr) | reaches | search points better | "
        "share better | search points reaching |",
        "|---|---:|---:|---|---|---:|---:|---:|",
    ]
    for r in rows:
        n = len(r.search)
        share = f"{r.better / n:.1%}"
        lines.append(
            f"| {r.workload} | {r.seed} | {r.target.value:.4g} | "
            f"{r.best:.4g} ({r.learning_rate:.2g}) | "
            f"{'yes' if r.list_reaches else 'no'} | {r.better} of {n} | {share} | "
            f"{r.reaching} of {n} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    options = parser(__doc__)
    options.add_argument("--search", default=str(ROOT / "specs" / "hardness_graded.toml"))
    options.add_argument("--list", default=str(ROOT / "specs" / "nadamw_list5.toml"))
    options.add_argument("--results", default="results")
    args = options.parse_args(argv)
    print(markdown(ranks(Path(args.search), Path(args.list), Path(args.results))))


if __name__ == "__main__":
    main()

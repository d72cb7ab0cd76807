"""Scoring 10,000 synthetic trials (20 evaluations each): the budget is 10 s with rendering.

25 algorithm points x 16 workloads (8 base + 8 held-out variants) x 5 seeds x 5 trials per
seed; metrics fall along noisy power laws, so about half the trials reach their targets.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import numpy as np

from benchmarks import parser
from hpbench.plan import Target, Trial
from hpbench.results.records import EvalRecord, Status, TrialResult
from hpbench.scoring import greedy_list, score_results, scores_table

WORKLOADS = [f"w{i}" for i in range(8)]
EVALS = 20


def synthetic_results(points: int = 25, seeds: int = 5, per_seed: int = 5) -> list[TrialResult]:
    """``points * 16 * seeds * per_seed`` trial results with a min-metric target of 0.5."""
    rng = np.random.default_rng(0)
    target = Target("error_rate", 0.5, "min")
    results = []
    for point in range(points):
        for workload in WORKLOADS:
            for variant in ("base", "v"):
                for seed in range(seeds):
                    for k in range(per_seed):
                        rate = rng.uniform(0.2, 1.5)
                        steps = np.arange(1, EVALS + 1) * 50
                        values = 1.5 * (steps / 50.0) ** -rate + rng.normal(0, 0.02, EVALS)
                        trial = Trial(
                            workload=workload,
                            size="mini",
                            variant=variant,
                            algorithm=f"algo{point % 5}",
                            hyperparameters={"learning_rate": 1e-3 * (1 + point), "k": k},
                            schedule="warmup_cosine",
                            warmup=0.05,
                            horizon=1.0,
                            max_steps=1000,
                            batch_size=32,
                            seed=seed,
                            eval_every=50,
                            target=target,
                        )
                        evals = tuple(
                            EvalRecord(int(s), 0.01 * s, 1.0, {"error_rate": float(v)})
                            for s, v in zip(steps, values, strict=True)
                        )
                        results.append(TrialResult(trial, evals, Status(state="done")))
    return results


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    start = time.perf_counter()
    results = synthetic_results()
    built = time.perf_counter() - start
    labels = {r.id: f"{r.trial.algorithm}-{r.trial.params['learning_rate']:.3g}" for r in results}

    start = time.perf_counter()
    scores = score_results(results, labels)
    scored = time.perf_counter() - start

    start = time.perf_counter()
    score_results(dict(zip(labels, results, strict=True)), labels)  # ids already known
    scored_by_id = time.perf_counter() - start

    start = time.perf_counter()
    fractions = scores.matrix("step_fraction", scores.base_workloads)
    greedy_list(fractions, 5)
    table = scores_table(scores)
    extras = time.perf_counter() - start

    reached = sum(s.outcome == "reached" for s in scores.trials.values())
    print(
        f"{len(results)} trials ({reached} reached), {len(scores.labels)} labels, "
        f"{len(scores.workloads)} workloads, {len(table.rows)} table rows"
    )
    print(f"build synthetic results: {built:.2f} s (not part of the budget)")
    print(f"score_results:           {scored:.2f} s (list of results: hashes every trial)")
    print(f"score_results by id:     {scored_by_id:.2f} s (mapping trial id -> result)")
    print(f"matrix + greedy + table: {extras:.3f} s")
    print(f"total scoring:           {scored + extras:.2f} s (budget 10 s, with rendering)")


if __name__ == "__main__":
    main(sys.argv[1:])

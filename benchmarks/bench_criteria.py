"""Is each mini workload a graded benchmark? Issue 17's criteria from real training curves.

For a workload as the suite file sets it (size, steps, batch, data variant), trains the
target search's best NAdamW point (read from the suite file's targets provenance) for the
full budget and at the target-setting horizon (a quarter) with several seeds, and naive Adam
(Optax defaults, constant 1e-3) with seed 0; evaluates every 2% of ``max_steps`` from step 0
and prints:

- plateau: steps before the metric first moves 10% of the way from its start to its best,
  as a share of the horizon (a stall at chance; wanted < 0.2);
- jump: the largest change between two evaluations as a share of that range (wanted small:
  no leap from chance to ceiling);
- late gain: best at the full budget minus best within its first quarter, as a share of
  the range (wanted clearly > 0: the metric keeps improving with 4x the steps);
- target position: (target - start) / (full-budget best - start) (wanted well inside 0..1);
- spread / gap: max - min over seeds of the quarter-horizon best metric, over the gap from
  naive Adam's best to the target, signed: negative when naive Adam reaches the target
  (wanted between 0 and 1/3).

``python -m benchmarks.bench_criteria wmt imagenet_vit --seeds 5``; record the table in
``benchmarks/workloads.md`` with the machine and its load.
"""

from __future__ import annotations

import os
import re
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser
from hpbench.direction import best_of, sign

SUITE = Path(__file__).resolve().parent.parent / "specs" / "suites" / "algoperf_mini.toml"
NAIVE_ADAM = {
    "learning_rate": 1e-3,
    "beta1": 0.9,
    "beta2": 0.999,
    "eps": 1e-8,
    "weight_decay": 0.0,
}


def suite_targets(path: Path = SUITE) -> dict[str, tuple[float, dict[str, float]]]:
    """Per workload, the target value and the winning NAdamW point from the provenance
    block that ``hpbench targets --write`` puts into the suite file."""
    found = {}
    pattern = re.compile(r"#\s+(\w+): \w+ (\S+) \(median .*best of \d+ points: (.*)\)$")
    for line in path.read_text().splitlines():
        match = pattern.match(line)
        if match:
            point = dict(pair.split("=") for pair in match.group(3).split(", "))
            found[match.group(1)] = (float(match.group(2)), {k: float(v) for k, v in point.items()})
    return found


def curve(
    workload,
    max_steps: int,
    algorithm: str,
    hp: dict,
    shape: str,
    warmup: float,
    horizon: int,
    seed: int,
):
    """(steps, metric values) of one run: ``horizon`` steps, evaluated every 2% of
    ``max_steps`` and at step 0, with hpbench's optimizer and relative schedule."""
    every = max(1, round(0.02 * max_steps))
    steps, values, _, _ = train(workload, algorithm, hp, shape, warmup, horizon, seed, every)
    return steps, values


def train(
    workload,
    algorithm: str,
    hp: dict,
    shape: str,
    warmup: float,
    horizon: int,
    seed: int,
    every: int | None = None,
    data_seed: int | None = None,
    evaluate=None,
):
    """(steps, metric values, params, model state) of one run of ``horizon`` steps,
    evaluated at step 0, every ``every`` steps and at the end (None: at the end only), by
    ``evaluate(params, model state)`` (default: the workload's metric on its validation split).
    ``seed`` draws the initial parameters; ``data_seed`` (None: ``seed``) the batches and each
    step's randomness (dropout, augmentation). Both with the engine's keys
    (:class:`hpbench.train.program.Program`), so with ``data_seed`` None a run draws what the
    engine's trial of that seed draws (since 2026-12-06; before, other keys). It is another
    compiled program, though: over thousands of steps rounding moves the two apart by about
    the seeds' own spread, as two packs of the engine do."""
    import jax
    import jax.numpy as jnp
    import optax

    from hpbench.algorithms.build import build_optimizer
    from hpbench.schedules import relative_schedule

    hp = dict(hp)
    dropout = hp.pop("dropout", 0.0)
    smoothing = hp.pop("label_smoothing", 0.0)
    tx = build_optimizer(algorithm, hp, relative_schedule(shape, warmup, horizon))
    data_seed = seed if data_seed is None else data_seed
    params, state = workload.init(jax.random.fold_in(jax.random.key(seed), 0))
    step_key = jax.random.fold_in(jax.random.key(data_seed), 1)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, state, opt_state, batch, rng):
        def loss_fn(p):
            return workload.loss(
                p, state, batch, rng, dropout=dropout, label_smoothing=jnp.float32(smoothing)
            )

        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params, value=loss)
        return optax.apply_updates(params, updates), state, opt_state

    metric = workload.info.metric
    if evaluate is None:

        def evaluate(params, state):
            return workload.evaluate(params, state)[metric]

    steps, values = [], []
    if every:
        steps, values = [0], [evaluate(params, state)]
    for i in range(horizon):
        rng = jax.random.fold_in(step_key, i)
        batch = workload.batch(data_seed, i)
        params, state, opt_state = step(params, state, opt_state, batch, rng)
        if (every and (i + 1) % every == 0) or i + 1 == horizon:
            steps.append(i + 1)
            values.append(evaluate(params, state))
    return steps, values, params, state


def suite_workload(name: str, suite: Path = SUITE, train_rows: bool = True):
    """The workload as ``suite`` sets it (size, batch, data variant, width) and its suite
    entry; ``train_rows=False``: with the whole training split."""
    from hpbench.spec import load_spec
    from hpbench.workloads.registry import load_workload

    run = {r.name: r for r in load_spec(suite).workloads}[name]
    workload = load_workload(
        name,
        run.size,
        batch_size=run.batch_size,
        train_rows=run.train_rows if train_rows else None,
        label_noise=run.label_noise,
        width=run.width,
    )
    return workload, run


def criteria(name: str, seeds: int = 3, suite: Path = SUITE) -> dict:
    """Item 1's figures for workload ``name`` (see the module docstring)."""
    workload, run = suite_workload(name, suite)
    better = best_of(workload.info.direction)
    higher = -sign(workload.info.direction)  # > 0 when the first value is the better one
    target, point = suite_targets(suite)[name]
    warmup, point = point.pop("warmup"), {k: v for k, v in point.items() if k != "horizon"}
    full, quarter = run.max_steps, max(1, round(0.25 * run.max_steps))
    start = time.perf_counter()
    rows = []
    for seed in range(seeds):
        steps, values = curve(workload, full, "nadamw", point, "warmup_cosine", warmup, full, seed)
        _, q_values = curve(workload, full, "nadamw", point, "warmup_cosine", warmup, quarter, seed)
        best = better(values)
        span = (best - values[0]) or float("nan")
        progress = [(v - values[0]) / span for v in values]
        plateau = next(s for s, p in zip(steps, progress, strict=True) if p >= 0.1) / full
        jump = max(abs(b - a) for a, b in zip(progress, progress[1:], strict=False))
        early = better(v for s, v in zip(steps, values, strict=True) if s <= quarter)
        rows.append(
            {
                "start": values[0],
                "best": best,
                "plateau": plateau,
                "jump": jump,
                "late_gain": (best - early) / span,
                "position": (target - values[0]) / span,
                "quarter_best": better(q_values),
            }
        )
    _, naive = curve(workload, full, "adamw", NAIVE_ADAM, "constant", 0.0, full, 0)
    naive_best = better(naive)
    quarter_bests = [r["quarter_best"] for r in rows]
    spread = max(quarter_bests) - min(quarter_bests)
    mean = {k: statistics.fmean(r[k] for r in rows) for k in rows[0]}
    return {
        "workload": name,
        "metric": workload.info.metric,
        "target": target,
        "learning_rate": point["learning_rate"],
        "seeds": seeds,
        **mean,
        "worst_plateau": max(r["plateau"] for r in rows),
        "worst_jump": max(r["jump"] for r in rows),
        "spread": spread,
        "naive_best": naive_best,
        "spread_over_gap": spread / (higher * (target - naive_best) or float("nan")),
        "seconds": time.perf_counter() - start,
    }


def render(rows: list[dict]) -> str:
    """The criteria as a Markdown table (means over seeds; plateau and jump also worst)."""
    lines = [
        "| workload | target | lr | seeds | start | best (full) | plateau (worst) | jump (worst) "
        "| late gain | target position | quarter best: spread | naive Adam | spread / gap | s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['metric']} {r['target']:.4g} | {r['learning_rate']:.3g} "
            f"| {r['seeds']} | {r['start']:.4g} | {r['best']:.4g} "
            f"| {r['plateau']:.2f} ({r['worst_plateau']:.2f}) | {r['jump']:.2f} "
            f"({r['worst_jump']:.2f}) | {r['late_gain']:.2f} | {r['position']:.2f} "
            f"| {r['quarter_best']:.4g}: {r['spread']:.3g} | {r['naive_best']:.4g} "
            f"| {r['spread_over_gap']:.2f} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> None:
    options = parser(__doc__)
    options.add_argument("names", nargs="*", help="workloads to measure (default: the suite's)")
    options.add_argument("--seeds", type=int, default=3, help="seeds of the tuned point")
    args = options.parse_args(argv)
    seeds = args.seeds
    names = (
        args.names
        or os.environ.get("HPBENCH_BENCH_WORKLOADS", "").split()
        or sorted(suite_targets())
    )
    rows = []
    for name in names:
        rows.append(criteria(name, seeds))
        print(render(rows[-1:]).splitlines()[-1], flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(render(rows))


if __name__ == "__main__":
    main(sys.argv[1:])

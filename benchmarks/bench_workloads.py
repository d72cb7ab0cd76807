"""Step time, evaluation time and data loading of every registered workload at mini size.

Each workload trains with a plain jitted NAdamW step (no packing, one trial) on its own
batches; the time per step includes building the batch on the host, as training does.
``python -m benchmarks workloads`` measures all of them; ``python -m
benchmarks.bench_workloads NAME ...`` measures the ones named. Record the printed table in
``benchmarks/workloads.md`` with the machine and its load.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Sequence

from benchmarks import parser

STEPS = 100  # timed steps per repeat, after one compiled warm-up step
REPEATS = 3


def measure(name: str, size: str = "mini", steps: int = STEPS, repeats: int = REPEATS) -> dict:
    """Seconds to load, compile, train one step (best of ``repeats``) and evaluate ``name``."""
    import jax
    import optax

    from hpbench.workloads.registry import load_workload

    start = time.perf_counter()
    workload = load_workload(name, size)
    load_s = time.perf_counter() - start
    params, model_state = workload.init(jax.random.key(0))
    tx = optax.nadamw(1e-3, weight_decay=0.01)
    opt_state = tx.init(params)

    @jax.jit
    def train_step(params, model_state, opt_state, batch, rng):
        def loss_fn(p):
            return workload.loss(p, model_state, batch, rng, dropout=0.0, label_smoothing=0.0)

        (loss, model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), model_state, opt_state, loss

    rng = jax.random.key(1)
    start = time.perf_counter()
    state = train_step(params, model_state, opt_state, workload.batch(0, 0), rng)
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - start
    per_step = []
    for repeat in range(repeats):
        start = time.perf_counter()
        for step in range(steps):
            state = train_step(*state[:3], workload.batch(0, repeat * steps + step), rng)
        jax.block_until_ready(state)
        per_step.append((time.perf_counter() - start) / steps)
    workload.evaluate(state[0], state[1])  # compiles evaluation
    start = time.perf_counter()
    metrics = workload.evaluate(state[0], state[1])
    eval_s = time.perf_counter() - start
    num_params = sum(leaf.size for leaf in jax.tree.leaves(params))
    return {
        "workload": name,
        "params": num_params,
        "batch_size": workload.batch_size,
        "max_steps": workload.max_steps,
        "load_s": load_s,
        "compile_s": compile_s,
        "step_ms": 1000 * min(per_step),
        "max_steps_s": min(per_step) * workload.max_steps,
        "eval_s": eval_s,
        "metrics": metrics,
    }


def render(rows: list[dict]) -> str:
    """The measurements as a Markdown table."""
    lines = [
        "| workload | params | batch | max_steps | s / 1000 steps | s for max_steps "
        "| eval s | compile s | data load s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['workload']} | {r['params']:,} | {r['batch_size']} | {r['max_steps']} "
            f"| {r['step_ms']:.1f} | {r['max_steps_s']:.1f} | {r['eval_s']:.2f} "
            f"| {r['compile_s']:.1f} | {r['load_s']:.1f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] = ()) -> None:
    from hpbench.workloads.registry import WORKLOADS

    options = parser(__doc__)
    options.add_argument("names", nargs="*", help="workloads to measure (default: all)")
    names = (
        options.parse_args(argv).names
        or os.environ.get("HPBENCH_BENCH_WORKLOADS", "").split()
        or list(WORKLOADS)
    )
    rows = []
    for name in names:
        try:
            rows.append(measure(name))
        except (ImportError, NotImplementedError) as error:  # a family not built yet
            print(f"{name}: skipped ({error})", flush=True)
            continue
        print(f"{name}: {rows[-1]['step_ms']:.1f} ms/step", flush=True)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(render(rows))


if __name__ == "__main__":
    main(sys.argv[1:])

"""Cost of one training step of toy_mlp per algorithm, alone and packed 8 to a program.

Times the compiled step (forward, backward, ``tx.update(..., value=loss)``, apply) for
every registered algorithm at its defaults, with K = 1 and K = 8 hyperparameter points
vmapped, relative to AdamW: what an lr-free method costs per step on top of the model.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import optax

from benchmarks import parser
from hpbench.algorithms.build import build_optimizer
from hpbench.algorithms.registry import ALGORITHMS
from hpbench.schedules import relative_schedule
from hpbench.workloads import load_workload

STEPS = 200
REPEATS = 3


def step_seconds(name: str, k: int, workload, params, batch) -> float:
    """Median over REPEATS of the mean wall time of one step of a K-point pack."""

    def train(learning_rate):
        default = ALGORITHMS[name].defaults()["learning_rate"]
        tx = build_optimizer(
            name,
            {"learning_rate": default * learning_rate},
            relative_schedule("constant", 0.1, 10_000),
        )

        def loss(p):
            value, _ = workload.loss(
                p, {}, batch, jax.random.key(0), dropout=0.0, label_smoothing=0.0
            )
            return value

        def step(carry, _):
            p, state = carry
            value, grads = jax.value_and_grad(loss)(p)
            updates, state = tx.update(grads, state, p, value=value)
            return (optax.apply_updates(p, updates), state), value

        return jax.lax.scan(step, (params, tx.init(params)), None, length=STEPS)[1]

    run = jax.jit(jax.vmap(train))
    scales = jnp.linspace(0.5, 1.0, k)
    jax.block_until_ready(run(scales))  # compile
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        jax.block_until_ready(run(scales))
        times.append((time.perf_counter() - start) / STEPS)
    return sorted(times)[REPEATS // 2]


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    workload = load_workload("toy_mlp")
    params, _ = workload.init(jax.random.key(0))
    batch = workload.batch(0, 0)
    print(f"toy_mlp, batch {workload.batch_size}, {STEPS} steps per timing, {jax.devices()[0]}")
    print(f"{'algorithm':22s} {'K=1 ms/step':>12s} {'K=8 ms/step':>12s} {'K=1 vs adamw':>13s}")
    base = None
    for name in ALGORITHMS:
        one = step_seconds(name, 1, workload, params, batch)
        eight = step_seconds(name, 8, workload, params, batch)
        base = base or one
        print(f"{name:22s} {one * 1e3:12.3f} {eight * 1e3:12.3f} {one / base:13.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])

"""The small problem shared by the crosschecks: a tanh MLP 8-16-4 on toy_mlp batches, written
once in JAX and once in PyTorch, so both frameworks train the same function from the same
initial parameters on the same data."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.workloads import load_workload

STEPS = 100
NAMES = ("w1", "b1", "w2", "b2")
#: Less LLVM optimisation: these programs run once, compiling them is most of the time.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def initial_params(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "w1": (rng.normal(size=(8, 16)) / np.sqrt(8)).astype(np.float32),
        "b1": np.zeros(16, np.float32),
        "w2": (rng.normal(size=(16, 4)) / np.sqrt(16)).astype(np.float32),
        "b2": np.zeros(4, np.float32),
    }


@functools.lru_cache(maxsize=1)
def batches(steps: int = STEPS) -> tuple[np.ndarray, np.ndarray]:
    """toy_mlp's first ``steps`` training batches: x (steps, 64, 8), y (steps, 64)."""
    workload = load_workload("toy_mlp")
    data = [workload.batch(0, step) for step in range(steps)]
    return np.stack([b["x"] for b in data]), np.stack([b["y"] for b in data])


def flat(params: dict[str, Any]) -> np.ndarray:
    return np.concatenate([np.asarray(params[name]).ravel() for name in NAMES])


def jax_loss(params, x, y):
    logits = jnp.tanh(x @ params["w1"] + params["b1"]) @ params["w2"] + params["b2"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def jax_trajectory(
    tx: optax.GradientTransformationExtraArgs,
    evaluate: Callable[[Any, Any], Any] | None = None,
) -> np.ndarray:
    """Flattened parameters after each of STEPS steps of ``tx`` (row 0: the initial point).

    With ``evaluate(params, state)`` the rows are ``evaluate``'s parameters instead.
    """
    x, y = batches()
    params = jax.tree.map(jnp.asarray, initial_params())
    read = evaluate or (lambda p, s: p)

    def step(carry, xy):
        p, state = carry
        value, grads = jax.value_and_grad(jax_loss)(p, *xy)
        updates, state = tx.update(grads, state, p, value=value)
        p = optax.apply_updates(p, updates)
        return (p, state), read(p, state)

    @functools.partial(jax.jit, compiler_options=FAST_COMPILE)
    def run(p):
        state = tx.init(p)
        _, rows = jax.lax.scan(step, (p, state), (x, y))
        return rows

    rows = run(params)
    steps = np.concatenate([np.asarray(rows[name]).reshape(STEPS, -1) for name in NAMES], axis=1)
    return np.concatenate([flat(initial_params())[None], steps])


def torch_trajectory(
    make_optimizer: Callable[[list], Any],
    learning_rate: Callable[[int], float],
    *,
    pass_loss: bool = False,
    read: Callable[[Any, list], np.ndarray] | None = None,
    float64: bool = False,
) -> np.ndarray:
    """The same as :func:`jax_trajectory` with a PyTorch optimizer; the learning rate of
    step t is set to ``learning_rate(t)`` in every parameter group before ``step``.
    ``float64`` runs it in double precision: the trajectory float32 runs approximate."""
    import torch

    torch.set_num_threads(1)  # tiny tensors: threads only add contention on shared cores
    dtype = np.float64 if float64 else np.float32
    x, y = batches()
    x = x.astype(dtype)
    params = [torch.tensor(v.astype(dtype), requires_grad=True) for v in initial_params().values()]
    optimizer = make_optimizer(params)
    rows = [np.concatenate([p.detach().numpy().ravel() for p in params])]
    for t in range(STEPS):
        for group in optimizer.param_groups:
            group["lr"] = learning_rate(t)
        optimizer.zero_grad()
        w1, b1, w2, b2 = params
        logits = torch.tanh(torch.from_numpy(x[t]) @ w1 + b1) @ w2 + b2
        loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y[t]).long())
        loss.backward()
        optimizer.step(loss=loss) if pass_loss else optimizer.step()
        if read is None:
            rows.append(np.concatenate([p.detach().numpy().ravel() for p in params]))
        else:
            rows.append(read(optimizer, params))
    return np.stack(rows).astype(np.float32)


def trajectory_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """max over steps of |ours - reference|_inf / |reference - initial|_inf (relative to how
    far the reference has moved; the first steps, smaller than 1e-3, count absolutely)."""
    moved = np.abs(reference - reference[0]).max(axis=1)
    return float((np.abs(ours - reference).max(axis=1) / np.maximum(moved, 1e-3)).max())

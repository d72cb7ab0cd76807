"""Packing: K = 8 points of numeric hyperparameters trained as one ``jax.vmap``-ed program
give the same parameters after 50 steps as the 8 points trained one by one."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hpbench.algorithms.build import build_optimizer
from hpbench.algorithms.registry import ALGORITHMS, get_algorithm
from hpbench.schedules import relative_schedule
from hpbench.workloads import load_workload

K = 8
STEPS = 50
BETAS = {"beta1", "beta2", "beta3", "momentum"}
# XLA:CPU spends most of this test compiling; less LLVM optimisation halves it. Both runs
# are in the same program, so they are compiled alike.
FAST_COMPILE = {"xla_backend_optimization_level": 0, "xla_llvm_disable_expensive_passes": True}


def sample_points(name: str, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """K values of every packable float hyperparameter of ``name`` around its default."""
    points = {}
    for h in get_algorithm(name).hyperparameters:
        if not h.packable or h.kind != "float":
            continue
        factor = np.exp(rng.uniform(-0.7, 0.7, K))
        if h.name in BETAS:
            values = 1 - (1 - (h.default or 0.99)) * factor
        elif h.name == "label_smoothing":
            values = rng.choice([0.0, 0.1, 0.2], K)
        elif h.name == "learning_rate":  # at most the default: keeps training out of chaos
            values = h.default * np.exp(rng.uniform(-0.7, 0.0, K))
        elif h.default in (0.0, None):  # weight decay, lower bound: small non-negative
            values = rng.uniform(0.0, 1e-3, K)
        else:
            values = h.default * factor
        points[h.name] = values.astype(np.float32)
    points["warmup"] = rng.choice([0.02, 0.05, 0.1], K).astype(np.float32)
    return points


@pytest.fixture(scope="module")
def problem():
    workload = load_workload("toy_mlp")
    params, _ = workload.init(jax.random.key(0))
    batches = [workload.batch(0, step) for step in range(STEPS)]
    data = {key: jnp.stack([b[key] for b in batches]) for key in batches[0]}
    return workload, params, data


def make_train(name: str, workload, params, data):
    """train(point) -> parameters after STEPS steps; ``point`` maps names to scalars."""

    def train(point):
        point = dict(point)
        schedule = relative_schedule("warmup_cosine", point.pop("warmup"), STEPS)
        label_smoothing = point.get("label_smoothing", 0.0)
        tx = build_optimizer(name, point, schedule)

        def loss(p, batch):
            value, _ = workload.loss(
                p, {}, batch, jax.random.key(1), dropout=0.0, label_smoothing=label_smoothing
            )
            return value

        def step(carry, batch):
            p, state = carry
            value, grads = jax.value_and_grad(loss)(p, batch)
            updates, state = tx.update(grads, state, p, value=value)
            return (optax.apply_updates(p, updates), state), value

        (final, _), _ = jax.lax.scan(step, (params, tx.init(params)), data)
        return final

    return train


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
def test_packed_points_match_one_by_one(problem, name):
    workload, params, data = problem
    points = {k: jnp.asarray(v) for k, v in sample_points(name, np.random.default_rng(0)).items()}
    train = make_train(name, workload, params, data)
    # One compiled program: the packed run (vmap) and the one-by-one run (lax.map: a loop
    # over the points, each trained alone).
    both = jax.jit(
        lambda p: (jax.vmap(train)(p), jax.lax.map(train, p)), compiler_options=FAST_COMPILE
    )
    packed, one_by_one = both(points)
    jax.tree.map(
        lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6), packed, one_by_one
    )
    # The points really differ, and training moved the parameters.
    kernels = np.asarray(packed["Dense_1"]["kernel"])
    assert not np.allclose(kernels[0], kernels[1])
    assert not np.allclose(kernels[0], params["Dense_1"]["kernel"])
    assert np.isfinite(kernels).all()

"""Checks every workload passes, shared by the per-workload test files."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hpbench.data.cache import read_arrays, write_arrays
from hpbench.workloads.userdata import DataError


def check_batch_is_pure(workload, expected_shapes: dict[str, tuple[int, ...]]) -> None:
    """batch(seed, step) depends on (seed, step) only, and has the expected shapes."""
    first, again = workload.batch(0, 7), workload.batch(0, 7)
    assert set(first) == set(expected_shapes)
    for name, shape in expected_shapes.items():
        assert first[name].shape == shape, name
        np.testing.assert_array_equal(first[name], again[name])
    other_step, other_seed = workload.batch(0, 8), workload.batch(1, 7)
    name = next(iter(expected_shapes))
    assert not np.array_equal(first[name], other_step[name])
    assert not np.array_equal(first[name], other_seed[name])


def check_generated_data_round_trips(tmp_path, generate, config) -> None:
    """Generation is deterministic in its seed and reads back unchanged through tensorstore."""
    data = generate(config, seed=3)
    again = generate(config, seed=3)
    other = generate(config, seed=4)
    for name in data:
        np.testing.assert_array_equal(data[name], again[name])
    assert any(
        data[n].shape != other[n].shape or not np.array_equal(data[n], other[n]) for n in data
    )
    write_arrays(tmp_path / "ds", data)
    back = read_arrays(tmp_path / "ds")
    assert set(back) == set(data)
    for name in data:
        assert back[name].dtype == data[name].dtype
        np.testing.assert_array_equal(back[name], data[name])


def train(workload, steps: int, learning_rate: float):
    """``steps`` NAdamW steps; returns the final state and the training losses of each step."""
    params, state = workload.init(jax.random.key(0))
    tx = optax.nadamw(learning_rate, weight_decay=1e-4)
    opt_state = tx.init(params)

    @jax.jit
    def step(params, state, opt_state, batch, rng):
        def loss_fn(p):
            return workload.loss(
                p, state, batch, rng, dropout=0.0, label_smoothing=jnp.float32(0.0)
            )

        (loss, state), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), state, opt_state, loss

    losses = []
    for i in range(steps):
        rng = jax.random.fold_in(jax.random.key(1), i)
        params, state, opt_state, loss = step(params, state, opt_state, workload.batch(0, i), rng)
        losses.append(float(loss))
    return params, state, np.array(losses)


def check_evaluate(workload, params, state) -> dict[str, float]:
    """evaluate returns every metric of the workload's info, each a finite float."""
    result = workload.evaluate(params, state)
    assert set(result) == set(workload.info.metrics)
    assert all(isinstance(v, float) and math.isfinite(v) for v in result.values())
    return result


def check_variant_builds(workload) -> None:
    """A variant initialises and its training loss traces to a scalar (abstractly: no compile)."""

    def loss(rng):
        params, state = workload.init(rng)
        batch = workload.batch(0, 0)
        smoothing = jnp.float32(0.1)
        return workload.loss(params, state, batch, rng, dropout=0.1, label_smoothing=smoothing)[0]

    assert jax.eval_shape(loss, jax.random.key(0)).shape == ()


def check_bad_full_data(load, tmp_path, good_arrays: dict[str, np.ndarray], broken: str) -> None:
    """A missing path and a wrong-shaped array fail at build with the path and the layout;
    the complete layout builds the full-size model."""
    missing = tmp_path / "nowhere"
    with pytest.raises(DataError, match="nowhere") as info:
        load(str(missing))
    assert "docs/data.md" in str(info.value)
    with pytest.raises(DataError, match="no data path"):
        load(None)
    write_arrays(tmp_path / "good", good_arrays)
    check_variant_builds(load(str(tmp_path / "good")))  # opens, and the full model traces
    bad = {**good_arrays, broken: good_arrays[broken][..., :1]}
    write_arrays(tmp_path / "bad", bad)
    with pytest.raises(DataError, match=f"array {broken} has shape"):
        load(str(tmp_path / "bad"))

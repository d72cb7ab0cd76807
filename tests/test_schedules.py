"""Relative schedules against REFERENCE.md section 1's closed form, in numpy and in JAX."""

import math
import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from hpbench.schedules import SCHEDULES, check_schedule, closed_form, relative_schedule


def reference_warmup_cosine(u: float, w: float) -> float:
    """REFERENCE.md: s(u) = u/w for u < w; 0.5 (1 + cos(pi (u - w) / (1 - w))) up to 1; 0 after."""
    if u > 1:
        return 0.0
    if u < w:
        return u / w
    return 0.5 * (1 + math.cos(math.pi * (u - w) / (1 - w)))


def reference(shape: str, u: float, w: float) -> float:
    if u > 1:
        return 0.0
    if shape == "none":
        return 1.0
    if u < w:
        return u / w
    return {
        "warmup_cosine": reference_warmup_cosine(u, w),
        "constant": 1.0,
        "linear_decay": (1 - u) / (1 - w),
    }[shape]


@pytest.mark.parametrize("w", [0.0, 0.02, 0.05, 0.1])
def test_warmup_cosine_boundary_points(w):
    assert closed_form("warmup_cosine", w, 0.0) == (0.0 if w > 0 else 1.0)
    assert closed_form("warmup_cosine", w, w) == pytest.approx(1.0)
    assert closed_form("warmup_cosine", w, 1.0) == pytest.approx(0.0, abs=1e-15)
    assert closed_form("warmup_cosine", w, 1.0 + 1e-9) == 0.0
    midpoint = w + (1 - w) / 2
    assert closed_form("warmup_cosine", w, midpoint) == pytest.approx(0.5)
    if w > 0:
        assert closed_form("warmup_cosine", w, w / 2) == pytest.approx(0.5)


@pytest.mark.parametrize("shape", sorted(SCHEDULES))
@pytest.mark.parametrize("w", [0.0, 0.05, 0.1])
def test_closed_form_matches_reference_everywhere(shape, w):
    u = np.linspace(0, 1.2, 241)
    expected = [reference(shape, x, w) for x in u]
    np.testing.assert_allclose(closed_form(shape, w, u), expected, atol=1e-12)


@pytest.mark.parametrize("shape", sorted(SCHEDULES))
def test_jax_schedule_matches_closed_form_over_steps(shape):
    horizon, w = 200, 0.05
    schedule = jax.jit(relative_schedule(shape, w, horizon))
    steps = np.arange(0, 230)
    got = np.array([schedule(s) for s in steps])
    np.testing.assert_allclose(got, closed_form(shape, w, steps / horizon), atol=2e-6)
    assert got.dtype == np.float32
    if shape == "warmup_cosine":
        assert got[0] == 0.0 and got[10] == pytest.approx(1.0) and got[horizon] == 0.0


def test_warmup_can_be_traced_and_vmapped():
    warmups = jnp.array([0.0, 0.02, 0.05, 0.1])

    def value(w, step):
        return relative_schedule("warmup_cosine", w, 100)(step)

    got = jax.jit(jax.vmap(value, in_axes=(0, None)))(warmups, 3)
    expected = [reference_warmup_cosine(0.03, float(w)) for w in warmups]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


@pytest.mark.parametrize(
    ("shape", "warmup", "message"),
    [
        ("cosine", 0.1, "unknown schedule 'cosine'; known: warmup_cosine"),
        ("constant", 1.0, "[0, 1)"),
    ],
)
def test_bad_schedule_is_a_clear_error(shape, warmup, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        check_schedule(shape, warmup)
    with pytest.raises(ValueError, match="positive integer"):
        relative_schedule("constant", 0.1, 0)

"""Model pieces more than one workload family uses, so each is written once."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def sinusoidal_positions(length: int, dim: int) -> jax.Array:
    """(1, length, dim) sine/cosine position embeddings (timescales 1 to 10^4)."""
    half = dim // 2
    inv = jnp.exp(-jnp.log(1e4) * jnp.arange(half) / max(half - 1, 1))
    angles = jnp.arange(length)[:, None] * inv[None, :]
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)[None]

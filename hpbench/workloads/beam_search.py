"""Beam search for translation, as AlgoPerf's WMT workload runs it.

A port of ``algoperf/workloads/wmt/wmt_jax/decode.py`` (itself flax's WMT example): the
search keeps ``beam_size`` live and ``beam_size`` finished sequences per example, scores a
finished one by its log-probability over the length penalty ``((5 + length) / 6) ** alpha``
and stops when no live sequence can beat the worst finished one. The decoder is a
``tokens_to_logits(ids, cache) -> (logits, cache)`` step, so the same search runs with a
key/value cache or with one that recomputes the whole prefix (the check of the cache).
Every operation is batched over the leading (example) axis: the batch may be sharded.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax import lax

NEG_INF = -1.0e7  # AlgoPerf's "effective negative infinity"

TokensToLogits = Callable[[jax.Array, Any], tuple[jax.Array, Any]]


def length_penalty(alpha: float, length) -> jax.Array:
    """AlgoPerf's (GNMT's) brevity penalty ``((5 + length) / 6) ** alpha``."""
    return jnp.power((5.0 + length) / 6.0, alpha)


def add_beam_dim(x: jax.Array, beam_size: int) -> jax.Array:
    """(batch, ...) -> (batch, beam, ...) by tiling; scalars (cache indices) pass."""
    if x.ndim < 2:
        return x
    return jnp.repeat(x[:, None], beam_size, axis=1)


def flatten_beam_dim(x: jax.Array) -> jax.Array:
    if x.ndim < 2:
        return x
    return x.reshape((x.shape[0] * x.shape[1],) + x.shape[2:])


def unflatten_beam_dim(x: jax.Array, batch_size: int, beam_size: int) -> jax.Array:
    if x.ndim < 2:
        return x
    return x.reshape((batch_size, beam_size) + x.shape[1:])


def flat_batch_beam_expand(x: jax.Array, beam_size: int) -> jax.Array:
    """Each example repeated ``beam_size`` times in place: [a, b] -> [a, a, b, b]."""
    return flatten_beam_dim(add_beam_dim(x, beam_size))


def gather_beams(nested, beam_indices: jax.Array, batch_size: int, new_beam_size: int):
    """The beams ``beam_indices`` (batch, new_beam_size) of every array in ``nested``."""
    rows = jnp.arange(batch_size * new_beam_size).reshape(batch_size, new_beam_size)
    rows = rows // new_beam_size

    def gather(x):
        return x if x.ndim < 2 else x[rows, beam_indices]

    return jax.tree.map(gather, nested)


def gather_topk_beams(nested, scores: jax.Array, batch_size: int, new_beam_size: int):
    """The ``new_beam_size`` best beams by ``scores``, in increasing order of score."""
    _, indices = lax.top_k(scores, k=new_beam_size)
    return gather_beams(nested, jnp.flip(indices, axis=1), batch_size, new_beam_size)


class BeamState(NamedTuple):
    index: jax.Array  # position of the token fed next
    live_logprobs: jax.Array  # (batch, beam)
    finished_scores: jax.Array  # (batch, beam)
    live_seqs: jax.Array  # (batch, beam, max_decode_len)
    finished_seqs: jax.Array  # (batch, beam, max_decode_len)
    finished_flags: jax.Array  # (batch, beam): a real finished sequence, not a filler
    cache: Any  # the decoder's cache, (batch, beam, ...) arrays


def beam_search(
    batch_size: int,
    cache,
    tokens_to_logits: TokensToLogits,
    *,
    beam_size: int = 4,
    alpha: float = 0.6,
    eos_id: int = 2,
    max_decode_len: int,
    bos_id: int = 0,
) -> tuple[jax.Array, jax.Array]:
    """(batch, beam, max_decode_len) sequences, best last, and their (batch, beam) scores.

    Position 0 of every sequence holds ``bos_id`` (AlgoPerf: 0), the token fed first.
    """
    live_seqs = jnp.zeros((batch_size, beam_size, max_decode_len), jnp.int32)
    state = BeamState(
        index=jnp.array(0),
        live_logprobs=jnp.tile(jnp.array([0.0] + [NEG_INF] * (beam_size - 1)), [batch_size, 1]),
        finished_scores=jnp.full((batch_size, beam_size), NEG_INF),
        live_seqs=live_seqs.at[:, :, 0].set(bos_id),
        finished_seqs=jnp.zeros((batch_size, beam_size, max_decode_len), jnp.int32),
        finished_flags=jnp.zeros((batch_size, beam_size), jnp.bool_),
        cache=jax.tree.map(lambda x: add_beam_dim(x, beam_size), cache),
    )

    def not_done(state: BeamState) -> jax.Array:
        best_live = state.live_logprobs[:, -1:] / length_penalty(alpha, max_decode_len)
        worst_finished = jnp.min(state.finished_scores, axis=1, keepdims=True)
        worst_finished = jnp.where(state.finished_flags, worst_finished, NEG_INF)
        finished = jnp.all(worst_finished > best_live)
        return (state.index < max_decode_len - 1) & ~finished

    def step(state: BeamState) -> BeamState:
        ids = lax.dynamic_slice(state.live_seqs, (0, 0, state.index), (batch_size, beam_size, 1))
        flat_logits, flat_cache = tokens_to_logits(
            flatten_beam_dim(ids), jax.tree.map(flatten_beam_dim, state.cache)
        )
        logits = unflatten_beam_dim(flat_logits, batch_size, beam_size)
        cache = jax.tree.map(lambda x: unflatten_beam_dim(x, batch_size, beam_size), flat_cache)
        log_probs = jax.nn.log_softmax(logits) + state.live_logprobs[:, :, None]
        vocab_size = log_probs.shape[2]
        # The best 2k candidates, so that k stay live even if k of them end here.
        keep = 2 * beam_size
        topk_log_probs, topk_indices = lax.top_k(
            log_probs.reshape(batch_size, beam_size * vocab_size), k=keep
        )
        topk_beams = topk_indices // vocab_size
        topk_seq = gather_beams(state.live_seqs, topk_beams, batch_size, keep)
        topk_ids = (topk_indices % vocab_size)[:, :, None]
        topk_seq = lax.dynamic_update_slice(topk_seq, topk_ids, (0, 0, state.index + 1))
        newly_finished = topk_seq[:, :, state.index + 1] == eos_id

        new_log_probs = topk_log_probs + newly_finished * NEG_INF
        _, alive = lax.top_k(new_log_probs, k=beam_size)
        alive = jnp.flip(alive, axis=1)
        live_seqs, live_logprobs = gather_beams(
            [topk_seq, new_log_probs], alive, batch_size, beam_size
        )
        alive_beams = gather_beams(topk_beams, alive, batch_size, beam_size)
        cache = gather_beams(cache, alive_beams, batch_size, beam_size)

        new_scores = topk_log_probs / length_penalty(alpha, state.index + 1)
        new_scores += (~newly_finished) * NEG_INF
        finished = [
            jnp.concatenate([state.finished_seqs, topk_seq], axis=1),
            jnp.concatenate([state.finished_scores, new_scores], axis=1),
            jnp.concatenate([state.finished_flags, newly_finished], axis=1),
        ]
        finished_seqs, finished_scores, finished_flags = gather_topk_beams(
            finished, finished[1], batch_size, beam_size
        )
        return BeamState(
            state.index + 1, live_logprobs, finished_scores, live_seqs,
            finished_seqs, finished_flags, cache,
        )  # fmt: skip

    final = lax.while_loop(not_done, step, state)
    # An example with no finished sequence returns its live ones.
    any_finished = jnp.any(final.finished_flags, axis=1)
    seqs = jnp.where(any_finished[:, None, None], final.finished_seqs, final.live_seqs)
    scores = jnp.where(any_finished[:, None], final.finished_scores, final.live_logprobs)
    return seqs, scores

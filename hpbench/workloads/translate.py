"""Translating with a trained WMT Transformer as AlgoPerf does: beam search over a
key/value-cached decoder (``predict``), then its output cut at EOS (``until_eos``).

``predict(..., cached=False)`` runs the same search with a decoder that recomputes the
whole prefix at every step: the reference the cache is checked against, and the baseline
of its speed (benchmarks/README.md). The model is ``hpbench.workloads.wmt.Transformer``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from hpbench.workloads.beam_search import beam_search, flat_batch_beam_expand

EOS = 2


def init_cache(model, params, encoded, inputs, max_decode_len: int) -> Any:
    """Zero keys, values and positions of a ``decoding=True`` model for ``max_decode_len``
    target positions (shapes from one traced, never executed, full-length call)."""
    targets = jnp.ones((inputs.shape[0], max_decode_len), jnp.int32)

    def sizing_call():
        _, variables = model.apply(
            {"params": params}, encoded, inputs, targets, targets,
            method=type(model).decode, mutable=["cache"],
        )  # fmt: skip
        return variables["cache"]

    return jax.tree.map(lambda s: jnp.zeros(s.shape, s.dtype), jax.eval_shape(sizing_call))


def predict(
    model,
    params,
    inputs: jax.Array,
    *,
    max_decode_len: int,
    beam_size: int = 4,
    alpha: float = 0.6,
    cached: bool = True,
    eos_id: int = EOS,
) -> jax.Array:
    """(batch, max_decode_len - 1) best beam of each input (AlgoPerf's ``predict_step``:
    the first, dummy token dropped). Traceable: jit it with ``model`` and the sizes static.
    An ``eos_id`` no model emits (-1) makes the search run all its steps (benchmarks)."""
    if max_decode_len > model.config.max_length + 1:
        raise ValueError(
            f"max_decode_len {max_decode_len} exceeds the model's positions "
            f"(max_length {model.config.max_length} + 1)"
        )
    model = model.clone(decoding=cached)
    batch_size = inputs.shape[0]
    encoded = model.apply({"params": params}, inputs, method=type(model).encode)
    beam_encoded = flat_batch_beam_expand(encoded, beam_size)
    beam_inputs = flat_batch_beam_expand(inputs, beam_size)

    def decode(variables, ids, **kwargs):
        return model.apply(
            variables, beam_encoded, beam_inputs, ids, jnp.ones_like(ids),
            method=type(model).decode, **kwargs,
        )  # fmt: skip

    if cached:
        cache = init_cache(model, params, encoded, inputs, max_decode_len)

        def tokens_to_logits(ids, cache):
            logits, variables = decode({"params": params, "cache": cache}, ids, mutable=["cache"])
            return logits[:, 0], variables["cache"]

    else:
        cache = {
            "tokens": jnp.zeros((batch_size, max_decode_len), jnp.int32),
            "index": jnp.array(0),
        }

        def tokens_to_logits(ids, cache):
            index = cache["index"]
            tokens = cache["tokens"].at[:, index].set(ids[:, 0])
            logits = decode({"params": params}, tokens)
            return logits[:, index], {"tokens": tokens, "index": index + 1}

    seqs, _ = beam_search(
        batch_size, cache, tokens_to_logits, beam_size=beam_size, alpha=alpha,
        eos_id=eos_id, max_decode_len=max_decode_len, bos_id=model.config.bos_id,
    )  # fmt: skip
    return seqs[:, -1, 1:]


def until_eos(ids: np.ndarray) -> np.ndarray:
    """The ids AlgoPerf detokenises (``_decode_tokens``): up to and including the first
    EOS. As there, a sequence without EOS keeps only its first token."""
    ids = np.asarray(ids)
    return ids[: np.argmax(ids == EOS) + 1].astype(np.int32)

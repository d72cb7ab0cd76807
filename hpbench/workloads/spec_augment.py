"""SpecAugment (Park et al. 2019) as AlgoPerf applies it to LibriSpeech log-mels in training.

A port of AlgoPerf's ``SpecAug`` (librispeech_jax/spectrum_augmenter.py, after lingvo):
10 time masks, each at most 5% of the utterance's unpadded length (the dynamic maximum),
then 2 frequency masks of at most 26 bins (``int(27 u)``, u uniform in [0, 1)). Masked
entries are set to 0. Pure: the masks are a function of the key.
"""

from __future__ import annotations

import attrs
import jax
import jax.numpy as jnp


@attrs.frozen
class SpecAugmentConfig:
    """AlgoPerf's SpecAugment parameters (ConformerConfig and DeepspeechConfig share them)."""

    freq_mask_count: int = 2
    freq_mask_max_bins: int = 27
    time_mask_count: int = 10
    time_mask_max_ratio: float = 0.05


def block_mask(key, choose_range, mask_size: int, count: int, max_length, max_ratio: float):
    """(batch, mask_size) 1/0 mask: ``count`` blocks per row zeroed, each of length
    ``int(max_length u)`` capped at ``max(int(max_ratio range), 1)``, starting at
    ``int(u' (range - length + 1))`` (``SpecAug._get_mask`` with ``masks_per_frame = 0``)."""
    batch = choose_range.shape[0]
    portion_key, start_key = jax.random.split(key)
    portion = jax.random.uniform(portion_key, (batch, count))
    lengths = (max_length[:, None] * portion).astype(jnp.int32)
    bound = (max_ratio * choose_range[:, None]).astype(jnp.int32)
    lengths = jnp.minimum(lengths, jnp.maximum(bound, 1))
    u = jax.random.uniform(start_key, (batch, count))
    starts = (u * (choose_range[:, None] - lengths + 1)).astype(jnp.int32)
    positions = jnp.arange(mask_size)[None, None, :]
    inside = (positions >= starts[..., None]) & (positions < (starts + lengths)[..., None])
    return 1.0 - jnp.any(inside, axis=1).astype(jnp.float32)


def spec_augment(
    key: jax.Array, features: jax.Array, paddings: jax.Array, config: SpecAugmentConfig
) -> jax.Array:
    """(batch, time, bins) ``features`` with time masks (within each utterance's length),
    then frequency masks, applied."""
    batch, time, bins = features.shape
    time_key, freq_key = jax.random.split(key)
    lengths = jnp.sum(1 - paddings, axis=1).astype(jnp.int32)
    if config.time_mask_count and config.time_mask_max_ratio > 0:
        max_frames = lengths * config.time_mask_max_ratio  # the dynamic maximum
        keep = block_mask(time_key, lengths, time, config.time_mask_count, max_frames,
                          config.time_mask_max_ratio)  # fmt: skip
        features = features * keep[:, :, None]
    if config.freq_mask_count and config.freq_mask_max_bins:
        all_bins = jnp.full((batch,), bins, jnp.int32)
        max_bins = jnp.full((batch,), config.freq_mask_max_bins, jnp.float32)
        keep = block_mask(freq_key, all_bins, bins, config.freq_mask_count, max_bins, 1.0)
        features = features * keep[:, None, :]
    return features

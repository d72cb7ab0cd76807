"""``librispeech_conformer`` and ``librispeech_deepspeech``: CTC speech recognition.

Mini data are synthetic utterances: words from a fixed lexicon (token groups without
repeated neighbours) separated by a space token, rendered to noisy, co-articulated
feature frames with random token durations and a random speaker gain. Both models are
AlgoPerf's (Conformer; DeepSpeech = conv subsampling + bidirectional LSTMs + feed-forward
layers), trained with CTC (``optax.ctc_loss``) and evaluated by greedy CTC decoding and
the corpus word error rate. The ``full`` size reads AlgoPerf's preprocessed LibriSpeech
(hpbench.data.librispeech_npy: raw audio, SentencePiece targets, streamed) or zarr arrays
of precomputed log-mel frames.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.workloads import metrics
from hpbench.workloads.base import Batch, WorkloadBase, batch_indices, row_slices
from hpbench.workloads.data import materialize
from hpbench.workloads.layers import sinusoidal_positions
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import (
    ArrayLayout,
    DataError,
    num_rows,
    open_user_arrays,
    take,
    take_split,
)

DATA_VERSION = 1
BLANK = 0  # the CTC blank
SPACE = 1  # the word separator of the generated data
UTTERANCE_ARRAYS = ("features", "feature_paddings", "labels", "label_paddings")


@attrs.frozen
class DataConfig:
    """The generated corpus: a lexicon of words over ``num_letters`` letter tokens."""

    num_letters: int = 14
    num_words: int = 40
    word_length: tuple[int, int] = (1, 3)
    words_per_utterance: tuple[int, int] = (2, 4)
    frames_per_token: tuple[int, int] = (2, 3)
    num_features: int = 16
    max_frames: int = 48
    max_labels: int = 16
    noise: float = 0.8
    num_train: int = 4096
    num_valid: int = 256

    @property
    def vocab_size(self) -> int:
        return self.num_letters + 2


@attrs.frozen
class ModelConfig:
    """Both models' sizes; AlgoPerf's values in ``MODELS["full"]``."""

    encoder_dim: int
    num_layers: int  # Conformer blocks, or DeepSpeech LSTM layers
    num_heads: int = 8
    conv_kernel: int = 5
    ff_expansion: int = 4
    num_ffn_layers: int = 3  # DeepSpeech
    subsample_layers: int = 2  # stride-2 3x3 convolutions (time and frequency / 2 each)
    subsample_channels: int = 0  # 0: encoder_dim, as AlgoPerf
    batch_norm_momentum: float = 0.999


DATA = {
    "mini": DataConfig(),
    # small: 4x subsampling (AlgoPerf's), so tokens last 4-6 frames to keep CTC feasible
    "small": DataConfig(
        num_letters=26,
        num_words=200,
        word_length=(2, 5),
        words_per_utterance=(3, 6),
        frames_per_token=(4, 6),
        num_features=32,
        max_frames=256,
        max_labels=40,
        num_train=16384,
        num_valid=512,
    ),  # fmt: skip
}

MODELS = {
    ("conformer", "mini"): ModelConfig(
        encoder_dim=32,
        num_layers=2,
        num_heads=4,
        ff_expansion=2,
        subsample_layers=1,
        subsample_channels=8,
        batch_norm_momentum=0.99,
    ),  # fmt: skip
    ("conformer", "small"): ModelConfig(
        encoder_dim=128, num_layers=4, num_heads=4, subsample_channels=32, batch_norm_momentum=0.99
    ),
    ("conformer", "full"): ModelConfig(encoder_dim=512, num_layers=4, num_heads=8),
    ("deepspeech", "mini"): ModelConfig(
        encoder_dim=32,
        num_layers=2,
        num_ffn_layers=1,
        subsample_layers=1,
        subsample_channels=8,
        batch_norm_momentum=0.99,
    ),  # fmt: skip
    ("deepspeech", "small"): ModelConfig(
        encoder_dim=128,
        num_layers=3,
        num_ffn_layers=2,
        subsample_channels=32,
        batch_norm_momentum=0.99,
    ),
    ("deepspeech", "full"): ModelConfig(encoder_dim=512, num_layers=6, num_ffn_layers=3),
}

FULL_VOCAB_SIZE = 1024  # AlgoPerf's SentencePiece vocabulary, blank = 0
FULL_FEATURES = 80  # log-mel bins


def full_layout() -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` LibriSpeech dataset provides (see docs/data.md)."""
    out = []
    for split in ("train", "valid"):
        out += [
            ArrayLayout(
                f"{split}_features",
                (None, None, FULL_FEATURES),
                "float32",
                "normalised log-mel frames",
            ),  # fmt: skip
            ArrayLayout(f"{split}_feature_paddings", (None, None), "float32", "1.0 = padding"),
            ArrayLayout(f"{split}_labels", (None, None), "int32", "token ids, 0 is the blank"),
            ArrayLayout(f"{split}_label_paddings", (None, None), "float32", "1.0 = padding"),
        ]
    out.append(ArrayLayout("word_start", (FULL_VOCAB_SIZE,), "bool", "token begins a word"))
    return tuple(out)


# --- synthetic utterances ------------------------------------------------------------------


def lexicon(rng: np.random.Generator, config: DataConfig) -> list[list[int]]:
    """Distinct words of letter tokens (ids from 2), no letter repeated back to back."""
    words: set[tuple[int, ...]] = set()
    while len(words) < config.num_words:
        length = rng.integers(config.word_length[0], config.word_length[1] + 1)
        word = [int(rng.integers(2, config.vocab_size))]
        while len(word) < length:
            letter = int(rng.integers(2, config.vocab_size))
            if letter != word[-1]:
                word.append(letter)
        words.add(tuple(word))
    return [list(w) for w in sorted(words)]


def render(rng: np.random.Generator, tokens: list[int], prototypes: np.ndarray, config: DataConfig):
    """Feature frames of one utterance: token prototypes held for random durations,
    smoothed across boundaries (co-articulation), scaled by a speaker gain, plus noise."""
    durations = rng.integers(
        config.frames_per_token[0], config.frames_per_token[1] + 1, len(tokens)
    )
    frames = prototypes[np.repeat(tokens, durations)]
    smoothed = frames.copy()
    smoothed[1:-1] = 0.25 * frames[:-2] + 0.5 * frames[1:-1] + 0.25 * frames[2:]
    gain = rng.uniform(0.7, 1.3)
    return gain * smoothed + config.noise * rng.normal(size=smoothed.shape)


def generate(config: DataConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Padded features and labels of the train and validation splits."""
    rng = np.random.default_rng(seed)
    words = lexicon(rng, config)
    prototypes = rng.normal(size=(config.vocab_size, config.num_features))
    prototypes[SPACE] *= 0.3  # a quiet pause between words
    out = {}
    for split, count in (("train", config.num_train), ("valid", config.num_valid)):
        features = np.zeros((count, config.max_frames, config.num_features), np.float32)
        feature_paddings = np.ones((count, config.max_frames), np.float32)
        labels = np.zeros((count, config.max_labels), np.int32)
        label_paddings = np.ones((count, config.max_labels), np.float32)
        for i in range(count):
            while True:
                num = rng.integers(config.words_per_utterance[0], config.words_per_utterance[1] + 1)
                chosen = [words[j] for j in rng.integers(0, len(words), num)]
                tokens = [t for w in chosen for t in [*w, SPACE]][:-1]
                frames = render(rng, tokens, prototypes, config)
                if len(tokens) <= config.max_labels and len(frames) <= config.max_frames:
                    break
            features[i, : len(frames)] = frames
            feature_paddings[i, : len(frames)] = 0
            labels[i, : len(tokens)] = tokens
            label_paddings[i, : len(tokens)] = 0
        out |= {
            f"{split}_features": features,
            f"{split}_feature_paddings": feature_paddings,
            f"{split}_labels": labels,
            f"{split}_label_paddings": label_paddings,
        }
    out["word_start"] = np.zeros(config.vocab_size, bool)  # words split at SPACE instead
    return out


def split_words(tokens: list[int], word_start: np.ndarray) -> list[tuple[int, ...]]:
    """Words of a token sequence: split at SPACE tokens (dropped) and before word-start
    tokens (SentencePiece pieces beginning with a space)."""
    use_starts = bool(word_start.any())
    words: list[list[int]] = [[]]
    for token in tokens:
        if use_starts and word_start[token]:
            words.append([token])
        elif not use_starts and token == SPACE:
            words.append([])
        else:
            words[-1].append(token)
    return [tuple(w) for w in words if w]


# --- shared modules ------------------------------------------------------------------------


class MaskedBatchNorm(nn.Module):
    """Batch norm over non-padded frames, scale stored as (1 + gamma) (AlgoPerf, lingvo)."""

    momentum: float = 0.999
    epsilon: float = 1e-3

    @nn.compact
    def __call__(self, x: jax.Array, paddings: jax.Array, train: bool) -> jax.Array:
        dim = x.shape[-1]
        ra_mean = self.variable("batch_stats", "mean", jnp.zeros, (dim,))
        ra_var = self.variable("batch_stats", "var", jnp.ones, (dim,))
        gamma = self.param("scale", nn.initializers.zeros, (dim,))
        beta = self.param("bias", nn.initializers.zeros, (dim,))
        mask = (1.0 - paddings)[..., None]
        if train:
            count = jnp.maximum(jnp.sum(mask), 1.0)
            mean = jnp.sum(x * mask, axis=(0, 1)) / count
            var = jnp.sum(jnp.square(x - mean) * mask, axis=(0, 1)) / count
            if not self.is_initializing():
                ra_mean.value = self.momentum * ra_mean.value + (1 - self.momentum) * mean
                ra_var.value = self.momentum * ra_var.value + (1 - self.momentum) * var
        else:
            mean, var = ra_mean.value, ra_var.value
        return ((x - mean) * (1 + gamma) / jnp.sqrt(var + self.epsilon) + beta) * mask


class Subsample(nn.Module):
    """Stride-2 3x3 convolutions over (time, frequency), flattened and projected."""

    config: ModelConfig
    use_tanh: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, paddings: jax.Array) -> tuple[jax.Array, jax.Array]:
        channels = self.config.subsample_channels or self.config.encoder_dim
        act = jnp.tanh if self.use_tanh else nn.relu
        x = x[..., None]
        for _ in range(self.config.subsample_layers):
            x = act(nn.Conv(channels, (3, 3), strides=(2, 2), padding="SAME")(x))
            paddings = paddings[:, ::2]
            x = x * (1.0 - paddings)[:, :, None, None]
        x = x.reshape(*x.shape[:2], -1)
        return nn.Dense(self.config.encoder_dim)(x), paddings


# --- Conformer -----------------------------------------------------------------------------


class ConformerBlock(nn.Module):
    """x + FF/2, + MHSA, + conv module, + FF/2, then LayerNorm (Gulati et al. 2020)."""

    config: ModelConfig
    activation: str = "swish"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x: jax.Array, paddings: jax.Array, train: bool) -> jax.Array:
        cfg = self.config
        act = {"swish": nn.swish, "gelu": nn.gelu}[self.activation]
        keep = (1.0 - paddings)[..., None]

        def drop(y):
            return nn.Dropout(self.dropout, deterministic=not train)(y)

        def feed_forward(y):
            y = nn.LayerNorm()(y)
            y = drop(act(nn.Dense(cfg.encoder_dim * cfg.ff_expansion)(y))) * keep
            return drop(nn.Dense(cfg.encoder_dim)(y) * keep)

        x = x + 0.5 * feed_forward(x)
        mask = nn.make_attention_mask(paddings < 0.5, paddings < 0.5)
        attn = nn.MultiHeadDotProductAttention(
            num_heads=cfg.num_heads, dropout_rate=self.dropout, deterministic=not train
        )
        x = x + drop(attn(nn.LayerNorm()(x), mask=mask))
        y = nn.LayerNorm()(x)
        y = nn.Dense(cfg.encoder_dim)(y) * jax.nn.sigmoid(nn.Dense(cfg.encoder_dim)(y)) * keep
        y = nn.Conv(cfg.encoder_dim, (cfg.conv_kernel,), feature_group_count=cfg.encoder_dim,
                    use_bias=False)(y)  # fmt: skip
        y = act(MaskedBatchNorm(cfg.batch_norm_momentum)(y, paddings, train))
        x = x + drop(nn.Dense(cfg.encoder_dim)(y))
        x = x + 0.5 * feed_forward(x)
        return nn.LayerNorm()(x)


class Conformer(nn.Module):
    """Subsampling, position embedding, Conformer blocks, LayerNorm, vocabulary projection."""

    config: ModelConfig
    vocab_size: int
    activation: str = "swish"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, paddings, train: bool = False):
        x, paddings = Subsample(self.config)(x, paddings)
        x = x + sinusoidal_positions(x.shape[1], self.config.encoder_dim)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        for _ in range(self.config.num_layers):
            x = ConformerBlock(self.config, self.activation, self.dropout)(x, paddings, train)
        return nn.Dense(self.vocab_size)(nn.LayerNorm()(x)), paddings


# --- DeepSpeech ----------------------------------------------------------------------------


class DeepSpeech(nn.Module):
    """Subsampling, residual (batch norm + bidirectional LSTM) layers, residual feed-forward
    layers, LayerNorm, vocabulary projection (AlgoPerf's DeepSpeech 2)."""

    config: ModelConfig
    vocab_size: int
    use_tanh: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, paddings, train: bool = False):
        cfg = self.config
        x, paddings = Subsample(cfg, use_tanh=self.use_tanh)(x, paddings)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        lengths = jnp.sum(1 - paddings, axis=1).astype(jnp.int32)
        for _ in range(cfg.num_layers):
            y = MaskedBatchNorm(cfg.batch_norm_momentum)(x, paddings, train)
            forward = nn.RNN(nn.OptimizedLSTMCell(cfg.encoder_dim // 2))(y, seq_lengths=lengths)
            backward = nn.RNN(nn.OptimizedLSTMCell(cfg.encoder_dim // 2), reverse=True,
                              keep_order=True)(y, seq_lengths=lengths)  # fmt: skip
            x = x + jnp.concatenate([forward, backward], axis=-1) * (1 - paddings)[..., None]
        for _ in range(cfg.num_ffn_layers):
            y = MaskedBatchNorm(cfg.batch_norm_momentum)(x, paddings, train)
            y = (jnp.tanh if self.use_tanh else nn.relu)(nn.Dense(cfg.encoder_dim)(y))
            x = x + nn.Dropout(self.dropout, deterministic=not train)(y) * (1 - paddings)[..., None]
        return nn.Dense(self.vocab_size)(nn.LayerNorm()(x)), paddings


# --- the workload --------------------------------------------------------------------------


@attrs.frozen
class SpeechWorkload(WorkloadBase):
    architecture: str  # "conformer" or "deepspeech"
    vocab_size: int
    num_features: int
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    eval_batch_size: int = 256
    #: hpbench.data.librispeech_npy.LibriSpeechReader of AlgoPerf's npy files, streamed:
    #: its batches hold ``audio``, ``audio_paddings``, ``labels``, ``label_paddings``
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)

    def model(self, dropout: float = 0.0) -> nn.Module:
        config = MODELS[self.architecture, self.size]
        if self.architecture == "conformer":
            activation = "gelu" if self.variant == "gelu" else "swish"
            return Conformer(config, self.vocab_size, activation=activation, dropout=dropout)
        return DeepSpeech(config, self.vocab_size, use_tanh=self.variant == "tanh", dropout=dropout)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        frames = jnp.zeros((2, 16, self.num_features))
        variables = self.model().init(rng, frames, jnp.zeros((2, 16)), train=True)
        return variables["params"], {"batch_stats": variables["batch_stats"]}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        del label_smoothing  # CTC has no label smoothing (as in AlgoPerf)
        (logits, paddings), new_state = self.model(dropout).apply(
            {"params": params, **model_state},
            batch["features"],
            batch["feature_paddings"],
            train=True,
            rngs={"dropout": rng},
            mutable=["batch_stats"],
        )
        return _ctc_loss(logits, paddings, batch["labels"], batch["label_paddings"]), new_state

    def batch(self, seed: int, step: int) -> Batch:
        if self.reader is not None:
            from hpbench.data.stream import train_stream

            return train_stream(self.streams, self.reader, self.batch_size).batch(seed, step)
        idx = batch_indices(seed, step, num_rows(self.data["train_labels"]), self.batch_size)
        return take_split(self.data, "train", UTTERANCE_ARRAYS, idx)

    def valid_batches(self) -> tuple[int, Iterator[Batch]]:
        """The validation split's size and its batches, in order (AlgoPerf: dev-clean and
        dev-other)."""
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = len(self.reader.valid)
            return total, valid_batches(self.reader, total, self.eval_batch_size)
        total = num_rows(self.data["valid_labels"])
        rows = row_slices(total, self.eval_batch_size)
        return total, (take_split(self.data, "valid", UTTERANCE_ARRAYS, r) for r in rows)

    def word_splitter(self) -> Callable[[Sequence[int]], list]:
        """Token sequence -> its words: AlgoPerf's detokenized text split at spaces (with
        the reader's tokenizer), else ``split_words`` at the data's ``word_start``."""
        if self.reader is not None:
            detokenize = self.reader.tokenizer.detokenize
            return lambda tokens: detokenize(tokens).split()
        word_start = take(self.data["word_start"], slice(None))
        return lambda tokens: split_words(list(tokens), word_start)

    def evaluate(self, params, model_state) -> dict[str, float]:
        total, batches = self.valid_batches()
        words = self.word_splitter()
        loss_sum = 0.0
        references, hypotheses = [], []
        for batch in batches:
            features, feature_paddings, labels, label_paddings = (
                batch[key] for key in UTTERANCE_ARRAYS
            )
            batch_loss, logits, paddings = _evaluate_batch(
                self.model(), params, model_state, features, feature_paddings, labels,
                label_paddings,
            )  # fmt: skip
            loss_sum += float(batch_loss) * len(labels)
            decoded = metrics.ctc_greedy_decode(np.asarray(logits), np.asarray(paddings), BLANK)
            for tokens, label, pad in zip(decoded, labels, label_paddings, strict=True):
                references.append(words(label[pad == 0]))
                hypotheses.append(words(tokens))
        return {
            "wer": metrics.word_error_rate(references, hypotheses),
            "loss": loss_sum / total,
        }


def _ctc_loss(logits, logit_paddings, labels, label_paddings):
    """Summed CTC negative log-likelihood over the number of label tokens in the batch."""
    per_sequence = optax.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=BLANK)
    return jnp.sum(per_sequence) / jnp.maximum(jnp.sum(1 - label_paddings), 1.0)


@jax.jit(static_argnums=0)
def _evaluate_batch(model, params, model_state, features, feature_paddings, labels, label_paddings):
    logits, paddings = model.apply({"params": params, **model_state}, features, feature_paddings)
    return _ctc_loss(logits, paddings, labels, label_paddings), logits, paddings


def build(info: WorkloadInfo, size: str, variant: str, data: str | None) -> SpeechWorkload:
    """``full`` reads AlgoPerf's npy files (streamed) or zarr arrays, by what ``data`` (or
    ``$HPBENCH_DATA_DIR/librispeech``) holds (hpbench.data.formats); smaller sizes generate."""
    from hpbench.data.formats import data_root, detect, require_extra

    architecture = info.name.removeprefix("librispeech_")
    reader = None
    if size == "full" and detect(root := data_root(data, "librispeech")) == "librispeech_npy":
        require_extra(("grain", "sentencepiece"))
        from hpbench.data.librispeech_npy import LibriSpeechDataError, LibriSpeechReader
        from hpbench.data.sentencepiece_tokenizer import TokenizerError

        try:
            arrays, reader = {}, LibriSpeechReader.open(root, info.batch_size[size])
        except (LibriSpeechDataError, TokenizerError) as error:
            raise DataError(f"{info.name} (size full): {error}") from error
        vocab_size, num_features = reader.tokenizer.vocab_size, FULL_FEATURES
    elif size == "full":
        arrays = open_user_arrays(data if root is None else str(root), full_layout(), info.name)
        vocab_size, num_features = FULL_VOCAB_SIZE, FULL_FEATURES
    else:
        config = DATA[size]
        key = f"librispeech-{size}-v{DATA_VERSION}"
        arrays = materialize(key, functools.partial(generate, config))
        vocab_size, num_features = config.vocab_size, config.num_features
    return SpeechWorkload(
        info=info,
        size=size,
        variant=variant,
        architecture=architecture,
        vocab_size=vocab_size,
        num_features=num_features,
        data=arrays,
        reader=reader,
    )

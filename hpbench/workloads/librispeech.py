"""``librispeech_conformer`` and ``librispeech_deepspeech``: CTC speech recognition.

Mini data are synthetic utterances: words from a fixed lexicon (token groups without
repeated neighbours) separated by a space token, rendered to noisy, co-articulated
feature frames with random token durations and a random speaker gain. Both models are
AlgoPerf's (Conformer; DeepSpeech = conv subsampling + bidirectional LSTMs + feed-forward
layers), trained with CTC (``optax.ctc_loss``) and evaluated by greedy CTC decoding and
the corpus word error rate. The ``full`` size is AlgoPerf's: it reads AlgoPerf's
preprocessed LibriSpeech (hpbench.data.librispeech_npy: raw audio, SentencePiece targets,
streamed) or zarr arrays of audio, turns raw 16 kHz audio into log-mels inside the model
(hpbench.workloads.speech_frontend), with SpecAugment in training, (1 + scale) LayerNorms,
xavier-uniform kernels, and the WER of detokenised transcripts.
"""

from __future__ import annotations

import functools
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.data.cache import materialize
from hpbench.workloads import metrics, speech_frontend
from hpbench.workloads.base import (
    Batch,
    WorkloadBase,
    array_batches,
    batch_rows,
    eval_batches,
    eval_sharding,
    host_rows,
    process_sum,
    train_batch,
)
from hpbench.workloads.layers import sinusoidal_positions
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.spec_augment import SpecAugmentConfig, spec_augment
from hpbench.workloads.userdata import (
    ArrayLayout,
    DataError,
    num_rows,
    open_user_arrays,
    take,
)

DATA_VERSION = 1
BLANK = 0  # the CTC blank
SPACE = 1  # the word separator of the generated data
UTTERANCE_ARRAYS = ("features", "feature_paddings", "labels", "label_paddings")
AUDIO_ARRAYS = ("audio", "audio_paddings", "labels", "label_paddings")  # AlgoPerf's inputs


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
    #: Inputs are raw 16 kHz audio, turned into AlgoPerf's log-mels inside the model.
    audio_frontend: bool = False
    #: AlgoPerf's SpecAugment on the log-mels in training (needs ``audio_frontend``).
    spec_augment: bool = False
    #: "flax": flax's LayerNorm (x * scale, scale from 1); "one_plus_scale": AlgoPerf's
    #: x * (1 + scale), scale from 0, so weight decay pulls the gain towards 1.
    layer_norm: str = attrs.field(
        default="flax", validator=attrs.validators.in_(("flax", "one_plus_scale"))
    )
    #: Dense and convolution kernels: "lecun" (flax's default) or AlgoPerf's "xavier" uniform.
    kernel_init: str = attrs.field(
        default="lecun", validator=attrs.validators.in_(("lecun", "xavier"))
    )
    #: Conformer attention as AlgoPerf's: a learned per-dimension query scale, dropout on
    #: the attention output only (not on its weights).
    query_scale: bool = False
    #: DeepSpeech feed-forward dropout fixed at this rate (AlgoPerf's residual feed-forward
    #: layers use its default 0.1 whatever the trial's rate); None: the trial's rate.
    ffn_dropout: float | None = None

    def __attrs_post_init__(self):
        if self.spec_augment and not self.audio_frontend:
            raise ValueError("spec_augment masks the frontend's log-mels: set audio_frontend")

    def widened(self, width: int) -> ModelConfig:
        """This model with ``width`` times its features (the encoder's and the subsampling
        convolution's channels); layers, heads and expansions stay."""
        return attrs.evolve(
            self,
            encoder_dim=self.encoder_dim * width,
            subsample_channels=self.subsample_channels * width,
        )

    def dense(self, features: int, **kwargs) -> nn.Dense:
        return nn.Dense(features, **self._init(), **kwargs)

    def conv(self, features: int, kernel_size, **kwargs) -> nn.Conv:
        return nn.Conv(features, kernel_size, **self._init(), **kwargs)

    def norm(self) -> nn.Module:
        return nn.LayerNorm() if self.layer_norm == "flax" else OnePlusScaleLayerNorm()

    def _init(self) -> dict:
        return (
            {"kernel_init": nn.initializers.xavier_uniform()}
            if self.kernel_init == "xavier"
            else {}
        )


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

#: What makes the full models AlgoPerf's (mini and small keep the forms their targets used).
ALGOPERF = {
    "audio_frontend": True,
    "spec_augment": True,
    "layer_norm": "one_plus_scale",
    "kernel_init": "xavier",
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
    ("conformer", "full"): ModelConfig(
        encoder_dim=512, num_layers=4, num_heads=8, **ALGOPERF, query_scale=True
    ),
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
    ("deepspeech", "full"): ModelConfig(
        encoder_dim=512, num_layers=6, num_ffn_layers=3, **ALGOPERF, ffn_dropout=0.1
    ),
}

FULL_VOCAB_SIZE = 1024  # AlgoPerf's SentencePiece vocabulary, blank = 0


def full_layout() -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` LibriSpeech dataset provides (see docs/data.md)."""
    out = []
    for split in ("train", "valid"):
        out += [
            ArrayLayout(f"{split}_audio", (None, None), "float32", "16 kHz samples, int16 range"),
            ArrayLayout(f"{split}_audio_paddings", (None, None), "float32", "1.0 = padding"),
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


class OnePlusScaleLayerNorm(nn.Module):
    """LayerNorm scaled by (1 + scale), scale from zeros (AlgoPerf's speech models)."""

    epsilon: float = 1e-6

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        scale = self.param("scale", nn.initializers.zeros, (x.shape[-1],))
        bias = self.param("bias", nn.initializers.zeros, (x.shape[-1],))
        mean = jnp.mean(x, axis=-1, keepdims=True)
        var = jnp.mean(jnp.square(x - mean), axis=-1, keepdims=True)
        return (x - mean) * jax.lax.rsqrt(var + self.epsilon) * (1 + scale) + bias


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


class Frontend(nn.Module):
    """Raw audio to AlgoPerf's normalised log-mels, SpecAugment-ed in training (its
    'dropout' random stream); an identity when the inputs are feature frames already."""

    config: ModelConfig

    @nn.compact
    def __call__(self, x, paddings, train: bool):
        if not self.config.audio_frontend:
            return x, paddings
        x, paddings = speech_frontend.log_mel(x, paddings)
        if train and self.config.spec_augment:
            x = spec_augment(self.make_rng("dropout"), x, paddings, SpecAugmentConfig())
        return x, paddings


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
            x = act(self.config.conv(channels, (3, 3), strides=(2, 2), padding="SAME")(x))
            paddings = paddings[:, ::2]
            x = x * (1.0 - paddings)[:, :, None, None]
        x = x.reshape(*x.shape[:2], -1)
        return self.config.dense(self.config.encoder_dim)(x), paddings


# --- Conformer -----------------------------------------------------------------------------


class QueryScaler(nn.Module):
    """Queries times 1.442695041 softplus(scale), scale from zeros (AlgoPerf, lingvo)."""

    @nn.compact
    def __call__(self, query: jax.Array) -> jax.Array:
        scale = self.param("scale", nn.initializers.zeros, (query.shape[-1],))
        return query * (1.442695041 * jax.nn.softplus(scale))


def scaled_query_attention(query, key, value, bias=None, mask=None, **kwargs):
    """flax's dot-product attention after AlgoPerf's learned query scale."""
    return nn.dot_product_attention(QueryScaler()(query), key, value, bias, mask, **kwargs)


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
            y = cfg.norm()(y)
            y = drop(act(cfg.dense(cfg.encoder_dim * cfg.ff_expansion)(y))) * keep
            return drop(cfg.dense(cfg.encoder_dim)(y) * keep)

        x = x + 0.5 * feed_forward(x)
        mask = nn.make_attention_mask(paddings < 0.5, paddings < 0.5)
        if cfg.query_scale:
            attn = nn.MultiHeadDotProductAttention(
                num_heads=cfg.num_heads,
                kernel_init=nn.initializers.xavier_uniform(),
                broadcast_dropout=False,
                attention_fn=scaled_query_attention,
            )
        else:
            attn = nn.MultiHeadDotProductAttention(
                num_heads=cfg.num_heads, dropout_rate=self.dropout, deterministic=not train
            )
        x = x + drop(attn(cfg.norm()(x), mask=mask))
        y = cfg.norm()(x)
        y = cfg.dense(cfg.encoder_dim)(y) * jax.nn.sigmoid(cfg.dense(cfg.encoder_dim)(y)) * keep
        y = cfg.conv(cfg.encoder_dim, (cfg.conv_kernel,), feature_group_count=cfg.encoder_dim,
                     use_bias=False)(y)  # fmt: skip
        y = act(MaskedBatchNorm(cfg.batch_norm_momentum)(y, paddings, train))
        x = x + drop(cfg.dense(cfg.encoder_dim)(y))
        x = x + 0.5 * feed_forward(x)
        return cfg.norm()(x)


class Conformer(nn.Module):
    """Frontend, subsampling, position embedding, Conformer blocks, LayerNorm, vocabulary
    projection."""

    config: ModelConfig
    vocab_size: int
    activation: str = "swish"
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, paddings, train: bool = False):
        x, paddings = Frontend(self.config)(x, paddings, train)
        x, paddings = Subsample(self.config)(x, paddings)
        x = x + sinusoidal_positions(x.shape[1], self.config.encoder_dim)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        for _ in range(self.config.num_layers):
            x = ConformerBlock(self.config, self.activation, self.dropout)(x, paddings, train)
        return self.config.dense(self.vocab_size)(self.config.norm()(x)), paddings


# --- DeepSpeech ----------------------------------------------------------------------------


class DeepSpeech(nn.Module):
    """Frontend, subsampling, residual (batch norm + bidirectional LSTM) layers, residual
    feed-forward layers, LayerNorm, vocabulary projection (AlgoPerf's DeepSpeech 2)."""

    config: ModelConfig
    vocab_size: int
    use_tanh: bool = False
    dropout: float = 0.0

    @nn.compact
    def __call__(self, x, paddings, train: bool = False):
        cfg = self.config
        x, paddings = Frontend(cfg)(x, paddings, train)
        x, paddings = Subsample(cfg, use_tanh=self.use_tanh)(x, paddings)
        x = nn.Dropout(self.dropout, deterministic=not train)(x)
        lengths = jnp.sum(1 - paddings, axis=1).astype(jnp.int32)
        for _ in range(cfg.num_layers):
            y = MaskedBatchNorm(cfg.batch_norm_momentum)(x, paddings, train)
            forward = nn.RNN(nn.OptimizedLSTMCell(cfg.encoder_dim // 2))(y, seq_lengths=lengths)
            backward = nn.RNN(nn.OptimizedLSTMCell(cfg.encoder_dim // 2), reverse=True,
                              keep_order=True)(y, seq_lengths=lengths)  # fmt: skip
            x = x + jnp.concatenate([forward, backward], axis=-1) * (1 - paddings)[..., None]
        ffn_dropout = self.dropout if cfg.ffn_dropout is None else cfg.ffn_dropout
        for _ in range(cfg.num_ffn_layers):
            y = MaskedBatchNorm(cfg.batch_norm_momentum)(x, paddings, train)
            y = (jnp.tanh if self.use_tanh else nn.relu)(cfg.dense(cfg.encoder_dim)(y))
            x = x + nn.Dropout(ffn_dropout, deterministic=not train)(y) * (1 - paddings)[..., None]
        return cfg.dense(self.vocab_size)(cfg.norm()(x)), paddings


# --- the workload --------------------------------------------------------------------------


@attrs.frozen
class SpeechWorkload(WorkloadBase):
    architecture: str  # "conformer" or "deepspeech"
    config: ModelConfig
    vocab_size: int
    num_features: int  # feature bins of the frames (the frontend makes them from audio)
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    eval_batch_size: int = 256
    #: A reader of AlgoPerf's LibriSpeech files: ``reader(seed, step)`` the training batch,
    #: ``reader.valid_batch(rows)`` and ``len(reader.valid)`` the validation split.
    reader: Any = None
    #: Maps token ids to text (``detokenize``); with it the WER is over detokenised
    #: transcripts as AlgoPerf's, without it over token groups split by ``word_start``.
    tokenizer: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)

    @property
    def arrays(self) -> tuple[str, ...]:
        """The batch's keys: (inputs, input paddings, labels, label paddings)."""
        return AUDIO_ARRAYS if self.config.audio_frontend else UTTERANCE_ARRAYS

    def model(self, dropout: float = 0.0) -> nn.Module:
        if self.architecture == "conformer":
            activation = "gelu" if self.variant == "gelu" else "swish"
            return Conformer(self.config, self.vocab_size, activation=activation, dropout=dropout)
        use_tanh = self.variant == "tanh"
        return DeepSpeech(self.config, self.vocab_size, use_tanh=use_tanh, dropout=dropout)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        if self.config.audio_frontend:  # 16 frames of audio
            inputs = jnp.zeros((2, speech_frontend.FrontendConfig().frame_size + 15 * 160))
        else:
            inputs = jnp.zeros((2, 16, self.num_features))
        rngs = {"params": rng, "dropout": jax.random.fold_in(rng, 1)}
        variables = self.model().init(rngs, inputs, jnp.zeros(inputs.shape[:2]), train=True)
        return variables["params"], {"batch_stats": variables["batch_stats"]}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        del label_smoothing  # CTC has no label smoothing (as in AlgoPerf)
        inputs, input_paddings, labels, label_paddings = (batch[k] for k in self.arrays)
        (logits, paddings), new_state = self.model(dropout).apply(
            {"params": params, **model_state},
            inputs,
            input_paddings,
            train=True,
            rngs={"dropout": rng},
            mutable=["batch_stats"],
        )
        return _ctc_loss(logits, paddings, labels, label_paddings), new_state

    def batch(self, seed: int, step: int) -> Batch:
        return train_batch(self, seed, step, self.arrays)

    def valid_batches(self) -> tuple[int, Any]:
        """The validation size and its batches (dicts of ``arrays``), in order."""
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = len(self.reader.valid)
            return total, valid_batches(self.reader, total, self.eval_batch_size, eval_sharding())
        total = num_rows(self.data["valid_labels"])
        names = self.arrays
        return total, array_batches(self.data, "valid", names, total, self.eval_batch_size)

    def words(self, tokens) -> Any:
        """A token sequence as the WER reads it: AlgoPerf's transcript with the tokenizer,
        else its words split at the data's ``word_start``."""
        if self.tokenizer is not None:  # AlgoPerf's scoring, quirk included (docs/full-scale.md)
            return metrics.algoperf_transcript(self.tokenizer.detokenize([int(t) for t in tokens]))
        return split_words(list(tokens), take(self.data["word_start"], slice(None)))

    def evaluate(self, params, model_state) -> dict[str, float]:
        """WER of greedy CTC decoding, and the CTC loss: at full size AlgoPerf's (summed over
        the split per label token), otherwise the mean over utterances of batch means. Each
        process decodes and counts word errors on its own rows (``host_rows``); the counts
        are summed over the processes."""
        total, batches = self.valid_batches()
        mean_sum = summed = tokens = 0.0
        errors = np.zeros(2, np.int64)  # word errors, reference words
        for batch in batches:
            batch_sum = batch_tokens = 0.0
            for part in eval_batches([batch]):  # split by rows
                part_sum, part_tokens, best, paddings = _evaluate_batch(
                    self.model(), params, model_state, *(part[k] for k in self.arrays)
                )
                batch_sum += float(part_sum)
                batch_tokens += float(part_tokens)
                labels, label_paddings = (host_rows(part[k]) for k in self.arrays[2:])
                decoded = metrics.ctc_collapse(host_rows(best), host_rows(paddings), BLANK)
                pairs = zip(labels, label_paddings, strict=True)
                references = [self.words(label[pad == 0]) for label, pad in pairs]
                hypotheses = [self.words(hypothesis) for hypothesis in decoded]
                if self.tokenizer is not None:
                    errors += metrics.transcript_word_errors(references, hypotheses)
                else:
                    errors += metrics.word_errors(references, hypotheses)
            mean_sum += batch_sum / max(batch_tokens, 1.0) * batch_rows(batch)
            summed += batch_sum
            tokens += batch_tokens
        word_errors, words = process_sum(errors)
        if words == 0:
            raise ValueError(f"{self.info.name}: no reference words in the validation split")
        loss = summed / max(tokens, 1.0) if self.size == "full" else mean_sum / total
        return {"wer": word_errors / words, "loss": loss}


def _ctc_loss(logits, logit_paddings, labels, label_paddings):
    """Summed CTC negative log-likelihood over the number of label tokens in the batch."""
    per_sequence = optax.ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=BLANK)
    return jnp.sum(per_sequence) / jnp.maximum(jnp.sum(1 - label_paddings), 1.0)


@jax.jit(static_argnums=0)
def _evaluate_batch(model, params, model_state, inputs, input_paddings, labels, label_paddings):
    """The batch's summed CTC loss and label tokens, and its best paths (frame-wise argmax
    ids: a fraction of the logits' bytes) and their paddings."""
    logits, paddings = model.apply({"params": params, **model_state}, inputs, input_paddings)
    per_sequence = optax.ctc_loss(logits, paddings, labels, label_paddings, blank_id=BLANK)
    tokens = jnp.sum(1 - label_paddings)
    return jnp.sum(per_sequence), tokens, jnp.argmax(logits, -1), paddings


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> SpeechWorkload:
    """``full`` reads AlgoPerf's npy files (streamed) or zarr arrays, by what ``data`` (or
    ``$HPBENCH_DATA_DIR/librispeech``) holds (hpbench.data.formats); smaller sizes generate.
    ``width`` multiplies the model's features (:meth:`ModelConfig.widened`)."""
    from hpbench.data.formats import data_root, detect, require_extra

    architecture = info.name.removeprefix("librispeech_")
    reader = tokenizer = None
    if size == "full" and detect(root := data_root(data, "librispeech")) == "librispeech_npy":
        require_extra(("grain", "sentencepiece"))
        from hpbench.data.librispeech_npy import LibriSpeechDataError, LibriSpeechReader
        from hpbench.data.sentencepiece_tokenizer import TokenizerError

        try:
            arrays, reader = {}, LibriSpeechReader.open(root, info.batch_size[size])
        except (LibriSpeechDataError, TokenizerError) as error:
            raise DataError(f"{info.name} (size full): {error}") from error
        vocab_size, tokenizer = reader.tokenizer.vocab_size, reader.tokenizer
        num_features = speech_frontend.FrontendConfig().num_bins
    elif size == "full":
        arrays = open_user_arrays(data if root is None else str(root), full_layout(), info.name)
        vocab_size, num_features = FULL_VOCAB_SIZE, speech_frontend.FrontendConfig().num_bins
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
        config=MODELS[architecture, size].widened(width),
        vocab_size=vocab_size,
        num_features=num_features,
        data=arrays,
        reader=reader,
        tokenizer=tokenizer,
    )

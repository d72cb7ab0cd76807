"""``wmt``: translation with AlgoPerf's encoder-decoder Transformer on a synthetic pair.

The mini language pair: source sentences from an SVO grammar (determiner, optional
adjective, noun; verb; object; optional prepositional phrase), translated by a lexicon
into an SOV target language with post-nominal adjectives, determiners that agree with the
noun's gender, postpositions, two-token compound nouns, and a verb suffix that agrees
with the subject's gender (a long-range dependency). Like a real corpus, the pair is
ambiguous and unevenly sampled: words follow a Zipf law within their class (rare words are
learned late), every content word has synonyms in the target language chosen at random
per occurrence (only one of them is the reference), and the prepositional phrase moves to
the front of the target sentence at random. The most likely translation therefore scores
far below 100 BLEU (about 62 at mini size), and BLEU rises gradually towards it.
Training is teacher-forced cross-entropy with label smoothing; the mini evaluation decodes
greedily and reports corpus BLEU over word tokens, plus the validation loss. ``full`` reads
AlgoPerf's WMT TFDS directories and SentencePiece model (hpbench.data.wmt_tfds, streamed)
or zarr arrays of token ids, trains on packed rows and evaluates as AlgoPerf
(``AlgoPerfDecoding``): beam search with 4 beams over a key/value cache, detokenised text,
13a-tokenised BLEU.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import attrs
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from hpbench.data.cache import cache_dir, materialize
from hpbench.data.packing import PACKING_KEYS
from hpbench.workloads import metrics, translate
from hpbench.workloads.base import (
    Batch,
    WorkloadBase,
    array_batches,
    eval_batches,
    eval_sharding,
    host_rows,
    process_sum,
    train_batch,
)
from hpbench.workloads.layers import sinusoidal_positions
from hpbench.workloads.registry import WorkloadInfo
from hpbench.workloads.userdata import (
    ArrayLayout,
    DataError,
    num_rows,
    open_user_arrays,
    take,
)

DATA_VERSION = 3
PAD, BOS, EOS = 0, 1, 2


@attrs.frozen
class DataConfig:
    """The generated language pair and its corpus sizes."""

    num_nouns: int = 64
    num_adjectives: int = 24
    num_verbs: int = 24
    num_determiners: int = 3
    num_prepositions: int = 4
    num_genders: int = 3
    compound_fraction: float = 0.3  # nouns whose translation takes two tokens
    #: Probabilities of a content word's target synonyms, drawn per occurrence (the first
    #: is the most likely: the one a perfect greedy model emits).
    synonyms: tuple[float, ...] = (0.7, 0.2, 0.1)
    zipf: float = 1.0  # word of rank r within its class is drawn with weight r**-zipf
    front_phrase: float = 0.3  # probability the prepositional phrase opens the target
    max_length: int = 16
    num_train: int = 8192
    num_valid: int = 256


@attrs.frozen
class ModelConfig:
    """Transformer sizes; AlgoPerf's in ``MODELS["full"]``."""

    vocab_size: int
    emb_dim: int
    num_heads: int
    num_layers: int
    mlp_dim: int
    max_length: int
    eval_batch_size: int = 256
    #: The decoder's first input (AlgoPerf shifts targets right with 0; the mini pair has BOS).
    bos_id: int = BOS

    def widened(self, width: int) -> ModelConfig:
        """This model with ``width`` times its features (the embedding, hence every
        attention and residual width, and the MLPs' hidden width); layers, heads and
        vocabulary stay."""
        return attrs.evolve(self, emb_dim=self.emb_dim * width, mlp_dim=self.mlp_dim * width)


DATA = {
    "mini": DataConfig(),
    "small": DataConfig(
        num_nouns=200,
        num_adjectives=80,
        num_verbs=80,
        num_determiners=5,
        num_prepositions=10,
        max_length=24,
        num_train=65536,
        num_valid=1024,
    ),  # fmt: skip
}


def full_layout() -> tuple[ArrayLayout, ...]:
    """The zarr arrays a ``full`` WMT dataset provides (see docs/data.md)."""
    out = []
    for split in ("train", "valid"):
        out += [
            ArrayLayout(f"{split}_inputs", (None, None), "int32", "source ids, 0-padded, EOS=2"),
            ArrayLayout(f"{split}_targets", (None, None), "int32", "target ids, 0-padded, EOS=2"),
        ]
    out.append(ArrayLayout("word_start", (32_000,), "bool", "token begins a word"))
    return tuple(out)


# --- the synthetic language pair ---------------------------------------------------------


@attrs.frozen
class Lexicon:
    """Token ids of each word class in both languages (shared vocabulary, ids from 3)."""

    config: DataConfig
    src: dict[str, np.ndarray]  # class -> source ids
    #: class -> target ids: (n, synonyms) for nouns, adjectives, verbs; (determiners,
    #: genders) for "det"; (n,) for "prep" and "agree"; "compound": each noun's second
    #: token, -1 for none
    tgt: dict[str, np.ndarray]
    gender: np.ndarray  # of each noun
    vocab_size: int


CONTENT = ("adj", "noun", "verb")  # the classes with synonyms


def make_lexicon(rng: np.random.Generator, config: DataConfig) -> Lexicon:
    """Assign ids: source words, then target words (determiners per gender, synonyms of
    content words, compounds)."""
    sizes = {
        "det": config.num_determiners,
        "adj": config.num_adjectives,
        "noun": config.num_nouns,
        "verb": config.num_verbs,
        "prep": config.num_prepositions,
    }
    next_id = 3
    src = {}
    for name, n in sizes.items():
        src[name] = np.arange(next_id, next_id + n)
        next_id += n
    tgt = {}
    for name, n in sizes.items():
        width = (
            config.num_genders if name == "det" else len(config.synonyms) if name in CONTENT else 1
        )
        tgt[name] = np.arange(next_id, next_id + n * width).reshape(n, width)
        next_id += n * width
    tgt["prep"] = tgt["prep"][:, 0]
    tgt["agree"] = np.arange(next_id, next_id + config.num_genders)
    next_id += config.num_genders
    num_parts = max(2, config.num_nouns // 4)
    parts = np.arange(next_id, next_id + num_parts)
    next_id += num_parts
    compound = rng.random(config.num_nouns) < config.compound_fraction
    tgt["compound"] = np.where(compound, rng.choice(parts, config.num_nouns), -1)
    tgt["noun"] = tgt["noun"][rng.permutation(config.num_nouns)]
    gender = rng.integers(0, config.num_genders, config.num_nouns)
    return Lexicon(config, src, tgt, gender, vocab_size=next_id)


def sentence_pair(rng: np.random.Generator, lex: Lexicon) -> tuple[list[int], list[int], list[int]]:
    """One source sentence, its sampled translation (the reference) and its most likely
    translation (first synonyms, the phrase in its usual place)."""
    config = lex.config
    synonyms = np.asarray(config.synonyms) / np.sum(config.synonyms)

    def word(name: str) -> int:
        n = len(lex.src[name])
        weights = np.arange(1, n + 1, dtype=np.float64) ** -config.zipf
        return int(rng.choice(n, p=weights / weights.sum()))

    def translate(name: str, index: int) -> tuple[int, int]:
        """The sampled and the most likely target word of source word ``index``."""
        return int(lex.tgt[name][index, rng.choice(len(synonyms), p=synonyms)]), int(
            lex.tgt[name][index, 0]
        )

    def noun_phrase() -> tuple[list[int], list[int], list[int], int]:
        det = rng.integers(len(lex.src["det"]))
        noun = word("noun")
        adj = word("adj") if rng.random() < 0.5 else None
        source = [lex.src["det"][det]] + ([lex.src["adj"][adj]] if adj is not None else [])
        source.append(lex.src["noun"][noun])
        pairs = [translate("noun", noun)]
        if lex.tgt["compound"][noun] >= 0:
            pairs.append((lex.tgt["compound"][noun],) * 2)
        if adj is not None:
            pairs.append(translate("adj", adj))
        pairs.append((lex.tgt["det"][det, lex.gender[noun]],) * 2)
        return source, [p[0] for p in pairs], [p[1] for p in pairs], noun

    subj, obj = noun_phrase(), noun_phrase()
    verb = word("verb")
    source = subj[0] + [lex.src["verb"][verb]] + obj[0]
    sampled, likely = subj[1] + obj[1], subj[2] + obj[2]
    if rng.random() < 0.4:
        prep = rng.integers(len(lex.src["prep"]))
        phrase = noun_phrase()
        source += [lex.src["prep"][prep]] + phrase[0]
        postposition = [lex.tgt["prep"][prep]]
        if rng.random() < config.front_phrase:
            sampled = phrase[1] + postposition + sampled
        else:
            sampled = sampled + phrase[1] + postposition
        likely = likely + phrase[2] + postposition
    sampled_verb, likely_verb = translate("verb", verb)
    agree = lex.tgt["agree"][lex.gender[subj[3]]]
    sampled += [sampled_verb, agree]
    likely += [likely_verb, agree]
    return [int(t) for t in source], [int(t) for t in sampled], [int(t) for t in likely]


def generate(config: DataConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """EOS-terminated, 0-padded (N, max_length) source and target ids per split."""
    rng = np.random.default_rng(seed)
    lex = make_lexicon(rng, config)
    out = {}
    for split, count in (("train", config.num_train), ("valid", config.num_valid)):
        inputs = np.zeros((count, config.max_length), np.int32)
        targets = np.zeros((count, config.max_length), np.int32)
        for i in range(count):
            source, target, _ = sentence_pair(rng, lex)
            inputs[i, : len(source) + 1] = [*source, EOS]
            targets[i, : len(target) + 1] = [*target, EOS]
        out[f"{split}_inputs"], out[f"{split}_targets"] = inputs, targets
    out["word_start"] = np.zeros(lex.vocab_size, bool)  # every token is a word
    return out


def vocab_size_of(config: DataConfig) -> int:
    return make_lexicon(np.random.default_rng(0), config).vocab_size


# --- the Transformer (AlgoPerf's WMT model: flax's example, shared embeddings) ------------


class Sublayers(nn.Module):
    """Residual sublayers around attention and MLP, Pre-LN (AlgoPerf) or Post-LN."""

    config: ModelConfig
    post_ln: bool = False
    dropout: float = 0.0
    decode: bool = False  # self-attention reads and extends a key/value cache

    def residual(self, x, sublayer, train):
        if self.post_ln:
            return nn.LayerNorm()(
                x + nn.Dropout(self.dropout, deterministic=not train)(sublayer(x))
            )
        y = sublayer(nn.LayerNorm()(x))
        return x + nn.Dropout(self.dropout, deterministic=not train)(y)

    def attention(self, train, decode: bool = False):
        return nn.MultiHeadDotProductAttention(
            num_heads=self.config.num_heads,
            dropout_rate=self.dropout,
            deterministic=not train,
            kernel_init=nn.initializers.xavier_uniform(),
            decode=decode,
        )

    def mlp(self, x):
        x = nn.relu(nn.Dense(self.config.mlp_dim, kernel_init=nn.initializers.xavier_uniform())(x))
        return nn.Dense(self.config.emb_dim, kernel_init=nn.initializers.xavier_uniform())(x)


class EncoderLayer(Sublayers):
    @nn.compact
    def __call__(self, x, mask, train):
        x = self.residual(x, lambda y: self.attention(train)(y, mask=mask), train)
        return self.residual(x, self.mlp, train)


class DecoderLayer(Sublayers):
    @nn.compact
    def __call__(self, x, encoded, self_mask, cross_mask, train):
        self_attention = self.attention(train, decode=self.decode)
        x = self.residual(x, lambda y: self_attention(y, mask=self_mask), train)
        x = self.residual(x, lambda y: self.attention(train)(y, encoded, mask=cross_mask), train)
        return self.residual(x, self.mlp, train)


class DecodePosition(nn.Module):
    """The position of the token decoded next, counted in the ``cache`` collection."""

    @nn.compact
    def __call__(self) -> jax.Array:
        initialized = self.has_variable("cache", "index")
        index = self.variable("cache", "index", lambda: jnp.array(0, jnp.int32))
        if initialized:
            index.value = index.value + 1
        return index.value - 1 if initialized else index.value


class Transformer(nn.Module):
    """Encoder-decoder Transformer, shared input/output embedding (logits via embedding).

    With ``decoding=True``, ``decode`` is one step of autoregressive decoding: one token
    per sequence, attending to the keys and values cached from the previous steps (the
    ``cache`` collection, sized by a first call with the full decode length). Packed
    sequences (several examples per row, as AlgoPerf trains) pass their positions and
    segment ids; attention never crosses segments.
    """

    config: ModelConfig
    post_ln: bool = False
    dropout: float = 0.0
    decoding: bool = False

    def setup(self):
        cfg = self.config
        self.embed = nn.Embed(cfg.vocab_size, cfg.emb_dim,
                              embedding_init=nn.initializers.normal(stddev=1.0))  # fmt: skip
        layer = {"config": cfg, "post_ln": self.post_ln, "dropout": self.dropout}
        self.encoder_layers = [EncoderLayer(**layer) for _ in range(cfg.num_layers)]
        self.decoder_layers = [
            DecoderLayer(**layer, decode=self.decoding) for _ in range(cfg.num_layers)
        ]
        self.decode_position = DecodePosition()
        self.encoder_norm = nn.LayerNorm()
        self.decoder_norm = nn.LayerNorm()
        self.drop = nn.Dropout(self.dropout)

    def embed_tokens(self, tokens, train, positions=None):
        """Token plus position embeddings: positions 0, 1, ... of the row, or the given ones
        (packed rows, a decode step)."""
        if positions is None:
            table = sinusoidal_positions(tokens.shape[1], self.config.emb_dim)
        else:
            table = sinusoidal_positions(self.config.max_length, self.config.emb_dim)[0]
            table = jnp.take(table, positions, axis=0)
        x = self.embed(tokens) + table
        return self.drop(x, deterministic=not train)

    def encode(self, inputs, train: bool = False, positions=None, segments=None):
        mask = nn.make_attention_mask(inputs > 0, inputs > 0)
        if segments is not None:
            mask = nn.combine_masks(mask, nn.make_attention_mask(segments, segments, jnp.equal))
        x = self.embed_tokens(inputs, train, positions)
        for layer in self.encoder_layers:
            x = layer(x, mask, train)
        return x if self.post_ln else self.encoder_norm(x)

    def decode(
        self, encoded, inputs, decoder_inputs, targets, train: bool = False,
        positions=None, segments=None, input_segments=None,
    ):  # fmt: skip
        """Logits for each target position given the previous tokens (``decoder_inputs``);
        in decode mode, for the next position given one token per row."""
        step = self.decoding and decoder_inputs.shape[1] == 1
        if self.decoding:  # the first (sizing) call creates the position counter
            position = self.decode_position()
        if step:
            positions = jnp.broadcast_to(position, decoder_inputs.shape)
            self_mask = None  # the cache masks the positions not decoded yet
        else:
            self_mask = nn.combine_masks(
                nn.make_attention_mask(targets > 0, targets > 0),
                nn.make_causal_mask(decoder_inputs),
            )
        cross_mask = nn.make_attention_mask(targets > 0, inputs > 0)
        if segments is not None:
            self_mask = nn.combine_masks(
                self_mask, nn.make_attention_mask(segments, segments, jnp.equal)
            )
            cross_mask = nn.combine_masks(
                cross_mask, nn.make_attention_mask(segments, input_segments, jnp.equal)
            )
        x = self.embed_tokens(decoder_inputs, train, positions)
        for layer in self.decoder_layers:
            x = layer(x, encoded, self_mask, cross_mask, train)
        x = x if self.post_ln else self.decoder_norm(x)
        return self.embed.attend(x) / jnp.sqrt(self.config.emb_dim).astype(jnp.float32)

    def __call__(self, inputs, targets, train: bool = False, packing: dict | None = None):
        """Teacher-forced logits; ``packing`` holds AlgoPerf's ``{inputs,targets}_position``
        and ``_segmentation`` rows of packed examples (``hpbench.data.packing``). As in
        AlgoPerf, targets shift right over the whole row, so a later segment's first input
        is the previous segment's EOS."""
        packing = packing or {}
        decoder_inputs = jnp.pad(
            targets[:, :-1], ((0, 0), (1, 0)), constant_values=self.config.bos_id
        )
        encoded = self.encode(
            inputs, train, packing.get("inputs_position"), packing.get("inputs_segmentation")
        )
        return self.decode(
            encoded, inputs, decoder_inputs, targets, train, packing.get("targets_position"),
            packing.get("targets_segmentation"), packing.get("inputs_segmentation"),
        )  # fmt: skip


def _cross_entropy(logits, targets, label_smoothing):
    """Mean token cross-entropy over non-padding targets, with smoothed labels."""
    labels = optax.smooth_labels(jax.nn.one_hot(targets, logits.shape[-1]), label_smoothing)
    weights = (targets > 0).astype(jnp.float32)
    losses = optax.softmax_cross_entropy(logits, labels) * weights
    return jnp.sum(losses) / jnp.maximum(jnp.sum(weights), 1.0)


# --- the workload --------------------------------------------------------------------------


@attrs.frozen
class AlgoPerfDecoding:
    """Evaluation as AlgoPerf's: beam search with a key/value cache, output cut at EOS
    and detokenised (``detokenize``: ids -> text, e.g. the SentencePiece model's), BLEU on
    the text (``metrics.text_bleu``)."""

    detokenize: Callable[[np.ndarray], str]
    beam_size: int = 4
    alpha: float = 0.6  # length penalty exponent
    max_decode_len: int = 256  # AlgoPerf's max_predict_length: 255 tokens after BOS


@attrs.frozen
class WMTWorkload(WorkloadBase):
    config: ModelConfig
    data: dict  # zarr or generated arrays; empty when ``reader`` feeds the workload
    #: hpbench.data.wmt_tfds.WMTReader of AlgoPerf's TFDS data, streamed
    reader: Any = None
    streams: dict = attrs.field(factory=dict, eq=False, repr=False)
    #: None: the mini pair's evaluation (greedy, BLEU over token words).
    decoding: AlgoPerfDecoding | None = None

    def model(self, dropout: float = 0.0) -> Transformer:
        return Transformer(self.config, post_ln=self.variant == "post_ln", dropout=dropout)

    def init(self, rng: jax.Array) -> tuple[dict, dict]:
        tokens = jnp.ones((1, self.config.max_length), jnp.int32)
        return self.model().init(rng, tokens, tokens)["params"], {}

    def loss(self, params, model_state, batch: Batch, rng, *, dropout: float, label_smoothing):
        packing = {k: batch[k] for k in PACKING_KEYS if k in batch}
        logits = self.model(dropout).apply(
            {"params": params}, batch["inputs"], batch["targets"], train=True,
            packing=packing, rngs={"dropout": rng},
        )  # fmt: skip
        return _cross_entropy(logits, batch["targets"], label_smoothing), model_state

    def batch(self, seed: int, step: int) -> Batch:
        return train_batch(self, seed, step, ("inputs", "targets"))

    def valid_batches(self) -> tuple[int, Iterator[Batch]]:
        """The validation split's size and its batches (``inputs``, ``targets``) in order."""
        size = self.config.eval_batch_size
        if self.reader is not None:
            from hpbench.data.stream import valid_batches

            total = len(self.reader.valid_inputs)
            return total, valid_batches(self.reader, total, size, eval_sharding())
        total = num_rows(self.data["valid_inputs"])
        return total, array_batches(self.data, "valid", ("inputs", "targets"), total, size)

    def detokenize(self, ids) -> str:
        """The text of a decoded row as AlgoPerf's ``_decode_tokens`` (reader data only)."""
        if self.reader is None:
            raise ValueError("wmt: only AlgoPerf's data comes with a SentencePiece model")
        return self.reader.detokenize(ids)

    def word_splitter(self) -> Callable[[np.ndarray], list]:
        """Decoded row -> the words BLEU counts: the detokenized text split at spaces
        (reader data), else ``words`` at the data's ``word_start``."""
        if self.reader is not None:
            return lambda ids: self.detokenize(ids).split()
        word_start = take(self.data["word_start"], slice(None))
        return lambda ids: words(ids, word_start)

    def evaluate(self, params, model_state) -> dict[str, float]:
        """BLEU of the decodes and the teacher-forced loss per target token. Each process
        counts BLEU's statistics on its own rows (``host_rows``) and the counts are summed
        over the processes (exact: corpus BLEU is a function of summed counts)."""
        if self.decoding is not None:
            return self._evaluate_as_algoperf(params)
        _, batches = self.valid_batches()
        split = self.word_splitter()
        loss_sum, counts = 0.0, np.zeros(_COUNTS, np.int64)
        for batch in eval_batches(batches):
            batch_loss, decoded = _evaluate_batch(
                self.model(), params, batch["inputs"], batch["targets"]
            )
            loss_sum += float(batch_loss)
            targets = host_rows(batch["targets"])
            hypotheses = [split(hyp) for hyp in host_rows(decoded)]
            bleu = metrics.bleu_statistics(hypotheses, [split(ref) for ref in targets])
            counts += np.r_[np.sum(targets > 0), bleu]
        tokens, *bleu = process_sum(counts)
        return {"bleu": metrics.bleu_from_statistics(np.asarray(bleu)), "loss": loss_sum / tokens}

    def _evaluate_as_algoperf(self, params) -> dict[str, float]:
        decoding = self.decoding
        loss_sum, counts = 0.0, np.zeros(_COUNTS, np.int64)
        for batch in eval_batches(self.valid_batches()[1]):  # beams decoded split by rows
            batch_loss, predicted = _evaluate_beam(
                self.model(), params, batch["inputs"], batch["targets"], decoding.beam_size,
                decoding.alpha, decoding.max_decode_len,
            )  # fmt: skip
            loss_sum += float(batch_loss)
            targets = host_rows(batch["targets"])
            references, hypotheses = [], []
            for ref, hyp in zip(targets, host_rows(predicted), strict=True):
                references.append(decoding.detokenize(translate.until_eos(ref)))
                hypotheses.append(decoding.detokenize(translate.until_eos(hyp)))
            bleu = metrics.text_bleu_statistics(hypotheses, references)
            counts += np.r_[np.sum(targets > 0), bleu]
        tokens, *bleu = process_sum(counts)
        return {"bleu": metrics.bleu_from_statistics(np.asarray(bleu)), "loss": loss_sum / tokens}


#: What an evaluation counts on each process: target tokens, then ``metrics.bleu_statistics``.
_COUNTS = 1 + 2 + 2 * 4


def word_text(word_start: np.ndarray) -> Callable[[np.ndarray], str]:
    """A detokeniser for data without a SentencePiece model: each word (``words``) as
    one alphanumeric string, so BLEU on the text is BLEU over those words."""

    def detokenize(ids: np.ndarray) -> str:
        return " ".join("w" + "x".join(map(str, w)) for w in words(ids, word_start))

    return detokenize


def words(ids: np.ndarray, word_start: np.ndarray) -> list[tuple[int, ...]]:
    """The words of a decoded sequence, up to its first EOS: each token, or token groups
    split before word-start tokens (SentencePiece pieces that begin with a space)."""
    ids = [int(t) for t in ids]
    ids = ids[: ids.index(EOS)] if EOS in ids else ids
    ids = [t for t in ids if t != PAD]
    if not word_start.any():
        return [(t,) for t in ids]
    groups: list[list[int]] = [[]]
    for t in ids:
        if word_start[t] and groups[-1]:
            groups.append([])
        groups[-1].append(t)
    return [tuple(g) for g in groups if g]


@jax.jit(static_argnums=0)
def _evaluate_batch(model: Transformer, params, inputs, targets):
    """Summed token cross-entropy (teacher forced) and greedy decodes of ``inputs``."""
    logits = model.apply({"params": params}, inputs, targets)
    weights = (targets > 0).astype(jnp.float32)
    loss = jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits, targets) * weights)
    encoded = model.apply({"params": params}, inputs, method=Transformer.encode)
    length = targets.shape[1]

    def step(i, decoded):
        decoder_inputs = jnp.pad(decoded[:, :-1], ((0, 0), (1, 0)), constant_values=BOS)
        step_logits = model.apply(
            {"params": params}, encoded, inputs, decoder_inputs, jnp.ones_like(decoded),
            method=Transformer.decode,
        )  # fmt: skip
        return decoded.at[:, i].set(jnp.argmax(step_logits[:, i], axis=-1))

    decoded = jax.lax.fori_loop(0, length, step, jnp.zeros_like(targets))
    return loss, decoded


@jax.jit(static_argnums=(0, 4, 5, 6))
def _evaluate_beam(model: Transformer, params, inputs, targets, beam_size, alpha, max_decode_len):
    """Summed token cross-entropy (teacher forced) and the best beams of ``inputs``."""
    logits = model.apply({"params": params}, inputs, targets)
    weights = (targets > 0).astype(jnp.float32)
    loss = jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits, targets) * weights)
    predicted = translate.predict(
        model, params, inputs, max_decode_len=max_decode_len, beam_size=beam_size, alpha=alpha
    )
    return loss, predicted


def build(
    info: WorkloadInfo, size: str, variant: str, data: str | None, width: int = 1
) -> WMTWorkload:
    """``full`` reads AlgoPerf's TFDS directories (streamed) or zarr arrays, by what ``data``
    (or ``$HPBENCH_DATA_DIR/wmt``) holds (hpbench.data.formats); smaller sizes generate.
    ``width`` multiplies the model's features (:meth:`ModelConfig.widened`)."""
    from hpbench.data.formats import data_root, detect, require_extra

    reader = None
    if size == "full":
        if detect(root := data_root(data, "wmt")) == "wmt_tfds":
            require_extra(("grain", "sentencepiece"))
            from hpbench.data.sentencepiece_tokenizer import TokenizerError
            from hpbench.data.tfrecord import TfdsError
            from hpbench.data.wmt_tfds import WMTReader

            index = cache_dir() / "wmt-record-index"
            try:
                arrays, reader = {}, WMTReader.open(root, info.batch_size[size], cache=index)
            except (TfdsError, TokenizerError) as error:
                raise DataError(f"wmt (size full): {error}") from error
        else:
            arrays = open_user_arrays(data if root is None else str(root), full_layout(), info.name)
        config = ModelConfig(vocab_size=32_000, emb_dim=1024, num_heads=16, num_layers=6,
                             mlp_dim=4096, max_length=256, eval_batch_size=64,
                             bos_id=0)  # fmt: skip
        if reader is not None:
            decoding = AlgoPerfDecoding(detokenize=reader.detokenize)
        else:
            word_start = take(arrays["word_start"], slice(None))
            decoding = AlgoPerfDecoding(detokenize=word_text(word_start))
    else:
        data_config = DATA[size]
        arrays = materialize(
            f"wmt-{size}-v{DATA_VERSION}", functools.partial(generate, data_config)
        )
        vocab = vocab_size_of(data_config)
        config = {
            "mini": ModelConfig(
                vocab,
                emb_dim=64,
                num_heads=4,
                num_layers=2,
                mlp_dim=128,
                max_length=data_config.max_length,
            ),  # fmt: skip
            "small": ModelConfig(
                vocab,
                emb_dim=256,
                num_heads=8,
                num_layers=3,
                mlp_dim=1024,
                max_length=data_config.max_length,
            ),  # fmt: skip
        }[size]
        decoding = None
    return WMTWorkload(
        info=info,
        size=size,
        variant=variant,
        config=config.widened(width),
        data=arrays,
        reader=reader,
        decoding=decoding,
    )

"""Full-size LibriSpeech as AlgoPerf computes it: the log-mel frontend, SpecAugment, the
(1 + scale) LayerNorm and xavier kernels, greedy CTC decoding and the WER.

References: the frontend against NumPy/SciPy worked in float64 from its definition
(``tf.signal`` mel matrix, HTK pre-emphasis, periodic Hann window), the WER against jiwer,
the decoding by hand and against AlgoPerf's own ``collapse_and_remove_blanks`` (ported
below, as its greedy decoding runs it).
"""

import attrs
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import workload_checks as checks

from hpbench.data.cache import write_arrays
from hpbench.workloads import librispeech, metrics, speech_frontend
from hpbench.workloads.registry import load_workload
from hpbench.workloads.spec_augment import SpecAugmentConfig, block_mask, spec_augment

CONFIG = speech_frontend.FrontendConfig()
NAMES = ("librispeech_conformer", "librispeech_deepspeech")


# --- frontend ------------------------------------------------------------------------------


def mel_matrix_float64(num_spectrogram_bins: int) -> np.ndarray:
    """tf.signal.linear_to_mel_weight_matrix's definition, in float64: triangles linear in
    HTK mel between 80 + 2 equally spaced mel edges over 125-7600 Hz, DC row zero."""

    def mel(hertz):
        return 1127.0 * np.log(1.0 + np.asarray(hertz) / 700.0)

    bins_mel = mel(np.linspace(0.0, 8000.0, num_spectrogram_bins))[:, None]
    edges = np.linspace(mel(125.0), mel(7600.0), 80 + 2)
    lower, center, upper = edges[:-2], edges[1:-1], edges[2:]
    rising = (bins_mel - lower) / (center - lower)
    falling = (upper - bins_mel) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights[0] = 0.0  # HTK leaves out the DC bin
    return weights


def log_mel_float64(samples: np.ndarray) -> np.ndarray:
    """(frames, 80) normalised log-mels of one unpadded int16-range signal, with SciPy."""
    signal = pytest.importorskip("scipy.signal")  # scikit-learn's dependency (metrics extra)

    x = samples.astype(np.float64) / 2**15
    window = signal.get_window("hann", 400)  # periodic (fftbins=True)
    count = (len(x) - 401) // 160 + 1
    rows = []
    for i in range(count):
        frame = x[i * 160 : i * 160 + 400]
        emphasised = signal.lfilter([1.0, -0.97], [1.0], frame)
        emphasised[0] = 0.03 * frame[0]  # HTK: the first sample is scaled, not differenced
        rows.append(np.abs(np.fft.rfft(emphasised * window, 512)) ** 2)
    mel = np.asarray(rows) @ mel_matrix_float64(257)
    log = np.log(np.maximum(mel, 1e-5))
    mean = np.asarray(speech_frontend.LIBRISPEECH_MEAN)
    return (log - mean) / np.asarray(speech_frontend.LIBRISPEECH_STD)


def test_frontend_sizes_are_algoperfs():
    assert (CONFIG.frame_size, CONFIG.frame_step, CONFIG.fft_size) == (401, 160, 512)
    assert speech_frontend.num_frames(320_000) == 1998  # AlgoPerf's padded utterance


def test_mel_matrix_matches_the_tf_definition():
    ours = np.asarray(speech_frontend.mel_weight_matrix(257, CONFIG))
    np.testing.assert_allclose(ours, mel_matrix_float64(257), atol=2e-5)
    mel_edges = np.linspace(1127 * np.log(1 + 125 / 700), 1127 * np.log(1 + 7600 / 700), 82)
    centers = 700 * (np.exp(mel_edges[1:-1] / 1127) - 1)
    peaks = np.linspace(0, 8000, 257)[ours.argmax(0)]  # each filter peaks by its centre
    assert np.all(np.abs(peaks - centers) <= 31.25 / 2 + 1e-6)


def test_log_mel_of_a_tone_matches_scipy_and_ignores_padding():
    rng = np.random.default_rng(0)
    n, total = 4000, 6000  # 0.25 s of audio, padded to 0.375 s
    t = np.arange(n) / 16000
    tone = np.round(8000 * np.sin(2 * np.pi * 1000 * t) + rng.normal(0, 30, n))
    audio = np.zeros((2, total), np.float32)
    audio[0, :n] = tone
    audio[0, n:] = rng.normal(0, 5000, total - n)  # garbage under the padding: masked away
    audio[1] = rng.normal(0, 3000, total).round()
    paddings = np.zeros((2, total), np.float32)
    paddings[0, n:] = 1.0
    features, frame_paddings = jax.jit(speech_frontend.log_mel)(audio, paddings)
    assert features.shape == (2, speech_frontend.num_frames(total), 80)
    # A frame is padding only when all its samples are: 401-sample windows every 160.
    starts = np.arange(features.shape[1]) * 160
    np.testing.assert_array_equal(frame_paddings[0], (starts >= n).astype(np.float32))
    valid = (n - 401) // 160 + 1
    np.testing.assert_allclose(features[0, :valid], log_mel_float64(tone), atol=2e-3)
    np.testing.assert_allclose(features[1], log_mel_float64(audio[1]), atol=2e-3)
    # 1 kHz sits in the filters centred nearest it; the loudest bin of each frame is one.
    centers = np.linspace(0, 8000, 257)[
        np.asarray(speech_frontend.mel_weight_matrix(257, CONFIG)).argmax(0)
    ]
    loudest = np.asarray(features[0, :valid] * np.asarray(speech_frontend.LIBRISPEECH_STD)
                         + np.asarray(speech_frontend.LIBRISPEECH_MEAN)).argmax(-1)  # fmt: skip
    assert np.all(np.abs(centers[loudest] - 1000) < 60)


# --- SpecAugment ---------------------------------------------------------------------------


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, length) of each run of zeros in a 1-D 0/1 mask."""
    edges = np.diff(np.r_[1, mask, 1])
    starts, ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    return list(zip(starts.tolist(), (ends - starts).tolist(), strict=True))


def test_spec_augment_masks_as_algoperf():
    lengths = np.array([600, 400, 30, 600])
    paddings = (np.arange(600)[None] >= lengths[:, None]).astype(np.float32)
    features = np.ones((4, 600, 80), np.float32)
    config = SpecAugmentConfig()
    augment = jax.jit(spec_augment, static_argnums=3)
    masked = np.asarray(augment(jax.random.key(3), features, paddings, config))
    assert masked.shape == features.shape and set(np.unique(masked)) <= {0.0, 1.0}
    for row, length in enumerate(lengths):
        freq_kept = masked[row].max(0)  # a bin is masked in every frame
        time_kept = masked[row].max(1)
        assert np.all(masked[row] == np.outer(time_kept, freq_kept))
        time_runs, freq_runs = runs(time_kept), runs(freq_kept)
        # <= 10 time masks (overlapping ones merge), each <= max(int(5% of length), 1) frames,
        # inside the utterance; <= 2 frequency masks of <= 26 bins.
        longest = max(int(0.05 * length), 1)
        assert len(time_runs) <= 10 and (1 - time_kept).sum() <= 10 * longest
        assert all(start + size <= length for start, size in time_runs)
        assert all(size <= 10 * longest for _, size in time_runs)
        assert len(freq_runs) <= 2 and all(size <= 2 * 26 for _, size in freq_runs)
        assert (1 - freq_kept).sum() <= 2 * 26
    assert (1 - masked[0].max(1)).sum() > 0 and (1 - masked[0].max(0)).sum() > 0
    again = augment(jax.random.key(3), features, paddings, config)
    other = augment(jax.random.key(4), features, paddings, config)
    np.testing.assert_array_equal(masked, again)
    assert not np.array_equal(masked, other)


def test_spec_augment_mask_sizes_follow_the_uniform_draws():
    """Averaged over many rows, a 1000-frame utterance loses about what 10 masks of
    int(50 u) frames cover, and 80 bins about 2 masks of int(27 u)."""
    rows = 500
    masks = jax.jit(block_mask, static_argnums=(2, 3, 5))
    time_kept = masks(jax.random.key(0), jnp.full(rows, 1000), 1000, 10, jnp.full(rows, 50.0), 0.05)
    freq_kept = masks(jax.random.key(1), jnp.full(rows, 80), 80, 2, jnp.full(rows, 27.0), 1.0)
    time_lost = float((1 - time_kept).sum(1).mean())
    freq_lost = float((1 - freq_kept).sum(1).mean())
    # E[int(50 u)] = 24.5 per mask, E[int(27 u)] = 13; overlaps take some off (measured over
    # 5000 rows: 219.2 and 23.6; the bounds are > 4 standard errors of 500 rows away).
    assert 205 < time_lost < 235 and 21.5 < freq_lost < 25.5


# --- decoding and WER ----------------------------------------------------------------------


def algoperf_greedy_decode(logits, logit_paddings):
    """AlgoPerf's greedy_decode + collapse_and_remove_blanks (librispeech_jax/workload.py),
    ported line for line; returns each row's tokens as AlgoPerf's WER reads them."""
    hyp = np.asarray(_algoperf_collapse(jnp.asarray(logits), jnp.asarray(logit_paddings)))
    lengths = np.sum(hyp != 0, axis=-1)  # compute_wer: decoded_paddings = (hyp == 0)
    return [row[:n].tolist() for row, n in zip(hyp, lengths, strict=True)]


@jax.jit
def _algoperf_collapse(logits, logit_paddings):

    def sequence_mask(lengths, maxlen):
        return (jnp.cumsum(jnp.ones([lengths.shape[0], maxlen]), -1) <= lengths[:, None]).astype(
            lengths.dtype
        )

    labels = jnp.argmax(logits, axis=-1)
    seq_length = jnp.sum(1.0 - logit_paddings, axis=-1)
    b, t = labels.shape
    labels = (labels * (1 - jnp.equal(labels, 0))).astype(labels.dtype)
    label_mask = jnp.concatenate(
        [jnp.ones_like(labels[:, :1], jnp.int32), jnp.not_equal(labels[:, 1:], labels[:, :-1])], 1
    )
    label_mask = label_mask * sequence_mask(seq_length, t)
    ulabels = label_mask * labels
    new_len = jnp.sum(jnp.not_equal(ulabels, 0).astype(labels.dtype), axis=1)
    flat_labels = jnp.reshape(ulabels, [-1])
    flat_idx_mask = jnp.reshape(sequence_mask(new_len, t), [-1])
    indices = jnp.nonzero(flat_idx_mask, size=b * t)[0]
    values = jnp.nonzero(flat_labels, size=b * t)[0]
    updates = jnp.take_along_axis(flat_labels, values, axis=-1)
    flat = jnp.zeros(flat_idx_mask.shape).astype(labels.dtype).at[indices].set(updates)
    flat = flat.at[0].set(updates[0])
    return jnp.reshape(flat, [b, t])


def test_greedy_decoding_worked_by_hand():
    # Frame argmaxes (0 = blank), the last two frames padding:
    #   row 0: 3 3 0 3 5 5 0 | 7 7  -> merge repeats, drop blanks: 3 3 5
    #   row 1: 0 0 4 4 4 2 2 0 | 2 -> 4 2
    path = np.array([[3, 3, 0, 3, 5, 5, 0, 7, 7], [0, 0, 4, 4, 4, 2, 2, 0, 2]])
    logits = np.eye(8)[path] * 5.0
    paddings = np.zeros(path.shape, np.float32)
    paddings[:, 7:] = 1.0
    assert metrics.ctc_greedy_decode(logits, paddings, 0) == [[3, 3, 5], [4, 2]]
    assert algoperf_greedy_decode(logits, paddings) == [[3, 3, 5], [4, 2]]


def test_greedy_decoding_agrees_with_algoperfs():
    rng = np.random.default_rng(5)
    for _ in range(5):
        logits = rng.normal(size=(6, 40, 5)) + 2.0 * (rng.random((6, 40, 1)) < 0.3) * np.eye(5)[0]
        lengths = rng.integers(1, 41, 6)
        lengths[0] = 40  # AlgoPerf's decoding needs a first row that decodes to something
        paddings = (np.arange(40)[None] >= lengths[:, None]).astype(np.float32)
        ours = metrics.ctc_greedy_decode(logits, paddings, 0)
        assert ours[0], "the first row must decode to tokens"
        assert ours == algoperf_greedy_decode(logits, paddings)


def test_algoperfs_decoding_differs_only_when_the_first_row_is_empty():
    """AlgoPerf's scatter resets position 0 to the batch's first decoded token; with an
    empty first row that token is another row's (a quirk hpbench does not copy)."""
    path = np.array([[0, 0, 0], [4, 0, 6]])
    logits, paddings = np.eye(8)[path], np.zeros((2, 3), np.float32)
    assert metrics.ctc_greedy_decode(logits, paddings, 0) == [[], [4, 6]]
    assert algoperf_greedy_decode(logits, paddings) == [[4], [4, 6]]


REFERENCES = ["the cat sat on the mat", "a quick  brown fox", "hello world", "one"]
HYPOTHESES = ["the cat sit on mat", "a quick brown fox jumps", "", "one two three"]


def test_transcript_wer_matches_jiwer_and_a_hand_count():
    jiwer = pytest.importorskip("jiwer")
    ours = metrics.transcript_word_error_rate(REFERENCES, HYPOTHESES)
    # by hand: 1 substitution + 1 deletion; 1 insertion; 2 deletions; 2 insertions
    assert ours == pytest.approx((2 + 1 + 2 + 2) / (6 + 4 + 2 + 1))
    assert ours == pytest.approx(jiwer.wer(REFERENCES, HYPOTHESES))
    # AlgoPerf counts an empty reference as one word (len(''.split(' ')) == 1)
    assert metrics.transcript_word_error_rate(["", "a b"], ["x", "a b"]) == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="2 hypotheses but 1 references"):
        metrics.transcript_word_error_rate(["a"], ["a", "b"])


def test_algoperfs_wer_reads_the_string_tensors_text():
    """AlgoPerf splits ``str(tf.Tensor)``: two extra words per utterance that never err, and
    the literal's quotes glued to the first and last words."""
    text = metrics.algoperf_transcript
    assert text("the cat sat") == "tf.Tensor(b'the cat sat', shape=(), dtype=string)"
    assert text("don't go") == 'tf.Tensor(b"don\'t go", shape=(), dtype=string)'
    # "sat" deleted: 1 error in 3 words; read as AlgoPerf reads it, "cat'," replaces "cat"
    # and "sat'," is deleted: 2 errors in 5 words.
    assert metrics.transcript_word_error_rate(["the cat sat"], ["the cat"]) == pytest.approx(1 / 3)
    wer = metrics.transcript_word_error_rate([text("the cat sat")], [text("the cat")])
    assert wer == pytest.approx(2 / 5)
    # An apostrophe switches the quotes: "dont" for "don't" costs 2 errors in 4 words.
    wer = metrics.transcript_word_error_rate([text("don't go")], [text("dont go")])
    assert wer == pytest.approx(2 / 4)
    assert metrics.transcript_word_error_rate([text("a b")], [text("a b")]) == 0.0


# --- the full models -----------------------------------------------------------------------

#: AlgoPerf's full model forms at a test size.
TINY = {
    "conformer": librispeech.ModelConfig(
        encoder_dim=16, num_layers=1, num_heads=2, ff_expansion=2, subsample_channels=4,
        **librispeech.ALGOPERF, query_scale=True,
    ),
    "deepspeech": librispeech.ModelConfig(
        encoder_dim=16, num_layers=1, num_ffn_layers=1, subsample_channels=4,
        **librispeech.ALGOPERF, ffn_dropout=0.1,
    ),
}  # fmt: skip

SENTENCES = ["she sells sea shells", "the sea shore", "shells she sells", "sea and shore"]


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    """A SentencePiece model trained with AlgoPerf's options (unigram, unk 0, eos 2)."""
    spm = pytest.importorskip("sentencepiece")
    path = tmp_path_factory.mktemp("spm") / "spm"
    spm.SentencePieceTrainer.Train(
        input=_write_lines(path.with_suffix(".txt"), SENTENCES * 20), model_prefix=str(path),
        vocab_size=20, model_type="unigram", character_coverage=1.0, minloglevel=2,
    )  # fmt: skip
    processor = spm.SentencePieceProcessor(model_file=f"{path}.model")

    @attrs.frozen
    class Tokenizer:  # AlgoPerf's tf-text tokenizer: ids end in EOS, detokenize drops it
        def tokenize(self, text):
            return [*processor.EncodeAsIds(text), processor.eos_id()]

        def detokenize(self, ids):
            return processor.DecodeIds(list(ids))

        vocab_size = processor.GetPieceSize()

    return Tokenizer()


def _write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def waveform_dataset(tokenizer, count: int, samples: int, seed: int) -> dict[str, np.ndarray]:
    """Utterances in AlgoPerf's padded form: int16-range audio zero-padded with paddings,
    token ids ending in EOS zero-padded (a tone per token stands in for speech)."""
    rng = np.random.default_rng(seed)
    audio = np.zeros((count, samples), np.float32)
    audio_paddings = np.ones((count, samples), np.float32)
    labels = np.zeros((count, 8), np.int32)
    label_paddings = np.ones((count, 8), np.float32)
    for i in range(count):
        ids = tokenizer.tokenize(SENTENCES[i % len(SENTENCES)])[:8]
        length = int(rng.integers(samples // 2, samples + 1))
        t = np.arange(length) / 16000
        tones = np.repeat(ids, -(-length // len(ids)))[:length] * 150.0 + 200.0
        audio[i, :length] = np.round(6000 * np.sin(2 * np.pi * tones * t))
        audio_paddings[i, :length] = 0
        labels[i, : len(ids)] = ids
        label_paddings[i, : len(ids)] = 0
    return {
        "audio": audio,
        "audio_paddings": audio_paddings,
        "labels": labels,
        "label_paddings": label_paddings,
    }


@pytest.fixture(scope="module", params=NAMES)
def full_workload(request, tmp_path_factory, tokenizer):
    """The full-size workload read from zarr arrays in its raw-audio layout, its model
    shrunk to a test size (the same AlgoPerf forms)."""
    arrays = {}
    for split, count, seed in (("train", 8, 0), ("valid", 3, 1)):
        data = waveform_dataset(tokenizer, count, 9600, seed)
        arrays |= {f"{split}_{k}": v for k, v in data.items()}
    arrays["word_start"] = np.zeros(librispeech.FULL_VOCAB_SIZE, bool)
    path = tmp_path_factory.mktemp("librispeech") / "full"
    write_arrays(path, arrays)
    workload = load_workload(request.param, "full", data=str(path))
    assert workload.config == librispeech.MODELS[workload.architecture, "full"]
    vocab = tokenizer.vocab_size  # AlgoPerf's is 1024, its tokenizer's size
    return attrs.evolve(workload, config=TINY[workload.architecture], tokenizer=tokenizer,
                        vocab_size=vocab, batch_override=4)  # fmt: skip


@pytest.mark.slow  # ~1-2 min of compiling on 2 loaded cores
def test_full_models_train_from_audio_and_evaluate_detokenised_wer(full_workload):
    """AlgoPerf's forms: (1 + scale) LayerNorms from zero, xavier-uniform kernels, query
    scaling; SpecAugment in training; the WER of detokenised transcripts in evaluation."""
    params, state = full_workload.init(jax.random.key(0))
    flat = {jax.tree_util.keystr(k): v for k, v in jax.tree_util.tree_leaves_with_path(params)}
    norms = [k for k in flat if "OnePlusScaleLayerNorm" in k and k.endswith("['scale']")]
    assert norms and not any("'LayerNorm_" in k for k in flat)
    assert all(np.all(flat[k] == 0) for k in norms)
    subsample = flat["['Subsample_0']['Dense_0']['kernel']"]  # the subsampling projection
    bound = np.sqrt(6 / sum(subsample.shape))  # xavier uniform
    assert bound * 0.9 < np.abs(subsample).max() <= bound
    assert any("QueryScaler" in k for k in flat) == (full_workload.architecture == "conformer")

    batch = full_workload.batch(0, 0)
    assert set(batch) == set(librispeech.AUDIO_ARRAYS) and batch["audio"].shape == (4, 9600)

    @jax.jit
    def loss(rng):
        return full_workload.loss(params, state, batch, rng, dropout=0.0, label_smoothing=0.0)[0]

    # Without dropout the training loss still depends on the key (SpecAugment's masks, and
    # DeepSpeech's fixed feed-forward dropout), and is a function of it.
    first, again, other = (float(loss(jax.random.key(i))) for i in (1, 1, 2))
    assert first == again != other
    params, state, losses = checks.train(full_workload, steps=2, learning_rate=1e-3)
    assert np.all(np.isfinite(losses))
    result = checks.check_evaluate(full_workload, params, state)
    assert result["wer"] >= 0.0


@pytest.mark.slow  # AlgoPerf's full-size models: ~30M (Conformer), ~15M (DeepSpeech) parameters
@pytest.mark.parametrize("name", NAMES)
def test_full_size_models_take_a_step_and_evaluate(name, tmp_path, tokenizer):
    """The registered full models, as AlgoPerf's, from 1 s utterances: a training step and
    an evaluation (WER over token groups: the zarr layout has no tokenizer)."""
    arrays = {}
    for split, seed in (("train", 0), ("valid", 1)):
        data = waveform_dataset(tokenizer, 2, 16000, seed)
        arrays |= {f"{split}_{k}": v for k, v in data.items()}
    arrays["word_start"] = np.zeros(librispeech.FULL_VOCAB_SIZE, bool)
    write_arrays(tmp_path / "full", arrays)
    workload = attrs.evolve(load_workload(name, "full", data=str(tmp_path / "full")),
                            batch_override=2)  # fmt: skip
    params, state, losses = checks.train(workload, steps=1, learning_rate=1e-3)
    assert np.isfinite(losses).all()
    assert checks.check_evaluate(workload, params, state)["wer"] >= 0.0

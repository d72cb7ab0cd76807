"""The workload metrics agree with the field's reference libraries on fixed inputs."""

import numpy as np
import pytest

from hpbench.workloads import metrics

SENTENCES = [
    ("the cat sat on the mat", "the cat sat on the mat"),
    ("a dog ran in the park today", "the dog ran in a park"),
    ("red blue green", "red green blue yellow"),
    ("one", "one two three four five"),
    ("x y z w v u", "p q r s"),
]


@pytest.mark.parametrize("subset", [slice(None), slice(0, 2), slice(1, 4), slice(2, 3)])
def test_bleu_matches_sacrebleu(subset):
    sacrebleu = pytest.importorskip("sacrebleu")
    pairs = SENTENCES[subset]
    hyps, refs = [h for h, _ in pairs], [r for _, r in pairs]
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    ours = metrics.corpus_bleu([h.split() for h in hyps], [r.split() for r in refs])
    assert ours == pytest.approx(expected, abs=1e-9)


def test_bleu_of_random_token_corpus_matches_sacrebleu():
    sacrebleu = pytest.importorskip("sacrebleu")
    rng = np.random.default_rng(0)
    refs = [[f"w{t}" for t in rng.integers(0, 8, rng.integers(3, 12))] for _ in range(40)]
    hyps = [
        [t if rng.random() < 0.7 else "w9" for t in r[: rng.integers(1, len(r) + 2)]] for r in refs
    ]
    expected = sacrebleu.corpus_bleu(
        [" ".join(h) for h in hyps], [[" ".join(r) for r in refs]]
    ).score
    assert metrics.corpus_bleu(hyps, refs) == pytest.approx(expected, abs=1e-9)


def test_bleu_perfect_and_empty():
    assert metrics.corpus_bleu([["a", "b", "c", "d"]], [["a", "b", "c", "d"]]) == pytest.approx(
        100.0
    )
    assert metrics.corpus_bleu([[]], [["a", "b"]]) == 0.0


def test_wer_matches_jiwer():
    jiwer = pytest.importorskip("jiwer")
    hyps, refs = [h for h, _ in SENTENCES], [r for _, r in SENTENCES]
    expected = jiwer.wer(refs, hyps)
    ours = metrics.word_error_rate([r.split() for r in refs], [h.split() for h in hyps])
    assert ours == pytest.approx(expected, abs=1e-12)


def test_wer_hand_worked():
    # one substitution, one deletion, one insertion over 5 reference words
    refs = [[1, 2, 3], [4, 5]]
    hyps = [[1, 9], [4, 5, 6]]
    assert metrics.word_error_rate(refs, hyps) == pytest.approx(3 / 5)
    with pytest.raises(ValueError, match="no reference words"):
        metrics.word_error_rate([[]], [[1]])


@pytest.mark.parametrize("cut", [0, 1, 3, 5])
def test_bleu_from_statistics_summed_over_parts_is_sacrebleus_corpus_bleu(cut):
    """Multi-host evaluation: each process counts BLEU's statistics on its rows and the
    sums give the corpus BLEU of all rows (sacrebleu on the whole corpus; a part may be
    empty)."""
    sacrebleu = pytest.importorskip("sacrebleu")
    hyps, refs = [h for h, _ in SENTENCES], [r for _, r in SENTENCES]
    parts = [
        metrics.text_bleu_statistics(hyps[:cut], refs[:cut]),
        metrics.text_bleu_statistics(hyps[cut:], refs[cut:]),
    ]
    expected = sacrebleu.corpus_bleu(hyps, [refs]).score
    assert metrics.bleu_from_statistics(parts[0] + parts[1]) == pytest.approx(expected, abs=1e-9)
    assert 0 < expected < 100  # partial matches at every n-gram order, not a trivial score


@pytest.mark.parametrize("cut", [0, 2, 5])
def test_word_errors_summed_over_parts_are_jiwers_corpus_wer(cut):
    jiwer = pytest.importorskip("jiwer")
    hyps, refs = [h for h, _ in SENTENCES], [r for _, r in SENTENCES]
    words = [[r.split() for r in refs], [h.split() for h in hyps]]
    counts = metrics.word_errors(words[0][:cut], words[1][:cut])
    counts += metrics.word_errors(words[0][cut:], words[1][cut:])
    assert counts[0] / counts[1] == pytest.approx(jiwer.wer(refs, hyps), abs=1e-12)
    text = metrics.transcript_word_errors(refs[:cut], hyps[:cut])
    text += metrics.transcript_word_errors(refs[cut:], hyps[cut:])
    assert text.tolist() == counts.tolist()  # no empty reference: the same counts


def test_ssim_matches_scikit_image():
    skm = pytest.importorskip("skimage.metrics")
    rng = np.random.default_rng(1)
    targets = rng.random((3, 20, 24)).astype(np.float32)
    images = (targets + 0.3 * rng.normal(size=targets.shape)).astype(np.float32)
    data_range = targets.max(axis=(1, 2))
    ours = np.asarray(metrics.ssim(images, targets, data_range))
    expected = [
        skm.structural_similarity(targets[i], images[i], data_range=float(data_range[i]))
        for i in range(3)
    ]
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    assert np.asarray(metrics.ssim(targets, targets, data_range)) == pytest.approx(1.0, abs=1e-5)


def test_ctc_greedy_decode_merges_repeats_and_drops_blanks_and_padding():
    path = np.array([[0, 3, 3, 0, 3, 2, 2, 5]])
    logits = np.eye(6)[path]
    paddings = np.array([[0, 0, 0, 0, 0, 0, 0, 1]])
    assert metrics.ctc_greedy_decode(logits, paddings) == [[3, 3, 2]]

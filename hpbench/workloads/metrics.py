"""Evaluation metrics of the mini workloads, written to agree with the field's libraries.

Each function is crosschecked in ``tests/test_metrics.py`` against the reference library
(sacrebleu for BLEU, jiwer for WER, scikit-image for SSIM) on fixed inputs; the workloads
call these so that evaluation needs none of those packages.
"""

from __future__ import annotations

import collections
import math
import re
from collections.abc import Sequence

import numpy as np

Tokens = Sequence[str] | Sequence[int]


def _ngram_counts(tokens: Tokens, n: int) -> collections.Counter:
    return collections.Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def corpus_bleu(
    hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_order: int = 4
) -> float:
    """Corpus BLEU (0-100) of tokenised sentences against one reference each.

    The definition of sacrebleu's ``corpus_bleu`` with its defaults (clipped n-gram counts
    summed over the corpus, brevity penalty on total lengths, ``exp`` smoothing of zero
    n-gram matches); sentences are taken as already tokenised.
    """
    return bleu_from_statistics(bleu_statistics(hypotheses, references, max_order))


def bleu_statistics(
    hypotheses: Sequence[Tokens], references: Sequence[Tokens], max_order: int = 4
) -> np.ndarray:
    """The counts corpus BLEU is computed from, ``[hypothesis length, reference length,
    matches of order 1..max_order, totals of order 1..max_order]``: sums over sentences, so
    the statistics of parts of a corpus add up to the corpus's (multi-host evaluation)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    stats = np.zeros(2 + 2 * max_order, np.int64)
    for hyp, ref in zip(hypotheses, references, strict=True):
        stats[0] += len(hyp)
        stats[1] += len(ref)
        for n in range(1, max_order + 1):
            hyp_counts = _ngram_counts(hyp, n)
            ref_counts = _ngram_counts(ref, n)
            stats[1 + n] += sum(min(c, ref_counts[g]) for g, c in hyp_counts.items())
            stats[1 + max_order + n] += max(0, len(hyp) - n + 1)
    return stats


def bleu_from_statistics(stats: np.ndarray) -> float:
    """Corpus BLEU (0-100) from :func:`bleu_statistics` (sacrebleu's ``compute_bleu``)."""
    max_order = (len(stats) - 2) // 2
    hyp_len, ref_len = int(stats[0]), int(stats[1])
    matches, totals = stats[2 : 2 + max_order], stats[2 + max_order :]
    log_precisions = []
    smooth = 1.0
    for match, total in zip(matches, totals, strict=True):
        if total == 0:
            return 0.0
        if match == 0:
            smooth *= 2
            log_precisions.append(math.log(100.0 / (smooth * total)))
        else:
            log_precisions.append(math.log(100.0 * match / total))
    if hyp_len == 0:
        return 0.0
    brevity = 1.0 if hyp_len >= ref_len else math.exp(1 - ref_len / hyp_len)
    return brevity * math.exp(sum(log_precisions) / max_order)


def tokenize_13a(line: str) -> str:
    """sacrebleu's default ``13a`` tokenisation (mteval-v13a, WMT's), as AlgoPerf's
    ``bleu.tokenize_13a`` writes it: punctuation split off, periods and commas unless
    beside a digit, single spaces."""
    for entity, char in (("<skipped>", ""), ("-\n", ""), ("\n", " "), ("&quot;", '"'),
                         ("&amp;", "&"), ("&lt;", "<"), ("&gt;", ">")):  # fmt: skip
        line = line.replace(entity, char)
    line = f" {line} "
    line = re.sub(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", " \\1 ", line)
    line = re.sub(r"([^0-9])([\.,])", "\\1 \\2 ", line)
    line = re.sub(r"([\.,])([^0-9])", " \\1 \\2", line)
    line = re.sub(r"([0-9])(-)", "\\1 \\2 ", line)
    return " ".join(line.split())


def text_bleu(hypotheses: Sequence[str], references: Sequence[str]) -> float:
    """Corpus BLEU (0-100) of detokenised sentences, one reference each: AlgoPerf's WMT
    metric (``bleu.corpus_bleu``, sacrebleu 1.3.1's defaults: 13a, ``exp`` smoothing)."""
    return bleu_from_statistics(text_bleu_statistics(hypotheses, references))


def text_bleu_statistics(hypotheses: Sequence[str], references: Sequence[str]) -> np.ndarray:
    """:func:`bleu_statistics` of detokenised sentences, tokenised as :func:`text_bleu` does."""
    return bleu_statistics(
        [tokenize_13a(h.rstrip()).split() for h in hypotheses],
        [tokenize_13a(r.rstrip()).split() for r in references],
    )


def edit_distance(reference: Tokens, hypothesis: Tokens) -> int:
    """Levenshtein distance between two token sequences (substitutions, deletions, insertions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_token in enumerate(reference, start=1):
        current = [i]
        for j, hyp_token in enumerate(hypothesis, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_token != hyp_token))
            )
        previous = current
    return previous[-1]


def word_error_rate(references: Sequence[Tokens], hypotheses: Sequence[Tokens]) -> float:
    """Corpus WER: total word edit distance over total reference words (jiwer's ``wer``)."""
    errors, words = word_errors(references, hypotheses)
    if words == 0:
        raise ValueError("word error rate is undefined with no reference words")
    return errors / words


def word_errors(references: Sequence[Tokens], hypotheses: Sequence[Tokens]) -> np.ndarray:
    """``[word edit distance, reference words]`` summed over the sentences: the counts of
    :func:`word_error_rate`, which parts of a corpus add up (multi-host evaluation)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    errors = sum(edit_distance(r, h) for r, h in zip(references, hypotheses, strict=True))
    return np.array([errors, sum(len(ref) for ref in references)], np.int64)


def transcript_word_error_rate(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """AlgoPerf's LibriSpeech WER (librispeech_conformer/metrics.py ``compute_wer``): the
    word edit distance of whitespace-split transcripts summed over utterances, over the
    summed reference word counts, an empty reference counting one word as there (jiwer's
    ``wer`` on non-empty references)."""
    errors, words = transcript_word_errors(references, hypotheses)
    if words == 0:
        raise ValueError("word error rate is undefined with no transcripts")
    return errors / words


def transcript_word_errors(references: Sequence[str], hypotheses: Sequence[str]) -> np.ndarray:
    """``[word errors, reference words]`` of :func:`transcript_word_error_rate`, summed over
    the utterances (parts of a corpus add up)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} references")
    counts = np.zeros(2, np.int64)
    for reference, hypothesis in zip(references, hypotheses, strict=True):
        reference_words = reference.split()
        counts += (edit_distance(reference_words, hypothesis.split()), max(len(reference_words), 1))
    return counts


def algoperf_transcript(text: str) -> str:
    """``text`` as AlgoPerf's LibriSpeech WER reads it: ``str()`` of tf-text's detokenised
    string tensor, ``tf.Tensor(b'...', shape=(), dtype=string)`` (its ``compute_wer``).
    Split into words, that adds two words that never differ to every utterance, and glues
    the bytes literal's prefix and suffix onto the first and last words."""
    return f"tf.Tensor({text.encode()!r}, shape=(), dtype=string)"


def ssim(images, targets, data_range, win_size: int = 7, k1: float = 0.01, k2: float = 0.03):
    """Per-image mean SSIM of (N, H, W) batches, as skimage's ``structural_similarity``.

    A uniform ``win_size`` window, sample covariance, and the mean over windows that lie
    inside the image (skimage crops the filter radius from the edges); ``data_range`` is
    per image (fastMRI uses each volume's maximum). Traceable by JAX.
    """
    import jax
    import jax.numpy as jnp

    images = jnp.asarray(images, jnp.float32)
    targets = jnp.asarray(targets, jnp.float32)
    data_range = jnp.asarray(data_range, jnp.float32).reshape(-1, 1, 1)

    def box_mean(x):
        window = (1, win_size, win_size)
        return jax.lax.reduce_window(x, 0.0, jax.lax.add, window, (1, 1, 1), "VALID") / win_size**2

    num_points = win_size**2
    cov_norm = num_points / (num_points - 1)
    ux, uy = box_mean(images), box_mean(targets)
    vx = cov_norm * (box_mean(images * images) - ux * ux)
    vy = cov_norm * (box_mean(targets * targets) - uy * uy)
    vxy = cov_norm * (box_mean(images * targets) - ux * uy)
    c1 = (k1 * data_range) ** 2
    c2 = (k2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux**2 + uy**2 + c1) * (vx + vy + c2))
    return jnp.mean(s, axis=(1, 2))


def ctc_greedy_decode(logits: np.ndarray, paddings: np.ndarray, blank: int = 0) -> list[list[int]]:
    """Best-path CTC decoding: frame-wise argmax, merge repeats, drop blanks and padding."""
    return ctc_collapse(np.asarray(logits).argmax(-1), paddings, blank)


def ctc_collapse(best: np.ndarray, paddings: np.ndarray, blank: int = 0) -> list[list[int]]:
    """Best paths (frame-wise argmax ids) decoded: repeats merged, blanks and padding dropped."""
    out = []
    for path, pad in zip(np.asarray(best), np.asarray(paddings), strict=True):
        path = path[pad == 0]
        keep = np.ones_like(path, dtype=bool)
        keep[1:] = path[1:] != path[:-1]
        out.append([int(t) for t in path[keep] if t != blank])
    return out


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the step precision-recall curve, as scikit-learn's ``average_precision_score``.

    ``sum_k (R_k - R_{k-1}) P_k`` over the distinct score thresholds, highest first; tied
    scores form one threshold.
    """
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    true_positives = np.cumsum(labels)[last_of_tie]
    precision = true_positives / (last_of_tie + 1)
    recall = true_positives / true_positives[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def mean_average_precision(labels: np.ndarray, logits: np.ndarray, mask: np.ndarray) -> float:
    """AlgoPerf's OGBG mAP: mean over tasks of the average precision of ``sigmoid(logits)``.

    Only labelled entries (``mask``) count, and only tasks whose labelled entries hold both
    classes (the OGB evaluator's rule); NaN when no task qualifies.
    """
    with np.errstate(over="ignore"):  # exp overflows to inf for very negative logits: p = 0
        probs = 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float32)))
    labels, mask = np.asarray(labels), np.asarray(mask, bool)
    precisions = []
    for task in range(labels.shape[1]):
        y = labels[mask[:, task], task]
        if np.any(y == 1) and np.any(y == 0):
            precisions.append(average_precision(y == 1, probs[mask[:, task], task]))
    return float(np.mean(precisions)) if precisions else float("nan")

"""The wmt mini workload: a synthetic language pair, Transformer, greedy decoding, BLEU."""

import attrs
import numpy as np
import pytest
import workload_checks as checks

from hpbench.workloads import metrics, wmt
from hpbench.workloads.registry import get_workload, load_workload

SMALL_DATA = attrs.evolve(wmt.DATA["mini"], num_train=6, num_valid=4)


@pytest.fixture(scope="module")
def workload():
    return load_workload("wmt", "mini")


def test_generated_data_is_deterministic_and_round_trips(tmp_path):
    checks.check_generated_data_round_trips(tmp_path, wmt.generate, SMALL_DATA)


def test_translation_reorders_verb_last_and_follows_the_lexicon():
    config = wmt.DATA["mini"]
    lex = wmt.make_lexicon(np.random.default_rng(0), config)
    rng = np.random.default_rng(1)
    for _ in range(200):
        source, target, likely = wmt.sentence_pair(rng, lex)
        verbs = [t for t in source if t in lex.src["verb"]]
        assert len(verbs) == 1 and source[0] in lex.src["det"]  # SVO: starts with a subject
        verb = int(np.flatnonzero(lex.src["verb"] == verbs[0])[0])
        assert target[-2] in lex.tgt["verb"][verb]  # SOV: a synonym of the verb, then
        assert likely[-2] == lex.tgt["verb"][verb, 0]  # its agreement suffix
        assert target[-1] == likely[-1] and target[-1] in lex.tgt["agree"]
        assert len(target) == len(likely)  # synonyms and order keep the length
        assert len(target) + 1 <= config.max_length and len(source) + 1 <= config.max_length


def test_the_pair_is_ambiguous_so_the_best_translation_scores_far_below_100():
    """The most likely translation (first synonyms, usual order), scored as the workload
    scores, against sampled references: the ceiling of a perfect greedy model. Checked by
    sacrebleu on detokenised text (each token id written as a word)."""
    config = wmt.DATA["mini"]
    rng = np.random.default_rng(2)
    lex = wmt.make_lexicon(rng, config)
    pairs = [wmt.sentence_pair(rng, lex) for _ in range(1000)]
    no_starts = np.zeros(lex.vocab_size, bool)
    refs = [wmt.words(np.array([*t, wmt.EOS]), no_starts) for _, t, _ in pairs]
    hyps = [wmt.words(np.array([*likely, wmt.EOS]), no_starts) for _, _, likely in pairs]
    ceiling = metrics.corpus_bleu(hyps, refs)
    assert 50 < ceiling < 75
    assert metrics.corpus_bleu(refs, refs) == pytest.approx(100.0)
    # Synonyms are drawn with the configured probabilities (the first is the most likely).
    firsts = [t in lex.tgt["verb"][:, 0] for _, target, _ in pairs for t in target[-2:-1]]
    assert np.mean(firsts) == pytest.approx(config.synonyms[0], abs=0.05)
    sacrebleu = pytest.importorskip("sacrebleu")

    def text(sentences):
        return [" ".join(f"w{w[0]}" for w in s) for s in sentences]

    assert sacrebleu.corpus_bleu(text(hyps), [text(refs)]).score == pytest.approx(ceiling)


def test_words_follow_a_zipf_law_within_their_class():
    config = wmt.DATA["mini"]
    rng = np.random.default_rng(3)
    lex = wmt.make_lexicon(rng, config)
    sources = [wmt.sentence_pair(rng, lex)[0] for _ in range(2000)]
    verbs = np.array([t for s in sources for t in s if t in lex.src["verb"]]) - lex.src["verb"][0]
    counts = np.bincount(verbs, minlength=config.num_verbs)
    expected = np.arange(1, config.num_verbs + 1) ** -config.zipf
    expected = expected / expected.sum() * len(verbs)
    assert counts[0] == pytest.approx(expected[0], rel=0.15)
    assert counts[0] > 5 * counts[-5:].mean()  # rare words are rare: learned late


def test_words_stop_at_eos_and_group_by_word_start():
    no_starts = np.zeros(10, bool)
    assert wmt.words(np.array([5, 6, wmt.EOS, 7, 0]), no_starts) == [(5,), (6,)]
    starts = np.zeros(10, bool)
    starts[[5, 8]] = True
    assert wmt.words(np.array([5, 6, 8, 9, wmt.EOS]), starts) == [(5, 6), (8, 9)]


def test_batch_is_pure_with_expected_shapes(workload):
    n, length = workload.batch_size, wmt.DATA["mini"].max_length
    checks.check_batch_is_pure(workload, {"inputs": (n, length), "targets": (n, length)})


def test_training_lowers_the_loss_and_evaluate_reports_every_metric(workload):
    params, state, losses = checks.train(workload, steps=40, learning_rate=3e-3)
    assert losses[-5:].mean() < 0.7 * losses[:5].mean()
    result = checks.check_evaluate(workload, params, state)
    assert 0.0 <= result["bleu"] <= 100.0


def test_label_smoothing_is_applied_and_may_be_traced(workload):
    import jax
    import jax.numpy as jnp

    params, state = workload.init(jax.random.key(0))
    batch, rng = workload.batch(0, 0), jax.random.key(1)

    @jax.jit
    def loss(smoothing):
        return workload.loss(params, state, batch, rng, dropout=0.0, label_smoothing=smoothing)[0]

    assert float(loss(jnp.float32(0.2))) != pytest.approx(float(loss(jnp.float32(0.0))))


@pytest.mark.parametrize("variant", get_workload("wmt").variants)
def test_variants_build(variant):
    checks.check_variant_builds(load_workload("wmt", "mini", variant))


def test_full_size_checks_its_data_path(tmp_path):
    good = {}
    for layout in wmt.full_layout():
        shape = tuple(4 if d is None else d for d in layout.shape)
        good[layout.name] = np.zeros(shape, layout.dtype)
    checks.check_bad_full_data(
        lambda path: load_workload("wmt", "full", data=path), tmp_path, good, "word_start"
    )

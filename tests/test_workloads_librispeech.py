"""The librispeech mini workloads: synthetic utterances, Conformer and DeepSpeech with CTC."""

import attrs
import numpy as np
import pytest
import workload_checks as checks

from hpbench.workloads import librispeech
from hpbench.workloads.registry import get_workload, load_workload

NAMES = ("librispeech_conformer", "librispeech_deepspeech")
SMALL_DATA = attrs.evolve(librispeech.DATA["mini"], num_train=6, num_valid=4)


@pytest.fixture(scope="module", params=NAMES)
def workload(request):
    return load_workload(request.param, "mini")


def test_generated_data_is_deterministic_and_round_trips(tmp_path):
    checks.check_generated_data_round_trips(tmp_path, librispeech.generate, SMALL_DATA)


def test_utterances_fit_ctc_after_subsampling():
    """Every label fits the subsampled frames (CTC needs T >= labels), padding is consistent."""
    data = librispeech.generate(SMALL_DATA)
    frames = (1 - data["train_feature_paddings"]).sum(1)
    labels = (1 - data["train_label_paddings"]).sum(1)
    assert np.all(frames // 2 >= labels)
    assert np.all(data["train_features"][data["train_feature_paddings"] == 1] == 0)
    words = librispeech.split_words(list(data["train_labels"][0][: int(labels[0])]),
                                    data["word_start"])  # fmt: skip
    assert len(words) >= librispeech.DATA["mini"].words_per_utterance[0]
    assert all(librispeech.SPACE not in w for w in words)


def test_split_words_by_space_or_by_word_start_tokens():
    no_starts = np.zeros(8, bool)
    assert librispeech.split_words([3, 4, 1, 5, 1, 1, 6], no_starts) == [(3, 4), (5,), (6,)]
    starts = np.zeros(8, bool)
    starts[[3, 5]] = True  # SentencePiece pieces that begin with "▁"
    assert librispeech.split_words([3, 4, 5, 6, 7], starts) == [(3, 4), (5, 6, 7)]


def test_batch_is_pure_with_expected_shapes(workload):
    cfg, n = librispeech.DATA["mini"], workload.batch_size
    checks.check_batch_is_pure(
        workload,
        {
            "features": (n, cfg.max_frames, cfg.num_features),
            "feature_paddings": (n, cfg.max_frames),
            "labels": (n, cfg.max_labels),
            "label_paddings": (n, cfg.max_labels),
        },
    )


def test_training_lowers_the_loss_and_evaluate_reports_every_metric(workload):
    params, state, losses = checks.train(workload, steps=40, learning_rate=3e-3)
    assert losses[-5:].mean() < 0.7 * losses[:5].mean()
    assert set(state) == {"batch_stats"}
    result = checks.check_evaluate(workload, params, state)
    assert result["wer"] >= 0.0


@pytest.mark.parametrize(
    ("name", "variant"), [(n, v) for n in NAMES for v in get_workload(n).variants]
)
def test_variants_build(name, variant):
    checks.check_variant_builds(load_workload(name, "mini", variant))


@pytest.mark.parametrize("name", NAMES)
def test_full_size_checks_its_data_path(name, tmp_path):
    good = {}
    for layout in librispeech.full_layout():
        long = 3200 if "audio" in layout.name else 12  # 0.2 s of audio: 18 frames
        shape = tuple(
            {0: 2, 1: long}[axis] if d is None else d for axis, d in enumerate(layout.shape)
        )
        good[layout.name] = np.zeros(shape, layout.dtype)
    checks.check_bad_full_data(
        lambda path: load_workload(name, "full", data=path), tmp_path, good, "word_start"
    )

"""benchmarks.graded_probe's own arithmetic: item 1's curve checks and the training-set size.

Its data variants are hpbench's (``train_rows`` / ``label_noise``), tested in
tests/test_data_variant.py.
"""

import numpy as np
import pytest

from benchmarks.graded_probe import curve_checks, train_size


def test_curve_checks_of_a_hand_worked_error_curve():
    # error falls from 1.0 to its best 0.5 at step 30, then overfits; the quarter is step 10
    steps, values = [0, 10, 20, 30, 40], [1.0, 0.9, 0.6, 0.5, 0.55]
    checks = curve_checks(steps, values, quarter=10, better=min)
    # progress from the start to the best: 0, 0.2, 0.8, 1.0, 0.9
    assert checks["start"] == 1.0
    assert checks["plateau"] == pytest.approx(10 / 40)  # first step with progress >= 0.1
    assert checks["jump"] == pytest.approx(0.6)  # 0.2 -> 0.8
    assert checks["late_gain"] == pytest.approx((0.5 - 0.9) / (0.5 - 1.0))  # 0.8


def test_curve_checks_of_a_metric_to_maximise_with_a_slow_start():
    steps, values = [0, 25, 50, 75, 100], [0.0, 0.05, 0.08, 0.6, 1.0]
    checks = curve_checks(steps, values, quarter=25, better=max)
    assert checks["plateau"] == pytest.approx(75 / 100)  # 0.05 and 0.08 are under 10%
    assert checks["jump"] == pytest.approx(0.52)
    assert checks["late_gain"] == pytest.approx(0.95)


def test_train_size_counts_examples_with_or_without_labels():
    labelled = {"train_labels": np.zeros(7), "train_images": np.zeros((7, 2)), "valid_labels": 0}
    assert train_size(labelled) == 7
    fastmri_like = {"train_inputs": np.zeros((5, 3, 3)), "train_targets": np.zeros((5, 3, 3))}
    assert train_size(fastmri_like) == 5

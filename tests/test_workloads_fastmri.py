"""The fastmri mini workload: phantoms, k-space undersampling, U-Net, L1 loss and SSIM."""

import attrs
import numpy as np
import pytest
import workload_checks as checks

from hpbench.workloads import fastmri, metrics
from hpbench.workloads.registry import get_workload, load_workload

SMALL_DATA = attrs.evolve(fastmri.CONFIGS["mini"], num_train=6, num_valid=4)


@pytest.fixture(scope="module")
def workload():
    return load_workload("fastmri", "mini")


def test_generated_data_is_deterministic_and_round_trips(tmp_path):
    checks.check_generated_data_round_trips(tmp_path, fastmri.generate, SMALL_DATA)


def test_masks_keep_a_quarter_of_kspace_columns_with_the_centre():
    masks = fastmri.column_masks(np.random.default_rng(0), 2000, 32)
    assert masks.mean() == pytest.approx(1 / fastmri.ACCELERATION, abs=0.01)
    assert masks[:, [0, 1, -1]].all()  # the lowest frequencies are always sampled


def test_zero_filled_input_is_an_imperfect_reconstruction():
    rng = np.random.default_rng(0)
    targets = fastmri.phantoms(rng, 8, 32)
    full = fastmri.zero_filled(targets, np.ones((8, 32), bool))
    np.testing.assert_allclose(full, targets, atol=1e-9)  # all of k-space: exact
    undersampled = fastmri.zero_filled(targets, fastmri.column_masks(rng, 8, 32))
    similarity = np.asarray(metrics.ssim(undersampled, targets, targets.max(axis=(1, 2))))
    assert np.all(similarity < 0.95)


def test_batch_is_pure_with_expected_shapes(workload):
    size, n = workload.config.image_size, workload.batch_size
    checks.check_batch_is_pure(workload, {"inputs": (n, size, size), "targets": (n, size, size)})


def test_training_lowers_the_loss_and_evaluate_reports_every_metric(workload):
    params, state, losses = checks.train(workload, steps=30, learning_rate=3e-3)
    assert losses[-5:].mean() < 0.7 * losses[:5].mean()
    result = checks.check_evaluate(workload, params, state)
    assert 0.0 < result["ssim"] <= 1.0


@pytest.mark.parametrize("variant", get_workload("fastmri").variants)
def test_variants_build(variant):
    checks.check_variant_builds(load_workload("fastmri", "mini", variant))


def test_full_size_checks_its_data_path(tmp_path):
    n = 2
    good = {}
    for layout in fastmri.full_layout():
        shape = tuple(n if d is None else d for d in layout.shape)
        good[layout.name] = np.ones(shape, layout.dtype)
    checks.check_bad_full_data(
        lambda path: load_workload("fastmri", "full", data=path), tmp_path, good, "train_inputs"
    )

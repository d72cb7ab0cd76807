"""The algorithm metadata: complete, self-consistent, and importable without JAX."""

import subprocess
import sys

import pytest

from hpbench.algorithms.registry import ALGORITHMS, Hyperparameter, get_algorithm

EXPECTED = {
    "adamw",
    "nadamw",
    "sgd",
    "cocob",
    "dadapt_adamw",
    "dog",
    "dowg",
    "mechanic",
    "momo",
    "momo_adam",
    "prodigy",
    "schedule_free_adamw",
}


def _in_range(h: Hyperparameter, value) -> bool:
    if h.choices is not None:
        return value in h.choices
    if h.low is not None and (value < h.low or (h.low_open and value == h.low)):
        return False
    return not (h.high is not None and (value > h.high or (h.high_open and value == h.high)))


def test_every_algorithm_of_the_papers_is_registered():
    assert set(ALGORITHMS) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_defaults_are_valid_and_regularizers_present(name):
    info = get_algorithm(name)
    assert len(set(info.names)) == len(info.names), "duplicate hyperparameter"
    assert {"dropout", "label_smoothing"} <= set(info.names)
    for h in info.hyperparameters:
        assert h.doc, h.name
        if h.default is not None:
            assert _in_range(h, h.default), (name, h.name, h.default)
        if h.kind in ("str", "bool"):
            assert not h.packable and h.choices, (name, h.name)


def test_beta_convention_is_the_decay_rate_itself():
    for info in ALGORITHMS.values():
        assert not any(n.startswith("one_minus") for n in info.names)
        for name in ("beta1", "beta2"):
            h = info.hyperparameter(name)
            if h is not None:
                assert 0.5 < h.default < 1.0


def test_optax_seed_defaults():
    """REFERENCE.md "Seed defaults": Optax's defaults (spot checks against its signatures)."""
    assert get_algorithm("mechanic").defaults()["num_betas"] == 6
    assert get_algorithm("mechanic").defaults()["s_init"] == 1e-6
    assert get_algorithm("prodigy").defaults()["d0"] == 1e-6
    assert get_algorithm("momo_adam").defaults()["learning_rate"] == 1e-2
    assert get_algorithm("cocob").defaults()["alpha"] == 100.0


def test_unknown_algorithm_error_lists_known_names():
    with pytest.raises(KeyError, match="known: adamw"):
        get_algorithm("adamz")


def test_metadata_import_does_not_load_jax():
    code = "import sys, hpbench.algorithms.registry; print('jax' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

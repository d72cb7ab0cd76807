"""The algorithm metadata: complete, self-consistent, and importable without JAX."""

import inspect
import subprocess
import sys

import pytest

from hpbench.algorithms.registry import (
    ALGORITHMS,
    AlgorithmInfo,
    Hyperparameter,
    get_algorithm,
    register,
)

EXPECTED = {
    "adamw",
    "nadamw",
    "nadamw_algoperf",
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


# hpbench name -> (Optax function, its argument name) for every default taken from Optax.
OPTAX_DEFAULTS = {
    "adamw": (
        "adamw",
        {"beta1": "b1", "beta2": "b2", "eps": "eps", "weight_decay": "weight_decay"},
    ),
    "nadamw": (
        "nadamw",
        {"beta1": "b1", "beta2": "b2", "eps": "eps", "weight_decay": "weight_decay"},
    ),
    "nadamw_algoperf": (
        "nadamw",
        {"beta1": "b1", "beta2": "b2", "eps": "eps", "weight_decay": "weight_decay"},
    ),
    "cocob": ("contrib.cocob", {"learning_rate": "learning_rate", "alpha": "alpha", "eps": "eps"}),
    "dadapt_adamw": ("contrib.dadapt_adamw", {"learning_rate": "learning_rate", "d0": "estim_lr0"}),
    "dowg": ("contrib.dowg", {"learning_rate": "learning_rate", "eps": "eps"}),
    "mechanic": (
        "contrib.mechanize",
        {"weight_decay": "weight_decay", "s_init": "s_init", "num_betas": "num_betas"},
    ),
    "momo": (
        "contrib.momo",
        {"learning_rate": "learning_rate", "beta1": "beta", "lower_bound": "lower_bound"},
    ),
    "momo_adam": (
        "contrib.momo_adam",
        {"learning_rate": "learning_rate", "beta1": "b1", "beta2": "b2", "eps": "eps"},
    ),
    "prodigy": (
        "contrib.prodigy",
        {
            "learning_rate": "learning_rate",
            "beta3": "beta3",
            "eps": "eps",
            "d0": "estim_lr0",
            "d_coef": "estim_lr_coef",
            "weight_decay": "weight_decay",
            "safeguard_warmup": "safeguard_warmup",
        },
    ),
    "schedule_free_adamw": (
        "contrib.schedule_free_adamw",
        {
            "learning_rate": "learning_rate",
            "beta1": "b1",
            "beta2": "b2",
            "weight_decay": "weight_decay",
            "weight_lr_power": "weight_lr_power",
        },
    ),
}


@pytest.mark.parametrize("name", sorted(OPTAX_DEFAULTS))
def test_defaults_are_optaxs(name):
    """REFERENCE.md "Seed defaults": each default equals the one in Optax's signature."""
    optax = pytest.importorskip("optax")
    path, arguments = OPTAX_DEFAULTS[name]
    function = optax
    for part in path.split("."):
        function = getattr(function, part)
    signature = inspect.signature(function).parameters
    defaults = get_algorithm(name).defaults()
    for ours, theirs in arguments.items():
        assert defaults[ours] == signature[theirs].default, (name, ours)


def test_dog_and_prodigy_betas_defaults():
    optax = pytest.importorskip("optax")
    dog_init = inspect.signature(optax.contrib.dog).parameters["init_step"].default
    assert dog_init == ("heuristic", get_algorithm("dog").defaults()["reps_rel"])
    betas = inspect.signature(optax.contrib.prodigy).parameters["betas"].default
    prodigy = get_algorithm("prodigy").defaults()
    assert betas == (prodigy["beta1"], prodigy["beta2"])


def test_unknown_algorithm_error_lists_known_names():
    with pytest.raises(KeyError, match="known: adamw"):
        get_algorithm("adamz")


def test_metadata_import_does_not_load_jax():
    code = (
        "import sys, hpbench.algorithms.registry as r\n"
        "assert len(r.ALGORITHMS) == 13 and all(callable(i.build) for i in r.ALGORITHMS.values())\n"
        "print('jax' in sys.modules, 'optax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False False"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_packability_is_the_entrys(name):
    """Packing asks the registry entry alone: dropout (a Python value in the workload's
    model) and the flags split packs, label smoothing and learning rate do not."""
    from hpbench.train.job import is_packable

    info = get_algorithm(name)
    assert not is_packable(name, "dropout", 0.1)
    assert is_packable(name, "label_smoothing", 0.1)
    assert is_packable(name, "learning_rate", 0.5)
    for h in info.hyperparameters:
        if h.kind == "float" and h.default is not None:
            assert is_packable(name, h.name, float(h.default)) == h.packable, h.name


@pytest.fixture
def registered_sign_descent():
    """A new algorithm (sign descent), added the one way an algorithm is added."""

    def build(hp, schedule):
        import optax

        return optax.chain(optax.scale_by_sign(), optax.scale(-hp["learning_rate"]))

    info = register(
        AlgorithmInfo(
            "sign_descent_test",
            "Sign descent: x <- x - lr * sign(g) (a test entry).",
            (
                Hyperparameter("learning_rate", "float", 0.1, "Step size.", low=0.0),
                Hyperparameter("dropout", "float", 0.0, "Dropout.", packable=False),
            ),
            build,
        )
    )
    yield info
    del ALGORITHMS[info.name]


def test_one_entry_is_all_an_algorithm_needs(registered_sign_descent, tmp_path):
    """Registered once, the algorithm builds, packs and plans from a spec."""
    jnp = pytest.importorskip("jax.numpy")
    from hpbench.algorithms.build import build_optimizer
    from hpbench.spec.compile import load_plan
    from hpbench.train.job import is_packable

    tx = build_optimizer("sign_descent_test", {"learning_rate": 0.25}, lambda step: 1.0)
    params = jnp.array([1.0, -2.0, 3.0])
    grads = jnp.array([0.5, -4.0, 0.0])
    updates, _ = tx.update(grads, tx.init(params), params)
    assert updates.tolist() == [-0.25, 0.25, 0.0]  # -lr * sign(g), sign(0) = 0
    assert is_packable("sign_descent_test", "learning_rate", 0.5)
    assert not is_packable("sign_descent_test", "dropout", 0.1)
    spec = tmp_path / "sign.toml"
    spec.write_text(
        '[algorithm]\nname = "sign_descent_test"\nlearning_rate = 0.5\n'
        '[workloads.toy_mlp]\ntarget = { metric = "error_rate", value = 0.1 }\n'
    )
    (trial,) = load_plan(spec).trials
    assert trial.algorithm == "sign_descent_test"
    assert trial.params == {"learning_rate": 0.5, "dropout": 0.0}


def test_a_name_registered_twice_is_an_error():
    with pytest.raises(ValueError, match="'adamw' is registered twice"):
        register(ALGORITHMS["adamw"])

"""Every registered algorithm builds, takes ``value=loss``, has no NaN at step 0, and puts
the relative schedule where REFERENCE.md section 2 says."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from hpbench.algorithms.build import build_optimizer, eval_params
from hpbench.algorithms.mechanic import mechanize
from hpbench.algorithms.registry import ALGORITHMS
from hpbench.schedules import relative_schedule
from hpbench.workloads import load_workload

HORIZON = 100


@pytest.fixture(scope="module")
def problem():
    """toy_mlp's initial parameters, 3 fixed batches and its loss."""
    workload = load_workload("toy_mlp")
    params, _ = workload.init(jax.random.key(0))
    batches = [workload.batch(0, step) for step in range(3)]

    def loss(p, batch):
        value, _ = workload.loss(p, {}, batch, jax.random.key(1), dropout=0.0, label_smoothing=0.0)
        return value

    return params, batches, loss


def run(tx, params, batches, loss):
    """Steps of ``tx`` over ``batches`` as the engine calls it; returns (params, state, losses)."""
    state = tx.init(params)
    losses = []
    for batch in batches:
        value, grads = jax.value_and_grad(loss)(params, batch)
        updates, state = tx.update(grads, state, params, value=value)
        params = optax.apply_updates(params, updates)
        losses.append(float(value))
    return params, state, losses


def finite(tree) -> bool:
    return all(bool(jnp.isfinite(leaf).all()) for leaf in jax.tree.leaves(tree))


@pytest.mark.parametrize("name", sorted(ALGORITHMS))
@pytest.mark.parametrize("shape", ["warmup_cosine", "none"])
def test_no_nan_at_step_zero(problem, name, shape):
    """The warmup makes the learning rate exactly 0 at step 0 (Prodigy/D-Adapt's 0/0)."""
    params, batches, loss = problem
    schedule = relative_schedule(shape, 0.1, HORIZON)
    assert float(schedule(0)) == (0.0 if shape == "warmup_cosine" else 1.0)
    tx = build_optimizer(name, {}, schedule)
    new_params, state, _ = run(tx, params, batches, loss)
    assert finite(new_params) and finite(state)
    assert finite(eval_params(name, new_params, state))


@pytest.mark.parametrize("name", ["prodigy", "dadapt_adamw"])
def test_optax_alone_gives_the_step_zero_nan_that_the_builder_fixes(problem, name):
    params, batches, loss = problem
    schedule = relative_schedule("warmup_cosine", 0.1, HORIZON)
    raw = {"prodigy": optax.contrib.prodigy, "dadapt_adamw": optax.contrib.dadapt_adamw}[name]
    raw_params, _, _ = run(raw(schedule), params, batches[:2], loss)
    assert not finite(raw_params)


@pytest.mark.parametrize("name", ["prodigy", "dadapt_adamw"])
def test_zero_learning_rate_step_is_skipped_like_the_authors_code(problem, name):
    """A step at lr 0 changes nothing; the next step is the first step of the algorithm."""
    params, batches, loss = problem
    shifted = build_optimizer(name, {}, lambda step: jnp.where(step == 0, 0.0, 1.0))
    plain = build_optimizer(name, {}, lambda step: jnp.float32(1.0))
    after_skip, _, _ = run(shifted, params, batches[:1], loss)
    np.testing.assert_array_equal(after_skip["Dense_0"]["kernel"], params["Dense_0"]["kernel"])
    skipped_then_two, _, _ = run(shifted, params, [batches[0], *batches[:2]], loss)
    two, _, _ = run(plain, params, batches[:2], loss)
    jax.tree.map(np.testing.assert_allclose, skipped_then_two, two)


def test_adamw_schedule_is_the_peak_learning_rate_multiplier(problem):
    """AdamW with schedule s equals Optax's adamw with learning rate lr * s(t) (independent)."""
    params, batches, loss = problem
    schedule = relative_schedule("warmup_cosine", 0.02, 10)
    hp = {"learning_rate": 3e-3, "beta1": 0.95, "beta2": 0.99, "weight_decay": 0.1}
    ours, _, _ = run(build_optimizer("adamw", hp, schedule), params, batches, loss)
    optax_rule = optax.adamw(lambda t: 3e-3 * schedule(t), 0.95, 0.99, weight_decay=0.1)
    theirs, _, _ = run(optax_rule, params, batches, loss)
    jax.tree.map(np.testing.assert_array_equal, ours, theirs)


def nadamw_by_hand(params, grads_of, steps, lr, b1, b2, eps, wd, rule):
    """NAdamW in float64 numpy: Adam's moments, then the Nesterov average bias-corrected as a
    whole (``rule="algoperf"``, arXiv:1910.05446 Table 1) or term by term (``"optax"``), then
    ``x -= lr_t (m_hat / (sqrt(v_hat) + eps) + wd x)``."""
    x = {k: np.asarray(v, np.float64) for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in x.items()}
    v = {k: np.zeros_like(a) for k, a in x.items()}
    for t in range(1, steps + 1):
        g = grads_of(t - 1, x)
        for k in x:
            m[k] = b1 * m[k] + (1 - b1) * g[k]
            v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
            if rule == "algoperf":
                m_hat = (b1 * m[k] + (1 - b1) * g[k]) / (1 - b1**t)
            else:
                m_hat = b1 * m[k] / (1 - b1 ** (t + 1)) + (1 - b1) * g[k] / (1 - b1**t)
            v_hat = v[k] / (1 - b2**t)
            x[k] = x[k] - lr(t - 1) * (m_hat / (np.sqrt(v_hat) + eps) + wd * x[k])
    return x


TARGET = {"w": np.array([1.0, -2.0, 3.0]), "b": np.array([0.5])}
START = {"w": np.array([0.1, 0.2, -0.3]), "b": np.array([0.0])}


def quadratic_grads(step, x):
    """Gradient of 0.5 |x - TARGET|^2, scaled per step (known in closed form)."""
    return {k: (np.asarray(x[k], np.float64) - TARGET[k]) * (1 + 0.1 * step) for k in x}


def run_on_quadratic(tx, steps):
    x = {k: jnp.asarray(v, jnp.float32) for k, v in START.items()}
    state = tx.init(x)
    for step in range(steps):
        grads = {k: jnp.asarray(g, jnp.float32) for k, g in quadratic_grads(step, x).items()}
        updates, state = tx.update(grads, state, x, value=0.0)
        x = optax.apply_updates(x, updates)
    return x


@pytest.mark.parametrize(("name", "rule"), [("nadamw", "optax"), ("nadamw_algoperf", "algoperf")])
def test_nadamw_rules_worked_by_hand(name, rule):
    """Each NAdamW equals its rule written out, with the schedule and the decoupled weight
    decay (scaled by the whole learning rate) where hpbench puts them, and not the other."""
    schedule = relative_schedule("warmup_cosine", 0.1, 20)
    lr = lambda t: 0.05 * float(schedule(t))  # noqa: E731
    hp = {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.01}
    by_hand = {
        r: nadamw_by_hand(START, quadratic_grads, 20, lr, 0.9, 0.99, 1e-8, 0.01, r)
        for r in ("optax", "algoperf")
    }
    ours = run_on_quadratic(build_optimizer(name, hp, schedule), 20)
    for k in START:
        np.testing.assert_allclose(ours[k], by_hand[rule][k], rtol=1e-5, atol=1e-6)
    other = by_hand["algoperf" if rule == "optax" else "optax"]
    assert not np.allclose(ours["w"], other["w"], rtol=1e-3)


def test_nadamw_is_optax_nadamw_bit_for_bit(problem):
    """``nadamw`` is ``optax.nadamw`` with learning rate ``lr * s(t)``: the same bits after
    every step on toy_mlp, and on the quadratic over 20 steps."""
    params, batches, loss = problem
    schedule = relative_schedule("warmup_cosine", 0.2, 10)
    hp = {"learning_rate": 3e-3, "beta1": 0.95, "beta2": 0.98, "eps": 1e-7, "weight_decay": 0.1}
    optax_rule = optax.nadamw(lambda t: 3e-3 * schedule(t), 0.95, 0.98, 1e-7, weight_decay=0.1)
    for steps in range(1, len(batches) + 1):
        ours, _, _ = run(build_optimizer("nadamw", hp, schedule), params, batches[:steps], loss)
        theirs, _, _ = run(optax_rule, params, batches[:steps], loss)
        jax.tree.map(np.testing.assert_array_equal, ours, theirs)
    schedule = relative_schedule("warmup_cosine", 0.1, 20)
    hp = {"learning_rate": 0.05, "beta1": 0.9, "beta2": 0.99, "eps": 1e-8, "weight_decay": 0.01}
    optax_rule = optax.nadamw(lambda t: 0.05 * schedule(t), 0.9, 0.99, 1e-8, weight_decay=0.01)
    ours = run_on_quadratic(build_optimizer("nadamw", hp, schedule), 20)
    jax.tree.map(np.testing.assert_array_equal, ours, run_on_quadratic(optax_rule, 20))


def test_first_steps_of_the_two_nadamw_rules_worked_by_hand():
    """A constant gradient g, lr 1, eps 0: v_hat = g^2 exactly, so step t moves every
    coordinate by -c(t) sign(g), with c(1) = 1 + b1 = 1.9 for AlgoPerf's rule and
    1 + b1 / (1 + b1) = 28/19 for Optax's (29% apart; float32 rounds at 1e-5); in general
    c_algoperf(t) = b1 + (1 - b1) / (1 - b1^t),
    c_optax(t) = b1 (1 - b1^t) / (1 - b1^(t+1)) + (1 - b1) / (1 - b1^t)."""
    b1, steps = 0.9, 5
    grad = {"w": np.array([0.3, -2.0, 5e-3]), "b": np.array([-1.0])}
    hp = {"learning_rate": 1.0, "beta1": b1, "beta2": 0.999, "eps": 0.0, "weight_decay": 0.0}
    constant = relative_schedule("none", 0.0, steps)
    coefficient = {
        "nadamw_algoperf": lambda t: b1 + (1 - b1) / (1 - b1**t),
        "nadamw": lambda t: b1 * (1 - b1**t) / (1 - b1 ** (t + 1)) + (1 - b1) / (1 - b1**t),
    }
    assert coefficient["nadamw_algoperf"](1) == pytest.approx(1.9, rel=1e-12)
    assert coefficient["nadamw"](1) == pytest.approx(28 / 19, rel=1e-12)
    for name, c in coefficient.items():
        tx = build_optimizer(name, hp, constant)
        x = {k: jnp.zeros_like(jnp.asarray(g, jnp.float32)) for k, g in grad.items()}
        state = tx.init(x)
        for t in range(1, steps + 1):
            g = {k: jnp.asarray(v, jnp.float32) for k, v in grad.items()}
            updates, state = tx.update(g, state, x, value=0.0)
            for k in grad:
                np.testing.assert_allclose(updates[k], -c(t) * np.sign(grad[k]), rtol=3e-5)
            x = optax.apply_updates(x, updates)


def test_cocob_is_the_papers_algorithm_2_worked_by_hand():
    """COCOB-Backprop (Orabona & Tommasi 2017, Algorithm 2), L_0 = eps, schedule "none"."""
    alpha, eps = 100.0, 1e-8
    w1 = {k: v.astype(np.float64) for k, v in START.items()}
    w = dict(w1)
    big_l = {k: np.full_like(v, eps) for k, v in w.items()}
    big_g = {k: np.zeros_like(v) for k, v in w.items()}
    reward = {k: np.zeros_like(v) for k, v in w.items()}
    theta = {k: np.zeros_like(v) for k, v in w.items()}
    for t in range(30):
        g = quadratic_grads(t, w)
        for k in w:
            big_l[k] = np.maximum(big_l[k], np.abs(g[k]))
            big_g[k] = big_g[k] + np.abs(g[k])
            reward[k] = np.maximum(reward[k] - (w[k] - w1[k]) * g[k], 0.0)
            theta[k] = theta[k] + g[k]
            bet = theta[k] / (big_l[k] * np.maximum(big_g[k] + big_l[k], alpha * big_l[k]))
            w[k] = w1[k] - bet * (big_l[k] + reward[k])
    ours = run_on_quadratic(build_optimizer("cocob", {}, relative_schedule("none", 0.0, 30)), 30)
    assert np.abs(w["w"] - w1["w"]).max() > 0.1, "the hand-worked run should move"
    for k in w:
        np.testing.assert_allclose(ours[k], w[k], rtol=1e-5, atol=1e-6)


def test_dowg_is_the_papers_rule_worked_by_hand():
    """DoWG (Khaled et al. 2023): r2 = max(r2, |x - x0|^2), v += r2 |g|^2, x -= r2 / sqrt(v) g;
    hpbench (Optax) starts r2 at eps and adds eps to sqrt(v)."""
    eps = 1e-4
    x0 = {k: v.astype(np.float64) for k, v in START.items()}
    x, r2, v = dict(x0), eps, 0.0
    for t in range(30):
        g = quadratic_grads(t, x)
        r2 = max(r2, sum(float(np.sum((x[k] - x0[k]) ** 2)) for k in x))
        v += r2 * sum(float(np.sum(g[k] ** 2)) for k in x)
        x = {k: x[k] - r2 / (np.sqrt(v) + eps) * g[k] for k in x}
    ours = run_on_quadratic(build_optimizer("dowg", {}, relative_schedule("none", 0.0, 30)), 30)
    assert np.abs(x["w"] - x0["w"]).max() > 0.1, "the hand-worked run should move"
    for k in x:
        np.testing.assert_allclose(ours[k], x[k], rtol=1e-4, atol=1e-6)


def test_learning_rate_free_methods_take_the_schedule_inside(problem):
    """Mechanic with schedule s = mechanize(adam(s)), not s times mechanize(adam(1))."""
    params, batches, loss = problem
    schedule = relative_schedule("linear_decay", 0.0, 4)
    ours, _, _ = run(build_optimizer("mechanic", {}, schedule), params, batches, loss)
    inside, _, _ = run(mechanize(optax.adam(schedule), s_init=1e-6), params, batches, loss)
    jax.tree.map(np.testing.assert_allclose, ours, inside)
    outside = optax.chain(
        mechanize(optax.adam(1.0), s_init=1e-6), optax.scale_by_schedule(schedule)
    )
    after, _, _ = run(outside, params, batches, loss)
    assert not np.allclose(after["Dense_1"]["kernel"], ours["Dense_1"]["kernel"])


def test_mechanic_base_option_changes_the_rule(problem):
    params, batches, loss = problem
    schedule = relative_schedule("constant", 0.0, HORIZON)
    adam, _, _ = run(
        build_optimizer("mechanic", {}, schedule, {"base": "adam"}), params, batches, loss
    )
    nadam, _, _ = run(
        build_optimizer("mechanic", {}, schedule, {"base": "nadam"}), params, batches, loss
    )
    assert not np.allclose(adam["Dense_1"]["kernel"], nadam["Dense_1"]["kernel"])


def test_schedule_free_evaluates_at_the_averaged_iterate(problem):
    params, batches, loss = problem
    tx = build_optimizer("schedule_free_adamw", {}, relative_schedule("constant", 0.0, HORIZON))
    y, state, _ = run(tx, params, batches, loss)
    x = eval_params("schedule_free_adamw", y, state)
    expected = optax.contrib.schedule_free_eval_params(state, y)
    jax.tree.map(np.testing.assert_array_equal, x, expected)
    assert not np.allclose(x["Dense_0"]["kernel"], y["Dense_0"]["kernel"])
    assert eval_params("adamw", y, state) is y


def test_regularizers_are_accepted_and_unknown_names_rejected():
    schedule = relative_schedule("constant", 0.0, HORIZON)
    build_optimizer("prodigy", {"dropout": 0.1, "label_smoothing": 0.2}, schedule)
    with pytest.raises(ValueError, match="'prodigy' does not take 'momentum'; it takes: learning"):
        build_optimizer("prodigy", {"momentum": 0.9}, schedule)
    with pytest.raises(ValueError, match=r"mechanic.base must be one of \('adam', 'nadam'\)"):
        build_optimizer("mechanic", {}, schedule, {"base": "sgd"})
    with pytest.raises(ValueError, match="mechanic.num_betas must be an integer, found 2.5"):
        build_optimizer("mechanic", {"num_betas": 2.5}, schedule)
    build_optimizer("mechanic", {"num_betas": 3.0}, schedule)  # an integer read back as float


def test_static_hyperparameter_cannot_be_traced():
    schedule = relative_schedule("constant", 0.0, HORIZON)

    def build(num_betas):
        build_optimizer("mechanic", {"num_betas": num_betas}, schedule)
        return num_betas

    with pytest.raises(ValueError, match="num_betas changes the compiled program"):
        jax.jit(build)(3)

"""Why does the mini imagenet_vit stay at chance at learning rates >= 1e-2? Short probes.

Trains one (model, data) variant with Optax NAdamW (b1 0.9, b2 0.99, weight decay 0.05,
warmup then cosine, hpbench's relative schedule) for a few hundred steps and prints the best
validation error, the largest attention logit |q.k|/sqrt(d) on a validation batch, and the
seconds. ``python -m benchmarks.vit_probe VARIANT --lrs 1e-3 1e-2 --steps 300``; the
variants are in ``VARIANTS``; the table is in benchmarks/workloads.md (imagenet_vit).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def shapes_data(fixed_colours="", n_train: int = 32768, n_valid: int = 2048):
    """The mini imagenet data (cached), or the same shapes drawn in grey: ``"fixed"`` levels
    (0.2 and 0.8) or ``"random"`` ones (the mini data's levels, equal in the three channels)."""
    from hpbench.workloads import imagenet

    config = imagenet.DATA["mini"]
    if not fixed_colours:
        from hpbench.workloads.registry import load_workload

        return {k: np.asarray(v) for k, v in load_workload("imagenet_vit", "mini").data.items()}
    rng = np.random.default_rng([7, config.image_size])
    out = {}
    for split, n in (("train", n_train), ("valid", n_valid)):
        labels = rng.integers(0, 10, n).astype(np.int32)
        images = grey_shapes(rng, labels, config.image_size, config.noise, fixed_colours)
        out[f"{split}_images"], out[f"{split}_labels"] = images, labels
    return out


def grey_shapes(rng, labels, size, noise, levels):
    """``imagenet.render_images`` in grey: fixed levels or per-image random ones."""
    from hpbench.workloads import imagenet

    n = len(labels)
    mask = imagenet.placed_masks(rng, labels, size)
    if levels == "fixed":
        background, foreground = 0.2, 0.8
    elif levels in ("brighter", "colour_brighter"):  # the shape brighter than its background
        channels = 3 if levels == "colour_brighter" else 1
        background = rng.uniform(0, 0.4, (n, 1, 1, channels))
        foreground = background + rng.uniform(0.35, 0.6, (n, 1, 1, channels))
    else:
        background = rng.uniform(0, 1, (n, 1, 1, 1))
        sign = rng.choice([-1.0, 1.0], (n, 1, 1, 1))
        foreground = np.clip(background + sign * rng.uniform(0.35, 0.7, (n, 1, 1, 1)), 0, 1)
    image = background + (foreground - background) * mask * np.ones((1, 1, 1, 3))
    image = image + rng.normal(0, noise, image.shape)
    return np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)


def digits_data():
    """scikit-learn's bundled 8x8 handwritten digits as 16x16 RGB (nearest upsampling)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    images = (d.images / 16.0 * 255).astype(np.uint8)
    images = np.repeat(np.repeat(images, 2, 1), 2, 2)[..., None].repeat(3, -1)
    labels = d.target.astype(np.int32)
    order = np.random.default_rng(0).permutation(len(labels))
    images, labels = images[order], labels[order]
    return {
        "train_images": images[:1500],
        "train_labels": labels[:1500],
        "valid_images": images[1500:],
        "valid_labels": labels[1500:],
    }


class MLP:
    """Two hidden GELU layers with LayerNorm on the flattened image (data-vs-model probe)."""

    @staticmethod
    def make(num_classes):
        import flax.linen as nn

        class _MLP(nn.Module):
            @nn.compact
            def __call__(self, x, train=False):
                x = x.reshape(x.shape[0], -1)
                for _ in range(2):
                    x = nn.gelu(nn.Dense(256)(nn.LayerNorm()(x)))
                return nn.Dense(num_classes, kernel_init=nn.initializers.zeros)(x)

        return _MLP()


def vit(patch=4, width=64, depth=2, mlp=128, heads=4, **kw):
    from hpbench.workloads.imagenet import ViT

    return ViT(10, patch, width, depth, mlp, heads, **kw)


def resnet():
    from hpbench.workloads.imagenet import resnet_model

    return resnet_model("mini", 10, "")


VARIANTS = {
    "vit": (vit, "shapes"),
    "vit_grey": (vit, "grey"),
    "vit_grey_random": (vit, "grey_random"),
    "vit_grey_brighter": (vit, "grey_brighter"),
    "vit_colour_brighter": (vit, "colour_brighter"),
    "vit_digits": (lambda: vit(patch=4), "digits"),
    "mlp": (lambda: MLP.make(10), "shapes"),
    "mlp_digits": (lambda: MLP.make(10), "digits"),
    "resnet": (resnet, "shapes"),
    "vit_w128": (lambda: vit(width=128, mlp=256), "shapes"),
    "vit_d1": (lambda: vit(depth=1), "shapes"),
}


def load(data: str):
    return {
        "shapes": shapes_data,
        "grey": lambda: shapes_data("fixed"),
        "grey_random": lambda: shapes_data("random"),
        "grey_brighter": lambda: shapes_data("brighter"),
        "colour_brighter": lambda: shapes_data("colour_brighter"),
        "digits": digits_data,
    }[data]()


def attention_logit_max(model, variables, images):
    """max |q.k| / sqrt(head_dim) over blocks, heads and token pairs on ``images``."""
    import jax.numpy as jnp

    from hpbench.workloads.imagenet import normalize

    _, state = model.apply(
        variables,
        normalize(images),
        capture_intermediates=lambda m, name: m.name in ("query", "key"),
        mutable=["intermediates"],
    )
    found = []

    def walk(tree):
        if "query" in tree and "key" in tree:
            q, k = tree["query"]["__call__"][0], tree["key"]["__call__"][0]
            logits = jnp.einsum("bqhd,bkhd->bhqk", q, k) / np.sqrt(q.shape[-1])
            found.append(float(jnp.abs(logits).max()))
        for v in tree.values():
            if isinstance(v, dict):
                walk(v)

    walk(dict(state["intermediates"]))
    return max(found) if found else float("nan")


def run(
    make_model, data, lr, steps, batch_size=64, seed=0, warmup=0.05, evals=10, b2=0.99, freeze=()
):
    """(best validation error, error at the end, max attention logit at the end, seconds)."""
    import jax
    import jax.numpy as jnp
    import optax

    from hpbench.algorithms.build import build_optimizer
    from hpbench.data.order import batch_indices
    from hpbench.schedules import relative_schedule
    from hpbench.workloads.imagenet import normalize

    model = make_model()
    variables = model.init(jax.random.key(seed), jnp.zeros((1, 16, 16, 3)))
    params, state = variables["params"], {k: v for k, v in variables.items() if k != "params"}
    hp = {"learning_rate": lr, "beta1": 0.9, "beta2": b2, "weight_decay": 0.05}
    tx = build_optimizer("nadamw", hp, relative_schedule("warmup_cosine", warmup, steps))
    opt_state = tx.init(params)

    @jax.jit
    def step(params, state, opt_state, images, labels):
        def loss_fn(p):
            logits, new = model.apply(
                {"params": p, **state}, normalize(images), train=True, mutable=list(state)
            )
            loss = optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
            return loss, new

        (loss, new), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = tx.update(grads, opt_state, params, value=loss)
        updates = jax.tree_util.tree_map_with_path(
            lambda path, u: u * 0 if any(getattr(k, "key", None) in freeze for k in path) else u,
            updates,
        )
        return optax.apply_updates(params, updates), {**state, **new}, opt_state, loss

    @jax.jit
    def errors(params, state, images, labels):
        logits = model.apply({"params": params, **state}, normalize(images), train=False)
        return jnp.mean(jnp.argmax(logits, -1) != labels)

    vi, vl = data["valid_images"][:1024], data["valid_labels"][:1024]
    n = len(data["train_labels"])
    start = time.perf_counter()
    curve = []
    for i in range(steps):
        idx = np.sort(np.asarray(batch_indices(seed, i, n, batch_size)))
        params, state, opt_state, loss = step(
            params, state, opt_state, data["train_images"][idx], data["train_labels"][idx]
        )
        if (i + 1) % max(1, steps // evals) == 0 or i + 1 == steps:
            curve.append((i + 1, float(errors(params, state, vi, vl)), float(loss)))
    seconds = time.perf_counter() - start
    try:
        logit = attention_logit_max(model, {"params": params, **state}, vi[:256])
    except Exception:  # noqa: BLE001 - models without attention
        logit = float("nan")
    best = min(e for _, e, _ in curve)
    return best, curve, logit, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("variant", choices=sorted(VARIANTS))
    parser.add_argument("--lrs", type=float, nargs="+", default=[1e-3, 3e-3, 1e-2, 3e-2])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--warmup", type=float, default=0.05)
    parser.add_argument("--b2", type=float, default=0.99)
    parser.add_argument("--evals", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--freeze", nargs="*", default=[], help="parameter names kept at init")
    args = parser.parse_args(argv)
    make_model, data_name = VARIANTS[args.variant]
    data = load(data_name)
    for lr in args.lrs:
        best, curve, logit, seconds = run(
            make_model,
            data,
            lr,
            args.steps,
            args.batch,
            seed=args.seed,
            warmup=args.warmup,
            b2=args.b2,
            evals=args.evals,
            freeze=tuple(args.freeze),
        )
        trace = " ".join(f"{s}:{e:.2f}" for s, e, _ in curve)
        print(
            f"{args.variant} data={data_name} lr={lr:g} steps={args.steps} batch={args.batch} "
            f"seed={args.seed} "
            f"warmup={args.warmup} freeze={args.freeze} best={best:.3f} attn_logit_max={logit:.1f} "
            f"s={seconds:.1f} | {trace} | last loss {curve[-1][2]:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()

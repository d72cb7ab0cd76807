"""WMT beam-search decoding speed: key/value cache vs recomputing the decoder per step.

The same random Transformer and inputs, AlgoPerf's search (4 beams, alpha 0.6) run for
every step (an end token no model emits), jitted; after one compiling call, the best of
``repeats`` timed calls. Figures are beam tokens per second: batch x beams x steps / s.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from collections.abc import Sequence

from benchmarks import parser

SIZES = {"vocab_size": 4096, "emb_dim": 256, "num_heads": 8, "num_layers": 2, "mlp_dim": 1024}


def _time(fn, repeats: int) -> float:
    fn().block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn().block_until_ready()
        best = min(best, time.perf_counter() - start)
    return best


def main(argv: Sequence[str] = ()) -> None:
    options = parser(__doc__)
    options.add_argument("--batch", type=int, default=4, help="sentences decoded at once")
    options.add_argument("--length", type=int, default=48, help="tokens decoded per sentence")
    options.add_argument("--beam-size", type=int, default=4)
    options.add_argument("--repeats", type=int, default=2, help="timings; the best is kept")
    args = options.parse_args(argv)
    batch, length, beam_size, repeats = args.batch, args.length, args.beam_size, args.repeats
    import jax
    import jax.numpy as jnp
    import numpy as np

    from hpbench.workloads import translate, wmt

    config = wmt.ModelConfig(**SIZES, max_length=length, bos_id=0)
    model = wmt.Transformer(config)
    tokens = jnp.ones((1, length), jnp.int32)
    params = model.init(jax.random.key(0), tokens, tokens)["params"]
    rng = np.random.default_rng(0)
    inputs = jnp.asarray(rng.integers(3, config.vocab_size, (batch, length)), jnp.int32)
    steps = length  # max_decode_len = length + 1
    print(f"model {SIZES}, batch {batch}, beams {beam_size}, {steps} steps")
    print(f"jax {jax.__version__}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}")
    rates = {}
    for cached in (True, False):
        run = jax.jit(functools.partial(
            translate.predict, model, max_decode_len=length + 1, beam_size=beam_size,
            cached=cached, eos_id=-1,
        ))  # fmt: skip
        seconds = _time(lambda run=run: run(params, inputs), repeats)
        rates[cached] = batch * beam_size * steps / seconds
        name = "cache" if cached else "recompute"
        print(f"{name:>9}: {seconds:7.3f} s, {rates[cached]:9.0f} beam tokens/s")
    print(f"cache speed-up {rates[True] / rates[False]:.1f}x, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main(sys.argv[1:])

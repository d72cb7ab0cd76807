#!/usr/bin/env bash
# The accelerator benchmark (issue 23) in one call on a GPU machine that reaches no network:
# checks that the machine's own JAX sees the GPU and has what hpbench imports, then runs
# `python -m benchmarks accelerator` under a hard timeout. Everything lands in $OUT (at most
# 4 files: env.txt, log.txt, accelerator.json, accelerator.md), rewritten after each
# measurement, so a timeout still leaves the figures measured so far.
#
#   bash benchmarks/device/run_accelerator.sh                       # all sections, 420 s
#   BUDGET=240 bash benchmarks/device/run_accelerator.sh --sections engine
#   ALLOW_CPU=1 BUDGET=90 bash benchmarks/device/run_accelerator.sh --tiny  # a dry run here
#
# No `pip install`: the machine has JAX with its CUDA plugin, flax, optax, orbax and the
# rest, and no registry to install from; hpbench runs from this checkout (PYTHONPATH).
# A missing package travels as wheels in .whl/ (see the device tool's README), installed
# here into /tmp/site. Compiled programs and generated data are cached under
# benchmarks/.out/cache, which a warm machine keeps between calls: a rerun compiles less.
set -uo pipefail
cd "$(dirname "$0")/../.."
OUT=${OUT:-benchmarks/.out/device}
BUDGET=${BUDGET:-420}
PY=${PYTHON:-python3}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
CACHE="$PWD/benchmarks/.out/cache"  # ignored by git: a warm machine keeps it between calls
export HPBENCH_COMPILE_CACHE_DIR="$CACHE/compiled" HPBENCH_DATA_DIR="$CACHE/data"
if compgen -G ".whl/*.whl" >/dev/null; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 3
    export PYTHONPATH="$PYTHONPATH:/tmp/site"
fi
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    "$PY" - <<'PYTHON'
import importlib
import jax
for name in ("jaxlib", "flax", "optax", "orbax.checkpoint", "tensorstore", "attrs", "rich",
             "jinja2", "scipy", "numpy"):
    module = importlib.import_module(name)
    print(name, getattr(module, "__version__", "?"))
print("jax", jax.__version__, jax.default_backend(), jax.devices())
import os
assert jax.default_backend() != "cpu" or os.environ.get("ALLOW_CPU"), "JAX sees no accelerator"
PYTHON
} >"$OUT/env.txt" 2>&1
status=$?
cat "$OUT/env.txt"
[ $status -eq 0 ] || { echo "environment check failed (exit $status): see env.txt"; exit 3; }
timeout --signal=TERM --kill-after=10 $((${BUDGET%.*} + 90)) \
    "$PY" -m benchmarks accelerator --budget "$BUDGET" --out "$OUT" "$@" 2>&1 | tee "$OUT/log.txt"

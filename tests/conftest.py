"""Shared test set-up: per-checkout data and compilation caches (datasets generated and
programs compiled once; hpbench's defaults are under ``~/.cache/hpbench``), and
two CPU devices whatever the machine, as the ``hpbench`` command gives a 2-core machine:
packs spread over both, single trials train on one (``hpbench.backends.cpus``)."""

import os
from pathlib import Path

os.environ.setdefault(
    "HPBENCH_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "data")
)
os.environ.setdefault(
    "HPBENCH_COMPILE_CACHE_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "compiled")
)
os.environ.setdefault("JAX_NUM_CPU_DEVICES", "2")

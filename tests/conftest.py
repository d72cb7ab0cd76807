"""Shared test set-up: a per-checkout data cache so generated datasets are built once."""

import os
from pathlib import Path

os.environ.setdefault(
    "HPBENCH_DATA_DIR", str(Path(__file__).resolve().parent.parent / ".cache" / "data")
)

"""``hpbench validate`` on hostile and maximal specs (targets: refused well under 1 s,
anything within the limits validated under 2 s; docs/security.md).

Each spec is validated by fresh processes, as CI runs it; the minimum and median
wall-clock times of ``RUNS`` runs are reported with the exit code:

- a 10^6-point grid (3 axes of 100 values): refused from its sizes (issue 22 measured
  124 s and 1.3 GB before the bound);
- the largest spec within the limits: a 64 KiB file whose grid is 4,000 x 22 values
  (88,000 trials, counted, not expanded);
- a 2,000-trial grid, the largest that ``validate`` expands to count exactly;
- a 64 KiB file of arrays, each one item over the limit (the slowest to refuse: every
  value is parsed and located).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser
from hpbench.config.bounds import MAX_ARRAY, MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parent.parent
TOY = ROOT / "specs" / "suites" / "toy.toml"
RUNS = 5
HEAD = f'[benchmark]\nextends = "{TOY}"\n[algorithm]\nname = "adamw"\n[grid]\n'


def _axis(count: int, start: float) -> str:
    return "[" + ", ".join(f"{start + (i + 1) * 1e-9:.9f}" for i in range(count)) + "]"


def _padded(text: str) -> str:
    """``text`` with a comment filling the file up to the size limit."""
    return text + "# " + "y" * (MAX_FILE_BYTES - len(text) - 4) + "\n"


def specs() -> dict[str, str]:
    grid = "".join(f"{n} = {_axis(100, 1e-3)}\n" for n in ("learning_rate", "weight_decay", "eps"))
    arrays = "".join(f"x{i} = [" + ", ".join(["1"] * (MAX_ARRAY + 1)) + "]\n" for i in range(3))
    return {
        "10^6-point grid (refused)": HEAD + grid,
        "64 KiB, 88,000 trials (valid)": _padded(
            HEAD + f"learning_rate = {_axis(4_000, 1e-3)}\nbeta1 = {_axis(22, 0.5)}\n"
        ),
        "2,000 trials, expanded (valid)": HEAD
        + f"learning_rate = {_axis(100, 1e-3)}\nbeta1 = {_axis(20, 0.5)}\n",
        "64 KiB of oversized arrays (refused)": arrays[: MAX_FILE_BYTES - 200].rsplit("\n", 1)[0]
        + "\n",
    }


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory() as directory:
        for label, text in specs().items():
            path = Path(directory) / "spec.toml"
            path.write_text(text)
            command = [sys.executable, "-m", "hpbench.cli", "validate", str(path)]
            times, codes = [], set()
            for _ in range(RUNS):
                start = time.perf_counter()
                done = subprocess.run(command, env=env, capture_output=True)
                times.append(time.perf_counter() - start)
                codes.add(done.returncode)
            print(
                f"{label:40s} {len(text) / 1024:6.0f} KiB exit {sorted(codes)}: "
                f"min {min(times):.3f} s, median {statistics.median(times):.3f} s"
            )


if __name__ == "__main__":
    main(sys.argv[1:])

"""Start-up time of ``hpbench --help`` and ``hpbench validate`` (target: under 0.3 s).

Each command runs as a fresh process, as a user types it, several times; the minimum and
the median wall-clock times are reported, with and without Python's bytecode cache
(``PYTHONDONTWRITEBYTECODE=1`` recompiles hpbench's own modules on every start). The run
also checks that neither command imported JAX, and times the two imports that dominate
``validate``: numpy (imported by ``hpbench.schedules``) and hpbench's spec modules.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser

ROOT = Path(__file__).resolve().parent.parent
RUNS = 10
COMMANDS = {
    "hpbench --help": ["--help"],
    "hpbench validate specs/mechanic_calibrated.toml": [
        "validate",
        "specs/mechanic_calibrated.toml",
    ],
}
NO_JAX = (
    "import sys, runpy\n"
    "sys.argv = ['hpbench', *sys.argv[1:]]\n"
    "try:\n"
    "    runpy.run_module('hpbench.cli', run_name='__main__')\n"
    "except SystemExit:\n"
    "    pass\n"
    "assert 'jax' not in sys.modules, 'jax was imported'\n"
)


def time_command(args: list[str], env: dict[str, str]) -> list[float]:
    """Wall-clock seconds of ``RUNS`` fresh ``python -m hpbench.cli ARGS`` processes."""
    command = [sys.executable, "-m", "hpbench.cli", *args]
    subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)  # warm caches
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return times


def fresh_import(module: str, env: dict[str, str]) -> list[float]:
    """Seconds to import ``module`` in ``RUNS`` fresh interpreters (measured inside them)."""
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(RUNS)
    ]


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    for label, args in COMMANDS.items():
        subprocess.run(
            [sys.executable, "-c", NO_JAX, *args], cwd=ROOT, capture_output=True, check=True
        )
        for cache in (True, False):
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            if not cache:
                env["PYTHONDONTWRITEBYTECODE"] = "1"
            times = time_command(args, env)
            print(
                f"{label:52s} bytecode cache {'on ' if cache else 'off'}: "
                f"min {min(times):.3f} s, median {statistics.median(times):.3f} s (no jax)"
            )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    for module in ("numpy", "hpbench.cli.spec"):
        times = fresh_import(module, env)
        label = f"import {module}"
        print(f"{label:52s} min {min(times):.3f} s, median {statistics.median(times):.3f} s")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Run every ``benchmarks/bench_*.py`` module's ``main()`` in turn, or the ones named.

Options after the names go to each named module's ``main``, which parses them (``--help``
lists them): ``python -m benchmarks accelerator --tiny --out DIR``.
"""

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> None:
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    names, options = argv[:split], argv[split:]
    here = Path(__file__).parent
    modules = sorted(
        m.name for m in pkgutil.iter_modules([str(here)]) if m.name.startswith("bench_")
    )
    for name in modules:
        if names and name.removeprefix("bench_") not in names and name not in names:
            continue
        print(f"== {name}", flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        sys.argv[0] = f"python -m benchmarks {name.removeprefix('bench_')}"  # --help's usage line
        module.main(options)


if __name__ == "__main__":
    main(sys.argv[1:])

"""Performance benchmarks; ``python -m benchmarks`` (``just bench``) runs them all.

Every ``bench_*`` module's ``main(argv)`` parses its own options (``--help`` lists them), so
``python -m benchmarks NAME --option`` and ``python -m benchmarks.bench_NAME --option`` agree.
"""

import argparse

#: AlgoPerf's eight workloads, the mini suite's (the benchmarks that run them all).
MINI_SUITE = (
    "criteo",
    "fastmri",
    "imagenet_resnet",
    "imagenet_vit",
    "librispeech_conformer",
    "librispeech_deepspeech",
    "ogbg",
    "wmt",
)


def parser(doc: str | None, prog: str | None = None) -> argparse.ArgumentParser:
    """An option parser described by a module docstring's first line (``prog``: the usage's
    command, by default the running program's)."""
    return argparse.ArgumentParser(prog=prog, description=(doc or "").strip().splitlines()[0])

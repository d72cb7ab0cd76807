"""Input-pipeline throughput of AlgoPerf's readers (examples/s per CPU core).

Writes synthetic data in the real formats (``hpbench.data.synthetic``: fastMRI volumes of
640 x 368 complex k-space, Criteo day files of 40 tab-separated fields) to a temporary
directory, then times: each reader in one process (read, decode, augment: the per-core
rate), the same through ``stream`` with 2 grain worker processes, and Criteo's one-time
line-index scan. Needs the algoperf-data extra.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from benchmarks import parser

FASTMRI_BATCH = 8
CRITEO_BATCH = 8192


def rate(load, calls: int, items: int, clock=time.perf_counter) -> float:
    """Items per second of ``calls`` calls ``load(i)`` (``items`` each) after one warm-up
    call, by ``clock``: the wall clock, or ``time.process_time`` for this process's CPU
    seconds (the per-core rate, whatever the machine's load)."""
    load(0)
    start = clock()
    for i in range(1, calls + 1):
        load(i)
    return calls * items / (clock() - start)


def stream_rate(reader, steps: int, batch: int, workers: int) -> float:
    """Examples per wall-clock second of ``reader`` through ``stream`` with ``workers``
    grain worker processes, once every worker has started and filled its buffer."""
    from hpbench.data.stream import stream

    batches = stream(reader, 0, 0, worker_count=workers, prefetch=2)
    for _ in range(2 * workers):  # every worker has started and filled its buffer
        next(batches)
    start = time.perf_counter()
    for _ in range(steps):
        next(batches)
    return steps * batch / (time.perf_counter() - start)


def reader_rows(name: str, what: str, reader, batch: int, steps: int, stream_steps: int):
    """(name, how, examples/s) of ``reader`` in one process (``what`` it does per example:
    the per-core rate) and through ``stream`` with 2 grain workers."""
    return [
        (f"{name} ({what})", "1 process", rate(lambda s: reader(0, s), steps, batch)),
        (name, "2 grain workers", stream_rate(reader, stream_steps, batch, 2)),
    ]


def print_rows(rows) -> None:
    width = max(len(name) for name, _, _ in rows)
    for name, how, rate in rows:
        print(f"{name:{width}s} {how:16s} {rate:10,.0f} examples/s")


def main(argv: Sequence[str] = ()) -> None:
    parser(__doc__).parse_args(argv)
    from hpbench.data.criteo_tsv import CriteoReader
    from hpbench.data.fastmri_h5 import FastMRIReader
    from hpbench.data.synthetic import write_criteo, write_fastmri

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        fastmri = FastMRIReader.open(
            write_fastmri(root / "fastmri", train=(18, 18), valid=(1,)), FASTMRI_BATCH
        )
        criteo_dir = write_criteo(root / "criteo1tb", train_lines=(150_000,), valid_lines=2)
        size = (criteo_dir / "day_0_00").stat().st_size
        start = time.perf_counter()
        criteo = CriteoReader.open(criteo_dir, CRITEO_BATCH, root / "index")
        scan = size / (time.perf_counter() - start) / 2**20
        rows = [
            *reader_rows("fastmri", "h5 slice -> mask, iFFT, crop, normalise", fastmri,
                         FASTMRI_BATCH, 12, 40),
            *reader_rows("criteo", "TSV line -> log, FarmHash buckets", criteo,
                         CRITEO_BATCH, 12, 40),
        ]  # fmt: skip
    print_rows(rows)
    print(f"criteo line-index scan: {scan:,.0f} MiB/s ({size / 2**20:.0f} MiB file)")


if __name__ == "__main__":
    main(sys.argv[1:])

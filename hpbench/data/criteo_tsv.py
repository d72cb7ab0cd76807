"""AlgoPerf's Criteo 1TB click logs: the ``day_<d>_<nn>`` TSV files its ``dataset_setup.py``
splits each day into (5,000,000 lines each).

A line is a label, 13 integer counts and 26 categorical values (8 hex digits), tab
separated, any field possibly empty. Parsing follows AlgoPerf's ``input_pipeline.py``:
an empty or ``-1`` count is 0 and a count becomes ``log(max(x, 0) + 1)``; an empty
categorical is ``00000000``; categorical ``j`` is hashed as
``Fingerprint64(value + str(j)) % VOCAB_SIZES[j]`` (``tf.strings.to_hash_bucket_fast``) and,
as there, passed through float32 (ids above 2**24 round to a multiple of 2 or 4).
Training streams days 0-22 file by file (file order permuted per epoch by the seed),
validation is ``day_23_19`` .. ``day_23_35``.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
from pathlib import Path

import attrs
import numpy as np

from hpbench.data.farmhash import fingerprint64
from hpbench.data.stream import ONE_HOST, Batch, HostShard

NUM_DENSE = 13
# AlgoPerf's _VOCAB_SIZES (the raw vocabulary sizes of the 26 categorical features).
VOCAB_SIZES = (
    39884406, 39043, 17289, 7420, 20263, 3, 7120, 1543, 63, 38532951, 2953546, 403346, 10,
    2208, 11938, 155, 4, 976, 14, 39979771, 25641295, 39664984, 585935, 12972, 108, 36,
)  # fmt: skip
NUM_CATEGORICAL = len(VOCAB_SIZES)
NUM_FIELDS = 1 + NUM_DENSE + NUM_CATEGORICAL
NUM_DAY_23_FILES = 36
FIRST_VALID_FILE = NUM_DAY_23_FILES // 2 + 1  # AlgoPerf: the first 19 are its test split
#: Lines between two indexed byte offsets: a read skips fewer lines than this.
INDEX_STRIDE = 4096
#: The longest field read (a count, or 8 hex digits with room for the column number).
FIELD_BYTES = 24
_DAY_FILE = re.compile(r"day_(\d+)_(\d+)$")


class CriteoDataError(ValueError):
    """A Criteo directory or file that is not in AlgoPerf's layout."""


def day_files(root: Path) -> dict[int, list[Path]]:
    """The ``day_<d>_<nn>`` files under ``root``, by day, in file-number order."""
    days: dict[int, list[tuple[int, Path]]] = {}
    for path in root.iterdir():
        match = _DAY_FILE.match(path.name)
        if match and path.is_file():
            days.setdefault(int(match[1]), []).append((int(match[2]), path))
    return {day: [p for _, p in sorted(files)] for day, files in sorted(days.items())}


def is_criteo_dir(path: Path) -> bool:
    return path.is_dir() and bool(day_files(path))


def parse_lines(lines: list[bytes]) -> Batch:
    """Dense features, hashed categorical ids and labels of TSV lines (see module doc)."""
    tabs = np.fromiter(map(operator.methodcaller("count", b"\t"), lines), np.int64, len(lines))
    bad = np.flatnonzero(tabs != NUM_FIELDS - 1)
    if bad.size:
        line = lines[bad[0]]
        raise CriteoDataError(
            f"line with {tabs[bad[0]] + 1} fields, expected {NUM_FIELDS}: {line[:80]!r}"
        )
    fields = b"\t".join(lines).split(b"\t") if lines else []
    if max(map(len, fields), default=0) > FIELD_BYTES:
        raise CriteoDataError(f"a field longer than {FIELD_BYTES} bytes")
    table = np.array(fields, dtype=f"S{FIELD_BYTES}").reshape(len(lines), NUM_FIELDS)
    table[:, -1] = np.char.rstrip(table[:, -1], b"\r")
    numbers = table[:, : 1 + NUM_DENSE]
    numbers[numbers == b""] = b"0"  # an empty field; "-1" (AlgoPerf's NA) is 0 after max(x, 0)
    try:
        numbers = numbers.astype(np.float32)
    except ValueError as error:
        raise CriteoDataError(f"a label or count is not a number ({error})") from error
    dense = np.log(np.maximum(numbers[:, 1:], 0) + 1)
    values = table[:, 1 + NUM_DENSE :]
    values[(values == b"") | (values == b"-1")] = b"00000000"
    data = values.view(np.uint8).reshape(len(lines), NUM_CATEGORICAL, FIELD_BYTES)
    lengths = (data != 0).sum(axis=2)
    if lengths.size and lengths.max() > 8:
        raise CriteoDataError("a categorical value longer than 8 hex digits")
    rows = np.arange(len(lines))[:, None]
    for j in range(NUM_CATEGORICAL):  # append the column number, as AlgoPerf does
        for k, digit in enumerate(str(j).encode()):
            data[rows[:, 0], j, lengths[:, j] + k] = digit
    lengths = lengths + np.array([len(str(j)) for j in range(NUM_CATEGORICAL)])
    hashes = fingerprint64(data.reshape(-1, FIELD_BYTES), lengths.reshape(-1))
    buckets = hashes.reshape(lengths.shape) % np.asarray(VOCAB_SIZES, np.uint64)
    categorical = buckets.astype(np.float32).astype(np.int32)  # AlgoPerf's float32 pass
    return {"dense": dense.astype(np.float32), "categorical": categorical, "labels": numbers[:, 0]}


def line_index(path: Path, cache: Path) -> np.ndarray:
    """Byte offsets of lines 0, S, 2S, ... of ``path`` (S = INDEX_STRIDE) and, last, its
    line count; one scan, cached under ``cache`` by the file's path, size and mtime."""
    stat = path.stat()
    key = hashlib.sha256(json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns]).encode())
    cached = cache / f"{key.hexdigest()[:32]}.npy"
    if cached.exists():
        return np.load(cached)
    offsets, lines, position, last = [0], 0, 0, b"\n"
    with path.open("rb") as file:
        while chunk := file.read(1 << 24):
            # the i-th newline here ends line `lines + i`; the next line starts after it
            starts = np.flatnonzero(np.frombuffer(chunk, np.uint8) == 10) + position + 1
            offsets += starts[(-(lines + 1)) % INDEX_STRIDE :: INDEX_STRIDE].tolist()
            lines, position, last = lines + len(starts), position + len(chunk), chunk[-1:]
    lines += last != b"\n"  # a last line without its newline
    offsets = [o for o in offsets if o < position]
    index = np.asarray([*offsets, lines], np.int64)
    cache.mkdir(parents=True, exist_ok=True)
    np.save(cached, index)
    return index


@attrs.frozen
class TSVFiles:
    """Files read as one sequence of lines; ``read(start, count)`` reads any range, seeking
    through each file's line index (no file is ever read whole)."""

    paths: tuple[str, ...]
    indexes: tuple[np.ndarray, ...] = attrs.field(eq=False)

    @classmethod
    def open(cls, paths: list[Path], cache: Path) -> TSVFiles:
        return cls(tuple(map(str, paths)), tuple(line_index(p, cache) for p in paths))

    @property
    def line_counts(self) -> np.ndarray:
        return np.array([int(index[-1]) for index in self.indexes], np.int64)

    def read_file(self, file: int, start: int, count: int) -> list[bytes]:
        """Lines ``[start, start + count)`` of file ``file``."""
        index = self.indexes[file]
        block = start // INDEX_STRIDE
        end_block = -(-(start + count) // INDEX_STRIDE)
        begin = int(index[block])
        with open(self.paths[file], "rb") as handle:
            handle.seek(begin)
            if end_block < len(index) - 1:
                data = handle.read(int(index[end_block]) - begin)
            else:
                data = handle.read()
        lines = data.split(b"\n")
        skip = start - block * INDEX_STRIDE
        return lines[skip : skip + count]

    def read(self, order: np.ndarray, start: int, count: int) -> list[bytes]:
        """``count`` lines from position ``start`` of the files concatenated in ``order``,
        wrapping to a new pass (``order`` then gives each pass's file order)."""
        counts = self.line_counts[order]
        ends = np.cumsum(counts)
        out: list[bytes] = []
        while len(out) < count:
            file = int(np.searchsorted(ends, start, side="right"))
            offset = start - (int(ends[file - 1]) if file else 0)
            take = min(count - len(out), int(counts[file]) - offset)
            out += self.read_file(int(order[file]), offset, take)
            start += take
        return out


@attrs.frozen
class CriteoReader:
    """Training and validation batches of one Criteo 1TB directory.

    Training batch ``step`` is lines ``[step B, (step + 1) B)`` of the training stream:
    epoch after epoch of all training files, each epoch's file order a permutation seeded by
    (seed, epoch); this host reads only its rows of each batch.
    """

    train: TSVFiles
    valid: TSVFiles
    batch_size: int
    shard: HostShard = HostShard()

    @classmethod
    def open(
        cls, root: Path, batch_size: int, cache: Path, shard: HostShard = ONE_HOST
    ) -> CriteoReader:
        days = day_files(root) if root.is_dir() else {}
        train = [p for day in range(23) for p in days.get(day, [])]
        by_name = {p.name: p for p in days.get(23, [])}
        names = [f"day_23_{n:02d}" for n in range(FIRST_VALID_FILE, NUM_DAY_23_FILES)]
        valid = [by_name[n] for n in names if n in by_name]
        if not train or not valid:
            raise CriteoDataError(
                f"{root}: expected AlgoPerf's Criteo 1TB layout: day_<0..22>_<nn> training"
                f" files and validation files {names[0]} .. {names[-1]}"
                f" (found {len(train)} training and {len(valid)} validation files)"
            )
        return cls(TSVFiles.open(train, cache), TSVFiles.open(valid, cache), batch_size, shard)

    @property
    def num_valid(self) -> int:
        return int(self.valid.line_counts.sum())

    def file_order(self, seed: int, epoch: int) -> np.ndarray:
        return np.random.default_rng([seed, epoch]).permutation(len(self.train.paths))

    def __call__(self, seed: int, step: int) -> Batch:
        first, count = self.shard.rows(self.batch_size)
        total = int(self.train.line_counts.sum())
        position = step * self.batch_size + first
        lines: list[bytes] = []
        while len(lines) < count:
            epoch, offset = divmod(position, total)
            take = min(count - len(lines), total - offset)
            lines += self.train.read(self.file_order(seed, epoch), offset, take)
            position += take
        return parse_lines(lines)

    def valid_batch(self, rows: slice) -> Batch:
        order = np.arange(len(self.valid.paths))
        return parse_lines(self.valid.read(order, rows.start, rows.stop - rows.start))

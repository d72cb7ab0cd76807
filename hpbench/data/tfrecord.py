"""TFRecord files and TFDS split directories, read and written without TensorFlow:
the record framing with its masked CRC32C checks, ``tf.train.Example`` on the protobuf wire
format, a split's shards checked against ``dataset_info.json``, and random access to its
records (:class:`SplitRecords`). The ogbg, ImageNet and WMT readers (``*_tfds.py``) build on
it: each adds its parsing."""

from __future__ import annotations

import functools
import hashlib
import json
import os
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import attrs
import numpy as np


class TfdsError(ValueError):
    """A TFDS directory or record that is missing, corrupt or of another layout."""


# --- CRC32C (Castagnoli), masked as TFRecord does ------------------------------------------


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
        table.append(crc)
    return table


_TABLE = _crc_table()


def _crc32c_python(data: bytes) -> int:
    crc = 0xFFFFFFFF
    table = _TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def crc32c(data: bytes) -> int:
    """CRC32C of ``data``: the ``crc32c`` package when installed (fast), else pure Python."""
    try:
        import crc32c as fast  # the algoperf-data extra
    except ImportError:
        return _crc32c_python(data)
    return fast.crc32c(data)


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add a constant."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def _length(header: bytes, where: str) -> int:
    """The payload length a record's 12-byte header gives, checked against its CRC."""
    if len(header) < 12:
        raise TfdsError(f"{where}: truncated record header")
    if struct.unpack("<I", header[8:])[0] != masked_crc(header[:8]):
        raise TfdsError(f"{where}: corrupt record length (CRC mismatch)")
    return struct.unpack("<Q", header[:8])[0]


def _payload(f: BinaryIO, length: int, where: str) -> bytes:
    """The ``length`` bytes of a record's payload at ``f``'s position, checked against the
    CRC that follows them."""
    data, footer = f.read(length), f.read(4)
    if len(data) < length or len(footer) < 4:
        raise TfdsError(f"{where}: truncated record")
    if struct.unpack("<I", footer)[0] != masked_crc(data):
        raise TfdsError(f"{where}: corrupt record (CRC mismatch)")
    return data


def read_records(path: Path) -> Iterator[bytes]:
    """The records of one TFRecord file, each length and payload checked against its CRC."""
    with open(path, "rb") as f:
        while header := f.read(12):
            yield _payload(f, _length(header, str(path)), str(path))


def record_offsets(path: Path) -> np.ndarray:
    """Byte offset of every record of a TFRecord file, from its length headers."""
    offsets = []
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset < size:
            f.seek(offset)
            offsets.append(offset)
            offset += 16 + _length(f.read(12), f"{path} at byte {offset}")
    if offset != size:
        raise TfdsError(f"{path}: truncated last record")
    return np.asarray(offsets, np.int64)


def read_record_at(path: Path, offset: int) -> bytes:
    """The record at ``offset`` of a TFRecord file, its payload checked against its CRC."""
    with open(path, "rb") as f:
        f.seek(offset)
        where = f"{path} at byte {offset}"
        return _payload(f, _length(f.read(12), where), where)


def write_split(
    directory: Path,
    name: str,
    split: str,
    examples: Sequence,
    encode: Callable[[object, int, int], bytes],
    num_shards: int,
) -> dict:
    """Write one split's examples as ``num_shards`` TFRecord shards named as TFDS names them
    (``encode(example, shard, index in shard)`` -> a serialised record); returns the split's
    ``dataset_info.json`` entry. Tests write their fixtures in AlgoPerf's layouts with it."""
    bounds = [len(examples) * i // num_shards for i in range(num_shards + 1)]
    parts = [examples[a:b] for a, b in zip(bounds, bounds[1:], strict=False)]
    for i, part in enumerate(parts):
        path = directory / f"{name}-{split}.tfrecord-{i:05d}-of-{num_shards:05d}"
        write_records(path, (encode(example, i, j) for j, example in enumerate(part)))
    return {"name": split, "shardLengths": [str(len(p)) for p in parts]}


def write_records(path: Path, records: Iterable[bytes]) -> None:
    """Write ``records`` as a TFRecord file (uncompressed)."""
    with open(path, "wb") as f:
        for data in records:
            length = struct.pack("<Q", len(data))
            f.write(length + struct.pack("<I", masked_crc(length)))
            f.write(data + struct.pack("<I", masked_crc(data)))


# --- tf.train.Example on the protobuf wire -------------------------------------------------


def varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a message: bytes for length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 2:
            size, pos = varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise TfdsError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _feature(buf: bytes) -> np.ndarray:
    """A ``Feature``: bytes_list (1: an object array of bytes), float_list (2) or
    int64_list (3), packed or not."""
    for kind, _, values in fields(buf):
        if kind == 1:
            items = [bytes(value) for _, _, value in fields(values)]
            out = np.empty(len(items), object)
            out[:] = items
            return out
        if kind == 2:
            raw = b"".join(value for _, _, value in fields(values))  # packed or fixed32
            return np.frombuffer(raw, "<f4").astype(np.float32)
        if kind == 3:
            ints = []
            for _, wire, value in fields(values):
                if wire == 0:
                    ints.append(value)
                else:
                    pos = 0
                    while pos < len(value):
                        item, pos = varint(value, pos)
                        ints.append(item)
            return np.asarray(ints, np.uint64).astype(np.int64)  # two's complement
        raise TfdsError(f"unsupported Feature kind {kind}")
    return np.zeros(0, np.float32)


def parse_example(data: bytes) -> dict[str, np.ndarray]:
    """The flat feature lists of a serialized ``tf.train.Example``, by name."""
    out = {}
    for number, _, features in fields(data):
        if number != 1:
            continue
        for _, _, entry in fields(features):  # map<string, Feature> entries
            parts = {n: v for n, _, v in fields(entry)}
            out[bytes(parts.get(1, b"")).decode()] = _feature(parts.get(2, b""))
    return out


def _tag(number: int, wire: int) -> bytes:
    return encode_varint(number << 3 | wire)


def encode_varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def delimited(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + encode_varint(len(payload)) + payload


def encode_example(features: Mapping[str, np.ndarray]) -> bytes:
    """A ``tf.train.Example`` of flat float32 / int64 lists (packed) and single-string
    bytes lists (``bytes`` or ``str`` values: TFDS Text), as TFDS writes them."""
    entries = b""
    for name, array in features.items():
        if isinstance(array, (bytes, str)):  # a TFDS Text feature
            text = array.encode() if isinstance(array, str) else array
            feature = delimited(1, delimited(1, text))
            entries += delimited(1, delimited(1, name.encode()) + delimited(2, feature))
            continue
        array = np.asarray(array).reshape(-1)
        if np.issubdtype(array.dtype, np.floating):
            values = delimited(1, array.astype("<f4").tobytes())
            feature = delimited(2, values)
        else:
            values = delimited(1, b"".join(encode_varint(int(v)) for v in array))
            feature = delimited(3, values)
        entries += delimited(1, delimited(1, name.encode()) + delimited(2, feature))
    return delimited(1, entries)


# --- a TFDS split: shards and their counts --------------------------------------------------


def split_shards(directory: Path, name: str, split: str) -> list[tuple[Path, int | None]]:
    """(shard, record count dataset_info.json gives or None) of every shard of ``split`` in
    file order; the number of shards checked against dataset_info.json."""
    shards = sorted(directory.glob(f"{name}-{split}.tfrecord-*-of-*"))
    if not shards:
        raise TfdsError(f"{directory}: no {name}-{split}.tfrecord-* shards")
    info = json.loads((directory / "dataset_info.json").read_text())
    lengths = next(
        (s.get("shardLengths") for s in info.get("splits", []) if s.get("name") == split), None
    )
    if lengths is None:
        return [(shard, None) for shard in shards]
    if len(lengths) != len(shards):
        raise TfdsError(
            f"{directory}: {len(shards)} {split} shards, dataset_info.json says {len(lengths)}"
        )
    return [(shard, int(length)) for shard, length in zip(shards, lengths, strict=True)]


def check_count(shard: Path, found: int, expected: int | None) -> None:
    """Stop when a shard holds another number of records than dataset_info.json says."""
    if expected is not None and found != expected:
        raise TfdsError(f"{shard}: {found} records, dataset_info.json says {expected}")


def split_offsets(
    directory: Path,
    name: str,
    split: str,
    offsets: Callable[[Path], np.ndarray] = record_offsets,
) -> tuple[tuple[Path, ...], list[np.ndarray]]:
    """The shards of ``split`` and each one's record offsets (``offsets(shard)``: e.g. a
    cached ``record_offsets``), their counts checked against dataset_info.json."""
    shards = split_shards(directory, name, split)
    found = [offsets(shard) for shard, _ in shards]
    for (shard, expected), records in zip(shards, found, strict=True):
        check_count(shard, len(records), expected)
    return tuple(shard for shard, _ in shards), found


# --- random access to a split's records -----------------------------------------------------


def cached_offsets(path: Path, cache: Path | None) -> np.ndarray:
    """``record_offsets``, kept under ``cache`` (when given) by the file's path, size and
    mtime: the 1,024 training shards' 1.28 million headers are walked once."""
    if cache is None:
        return record_offsets(path)
    stat = path.stat()
    key = json.dumps([str(path.resolve()), stat.st_size, stat.st_mtime_ns]).encode()
    cached = cache / f"{hashlib.sha256(key).hexdigest()[:32]}.npy"
    if cached.exists():
        return np.load(cached)
    offsets = record_offsets(path)
    cache.mkdir(parents=True, exist_ok=True)
    partial = cached.with_name(f"{cached.stem}.{os.getpid()}.partial.npy")
    np.save(partial, offsets)
    partial.replace(cached)  # whole or absent for hosts sharing the cache
    return offsets


_Split = TypeVar("_Split", bound="SplitRecords")


@attrs.frozen
class SplitRecords:
    """The records of one TFDS split, addressed by a global number (shards in file order) and
    read by random access: each shard's record offsets are found once by walking its length
    headers (cached on disk under ``cache`` when given), so a reader reads only its records.
    A format's reader subclasses it with its parsing."""

    shards: tuple[str, ...]
    starts: np.ndarray = attrs.field(eq=False, repr=False)  # first number of each shard
    offsets: np.ndarray = attrs.field(eq=False, repr=False)  # byte offset of each record

    @classmethod
    def of_split(
        cls: type[_Split],
        directory: Path,
        name: str,
        split: str,
        cache: Path | None = None,
        **fields: Any,
    ) -> _Split:
        """Every shard of ``split`` in ``directory``, its record count checked against
        dataset_info.json; ``fields``: a subclass's own."""
        walk = functools.partial(cached_offsets, cache=cache)
        shards, offsets = split_offsets(directory, name, split, walk)
        starts = np.cumsum([0] + [len(found) for found in offsets])
        return cls(tuple(map(str, shards)), starts, np.concatenate(offsets), **fields)

    def __len__(self) -> int:
        return int(self.starts[-1])

    def record(self, number: int) -> tuple[bytes, str]:
        """Record ``number``, its CRC checked, and where it is for messages (``<shard>
        record <k>``, counted from 1)."""
        shard = int(np.searchsorted(self.starts, number, side="right")) - 1
        record = read_record_at(Path(self.shards[shard]), int(self.offsets[number]))
        return record, f"{self.shards[shard]} record {number - self.starts[shard] + 1}"

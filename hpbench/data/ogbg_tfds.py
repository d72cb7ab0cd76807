"""ogbg_molpcba as AlgoPerf's ``dataset_setup.py`` leaves it (TFDS ``ogbg_molpcba/0.1.3``),
read without TensorFlow: TFRecord framing with CRC32C checks and ``tf.train.Example``
decoded from the protobuf wire format. Also writes that layout (test fixtures, synthetic
data in the real format).

Each split is a source of graphs: ``len(source)`` and ``source[i]`` give a dict of the
TFDS features ``node_feat`` (n, 9) float32, ``edge_feat`` (m, 3) float32, ``edge_index``
(m, 2) int64 (each bond once), ``labels`` (128,) float32 (NaN: not measured) and
``num_nodes`` (1,) int64.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np

NAME, VERSION = "ogbg_molpcba", "0.1.3"
#: TFDS split names; AlgoPerf's "validation" is hpbench's "valid".
SPLITS = ("train", "validation", "test")
FEATURES = {  # name: (trailing shape, dtype), as the TFDS builder declares them
    "node_feat": ((9,), np.float32),
    "edge_feat": ((3,), np.float32),
    "edge_index": ((2,), np.int64),
    "labels": ((), np.float32),
    "num_nodes": ((), np.int64),
}


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


def read_records(path: Path) -> Iterator[bytes]:
    """The records of one TFRecord file, each length and payload checked against its CRC."""
    with open(path, "rb") as f:
        while header := f.read(12):
            if len(header) < 12:
                raise TfdsError(f"{path}: truncated record header")
            (length,) = struct.unpack("<Q", header[:8])
            if struct.unpack("<I", header[8:])[0] != masked_crc(header[:8]):
                raise TfdsError(f"{path}: corrupt record length (CRC mismatch)")
            data, footer = f.read(length), f.read(4)
            if len(data) < length or len(footer) < 4:
                raise TfdsError(f"{path}: truncated record")
            if struct.unpack("<I", footer)[0] != masked_crc(data):
                raise TfdsError(f"{path}: corrupt record (CRC mismatch)")
            yield data


def record_offsets(path: Path) -> np.ndarray:
    """Byte offset of every record of a TFRecord file, from its length headers."""
    offsets = []
    size = path.stat().st_size
    with open(path, "rb") as f:
        offset = 0
        while offset < size:
            f.seek(offset)
            header = f.read(12)
            if len(header) < 12:
                raise TfdsError(f"{path}: truncated record header at byte {offset}")
            if struct.unpack("<I", header[8:])[0] != masked_crc(header[:8]):
                raise TfdsError(f"{path}: corrupt record length at byte {offset} (CRC mismatch)")
            offsets.append(offset)
            offset += 16 + struct.unpack("<Q", header[:8])[0]
    if offset != size:
        raise TfdsError(f"{path}: truncated last record")
    return np.asarray(offsets, np.int64)


def read_record_at(path: Path, offset: int) -> bytes:
    """The record at ``offset`` of a TFRecord file, its payload checked against its CRC."""
    with open(path, "rb") as f:
        f.seek(offset)
        header = f.read(12)
        (length,) = struct.unpack("<Q", header[:8])
        data, footer = f.read(length), f.read(4)
    if len(data) < length or len(footer) < 4:
        raise TfdsError(f"{path}: truncated record at byte {offset}")
    if struct.unpack("<I", footer)[0] != masked_crc(data):
        raise TfdsError(f"{path}: corrupt record at byte {offset} (CRC mismatch)")
    return data


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


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, bytes | int]]:
    """(field number, wire type, value) of a message: bytes for length-delimited fields."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            size, pos = _varint(buf, pos)
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
    for kind, _, values in _fields(buf):
        if kind == 1:
            items = [bytes(value) for _, _, value in _fields(values)]
            out = np.empty(len(items), object)
            out[:] = items
            return out
        if kind == 2:
            raw = b"".join(value for _, _, value in _fields(values))  # packed or fixed32
            return np.frombuffer(raw, "<f4").astype(np.float32)
        if kind == 3:
            ints = []
            for _, wire, value in _fields(values):
                if wire == 0:
                    ints.append(value)
                else:
                    pos = 0
                    while pos < len(value):
                        item, pos = _varint(value, pos)
                        ints.append(item)
            return np.asarray(ints, np.uint64).astype(np.int64)  # two's complement
        raise TfdsError(f"unsupported Feature kind {kind}")
    return np.zeros(0, np.float32)


def parse_example(data: bytes) -> dict[str, np.ndarray]:
    """The flat feature lists of a serialized ``tf.train.Example``, by name."""
    out = {}
    for number, _, features in _fields(data):
        if number != 1:
            continue
        for _, _, entry in _fields(features):  # map<string, Feature> entries
            fields = {n: v for n, _, v in _fields(entry)}
            out[bytes(fields.get(1, b"")).decode()] = _feature(fields.get(2, b""))
    return out


def _tag(number: int, wire: int) -> bytes:
    return _encode_varint(number << 3 | wire)


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    value &= (1 << 64) - 1
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _delimited(number: int, payload: bytes) -> bytes:
    return _tag(number, 2) + _encode_varint(len(payload)) + payload


def encode_example(features: Mapping[str, np.ndarray]) -> bytes:
    """A ``tf.train.Example`` of flat float32 / int64 lists (packed) and single-string
    bytes lists (``bytes`` or ``str`` values: TFDS Text), as TFDS writes them."""
    entries = b""
    for name, array in features.items():
        if isinstance(array, (bytes, str)):  # a TFDS Text feature
            text = array.encode() if isinstance(array, str) else array
            feature = _delimited(1, _delimited(1, text))
            entries += _delimited(1, _delimited(1, name.encode()) + _delimited(2, feature))
            continue
        array = np.asarray(array).reshape(-1)
        if np.issubdtype(array.dtype, np.floating):
            values = _delimited(1, array.astype("<f4").tobytes())
            feature = _delimited(2, values)
        else:
            values = _delimited(1, b"".join(_encode_varint(int(v)) for v in array))
            feature = _delimited(3, values)
        entries += _delimited(1, _delimited(1, name.encode()) + _delimited(2, feature))
    return _delimited(1, entries)


# --- the TFDS directory ---------------------------------------------------------------------


def dataset_dir(path: str | Path) -> Path:
    """The ``ogbg_molpcba/0.1.3`` directory under ``path`` (AlgoPerf's data dir, the
    ``ogbg_molpcba`` folder or the version folder itself)."""
    root = Path(path).expanduser()
    for candidate in (root / NAME / VERSION, root / VERSION, root):
        if (candidate / "dataset_info.json").is_file():
            return candidate
    raise TfdsError(
        f"{str(path)!r}: no {NAME}/{VERSION}/dataset_info.json under it "
        "(the TFDS layout AlgoPerf's dataset_setup.py writes; see docs/data.md)"
    )


def _graph(flat: Mapping[str, np.ndarray], where: str) -> dict[str, np.ndarray]:
    graph = {}
    for name, (trailing, dtype) in FEATURES.items():
        if name not in flat:
            raise TfdsError(f"{where}: feature {name!r} missing")
        width = int(np.prod(trailing)) if trailing else 1
        if flat[name].size % width:
            raise TfdsError(f"{where}: feature {name!r} of {flat[name].size} values")
        graph[name] = flat[name].astype(dtype).reshape((-1, *trailing))
    if graph["labels"].shape != (128,) or graph["num_nodes"].shape != (1,):
        raise TfdsError(f"{where}: labels or num_nodes of the wrong size")
    nodes = int(graph["num_nodes"][0])
    index = graph["edge_index"]
    if len(graph["node_feat"]) != nodes or len(graph["edge_feat"]) != len(index):
        raise TfdsError(f"{where}: feature rows disagree with num_nodes / edge_index")
    if index.size and (index.min() < 0 or index.max() >= nodes):
        raise TfdsError(f"{where}: edge_index outside the graph's {nodes} nodes")
    return graph


def read_split(path: str | Path, split: str) -> list[dict[str, np.ndarray]]:
    """Every graph of ``split`` in file order; shard counts checked against dataset_info."""
    root = dataset_dir(path)
    shards = sorted(root.glob(f"{NAME}-{split}.tfrecord-*-of-*"))
    if not shards:
        raise TfdsError(f"{root}: no {NAME}-{split}.tfrecord-* shards")
    info = json.loads((root / "dataset_info.json").read_text())
    lengths = next(
        (s.get("shardLengths") for s in info.get("splits", []) if s.get("name") == split), None
    )
    if lengths is not None and len(lengths) != len(shards):
        raise TfdsError(f"{root}: {len(shards)} {split} shards, dataset_info says {len(lengths)}")
    graphs = []
    for number, shard in enumerate(shards):
        count = 0
        for count, record in enumerate(read_records(shard), 1):
            graphs.append(_graph(parse_example(record), f"{shard} record {count}"))
        if lengths is not None and count != int(lengths[number]):
            raise TfdsError(f"{shard}: {count} records, dataset_info says {lengths[number]}")
    return graphs


def write_dataset(path: str | Path, splits: Mapping[str, list], num_shards: int = 2) -> Path:
    """Write graphs (dicts of the features above) in the TFDS layout; returns the version dir."""
    root = Path(path) / NAME / VERSION
    root.mkdir(parents=True, exist_ok=True)
    split_infos = [
        write_split(root, NAME, split, graphs, lambda g, i, j: encode_example(g), num_shards)
        for split, graphs in splits.items()
    ]
    info = {"name": NAME, "version": VERSION, "fileFormat": "tfrecord", "splits": split_infos}
    (root / "dataset_info.json").write_text(json.dumps(info, indent=2))
    features = {
        name: {"shape": [None, *trailing] if name != "labels" else [128], "dtype": dtype.__name__}
        for name, (trailing, dtype) in FEATURES.items()
    }
    (root / "features.json").write_text(json.dumps({"features": features}, indent=2))
    return root

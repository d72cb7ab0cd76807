"""FarmHash ``Fingerprint64`` of short byte strings, vectorised in NumPy.

TensorFlow's ``tf.strings.to_hash_bucket_fast(s, n)`` is ``Fingerprint64(s) % n``, and
AlgoPerf hashes each Criteo categorical value with it. Its strings are 8 hex digits plus a
column number, so only FarmHash's (farmhashna) 0..16-byte branches are implemented.
"""

from __future__ import annotations

import numpy as np

K0 = np.uint64(0xC3A5C85C97CB3127)
K2 = np.uint64(0x9AE16A3B2F90404F)
MAX_LENGTH = 16


def _rotate(value: np.ndarray, shift: int) -> np.ndarray:
    return (value >> np.uint64(shift)) | (value << np.uint64(64 - shift))


def _shift_mix(value: np.ndarray) -> np.ndarray:
    return value ^ (value >> np.uint64(47))


def _hash_len16(u: np.ndarray, v: np.ndarray, mul: np.ndarray) -> np.ndarray:
    a = _shift_mix((u ^ v) * mul)
    b = _shift_mix((v ^ a) * mul)
    return b * mul


def _fetch(padded: np.ndarray, start: np.ndarray, width: int) -> np.ndarray:
    """Little-endian ``width``-byte words of each row of ``padded`` from column ``start``."""
    columns = start[:, None] + np.arange(width)
    words = np.take_along_axis(padded, columns, axis=1).astype(np.uint64)
    return (words << (np.arange(width, dtype=np.uint64) * np.uint64(8))).sum(
        axis=1, dtype=np.uint64
    )


def fingerprint64(padded: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Fingerprint64 of each row's first ``lengths[i]`` bytes of the uint8 matrix ``padded``
    (zero-padded to at least 16 columns); uint64 of shape ``lengths.shape``."""
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size and lengths.max() > MAX_LENGTH:
        raise ValueError(f"fingerprint64 hashes strings of at most {MAX_LENGTH} bytes")
    if padded.shape[1] < MAX_LENGTH:
        padded = np.pad(padded, ((0, 0), (0, MAX_LENGTH - padded.shape[1])))
    out = np.full(lengths.shape, K2, dtype=np.uint64)
    with np.errstate(over="ignore"):
        n = lengths.astype(np.uint64)
        mul = K2 + n * np.uint64(2)
        long = lengths >= 8
        if long.any():
            rows, m, ln = padded[long], mul[long], lengths[long]
            a = _fetch(rows, np.zeros_like(ln), 8) + K2
            b = _fetch(rows, ln - 8, 8)
            c = _rotate(b, 37) * m + a
            d = (_rotate(a, 25) + b) * m
            out[long] = _hash_len16(c, d, m)
        middle = (lengths >= 4) & ~long
        if middle.any():
            rows, ln = padded[middle], lengths[middle]
            a = _fetch(rows, np.zeros_like(ln), 4)
            last = _fetch(rows, ln - 4, 4)
            out[middle] = _hash_len16(n[middle] + (a << np.uint64(3)), last, mul[middle])
        short = (lengths > 0) & (lengths < 4)
        if short.any():
            rows, ln = padded[short], lengths[short]
            index = np.arange(len(ln))
            a = rows[index, 0].astype(np.uint64)
            b = rows[index, ln >> 1].astype(np.uint64)
            c = rows[index, ln - 1].astype(np.uint64)
            y = (a + (b << np.uint64(8))) & np.uint64(0xFFFFFFFF)
            z = (n[short] + (c << np.uint64(2))) & np.uint64(0xFFFFFFFF)
            out[short] = _shift_mix(y * K2 ^ z * K0) * K2
    return out

"""Size limits of an untrusted config file, checked before anything is expanded.

A file is at most :data:`MAX_FILE_BYTES`, with at most :data:`MAX_EXTENDS` parents up its
``extends`` chain; its TOML at most :data:`MAX_DEPTH` levels deep, with arrays of at most
:data:`MAX_ARRAY` items, keys of at most :data:`MAX_KEY` and strings of at most
:data:`MAX_STRING` characters.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from hpbench.config.locate import Path_

MAX_FILE_BYTES = 64 * 1024
MAX_DEPTH = 16
MAX_EXTENDS = 16
MAX_ARRAY = 10_000
MAX_KEY = 100
MAX_STRING = 10_000


def oversized(data: dict[str, Any]) -> Iterator[tuple[Path_, str, str]]:
    """(key path, expected, found) for every value or key of ``data`` beyond the limits
    above; walks iteratively, so a deep document cannot exhaust the stack."""
    stack: list[tuple[Path_, Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if len(path) > MAX_DEPTH:
            yield path, f"at most {MAX_DEPTH} levels of tables and arrays", f"{len(path)}"
            continue
        if isinstance(node, dict):
            for key, value in node.items():
                if len(key) > MAX_KEY:
                    found = f"a key of {len(key)} characters"
                    yield (*path, key[:20] + "..."), f"a key of at most {MAX_KEY} characters", found
                else:
                    stack.append(((*path, key), value))
        elif isinstance(node, list):
            if len(node) > MAX_ARRAY:
                yield path, f"an array of at most {MAX_ARRAY} items", f"{len(node)} items"
            else:
                stack.extend(((*path, i), value) for i, value in enumerate(node))
        elif isinstance(node, str) and len(node) > MAX_STRING:
            yield path, f"a string of at most {MAX_STRING} characters", f"{len(node)} characters"
        elif isinstance(node, int) and not -(2**63) <= node < 2**63:
            yield path, "an integer within 64 bits (TOML's range)", "a larger one"

"""The TOML position scanner finds every key tomllib parses, at the right line and column."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hpbench.config._toml import tomllib
from hpbench.config.locate import locate

DOC = """\
# a comment [not.a.table]
title = "x # not a comment"
[algorithm]
name = 'adamw'   # comment
learning_rate = 1e-3
"quoted.key" = 1
nested.dotted . key = [1, 2,
  # a comment inside an array
  3,]
text = \"\"\"multi
line = "not a key"
\"\"\"
[[algorithm.points]]
beta1 = 0.9
[[algorithm.points]]
beta1 = 0.8
target = { metric = "m", value = 0.5, deep = { a = [ {b = 1} ] } }
[algorithm.points.sub]
z = 1979-05-27 07:32:00Z
[workloads."toy_mlp"]
target.value = 0.06
"""


def _paths(value, prefix=()):
    """Every key path of parsed TOML data (tables, arrays and scalars)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*prefix, key)
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield (*prefix, index)
            yield from _paths(item, (*prefix, index))


def test_every_parsed_key_is_located():
    found = locate(DOC)
    assert set(_paths(tomllib.loads(DOC))) == set(found)


@pytest.mark.parametrize(
    ("path", "key_at", "value_at"),
    [
        (("title",), (2, 1), (2, 9)),
        (("algorithm", "name"), (4, 1), (4, 8)),
        (("algorithm", "learning_rate"), (5, 1), (5, 17)),
        (("algorithm", "quoted.key"), (6, 1), (6, 16)),
        (("algorithm", "nested", "dotted", "key", 2), (9, 3), (9, 3)),
        (("algorithm", "points", 0), (13, 1), (13, 1)),
        (("algorithm", "points", 1, "beta1"), (16, 1), (16, 9)),
        (("algorithm", "points", 1, "target", "value"), (17, 26), (17, 34)),
        (("algorithm", "points", 1, "target", "deep", "a", 0, "b"), (17, 55), (17, 59)),
        (("algorithm", "points", 1, "sub", "z"), (19, 1), (19, 5)),
        (("workloads", "toy_mlp", "target", "value"), (21, 1), (21, 16)),
    ],
)
def test_positions(path, key_at, value_at):
    position = locate(DOC)[path]
    assert (position.line, position.col) == key_at
    assert (position.value_line, position.value_col) == value_at


# --- property: any document, rendered with headers, dotted keys or inline tables ---------

KEYS = st.sampled_from(["a", "b-c", "d_1", "with space", "dot.ted", 'q"uote', "7"])
STRINGS = st.text(alphabet="ab #=[]{},'\"\\\n\t", max_size=8)
SCALARS = st.integers(-1000, 1000) | st.booleans() | STRINGS | st.floats(-1e6, 1e6)


def _key(key: str) -> str:
    return key if key.replace("-", "").replace("_", "").isalnum() else json.dumps(key)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a valid TOML basic string for these characters
    return repr(value)


def _inline(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_inline(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list) and not value:
        return "[]"
    if isinstance(value, list):
        return "[\n  " + ",\n  ".join(_inline(v) for v in value) + ",\n]"
    return _scalar(value)


def _render(doc: dict, headers: bool) -> tuple[str, dict]:
    """TOML text and, for every scalar path, the text its value is written as."""
    lines, written = [], {}

    def scalars(prefix, value):
        if isinstance(value, dict):
            for k, v in value.items():
                scalars((*prefix, k), v)
        elif isinstance(value, list):
            for i, v in enumerate(value):
                scalars((*prefix, i), v)
        else:
            written[prefix] = _scalar(value)

    # With headers, top-level values come first: after a header they would belong to it.
    for name, table in sorted(doc.items(), key=lambda kv: headers and isinstance(kv[1], dict)):
        if headers and isinstance(table, dict):
            lines.append(f"[{_key(name)}]  # a table")
            lines += [f"{_key(k)} = {_inline(v)}" for k, v in table.items()]
        else:
            lines.append(f"{_key(name)} = {_inline(table)}  # inline")
        scalars((name,), table)
    return "\n".join(lines) + "\n", written


DOCS = st.dictionaries(
    KEYS,
    st.recursive(
        SCALARS,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
    ),
    min_size=1,
    max_size=4,
)


@settings(max_examples=60, deadline=None)
@given(DOCS, st.booleans())
def test_any_document_is_located(doc, headers):
    text, written = _render(doc, headers)
    assert tomllib.loads(text) == doc
    found = locate(text)
    assert set(_paths(doc)) == set(found)
    lines = text.split("\n")
    for path, value in written.items():
        position = found[path]
        line = lines[position.value_line - 1]
        assert line[position.value_col - 1 :].startswith(value.split("\n")[0]), path

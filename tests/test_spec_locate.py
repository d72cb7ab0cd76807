"""The TOML position scanner finds every key tomllib parses, at the right line and column."""

import pytest

from hpbench.spec._toml import tomllib
from hpbench.spec.locate import locate

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

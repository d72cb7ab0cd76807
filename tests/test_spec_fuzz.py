"""Hostile specs, fuzzed: ``validate`` and ``plan`` end in exit 0 or 2, never a traceback,
and write nothing outside a temporary root (docs/security.md).

Specs are random trees drawn from the JSON Schema ``hpbench schema`` emits (the real keys
and tables, so the checks behind them run), with hostile values mixed in: path strings
(``..``, ``/``, absolute), newlines, NUL, Markdown and HTML markup, huge numbers, huge and
deep arrays. An audit hook records every file opened: writes must stay under the root,
and no ``.toml`` outside the root and the shipped specs may be read.
"""

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpbench.cli import main
from hpbench.config.bounds import MAX_ARRAY, MAX_DEPTH
from hpbench.spec.schema import spec_schema

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "specs"
ESCAPE = "hpbench_fuzz_escape"  # the name hostile paths point at

HOSTILE_STRINGS = [
    "..",
    ".",
    "/",
    "../../../../tmp/" + ESCAPE,
    "/tmp/" + ESCAPE,
    "/etc/passwd",
    "../" * 12 + "etc/passwd",
    "../" + ESCAPE + ".toml",
    "a\nb = 1\n[algorithm]",
    "nul\0byte",
    "| forged | row |\n|---|---|",
    "# heading\n[link](javascript:alert(1))",
    "<script>alert(1)</script>",
    "[bold red]rich markup[/]",
    "{{ jinja }} {% raw %}",
    "x" * 20_000,
    "",
]
HOSTILE_NUMBERS = [0, -1, 2**63 - 1, 2**64, 10**30, 1e308, -1e308, math.inf, -math.inf, math.nan]


class Opened:
    """Paths opened while ``active``, recorded by one process-wide audit hook."""

    active = False
    writes: list[str] = []
    reads: list[str] = []

    @classmethod
    def hook(cls, event: str, args: tuple) -> None:
        if not cls.active or event != "open" or not isinstance(args[0], str | bytes | Path):
            return
        path = os.fsdecode(args[0])
        mode, flags = args[1], args[2] or 0
        writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or flags & (
            os.O_WRONLY | os.O_RDWR | os.O_CREAT
        )
        (cls.writes if writing else cls.reads).append(os.path.abspath(path))


sys.addaudithook(Opened.hook)


# --- specs from the schema ---------------------------------------------------------------

hostile_scalars = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.sampled_from(HOSTILE_NUMBERS),
    st.text(max_size=12),
    st.booleans(),
)


def hostile_values(depth: int = 0) -> st.SearchStrategy:
    """A hostile leaf mostly; now and then a huge array, a deep array, a large grid axis or
    a table of hostile keys (the large ones rarely: each costs a parse of its size)."""
    rare = [
        st.just(list(range(MAX_ARRAY + 1))),
        st.just(_nested(MAX_DEPTH + 2)),
        st.lists(st.floats(1e-6, 1.0), min_size=40, max_size=60),
    ]
    if depth < 2:
        rare.append(
            st.dictionaries(
                st.sampled_from(["..", "a/b", "x\ny", "name", "<b>"]),
                st.deferred(lambda: hostile_values(depth + 1)),
                max_size=3,
            )
        )
    return st.integers(0, 15).flatmap(lambda i: rare[i] if i < len(rare) else hostile_scalars)


def _nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


def from_schema(node: dict, depth: int = 0) -> st.SearchStrategy:
    """A value shaped by the JSON Schema ``node``, one time in eight a hostile one instead
    (so that many specs get far into the checks, and some validate and plan)."""
    if not depth:
        return _valid(node, depth)
    return st.integers(0, 7).flatmap(lambda i: hostile_values() if i == 0 else _valid(node, depth))


def _valid(node: dict, depth: int) -> st.SearchStrategy:
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"])
    if node.get("type") == "object" or "properties" in node:
        return _object(node, depth)
    if "anyOf" in node:
        return st.one_of(*(_valid(n, depth + 1) for n in node["anyOf"]))
    kind = node.get("type")
    if isinstance(kind, list):
        return st.one_of(*(_valid({**node, "type": k}, depth) for k in kind))
    if kind == "array":
        items = node.get("items", {})
        return st.lists(from_schema(items, depth + 1), min_size=1, max_size=4)
    if kind == "number":
        low = node.get("minimum", node.get("exclusiveMinimum", -10.0))
        high = node.get("maximum", node.get("exclusiveMaximum", 10.0))
        return st.floats(min(low, high), max(low, high), allow_nan=False)
    if kind == "integer":
        return st.integers(node.get("minimum", 0), node.get("maximum", 1000))
    if kind == "boolean":
        return st.booleans()
    if kind == "string":
        return st.sampled_from(["mini", "base", "warmup_cosine", "adamw", "x"])
    return hostile_scalars


def _object(node: dict, depth: int) -> st.SearchStrategy:
    properties = dict(node.get("properties", {}))
    for branch in node.get("allOf", []):  # per-algorithm hyperparameters (if/then)
        properties.update(branch.get("then", {}).get("properties", {}))
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):  # e.g. [workloads.NAME], [grid.NAME]
        properties.update({name: extra for name in ("toy_mlp", "learning_rate", "criteo")})
    if depth > 4 or not properties:
        return st.just({})
    names = sorted(properties)
    return st.lists(st.sampled_from(names), max_size=min(6, len(names)), unique=True).flatmap(
        lambda keys: st.fixed_dictionaries(
            {k: st.deferred(lambda k=k: from_schema(properties[k], depth + 1)) for k in keys}
        )
    )


def toml(data: dict) -> str:
    """``data`` as TOML: top-level keys as lines, everything below as inline values."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in data.items())


def _key(key: str) -> str:
    return _string(key)


def _value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return "{" + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + "}"


def _string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 32 or ord(c) == 127:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def specs() -> st.SearchStrategy:
    """A spec tree from the schema, its ``extends`` often the shipped toy suite (so that
    workloads exist and plans are non-empty), sometimes a hostile path."""
    schema = spec_schema()
    toy = str(SHIPPED / "suites" / "toy.toml")
    extends = st.integers(0, 3).flatmap(
        lambda i: st.sampled_from(HOSTILE_STRINGS[:8]) if i == 0 else st.just(toy)
    )
    return st.tuples(_object(schema, 1), extends, st.integers(0, 3)).map(_with_extends)


def _with_extends(drawn: tuple) -> dict:
    tree, extends, add = drawn
    if add:  # three times in four
        benchmark = tree.get("benchmark")
        tree["benchmark"] = {
            **(benchmark if isinstance(benchmark, dict) else {}),
            "extends": extends,
        }
    return tree


# --- the properties ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """``<tmp>/outer/root``: the working directory of every example; nothing may appear in
    ``outer`` besides ``root``."""
    outer = tmp_path_factory.mktemp("fuzz") / "outer"
    root = outer / "root"
    (root / "specs").mkdir(parents=True)
    (root / "pyproject.toml").write_text("")
    return root


def _cli(argv: list[str]) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue() + err.getvalue()


def _confined(root: Path) -> None:
    writes = [p for p in Opened.writes if not Path(p).is_relative_to(root)]
    foreign = [
        p
        for p in Opened.reads
        if p.endswith(".toml")
        and not (Path(p).is_relative_to(root) or Path(p).is_relative_to(SHIPPED))
    ]
    assert not writes, f"written outside the root: {writes}"
    assert not foreign, f"read outside the repository: {foreign}"
    assert sorted(p.name for p in root.parent.iterdir()) == ["root"]
    assert not any(ESCAPE in p.name for p in Path("/tmp").iterdir())


@settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tree=specs())
def test_hostile_specs_validate_and_plan_cleanly(sandbox, tree):
    spec = sandbox / "specs" / "fuzzed.toml"
    spec.write_text(toml(tree))
    before = Path.cwd()
    os.chdir(sandbox)
    Opened.writes.clear()
    Opened.reads.clear()
    Opened.active = True
    try:
        for argv in (
            ["validate", "specs/fuzzed.toml", "--max-trials", "2000"],
            ["plan", "specs/fuzzed.toml", "--results", "results", "--max-trials", "2000"],
        ):
            code, out = _cli(argv)
            assert code in (0, 2), out
            assert "Traceback" not in out
            if code == 2:  # one problem a line: no value can forge another line
                assert out.startswith("specs/fuzzed.toml:"), out
                lines = out.splitlines()
                assert all(line.startswith(("specs/", str(SHIPPED))) for line in lines), out
                assert all(len(line) < 2000 for line in lines)
    finally:
        Opened.active = False
        os.chdir(before)
    _confined(sandbox)


@settings(max_examples=40, deadline=None, derandomize=True, database=None)
@given(
    name=st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=8)),
    spec=st.sampled_from(HOSTILE_STRINGS[:8] + ["ok.toml"]),
)
def test_hostile_nightly_files_validate_cleanly(sandbox, name, spec):
    (sandbox / "specs" / "ok.toml").write_text(
        f'[benchmark]\nextends = "{SHIPPED / "suites" / "toy.toml"}"\n[algorithm]\nname = "sgd"\n'
    )
    nightly = sandbox / "specs" / "nightly.toml"
    nightly.write_text(toml({"nightly": {}, "report": [{"name": name, "specs": [spec]}]}))
    before = Path.cwd()
    os.chdir(sandbox)
    Opened.writes.clear()
    Opened.reads.clear()
    Opened.active = True
    try:
        code, out = _cli(["validate", "specs/nightly.toml"])
    finally:
        Opened.active = False
        os.chdir(before)
    assert code in (0, 2) and "Traceback" not in out, out
    assert code == 0 or out.startswith("specs/")
    _confined(sandbox)


def test_a_hostile_spec_in_a_subprocess_exits_2_without_a_traceback(sandbox):
    tree = {
        "benchmark": {"name": "../../" + ESCAPE, "extends": "/etc/passwd", "owner": "<b>x</b>"},
        "algorithm": {"name": "adamw", "learning_rate": math.inf},
        "run": {"seeds": [-1]},
    }
    spec = sandbox / "specs" / "hostile.toml"
    spec.write_text(toml(tree))
    done = subprocess.run(
        [sys.executable, "-m", "hpbench.cli", "validate", "specs/hostile.toml"],
        cwd=sandbox,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "root:" not in done.stderr
    assert done.stderr.startswith("specs/hostile.toml:")
    assert json.dumps("/etc/passwd") in done.stderr  # the spec's own value, quoted

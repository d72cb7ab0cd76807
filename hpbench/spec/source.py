"""Reading spec files: TOML parsing, ``extends`` chains and the deep merge, with positions.

A :class:`Document` is the merged TOML data of a spec and its parents plus, for every key
path, the file and position it came from, so a problem in an inherited value is reported
where that value is written.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from hpbench.spec._toml import tomllib
from hpbench.spec.bounds import MAX_DEPTH, MAX_EXTENDS, MAX_FILE_BYTES, oversized
from hpbench.spec.confine import reference_problem, spec_roots
from hpbench.spec.errors import Problem, SpecError, display_path, show
from hpbench.spec.locate import Path_, Position, locate

#: Tables of a child spec that replace the parent's instead of merging into it.
NOT_INHERITED = ("benchmark",)


@attrs.frozen
class Where:
    """A key's file and position (see :class:`hpbench.spec.locate.Position`)."""

    file: str
    position: Position


@attrs.frozen
class Document:
    """Merged TOML data of a spec file and its ``extends`` chain, with positions."""

    file: str  # display path of the top file
    data: dict[str, Any]
    where: Mapping[Path_, Where]
    own: dict[str, Any]  # the top file's data alone (its [benchmark] table, for instance)
    #: The directories files it names may lie in (:func:`hpbench.spec.confine.spec_roots`).
    roots: tuple[Path, ...] = ()
    #: ``workloads = ["criteo", ...]`` over a parent's ``[workloads]`` tables: the names
    #: selected (as written, checked by the checker); None when the spec selects none.
    selected: Any = None
    #: The parent's workloads a selection chose from (``data`` keeps the selected ones).
    suite: tuple[str, ...] = ()

    def problem(
        self, path: Path_, message: str, hint: str | None = None, *, at_key: bool = False
    ) -> Problem:
        """A :class:`Problem` at ``path`` (its value, or its key), or at its nearest parent."""
        key = dotted(path)
        for depth in range(len(path), 0, -1):
            where = self.where.get(path[:depth])
            if where is not None:
                p = where.position
                line, col = (p.line, p.col) if at_key else (p.value_line, p.value_col)
                return Problem(where.file, line, col, key, message, hint)
        return Problem(self.file, 1, 1, key, message, hint)


def dotted(path: Path_) -> str:
    """``("workloads", "criteo", "target")`` -> ``workloads.criteo.target``; indices as [i]."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else show(part)
            out += f".{name}" if out else name
    return out


def load_document(path: Path | str, roots: tuple[Path, ...] | None = None) -> Document:
    """Read ``path`` and its ``extends`` parents, merged; raises SpecError on any problem.
    Parents must lie in ``roots`` (default: ``path``'s repository and hpbench's specs)."""
    path = Path(path)
    return _load(path, (), spec_roots(path) if roots is None else roots)


def _load(path: Path, chain: tuple[Path, ...], roots: tuple[Path, ...]) -> Document:
    """``path``'s document merged over its parents; ``chain`` holds the files extending it."""
    shown = display_path(path)
    text = _read(path, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise SpecError([_syntax_problem(shown, text, e)]) from None
    except RecursionError:
        message = f"expected at most {MAX_DEPTH} levels of nested arrays, found more"
        raise SpecError([Problem(shown, 1, 1, "", message)]) from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        message = "expected valid TOML, found a number too long to read"
        raise SpecError([Problem(shown, 1, 1, "", message)]) from None
    try:
        where = {p: Where(shown, pos) for p, pos in locate(text).items()}
    except RecursionError:  # too deep: reported below, without positions
        where = {}
    doc = Document(shown, data, where, data, roots)
    problems = [doc.problem(p, f"expected {e}, found {f}") for p, e, f in oversized(data)]
    if problems:
        raise SpecError(problems)
    benchmark = data.get("benchmark")
    if not isinstance(benchmark, dict) or "extends" not in benchmark:
        return doc
    me = path.resolve()
    parent = _parent(doc, me, benchmark["extends"], chain)
    return merge(_load(parent, (*chain, me), roots), doc)


def _read(path: Path, shown: str) -> str:
    """The text of a spec file of at most MAX_FILE_BYTES; SpecError otherwise."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise SpecError([Problem(shown, 1, 1, "", f"cannot read the spec: {e.strerror}")]) from None
    if len(raw) > MAX_FILE_BYTES:
        message = (
            f"expected a spec file of at most {MAX_FILE_BYTES // 1024} KiB, found a larger one"
        )
        raise SpecError([Problem(shown, 1, 1, "", message)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = e.object.count(b"\n", 0, e.start) + 1
        col = e.start - e.object.rfind(b"\n", 0, e.start)
        message = f"expected UTF-8 text, found the byte {e.object[e.start]:#04x}"
        raise SpecError([Problem(shown, line, col, "", message)]) from None


def _parent(doc: Document, me: Path, extends: object, chain: tuple[Path, ...]) -> Path:
    """The file ``extends`` names, relative to ``me``; SpecError if it lies outside the
    document's roots (checked before it is opened), is missing or closes a cycle."""
    key = ("benchmark", "extends")
    if len(chain) >= MAX_EXTENDS:
        message = f"expected a chain of at most {MAX_EXTENDS} parents, found a longer one"
        raise SpecError([doc.problem(key, message)])
    problem = reference_problem(extends, me.parent, doc.roots)
    if problem is not None:
        hint = _relative_hint(extends, me, doc.roots) if "outside" in problem else None
        raise SpecError([doc.problem(key, problem, hint)])
    parent = (me.parent / extends).resolve()
    if parent in (*chain, me):
        cycle = " -> ".join(display_path(p) for p in (*chain, me, parent))
        message = f"expected a spec that does not extend itself, found the cycle {cycle}"
        raise SpecError([doc.problem(key, message)])
    if not parent.is_file():
        message = f"expected an existing spec file, found no file {display_path(parent)}"
        raise SpecError([doc.problem(key, message, _relative_hint(extends, me, doc.roots))])
    return parent


def _relative_hint(extends: object, me: Path, roots: tuple[Path, ...]) -> str | None:
    """Relative ``extends`` paths are from the spec file: say so, and name the right path
    when ``extends`` names a spec relative to the working directory (one inside ``roots``)."""
    if not isinstance(extends, str) or Path(extends).is_absolute():
        return None
    hint = f"extends paths are relative to the spec file's directory ({display_path(me.parent)}/)"
    meant = Path.cwd() / extends
    written = os.path.relpath(meant, me.parent)
    if reference_problem(written, me.parent, roots) is None and meant.is_file():
        hint += f'; did you mean "{Path(written).as_posix()}"?'
    return hint


def merge(parent: Document, child: Document) -> Document:
    """Deep merge, the child wins. ``[benchmark]`` is not inherited, and an ``[algorithm]``
    naming a different algorithm replaces the parent's instead of merging into it."""
    base = {k: v for k, v in parent.data.items() if k not in NOT_INHERITED}
    where = {p: w for p, w in parent.where.items() if p[0] not in NOT_INHERITED}
    p_alg, c_alg = parent.data.get("algorithm"), child.data.get("algorithm")
    if (
        isinstance(p_alg, dict)
        and isinstance(c_alg, dict)
        and "name" in p_alg
        and c_alg.get("name", p_alg["name"]) != p_alg["name"]
    ):
        base.pop("algorithm")
        where = {p: w for p, w in where.items() if p[0] != "algorithm"}
    selected, suite = parent.selected, parent.suite
    over = child.data
    if isinstance(over.get("workloads"), list) and isinstance(base.get("workloads"), dict):
        # a selection of the parent's workloads, not a new table: the merged data keeps
        # the selected ones (so a resolved spec shows what runs)
        selected, suite = over["workloads"], tuple(base["workloads"])
        names = {n for n in selected if isinstance(n, str)}
        base = {**base, "workloads": {k: v for k, v in base["workloads"].items() if k in names}}
        over = {k: v for k, v in over.items() if k != "workloads"}
    where.update(child.where)
    data = _deep_merge(base, over)
    return Document(child.file, data, where, child.own, child.roots, selected, suite)


def _deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _syntax_problem(file: str, text: str, error: Exception) -> Problem:
    """tomllib's message ends with "(at line L, column C)" or "(at end of document)"."""
    message = str(error)
    match = re.search(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)$", message)
    if match and match[1]:
        line, col = int(match[1]), int(match[2])
    else:  # the end of the document: its last line, after its last character
        lines = text.rstrip("\n").split("\n")
        line, col = len(lines), len(lines[-1]) + 1
    reason = message[: match.start()] if match else message
    return Problem(file, line, col, "", f"expected valid TOML, found a syntax error: {reason}")

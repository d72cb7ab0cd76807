"""Reading one TOML config file, with the position of every key and bounded sizes.

A :class:`Document` is a file's TOML data plus, for every key path, the file and position
it came from, so a problem is reported where the value is written (an inherited value in
its parent's file). :func:`read_document` reads one file (size, UTF-8, syntax and
:mod:`hpbench.config.bounds` checked, all as :class:`ConfigError`); :func:`extended_file`
resolves an ``extends`` path, confined by :mod:`hpbench.config.confine`;
:func:`deep_merge` merges a child's tables over its parent's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from hpbench.config._toml import tomllib
from hpbench.config.bounds import MAX_DEPTH, MAX_EXTENDS, MAX_FILE_BYTES, oversized
from hpbench.config.confine import SHIPPED_SPECS, default_roots, reference_problem
from hpbench.config.errors import ConfigError, Problem, display_path, show
from hpbench.config.locate import Path_, Position, locate


@attrs.frozen
class Where:
    """A key's file and position (see :class:`hpbench.config.locate.Position`)."""

    file: str
    position: Position


@attrs.frozen
class Document:
    """TOML data of a config file (merged over its parents, for a spec), with positions."""

    file: str  # display path of the top file
    data: dict[str, Any]
    where: Mapping[Path_, Where]
    #: The directories files it names may lie in (:func:`hpbench.config.confine.default_roots`).
    roots: tuple[Path, ...] = ()

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


def read_document(path: Path | str, roots: tuple[Path, ...] | None = None) -> Document:
    """The one file ``path`` (no ``extends``); ConfigError if it cannot be read, is not
    TOML or is beyond the size limits. Files it names must lie in ``roots`` (default:
    its repository and hpbench's specs)."""
    path = Path(path)
    shown = display_path(path)
    text = _read(path, shown)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError([_syntax_problem(shown, text, e)]) from None
    except RecursionError:
        message = f"expected at most {MAX_DEPTH} levels of nested arrays, found more"
        raise ConfigError([Problem(shown, 1, 1, "", message)]) from None
    except ValueError:  # an integer of more digits than Python converts (4300)
        message = "expected valid TOML, found a number too long to read"
        raise ConfigError([Problem(shown, 1, 1, "", message)]) from None
    try:
        where = {p: Where(shown, pos) for p, pos in locate(text).items()}
    except RecursionError:  # too deep: reported below, without positions
        where = {}
    doc = Document(shown, data, where, default_roots(path) if roots is None else roots)
    problems = [doc.problem(p, f"expected {e}, found {f}") for p, e, f in oversized(data)]
    if problems:
        raise ConfigError(problems)
    return doc


def _read(path: Path, shown: str) -> str:
    """The text of a spec file of at most MAX_FILE_BYTES; ConfigError otherwise."""
    try:
        with path.open("rb") as file:
            raw = file.read(MAX_FILE_BYTES + 1)
    except OSError as e:
        raise ConfigError(
            [Problem(shown, 1, 1, "", f"cannot read the spec: {e.strerror}")]
        ) from None
    if len(raw) > MAX_FILE_BYTES:
        message = (
            f"expected a spec file of at most {MAX_FILE_BYTES // 1024} KiB, found a larger one"
        )
        raise ConfigError([Problem(shown, 1, 1, "", message)])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = e.object.count(b"\n", 0, e.start) + 1
        col = e.start - e.object.rfind(b"\n", 0, e.start)
        message = f"expected UTF-8 text, found the byte {e.object[e.start]:#04x}"
        raise ConfigError([Problem(shown, line, col, "", message)]) from None


def extended_file(
    doc: Document, key: Path_, me: Path, extends: object, chain: tuple[Path, ...]
) -> Path:
    """The file ``extends`` (at ``key`` in ``doc``: an ``extends`` or a spec's ``suite``)
    names, relative to ``me``; ConfigError if it lies outside the document's roots (checked
    before it is opened), is missing or closes a cycle (``chain`` holds the files extending
    ``me``)."""
    if len(chain) >= MAX_EXTENDS:
        message = f"expected a chain of at most {MAX_EXTENDS} parents, found a longer one"
        raise ConfigError([doc.problem(key, message)])
    problem = reference_problem(extends, me.parent, doc.roots)
    if problem is not None:
        shipped = _shipped_path(extends, me)
        hint = None
        if shipped is not None or "outside" in problem:
            hint = _relative_hint(key, extends, me, doc.roots, shipped)
        raise ConfigError([doc.problem(key, problem, hint)])
    parent = (me.parent / extends).resolve()
    if parent in (*chain, me):
        cycle = " -> ".join(display_path(p) for p in (*chain, me, parent))
        message = f"expected a spec that does not extend itself, found the cycle {cycle}"
        raise ConfigError([doc.problem(key, message)])
    if not parent.is_file():
        kind = "suite" if key[-1] == "suite" else "spec"
        message = f"expected an existing {kind} file, found no file {display_path(parent)}"
        hint = _relative_hint(key, extends, me, doc.roots, _shipped_path(extends, me))
        raise ConfigError([doc.problem(key, message, hint)])
    return parent


def _shipped_path(extends: object, me: Path) -> Path | None:
    """The shipped spec that ``extends`` names as if hpbench's ``specs/`` (or its
    ``suites/``) stood beside ``me``, ".toml" optional ("suites/x.toml", "algoperf_mini");
    None when there is none or ``me`` lies in the shipped ``specs/`` itself."""
    if not isinstance(extends, str) or not extends or "\0" in extends:
        return None
    if me.resolve().is_relative_to(SHIPPED_SPECS):
        return None
    name = extends if extends.endswith(".toml") else f"{extends}.toml"
    for candidate in (SHIPPED_SPECS / name, SHIPPED_SPECS / "suites" / name):
        candidate = candidate.resolve()
        if not candidate.is_relative_to(SHIPPED_SPECS) or not candidate.is_file():
            continue
        if any(part.startswith(".") for part in candidate.relative_to(SHIPPED_SPECS).parts):
            continue
        return candidate
    return None


def _relative_hint(
    key: Path_, extends: object, me: Path, roots: tuple[Path, ...], shipped: Path | None
) -> str | None:
    """Relative ``extends`` (or ``suite``, the last part of ``key``) paths are from the spec
    file: say so, and name the right path when the value names a file relative to the
    working directory (one inside ``roots``) or a ``shipped`` spec. From outside hpbench's
    checkout (a user's own project) a shipped spec is reached by its absolute path."""
    if not isinstance(extends, str) or Path(extends).is_absolute():
        return None
    if shipped is not None and not me.resolve().is_relative_to(SHIPPED_SPECS.parent):
        where = f"hpbench's shipped specs are in {SHIPPED_SPECS}/"
        return f'{where}; did you mean "{shipped.as_posix()}"?'
    hint = f"{key[-1]} paths are relative to the spec file's directory ({display_path(me.parent)}/)"
    if shipped is not None:
        written = os.path.relpath(shipped, me.resolve().parent)
    else:
        meant = Path.cwd() / extends
        written = os.path.relpath(meant, me.parent)
        if reference_problem(written, me.parent, roots) is not None or not meant.is_file():
            return hint
    return hint + f'; did you mean "{Path(written).as_posix()}"?'


def deep_merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over``'s tables merged into ``base``'s, recursively; ``over`` wins."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
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

"""Where untrusted values may lead on disk: plain names, the repository, output roots.

Specs and nightly files arrive in pull requests. A value becomes a file name only if it is
a plain name (:data:`PLAIN_NAME`); a file a config file points at (``extends``, a search
space, a nightly file's specs) must resolve inside its repository, or inside the specs
hpbench ships, and is refused before it is opened otherwise; an output path is resolved and
checked to lie under its root before anything is written (:func:`under`).
"""

from __future__ import annotations

import re
from pathlib import Path

from hpbench.config.errors import show

#: A plain file name: letters, digits, ``_ . -``, not starting with a dot (so never ``.``,
#: ``..`` or a hidden file), at most 100 characters.
PLAIN_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9_.-]{0,99}")
PLAIN_NAME_TEXT = "a plain file name (letters, digits, _ . -, not starting with a dot, <= 100)"
#: Files whose presence marks a repository root.
ROOT_MARKERS = ("pyproject.toml", ".git")
#: The specs shipped with hpbench (in a source checkout): any spec may extend its suites.
SHIPPED_SPECS = Path(__file__).resolve().parents[2] / "specs"


def is_plain_name(value: object) -> bool:
    """Whether ``value`` may be used as one file or directory name."""
    return isinstance(value, str) and PLAIN_NAME.fullmatch(value) is not None


def repository_root(directory: Path) -> Path:
    """The nearest directory from ``directory`` up holding ``pyproject.toml`` or ``.git``;
    ``directory`` itself when there is none (a spec outside any repository reaches only
    the files below its own directory)."""
    directory = directory.resolve()
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in ROOT_MARKERS):
            return candidate
    return directory


def default_roots(top: Path) -> tuple[Path, ...]:
    """The directories files named by the config file ``top`` may lie in."""
    return (repository_root(top.resolve().parent), SHIPPED_SPECS)


def inside(path: Path, roots: tuple[Path, ...]) -> Path | None:
    """``path``, resolved (symbolic links followed), relative to the first of ``roots`` it
    lies under; None when it lies under none."""
    resolved = path.resolve()
    for root in roots:
        if resolved.is_relative_to(root.resolve()):
            return resolved.relative_to(root.resolve())
    return None


def reference_problem(value: object, base: Path, roots: tuple[Path, ...]) -> str | None:
    """Why the ``.toml`` path ``value`` (relative to ``base``) may not be read, as
    "expected X, found Y"; None when it may. Nothing is opened: only the path is looked at.
    Hidden files and directories (``.git/``, ``.venv/``, a CI's ``.secrets/``) are refused."""
    expected = "expected a path to a .toml file inside the repository"
    if not isinstance(value, str) or not value or "\0" in value:
        return f"{expected}, found {show(value)}"
    relative = inside(base / value, roots)
    if relative is None:
        return f"{expected}, found {show(value)}, which leads outside it"
    if any(part.startswith(".") for part in relative.parts):
        return f"{expected}, found {show(value)}, a hidden file"
    if not value.endswith(".toml"):
        return f"{expected}, found {show(value)}, not a .toml file"
    return None


def under(root: Path, path: Path) -> Path:
    """``path``, once checked that, resolved, it lies under ``root`` (resolved); ValueError
    otherwise: an output path must never escape its root through ``..`` or a link."""
    if not path.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{path}: expected a path under {root}/, found one that leads outside it")
    return path

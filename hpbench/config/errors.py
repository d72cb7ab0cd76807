"""Config problems in the user's terms: ``file:line:col: dotted.key: expected X, found Y``.

Every check appends a :class:`Problem` instead of raising, so a user sees all the problems
of a file at once; :class:`ConfigError` carries them to the command line (exit 2). Specs,
runner profiles and nightly files all report this way.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Iterable, Sequence
from pathlib import Path

import attrs

#: The longest string and the most array items a message shows.
SHOWN, SHOWN_ITEMS = 80, 20


@attrs.frozen
class Problem:
    """One thing wrong with a config file, with where it is and what would fix it."""

    file: str
    line: int
    col: int
    key: str  # dotted key path, "" for the whole file
    message: str  # "expected X, found Y"
    hint: str | None = None  # e.g. 'did you mean "warmup"?'

    def render(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}"
        key = f" {self.key}:" if self.key else ""
        hint = f"; {self.hint}" if self.hint else ""
        return f"{where}:{key} {self.message}{hint}"


class ConfigError(Exception):
    """A config file (spec, runner profile, nightly file) could not be loaded; ``render()``
    is the message for the user. ``hpbench.spec`` exports it as ``SpecError``."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = tuple(sorted(set(problems), key=lambda p: (p.file, p.line, p.col, p.key)))
        super().__init__(self.render())

    def render(self) -> str:
        return "\n".join(p.render() for p in self.problems)


def did_you_mean(found: object, known: Iterable[str]) -> str | None:
    """A 'did you mean' hint for a misspelt name, or None when nothing is close."""
    if not isinstance(found, str):
        return None
    close = difflib.get_close_matches(found, sorted(known), n=1, cutoff=0.6)
    return f"did you mean {show(close[0])}?" if close else None


def show(value: object) -> str:
    """``value`` as it would be written in TOML (strings quoted, tables named), for messages;
    one line whatever the value, long strings and arrays cut short."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if len(value) > SHOWN:
            return json.dumps(value[:SHOWN])[:-1] + f'..." ({len(value)} characters)'
        return json.dumps(value)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        items = [show(v) for v in value[:SHOWN_ITEMS]]
        more = [f"... {len(value)} items"] if len(value) > SHOWN_ITEMS else []
        return "[" + ", ".join(items + more) + "]"
    if isinstance(value, int) and abs(value) >= 10**SHOWN:
        return f"an integer beyond 10^{SHOWN}"
    return str(value)


def type_name(value: object) -> str:
    """The name of ``value``'s type for messages: ``float``, ``numpy.float32``."""
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def display_path(path: Path | str) -> str:
    """``path`` relative to the current directory when it lies below it, else absolute."""
    path = Path(os.path.normpath(Path(path).absolute()))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)

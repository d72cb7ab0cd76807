"""Where each key and value of a TOML document is written, as (line, column).

``tomllib`` parses TOML but forgets positions; error messages need them. This scanner
walks a document that ``tomllib`` has already accepted (so it need not diagnose bad
syntax) and maps every dotted key path to the position of its key and of its value.
Paths are tuples of keys and array indices: ``("algorithm", "points", 0, "beta1")``.
``tomlkit`` keeps formatting but no positions (python-poetry/tomlkit#55), hence this.
"""

from __future__ import annotations

import bisect

import attrs

from hpbench.config._toml import tomllib

Path_ = tuple[str | int, ...]

_BARE_KEY = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SCALAR_END = frozenset(",]}#\n\r")


@attrs.frozen
class Position:
    """1-based line and column of a key and of its value."""

    line: int
    col: int
    value_line: int
    value_col: int


def locate(text: str) -> dict[Path_, Position]:
    """Every key path of the (valid) TOML ``text`` with the position where it is written."""
    return _Scanner(text).run()


class _Scanner:
    def __init__(self, text: str):
        self.s = text
        self.i = 0
        self.line_starts = [0] + [k + 1 for k, c in enumerate(text) if c == "\n"]
        self.found: dict[Path_, Position] = {}
        self.array_tables: dict[Path_, int] = {}  # path -> number of [[path]] headers seen

    def pos(self, index: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, index)
        return line, index - self.line_starts[line - 1] + 1

    def record(self, path: Path_, key_at: int, value_at: int, *, implicit: bool = False) -> None:
        position = Position(*self.pos(key_at), *self.pos(value_at))
        if implicit:
            self.found.setdefault(path, position)
        else:
            self.found[path] = position

    def run(self) -> dict[Path_, Position]:
        table: Path_ = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.s):
                return self.found
            start = self.i
            if self.s.startswith("[[", self.i):
                self.i += 2
                keys = self.key()
                self.i = self.s.index("]]", self.i) + 2
                parent = self.resolve(keys[:-1], start)
                array = (*parent, keys[-1])
                index = self.array_tables.get(array, 0)
                self.array_tables[array] = index + 1
                self.record(array, start, start, implicit=True)
                table = (*array, index)
                self.record(table, start, start)
            elif self.s[self.i] == "[":
                self.i += 1
                table = self.resolve(self.key(), start)
                self.i = self.s.index("]", self.i) + 1
                self.record(table, start, start)
            else:
                self.key_value(table)

    def resolve(self, keys: list[str], start: int) -> Path_:
        """A header's keys as a path, entering the latest table of each array of tables;
        parent tables it creates implicitly are located at the header."""
        path: Path_ = ()
        for key in keys:
            path = (*path, key)
            self.record(path, start, start, implicit=True)
            if path in self.array_tables:
                path = (*path, self.array_tables[path] - 1)
        return path

    def key_value(self, table: Path_) -> None:
        start = self.i
        keys = self.key()
        for depth in range(1, len(keys)):
            self.record((*table, *keys[:depth]), start, start, implicit=True)
        self.skip_blank()
        self.i += 1  # "="
        self.skip_blank()
        self.value((*table, *keys), start)

    def key(self) -> list[str]:
        """A dotted key, e.g. ``a."b.c".d`` -> ["a", "b.c", "d"]."""
        keys = []
        while True:
            self.skip_blank()
            start = self.i
            if self.s[self.i] in "\"'":
                self.string()
                keys.append(tomllib.loads("k = " + self.s[start : self.i])["k"])
            else:
                while self.i < len(self.s) and self.s[self.i] in _BARE_KEY:
                    self.i += 1
                keys.append(self.s[start : self.i])
            self.skip_blank()
            if self.i < len(self.s) and self.s[self.i] == ".":
                self.i += 1
                continue
            return keys

    def value(self, path: Path_, key_at: int) -> None:
        self.record(path, key_at, self.i)
        c = self.s[self.i]
        if c in "\"'":
            self.string()
        elif c == "[":
            self.i += 1
            index = 0
            while True:
                self.skip_blank(newlines=True)
                if self.s[self.i] == "]":
                    self.i += 1
                    return
                self.value((*path, index), self.i)
                index += 1
                self.skip_blank(newlines=True)
                if self.s[self.i] == ",":
                    self.i += 1
        elif c == "{":
            self.i += 1
            while True:
                self.skip_blank(newlines=True)
                if self.s[self.i] == "}":
                    self.i += 1
                    return
                if self.s[self.i] == ",":
                    self.i += 1
                    continue
                self.key_value(path)
        else:
            while self.i < len(self.s) and self.s[self.i] not in _SCALAR_END:
                self.i += 1

    def string(self) -> None:
        """Skip a basic, literal or multi-line string starting at ``self.i``."""
        quote = self.s[self.i]
        escapes = quote == '"'
        if self.s.startswith(quote * 3, self.i):
            self.i += 3
            while not self.s.startswith(quote * 3, self.i):
                self.i += 2 if escapes and self.s[self.i] == "\\" else 1
            self.i += 3
            while self.i < len(self.s) and self.s[self.i] == quote:  # up to 2 quotes of content
                self.i += 1
            return
        self.i += 1
        while self.s[self.i] != quote:
            self.i += 2 if escapes and self.s[self.i] == "\\" else 1
        self.i += 1

    def skip_blank(self, newlines: bool = False) -> None:
        """Skip spaces, tabs and comments (and newlines when ``newlines``)."""
        blank = " \t\r\n" if newlines else " \t"
        while self.i < len(self.s):
            c = self.s[self.i]
            if c in blank:
                self.i += 1
            elif c == "#":
                end = self.s.find("\n", self.i)
                self.i = len(self.s) if end < 0 else end
            else:
                return

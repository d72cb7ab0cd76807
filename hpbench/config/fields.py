"""One declaration per config key: an attrs field that carries its kind and its meaning.

``setting(default, kind, doc)`` is an attrs field whose validator refuses a value of the
wrong kind, so an invalid model cannot be constructed whatever builds it. The other views
are read from the same declaration: :func:`read_settings` checks a TOML table against the
fields (every problem reported at its position, in the words of :mod:`hpbench.config.values`),
:func:`settings_schema` is their JSON Schema and :func:`docs_table` their Markdown table.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from hpbench.config.errors import show
from hpbench.config.locate import Path_
from hpbench.config.values import Interval, Reporter, one_of

#: The attrs metadata key of a :class:`Setting`.
METADATA = "hpbench.config"


class Kind:
    """What values a key takes: read (reporting problems), accepted (validating), described
    (the phrase after "expected", the docs' type column, the JSON Schema)."""

    expected: str
    type_text: str

    def read(self, reporter: Reporter, path: Path_, value: Any) -> Any | None:
        """``value`` checked and coerced, or None with a problem reported."""
        raise NotImplementedError

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@attrs.frozen
class Number(Kind):
    """A real number in ``interval``; integers are read as floats."""

    interval: Interval

    @property
    def expected(self) -> str:
        return "a number" if self.interval.unbounded else f"a number in {self.interval}"

    @property
    def type_text(self) -> str:
        return f"number {bound_text(self.interval)}".rstrip()

    def read(self, reporter: Reporter, path: Path_, value: Any) -> float | None:
        return reporter.number(path, value, self.interval)

    def accepts(self, value: Any) -> bool:
        return _is_number(value) and self.interval.contains(float(value))

    def schema(self) -> dict[str, Any]:
        return {"type": "number", **interval_schema(self.interval)}


@attrs.frozen
class Integer(Kind):
    """An integer of at least ``low``."""

    low: int = 1

    @property
    def expected(self) -> str:
        return f"an integer >= {self.low}"

    @property
    def type_text(self) -> str:
        return f"integer >= {self.low}"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> int | None:
        return reporter.integer(path, value, self.low)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= self.low

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low}


@attrs.frozen
class Choice(Kind):
    """One of the strings ``choices`` gives (a function: registries fill in late)."""

    choices: Callable[[], Sequence[str]]

    @property
    def expected(self) -> str:
        return f"one of {one_of(self.choices())}"

    type_text = "string"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> str | None:
        return reporter.string(path, value, self.choices())

    def accepts(self, value: Any) -> bool:
        return value in self.choices()

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.choices())}


@attrs.frozen
class Flag(Kind):
    """``true`` or ``false``."""

    expected = "true or false"
    type_text = "boolean"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> bool | None:
        return reporter.boolean(path, value)

    def accepts(self, value: Any) -> bool:
        return isinstance(value, bool)

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean"}


@attrs.frozen
class Items(Kind):
    """A non-empty list of ``item`` values, read as a tuple; ``what`` names it in messages."""

    item: Kind
    what: str
    type_text: str

    @property
    def expected(self) -> str:
        return self.what

    def read(self, reporter: Reporter, path: Path_, value: Any) -> tuple[Any, ...] | None:
        if not isinstance(value, list) or not value:
            reporter.fail(path, self.what, value)
            return None
        read = [self.item.read(reporter, (*path, i), v) for i, v in enumerate(value)]
        kept = tuple(v for v in read if v is not None)  # the bad items are reported
        return kept or None

    def accepts(self, value: Any) -> bool:
        return isinstance(value, tuple) and bool(value) and all(map(self.item.accepts, value))

    @staticmethod
    def convert(value: Any) -> Any:
        """A list given in Python is stored as the tuple a frozen model needs."""
        return tuple(value) if isinstance(value, list) else value

    def schema(self) -> dict[str, Any]:
        return {"type": "array", "minItems": 1, "items": self.item.schema()}


@attrs.frozen
class Setting:
    """A key's kind, meaning (the docs' last column) and, when the default is not a value
    a user could write (None: "the engine's"), the docs' words for it."""

    kind: Kind
    doc: str
    default_text: str | None = None


def setting(default: Any, kind: Kind, doc: str, *, default_text: str | None = None) -> Any:
    """An attrs field declaring one config key; a None default means "unset" is allowed."""
    return attrs.field(
        default=default,
        converter=getattr(kind, "convert", None),
        validator=_validator,
        metadata={METADATA: Setting(kind, doc, default_text)},
    )


def _validator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Refuse a value of the wrong kind: ``Schedule.warmup: expected a number in [0, 1),
    found 1.5`` (None only where it is the default)."""
    if value is None and attribute.default is None:
        return
    kind = attribute.metadata[METADATA].kind
    if not kind.accepts(value):
        found = show(_toml(value))
        owner = type(instance).__name__
        raise ValueError(f"{owner}.{attribute.name}: expected {kind.expected}, found {found}")


def settings(cls: type, names: Iterable[str] | None = None) -> dict[str, Setting]:
    """The declared keys of the attrs class ``cls`` (those in ``names``, in its order)."""
    wanted = None if names is None else set(names)
    return {
        f.name: f.metadata[METADATA]
        for f in attrs.fields(cls)
        if METADATA in f.metadata and (wanted is None or f.name in wanted)
    }


def read_settings(
    reporter: Reporter, path: Path_, table: dict[str, Any], declared: dict[str, Setting]
) -> dict[str, Any]:
    """The values of ``table`` for the ``declared`` keys that are written and valid; the
    others reported (an unknown key with a 'did you mean' hint). Absent or invalid keys are
    left out, so the model's defaults fill them in."""
    what = f"a key of [{'.'.join(map(str, path))}] ({', '.join(declared)})"
    reporter.unknown_keys(path, table, declared, what)
    out = {}
    for name, declared_setting in declared.items():
        if name in table:
            value = declared_setting.kind.read(reporter, (*path, name), table[name])
            if value is not None:
                out[name] = value
    return out


def settings_schema(cls: type, names: Iterable[str] | None = None) -> dict[str, Any]:
    """The JSON Schema properties of the declared keys (each with its doc)."""
    return {
        name: {**s.kind.schema(), "description": s.doc} for name, s in settings(cls, names).items()
    }


def docs_table(cls: type, names: Iterable[str] | None = None) -> str:
    """The Markdown table of the declared keys: key, type, default, meaning."""
    defaults = {f.name: f.default for f in attrs.fields(cls)}
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for name, s in settings(cls, names).items():
        default = defaults[name]
        written = (
            s.default_text or f"`{show(list(default) if isinstance(default, tuple) else default)}`"
        )
        rows.append(f"| `{name}` | {s.kind.type_text} | {written} | {s.doc} |")
    return "\n".join(rows)


def _toml(value: Any) -> Any:
    """A model value as TOML holds it (a tuple is an array), for :func:`show`."""
    return list(value) if isinstance(value, tuple) else value


def bound_text(interval: Interval) -> str:
    """``in [0, 1)``, ``> 0`` or ``>= 0`` (a half-line), or "" (the whole line)."""
    if interval.unbounded:
        return ""
    if interval.high == math.inf:
        return f"{'>' if interval.low_open else '>='} {interval.low:g}"
    return f"in {interval}"


def interval_schema(interval: Interval) -> dict[str, float]:
    """JSON Schema bounds of ``interval``."""
    out = {}
    if interval.low != -math.inf:
        out["exclusiveMinimum" if interval.low_open else "minimum"] = interval.low
    if interval.high != math.inf:
        out["exclusiveMaximum" if interval.high_open else "maximum"] = interval.high
    return out

"""One declaration per config key: an attrs field that carries its kind and its meaning.

``setting(default, kind, doc)`` is an attrs field whose validator refuses a value of the
wrong kind, so an invalid model cannot be constructed whatever builds it. The other views
are read from the same declaration: :func:`read_settings` checks a TOML table against the
fields (every problem reported at its position, in the words of :mod:`hpbench.config.values`),
:func:`settings_schema` is their JSON Schema and :func:`docs_table` their Markdown table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import attrs

from hpbench.config.confine import PLAIN_NAME, PLAIN_NAME_TEXT, is_plain_name
from hpbench.config.errors import did_you_mean, show, type_name
from hpbench.config.locate import Path_
from hpbench.config.values import MISSING, Interval, Reporter, as_integer, as_real, one_of

#: The attrs metadata key of a :class:`Setting`.
METADATA = "hpbench.config"


class Kind:
    """What values a key takes: read (reporting problems), accepted (validating), described
    (the phrase after "expected", the docs' type column, the JSON Schema)."""

    expected: str
    type_text: str

    def read(self, reporter: Reporter, path: Path_, value: Any) -> Any | None:
        """``value`` checked and coerced, or None with a problem reported (by default: as
        it is if :meth:`accepts` takes it)."""
        if self.accepts(value):
            return value
        reporter.fail(path, self.expected, value)
        return None

    def accepts(self, value: Any) -> bool:
        raise NotImplementedError

    def schema(self) -> dict[str, Any]:
        raise NotImplementedError

    def bind(self, entry: Any) -> Kind:
        """This kind for the registry ``entry`` a table's values depend on (a workload's
        sizes, an algorithm's hyperparameters); most kinds depend on none."""
        return self


@attrs.frozen
class Depends(Kind):
    """A kind that depends on a registry entry: ``make(entry)`` is the kind of its values
    (``Depends(lambda w: Choice(w.sizes), "string")``); only the bound kind reads values."""

    make: Callable[[Any], Kind]
    type_text: str
    expected: str = "a value"

    def bind(self, entry: Any) -> Kind:
        return self.make(entry)

    def accepts(self, value: Any) -> bool:
        raise TypeError("a Depends kind checks values once bound to its registry entry")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@attrs.frozen
class Number(Kind):
    """A real number in ``interval``; integers are read as floats. ``what`` names it in
    messages ("a score difference in [0, 1)")."""

    interval: Interval
    what: str = "a number"

    @property
    def expected(self) -> str:
        return self.what if self.interval.unbounded else f"{self.what} in {self.interval}"

    @property
    def type_text(self) -> str:
        return f"number {bound_text(self.interval)}".rstrip()

    def read(self, reporter: Reporter, path: Path_, value: Any) -> float | None:
        return reporter.number(path, value, self.interval, self.what)

    def accepts(self, value: Any) -> bool:
        return _is_number(value) and self.interval.contains(float(value))

    #: A number given in Python as another type (numpy's) is stored as the float (or int) it is.
    convert = staticmethod(as_real)

    def schema(self) -> dict[str, Any]:
        return {"type": "number", **interval_schema(self.interval)}


@attrs.frozen
class Integer(Kind):
    """An integer of at least ``low`` (and, with ``high``, at most ``high``)."""

    low: int = 1
    high: int | None = None

    @property
    def expected(self) -> str:
        return f"an integer >= {self.low}" if self.high is None else self._within

    @property
    def _within(self) -> str:
        return f"an integer in [{self.low}, {self.high}]"

    @property
    def type_text(self) -> str:
        return self.expected.removeprefix("an ")

    def read(self, reporter: Reporter, path: Path_, value: Any) -> int | None:
        number = reporter.integer(path, value, self.low)
        if number is not None and self.high is not None and number > self.high:
            reporter.fail(path, self._within, value)
            return None
        return number

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value >= self.low
            and (self.high is None or value <= self.high)
        )

    #: An integer given in Python as another type (numpy's) is stored as the int it is.
    convert = staticmethod(as_integer)

    def schema(self) -> dict[str, Any]:
        most = {} if self.high is None else {"maximum": self.high}
        return {"type": "integer", "minimum": self.low, **most}


@attrs.frozen
class Choice(Kind):
    """One of the strings ``choices`` (or that it gives: a registry filled in late);
    ``described`` words the choices in messages instead of the default "one of ...", and
    ``what`` a value that is no string at all."""

    choices: Sequence[str] | Callable[[], Sequence[str]]
    described: str | None = None
    what: str = "a string"

    def names(self) -> tuple[str, ...]:
        return tuple(self.choices() if callable(self.choices) else self.choices)

    @property
    def expected(self) -> str:
        return self.described or f"one of {one_of(self.names())}"

    type_text = "string"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> str | None:
        if self.described is None:
            return reporter.string(path, value, self.names(), self.what)
        if value in self.names():
            return value
        reporter.fail(path, self.described, value, did_you_mean(value, self.names()))
        return None

    def accepts(self, value: Any) -> bool:
        return value in self.names()

    def schema(self) -> dict[str, Any]:
        return {"enum": list(self.names())}


@attrs.frozen
class Text(Kind):
    """Any string; with ``pattern``, one that matches it (``described`` says how)."""

    pattern: str | None = None
    described: str = "a string"
    type_text: str = "string"

    @property
    def expected(self) -> str:
        return self.described

    def read(self, reporter: Reporter, path: Path_, value: Any) -> str | None:
        text = reporter.string(path, value)
        if text is not None and not self.accepts(text):
            reporter.fail(path, self.expected, value)
            return None
        return text

    def accepts(self, value: Any) -> bool:
        if not isinstance(value, str):
            return False
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None

    def schema(self) -> dict[str, Any]:
        pattern = {} if self.pattern is None else {"pattern": f"^{self.pattern}$"}
        return {"type": "string", **pattern}


@attrs.frozen
class PlainName(Kind):
    """A plain file name (:data:`hpbench.config.confine.PLAIN_NAME`): a value that names a
    directory or file, so it can never lead elsewhere."""

    expected = PLAIN_NAME_TEXT
    type_text = "plain file name"

    def accepts(self, value: Any) -> bool:
        return is_plain_name(value)

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": f"^{PLAIN_NAME.pattern}$"}


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
    """A list of ``item`` values (at least ``min_items``), read as a tuple; ``what`` names
    it in messages. Each bad item is reported at its index, or with ``each=False`` the list
    once as a whole."""

    item: Kind
    what: str
    type_text: str
    min_items: int = 1
    each: bool = True

    @property
    def expected(self) -> str:
        return self.what

    def read(self, reporter: Reporter, path: Path_, value: Any) -> tuple[Any, ...] | None:
        is_list = isinstance(value, list)
        whole_bad = not self.each and is_list and not all(map(self.item.accepts, value))
        if not is_list or len(value) < self.min_items or whole_bad:
            reporter.fail(path, self.what, value)
            return None
        if not self.each:
            return tuple(value)
        read = [self.item.read(reporter, (*path, i), v) for i, v in enumerate(value)]
        kept = tuple(v for v in read if v is not None)  # the bad items are reported
        return kept or None

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, tuple)
            and len(value) >= self.min_items
            and all(map(self.item.accepts, value))
        )

    def convert(self, value: Any) -> Any:
        """A list (or a 1-D numpy array) given in Python is stored as the tuple a frozen model
        needs, each item converted as its kind converts it."""
        if not isinstance(value, list | tuple) and getattr(value, "ndim", None) != 1:
            return value
        item = getattr(self.item, "convert", None)
        return tuple(value) if item is None else tuple(map(item, value))

    def schema(self) -> dict[str, Any]:
        least = {"minItems": self.min_items} if self.min_items else {}
        return {"type": "array", **least, "items": self.item.schema()}


@attrs.frozen
class Named(Kind):
    """A table of ``item`` values under any names (e.g. ``{ TPU = 4 }``)."""

    item: Kind
    type_text: str

    @property
    def expected(self) -> str:
        return "a table"

    def read(self, reporter: Reporter, path: Path_, value: Any) -> dict[str, Any] | None:
        table = reporter.table(path, value)
        if table is None:
            return None
        read = {name: self.item.read(reporter, (*path, name), v) for name, v in table.items()}
        return {name: v for name, v in read.items() if v is not None}

    def accepts(self, value: Any) -> bool:
        return isinstance(value, dict) and all(map(self.item.accepts, value.values()))

    def schema(self) -> dict[str, Any]:
        return {"type": "object", "additionalProperties": self.item.schema()}


@attrs.frozen
class Setting:
    """A key's kind, meaning (the docs' last column), its TOML name when it is not the
    attribute's, and, when the default is not a value a user could write (None: "the
    engine's"), the docs' words for it."""

    kind: Kind
    doc: str
    default_text: str | None = None
    key: str | None = None


def setting(
    default: Any,
    kind: Kind,
    doc: str,
    *,
    default_text: str | None = None,
    key: str | None = None,
) -> Any:
    """An attrs field declaring one config key; a None default means "unset" is allowed."""
    return attrs.field(
        default=default,
        converter=getattr(kind, "convert", None),
        validator=_validator,
        metadata={METADATA: Setting(kind, doc, default_text, key)},
    )


def _validator(instance: Any, attribute: attrs.Attribute, value: Any) -> None:
    """Refuse a value of the wrong kind: ``Schedule.warmup: expected a number in [0, 1),
    found 1.5`` (None only where it is the default)."""
    _refuse(instance, attribute, value, attribute.metadata[METADATA].kind)


def of_kind(kind: Kind) -> Callable[[Any, attrs.Attribute, Any], None]:
    """An attrs validator refusing what ``kind`` does not accept, for a model field that is
    not a config key itself (a resolved step count, say)."""
    return lambda instance, attribute, value: _refuse(instance, attribute, value, kind)


def _refuse(instance: Any, attribute: attrs.Attribute, value: Any, kind: Kind) -> None:
    if value is None and attribute.default is None:
        return
    if not kind.accepts(value):
        found = show(_toml(value)) + _foreign_type(value)
        owner = type(instance).__name__
        raise ValueError(f"{owner}.{attribute.name}: expected {kind.expected}, found {found}")


@attrs.frozen
class Declared:
    """A declared key of a model: its attribute, its :class:`Setting` and its default."""

    attribute: str
    setting: Setting
    default: Any


def settings(cls: type, names: Iterable[str] | None = None) -> dict[str, Declared]:
    """The declared keys of the attrs class ``cls`` (attributes in ``names``, in its order),
    by their TOML names."""
    wanted = None if names is None else set(names)
    out = {}
    for f in attrs.fields(cls):
        if METADATA in f.metadata and (wanted is None or f.name in wanted):
            s = f.metadata[METADATA]
            out[s.key or f.name] = Declared(f.name, s, f.default)
    return out


def read_settings(
    reporter: Reporter,
    path: Path_,
    table: dict[str, Any],
    declared: dict[str, Declared],
    what: str | None = None,
) -> dict[str, Any]:
    """The values of ``table`` for the ``declared`` keys that are written and valid, by
    attribute; the others reported (an unknown key as "expected ``what``", with a 'did you
    mean' hint). Absent or invalid keys are left out: the model's defaults fill them in."""
    what = what or f"a key of [{'.'.join(map(str, path))}] ({', '.join(declared)})"
    reporter.unknown_keys(path, table, declared, what)
    return read_values(reporter, path, table, declared)


def read_values(
    reporter: Reporter,
    path: Path_,
    table: dict[str, Any],
    declared: dict[str, Declared],
    entry: Any = None,
    at: Callable[[str], Path_] | None = None,
) -> dict[str, Any]:
    """:func:`read_settings` without the unknown-key check (for a caller that words it);
    kinds bound to the registry ``entry`` when given (:meth:`Kind.bind`), each key reported at
    ``at(key)`` (default: under ``path``). A key without a default is required."""
    out = {}
    for key, d in declared.items():
        where = (*path, key) if at is None else at(key)
        if key in table:
            value = _bound(d.setting.kind, entry).read(reporter, where, table[key])
            if value is not None:
                out[d.attribute] = value
        elif d.default is attrs.NOTHING:
            reporter.fail(where, d.setting.kind.expected, MISSING)
    return out


def settings_schema(
    cls: type, names: Iterable[str] | None = None, entry: Any = None
) -> dict[str, Any]:
    """The JSON Schema properties of the declared keys (each with its doc), their kinds
    bound to the registry ``entry`` when given."""
    return {
        key: {**_bound(d.setting.kind, entry).schema(), "description": d.setting.doc}
        for key, d in settings(cls, names).items()
    }


def table_schema(properties: dict[str, Any], description: str | None = None) -> dict[str, Any]:
    """The JSON Schema of a table with exactly the keys ``properties`` describes."""
    described = {} if description is None else {"description": description}
    return {
        "type": "object",
        **described,
        "additionalProperties": False,
        "properties": properties,
    }


def _bound(kind: Kind, entry: Any) -> Kind:
    """``kind`` bound to ``entry``; as declared without one."""
    return kind if entry is None else kind.bind(entry)


#: The header of a docs table of keys.
DOCS_HEADER = ("| key | type | default | meaning |", "|---|---|---|---|")


def docs_rows(cls: type, names: Iterable[str] | None = None, section: str = "") -> list[str]:
    """One Markdown row per declared key (``[section] key`` when ``section`` is given)."""
    rows = []
    for key, d in settings(cls, names).items():
        default = d.default.factory() if isinstance(d.default, attrs.Factory) else d.default
        written = d.setting.default_text or f"`{show(_toml(default))}`"
        name = f"`[{section}] {key}`" if section else f"`{key}`"
        rows.append(f"| {name} | {d.setting.kind.type_text} | {written} | {d.setting.doc} |")
    return rows


def docs_table(cls: type, names: Iterable[str] | None = None) -> str:
    """The Markdown table of the declared keys: key, type, default, meaning."""
    return "\n".join([*DOCS_HEADER, *docs_rows(cls, names)])


def _foreign_type(value: Any) -> str:
    """`` (numpy.float32)`` when ``value``, or an item of it, is of no type TOML holds: it
    shows as the number it is, so the message names why it is refused."""
    for item in value if isinstance(value, tuple | list) else (value,):
        if type(item) not in (str, int, float, bool, list, tuple, dict, type(None)):
            return f" ({type_name(item)})"
    return ""


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

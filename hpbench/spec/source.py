"""Reading spec files: the ``extends`` chain, the ``suite`` swap and the spec's deep merge,
with positions.

Each file is read by :func:`hpbench.config.source.read_document`; a spec's document is its
file merged over its parents, with every key's position kept, so a problem in an inherited
value is reported where that value is written. ``suite`` puts a suite file's ``[workloads]``
in place of the inherited ones: one algorithm spec, unchanged, on another suite.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs

from hpbench.config.confine import default_roots
from hpbench.config.errors import ConfigError
from hpbench.config.source import Document, deep_merge, extended_file, read_document

#: Tables of a child spec that replace the parent's instead of merging into it.
NOT_INHERITED = ("benchmark",)
#: Where a spec names the spec it extends.
EXTENDS = ("benchmark", "extends")
#: Where a spec names the suite whose workloads replace the inherited ones.
SUITE = ("benchmark", "suite")
#: The tables a suite file may hold: a suite is workloads only.
SUITE_TABLES = ("benchmark", "workloads")


@attrs.frozen
class SpecDocument(Document):
    """A spec's merged document: its own file's data, and the workloads it selects."""

    own: dict[str, Any] = attrs.Factory(dict)  # the top file alone (its [benchmark] table)
    #: ``workloads = ["criteo", ...]`` over a parent's ``[workloads]`` tables: the names
    #: selected (as written, checked by the checker); None when the spec selects none.
    selected: Any = None
    #: The parent's workloads a selection chose from (``data`` keeps the selected ones).
    suite: tuple[str, ...] = ()


def load_document(path: Path | str, roots: tuple[Path, ...] | None = None) -> SpecDocument:
    """Read ``path`` and its ``extends`` parents, merged; raises ConfigError on any problem.
    Parents must lie in ``roots`` (default: ``path``'s repository and hpbench's specs)."""
    path = Path(path)
    return _load(path, (), default_roots(path) if roots is None else roots)


def _load(path: Path, chain: tuple[Path, ...], roots: tuple[Path, ...]) -> SpecDocument:
    """``path``'s document merged over its parents; ``chain`` holds the files extending it."""
    file = read_document(path, roots)
    doc = SpecDocument(file.file, file.data, file.where, roots, file.data)
    benchmark = doc.data.get("benchmark")
    if not isinstance(benchmark, dict) or not ("extends" in benchmark or "suite" in benchmark):
        return doc
    me = path.resolve()
    parent = SpecDocument(doc.file, {}, {}, roots)
    if "extends" in benchmark:
        extended = extended_file(doc, EXTENDS, me, benchmark["extends"], chain)
        parent = _load(extended, (*chain, me), roots)
    if "suite" in benchmark:
        named = extended_file(doc, SUITE, me, benchmark["suite"], chain)
        parent = on_suite(parent, _suite(doc, _load(named, (*chain, me), roots)))
    return merge(parent, doc)


def _suite(doc: SpecDocument, suite: SpecDocument) -> SpecDocument:
    """``suite`` once checked to be a suite (workloads only, some of them); ConfigError at
    ``doc``'s ``suite`` line otherwise."""
    extra = [name for name in suite.data if name not in SUITE_TABLES]
    workloads = suite.data.get("workloads")
    found = None
    if extra:
        tables = ", ".join(f"[{name}]" for name in extra)
        found = f"{suite.file}, which has {tables}"
    elif not isinstance(workloads, dict) or not workloads:
        found = f"{suite.file}, which has no [workloads.NAME] tables"
    if found is None:
        return suite
    message = f"expected a suite file (only [benchmark] and [workloads.NAME] tables), found {found}"
    hint = "a suite gives workloads only; extend an algorithm spec with `extends` instead"
    raise ConfigError([doc.problem(SUITE, message, hint)])


def on_suite(parent: SpecDocument, suite: SpecDocument) -> SpecDocument:
    """``parent`` with ``suite``'s workloads (and their positions) in place of its own; a
    selection ``parent`` inherits selects from the suite's workloads."""
    tables = suite.data["workloads"]

    def is_table(path: tuple) -> bool:  # a key of [workloads], not of a selection list
        return path[0] == "workloads" and not (len(path) > 1 and isinstance(path[1], int))

    where = {p: w for p, w in parent.where.items() if not is_table(p)}
    where.update({p: w for p, w in suite.where.items() if is_table(p)})
    selected, names = parent.selected, ()
    if selected is not None:
        names = tuple(tables)
        chosen = {n for n in selected if isinstance(n, str)}
        tables = {k: v for k, v in tables.items() if k in chosen}
    data = {**parent.data, "workloads": tables}
    return SpecDocument(parent.file, data, where, parent.roots, parent.own, selected, names)


def merge(parent: SpecDocument, child: SpecDocument) -> SpecDocument:
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
    data = deep_merge(base, over)
    return SpecDocument(child.file, data, where, child.roots, child.own, selected, suite)

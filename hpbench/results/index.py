"""A cache of checked trial results, so that scoring a large store does not re-parse it.

``<results>/.index.sqlite`` (SQLite, standard library) holds, per trial directory, what the
checking reader (:func:`~hpbench.results.records.read_trial`) made of its files, keyed by
the files' identity: inode, size, mtime and ctime (nanoseconds) of ``trial.json``,
``status.json`` and ``metrics.jsonl`` (stated relative to the results directory, opened
once: a path walk per file was a third of the stat's time). Its tables (:data:`TABLES`):
``trials``, the status (its provenance apart: one text shared by a run's trials, decoded
once) and, per target it was scored against, the curve's
:class:`~hpbench.results.curves.Reach` (what scoring needs: numbers); ``curves``, the
evaluations by column, loaded only for the trials whose curves are used
(:class:`~hpbench.results.curves.LazyEvals`). The per-trial files stay the source of truth:

- a trial is served from the index only while all three files stat exactly as when it was
  read; any write (an append, an atomic replace, an edit in place, a ``touch``: each moves
  ctime, which no user can set back) makes it stale, and it is read and checked again;
- a result is stored only when its files stat the same before and after the read, and none
  changed in the last :data:`RACY_SECONDS` (a write within the clock's resolution of the
  read would leave the stat unchanged; such a trial is simply read again next time);
- a corrupt result is never stored (damage is always read, and reported, from the files);
- a garbage index file, or one of another :data:`VERSION`, is rebuilt with a message; one
  that cannot be written (a read-only store, another process holding the write lock past
  the timeout) is left alone and the results are read from the files.

Two processes may build it at once: each writes its rows in one transaction (SQLite's
lock), and a row is the result of one consistent read of a trial, whoever wrote it.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import sqlite3
import sys
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import attrs

from hpbench.collector import gc_paused
from hpbench.plan import Target, Trial
from hpbench.results.curves import LazyEvals, Reach, reach
from hpbench.results.records import EvalRecord, Status, TrialResult, has_results, read_trial

INDEX_NAME = ".index.sqlite"
#: The layout of the rows; an index of another version is rebuilt.
#: 3: evaluations by EvalRecord field; 4: reaches and curves apart; 5: reaches say whether
#: every evaluation has AlgoPerf's clock; 6: reaches as numbers, the status as a list of its
#: fields with its provenance apart.
VERSION = 6
#: A trial whose files changed more recently than this is read, not stored (see above).
RACY_SECONDS = 2.0
_FILES = ("trial.json", "status.json", "metrics.jsonl")

#: The tables: name -> columns. A change here (or to what a column holds) bumps VERSION.
#: ``trials``: the stat key, the status (:func:`_encode_status`) and its provenance (JSON),
#: whether it was verified, and the reach of every target scored so far (JSON, see
#: :func:`_encode_reaches`); ``curves``: the evaluations by column (:func:`_encode_evals`),
#: with the stat key they were read under.
TABLES = {
    "trials": "id TEXT PRIMARY KEY, key TEXT NOT NULL, status TEXT NOT NULL, "
    "provenance TEXT NOT NULL, verified INTEGER NOT NULL, reaches TEXT NOT NULL",
    "curves": "id TEXT PRIMARY KEY, key TEXT NOT NULL, evals TEXT NOT NULL",
}


def _stat_key(directory: str, dir_fd: int | None = None) -> str:
    """The identity of a trial's files: one ``ino:size:mtime:ctime`` (or ``-``) per file;
    ``directory`` relative to ``dir_fd`` when given."""
    parts = []
    for name in _FILES:
        try:
            s = os.stat(f"{directory}/{name}", dir_fd=dir_fd)
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{s.st_ino}:{s.st_size}:{s.st_mtime_ns}:{s.st_ctime_ns}")
    return " ".join(parts)


def _open_directory(path: Path) -> int | None:
    """A descriptor of the directory ``path`` to stat its trials' files relative to (None
    where the platform has no ``dir_fd`` or it cannot be opened), closed with its owner."""
    if os.stat not in os.supports_dir_fd or not hasattr(os, "O_DIRECTORY"):
        return None
    try:
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return None


def _newest_ctime(key: str) -> int:
    return max((int(p.rsplit(":", 1)[1]) for p in key.split() if p != "-"), default=0)


#: The EvalRecord fields stored as a column each (``metrics`` is stored by metric name).
_EVAL_FIELDS = tuple(f.name for f in attrs.fields(EvalRecord) if f.name != "metrics")
#: A metric a row lacks (rows of one trial normally all have the same metrics).
_ABSENT = "-"


_scan = json.JSONDecoder().scan_once


def _parse(text: str) -> Any:
    """``json.loads`` of a row's compact JSON, without its per-call wrapper (two regex
    matches and three calls: a tenth of serving a trial); ValueError as it raises."""
    try:
        value, end = _scan(text, 0)
    except StopIteration:
        raise ValueError(f"not JSON: {text[:40]!r}") from None
    if end != len(text):
        raise ValueError(f"not one JSON value: {text[:40]!r}")
    return value


def _encode_evals(evals: Sequence[EvalRecord]) -> str:
    """The evaluations by column (a list of numbers parses several times faster than a
    list of objects), NaN and infinities as Python's ``json`` writes them."""
    names = sorted({name for r in evals for name in r.metrics})
    data: dict[str, Any] = {f: [getattr(r, f) for r in evals] for f in _EVAL_FIELDS}
    data["metrics"] = {n: [r.metrics.get(n, _ABSENT) for r in evals] for n in names}
    return json.dumps(data, separators=(",", ":"))


def _decode_evals(payload: str) -> tuple[EvalRecord, ...]:
    data = json.loads(payload)
    names = list(data["metrics"])
    metrics = zip(*data["metrics"].values(), strict=True) if names else ((),) * len(data["step"])
    fields = zip(*(data[f] for f in _EVAL_FIELDS), strict=True)
    return tuple(
        EvalRecord(
            **dict(zip(_EVAL_FIELDS, values, strict=True)),
            metrics={n: v for n, v in zip(names, row, strict=True) if v != _ABSENT},
        )
        for values, row in zip(fields, metrics, strict=True)
    )


def _encode_reaches(reaches: Mapping[Target, Reach]) -> str:
    """``[[metric, value, direction, step, seconds, algoperf, best, clocked], ...]``."""
    return json.dumps(
        [
            [t.metric, t.value, t.direction, r.step, r.seconds, r.algoperf, r.best, r.clocked]
            for t, r in reaches.items()
        ],
        separators=(",", ":"),
    )


def _decode_reaches(payload: str, planned: Target) -> dict[Target, Reach]:
    """The stored reaches; the ``planned`` target stands for its equal (one object less)."""
    reaches = {}
    mine = (planned.metric, planned.value, planned.direction)
    for metric, value, direction, step, seconds, algoperf, best, clocked in _parse(payload):
        same = (metric, value, direction) == mine
        target = planned if same else Target(metric, value, direction)
        reaches[target] = Reach(step, seconds, algoperf, best, clocked)
    return reaches


#: The Status fields :func:`_encode_status` lists, in their order (provenance is stored apart),
#: and where the provenance goes among them.
_STATUS_FIELDS = tuple(f.name for f in attrs.fields(Status) if f.name != "provenance")
_PROVENANCE_AT = [f.name for f in attrs.fields(Status)].index("provenance")


def _encode_status(status: Status) -> str:
    """The status' fields but its provenance, as a JSON list in :data:`_STATUS_FIELDS` order
    (parsed faster than an object, and the provenance is one text for many trials)."""
    return json.dumps([getattr(status, f) for f in _STATUS_FIELDS], separators=(",", ":"))


def _decode_status(payload: str, provenance: Mapping[str, Any]) -> Status:
    values = _parse(payload)
    if type(values) is not list or len(values) != len(_STATUS_FIELDS):
        raise ValueError(f"not a status: {payload[:40]!r}")
    return Status(*values[:_PROVENANCE_AT], provenance, *values[_PROVENANCE_AT:])


class _Curves:
    """Loads the stored evaluations of trials the index served, through one connection
    opened on first use."""

    def __init__(self, path: Path):
        self.path = path
        self._db: sqlite3.Connection | None = None

    def load(self, root: str, trial: Trial, key: str) -> tuple[EvalRecord, ...]:
        """The evaluations stored for ``trial`` under ``key``; from its files when that row
        is gone or damaged (another process stored a newer read of the files since: the
        curve is then newer than the status served)."""
        try:
            if self._db is None:
                self._db = sqlite3.connect(self.path, timeout=10.0, check_same_thread=False)
            row = self._db.execute(
                "SELECT evals FROM curves WHERE id = ? AND key = ?", (trial.id, key)
            ).fetchone()
            if row is not None:
                return _decode_evals(row[0])
        except (sqlite3.DatabaseError, ValueError, TypeError, KeyError):
            pass
        return tuple(read_trial(Path(root) / trial.id, planned=trial).evals)


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


@attrs.define
class _Row:
    """A trial's row: stat key, status and provenance (JSON), verified, reaches by target."""

    key: str
    status: str
    provenance: str
    verified: bool
    reaches: dict[Target, Reach]


class ResultsIndex:
    """The index of one results directory: :meth:`read` a planned trial through it, then
    :meth:`save` what was read from the files. Without a usable index file it reads every
    trial from its files (``enabled`` is False)."""

    def __init__(self, results_dir: Path, warn: Callable[[str], None] = _warn):
        self.results_dir = Path(results_dir)
        self.path = self.results_dir / INDEX_NAME
        self._root = str(self.results_dir)
        self._warn = warn
        #: id -> (id, key, status, provenance, verified, reaches), as stored
        self._rows: dict[str, tuple[str, str, str, str, int, str]] = {}
        self._new: dict[str, tuple[_Row, str | None]] = {}  # id -> row, evals (None: kept)
        #: provenance text -> its dict, shared (read only) by the statuses served with it
        self._provenance: dict[str, dict[str, Any]] = {}
        self._started = time.time_ns()
        self._curves = _Curves(self.path)
        self.enabled = self.results_dir.is_dir() and self._load()
        self._dir_fd = _open_directory(self.results_dir) if self.enabled else None
        if self._dir_fd is not None:
            weakref.finalize(self, os.close, self._dir_fd)
        #: what a trial's directory is stated as: its id under the descriptor, else its path
        self._stat_prefix = "" if self._dir_fd is not None else f"{self._root}/"

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10.0, isolation_level=None)

    @gc_paused
    def _load(self) -> bool:
        """Read every trial row; rebuild a garbage index or one of another version."""
        try:
            with self._connection() as db:
                if db.execute("PRAGMA user_version").fetchone()[0] != VERSION:
                    self._create(db)
                self._rows = {
                    row[0]: row
                    for row in db.execute(
                        "SELECT id, key, status, provenance, verified, reaches FROM trials"
                    )
                }
            return True
        except sqlite3.DatabaseError as e:
            if not self.path.exists() or isinstance(e, sqlite3.OperationalError):
                return False  # cannot be created or locked: read the files
            self._warn(f"{self.path}: not a readable index ({e}); rebuilding it")
            self.path.unlink(missing_ok=True)
            try:
                with self._connection() as db:
                    self._create(db)
                return True
            except sqlite3.DatabaseError:
                return False

    def _create(self, db: sqlite3.Connection) -> None:
        """Make the tables of this VERSION, dropping those of another (under the write lock:
        one process makes them, the others find them made)."""
        db.execute("BEGIN IMMEDIATE")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        if version != VERSION:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            if tables:
                self._warn(f"{self.path}: index of version {version}, not {VERSION}; rebuilding")
            for name in tables:
                db.execute(f"DROP TABLE {name}")
            for name, columns in TABLES.items():
                db.execute(f"CREATE TABLE {name} ({columns})")
            db.execute(f"PRAGMA user_version = {VERSION}")
        db.execute("COMMIT")

    def _connection(self) -> contextlib.closing[sqlite3.Connection]:
        return contextlib.closing(self._connect())

    def read(self, trial: Trial) -> TrialResult | None:
        """The checked result of the planned ``trial`` (None: no results), from the index
        when its files are as they were indexed, else from the files (see the module).
        Its curve's reach of the trial's target is known (stored when first computed)."""
        stated = f"{self._stat_prefix}{trial.id}"
        key = _stat_key(stated, self._dir_fd) if self.enabled else ""
        row = self._rows.get(trial.id)
        if row is not None and row[1] == key:
            try:
                return self._served(trial, *row[1:])
            except (ValueError, TypeError, KeyError, AttributeError):
                pass  # a damaged row: read the files
        directory = f"{self._root}/{trial.id}"
        if not has_results(Path(directory)):
            return None
        result = read_trial(Path(directory), planned=trial)
        if (
            self.enabled
            and not result.damaged
            and key == _stat_key(stated, self._dir_fd)
            and _newest_ctime(key) < self._started - int(RACY_SECONDS * 1e9)
        ):
            reaches = {trial.target: reach(result.evals, trial.target)}
            provenance = json.dumps(dict(result.status.provenance), separators=(",", ":"))
            self._new[trial.id] = (
                _Row(key, _encode_status(result.status), provenance, result.verified, reaches),
                _encode_evals(result.evals),
            )
        return result

    def _served(
        self, trial: Trial, key: str, status: str, provenance: str, verified: int, reaches: str
    ) -> TrialResult:
        """The result of an indexed row; the reach of a target not scored before is
        computed from the stored curve and stored with the row."""
        known = _decode_reaches(reaches, trial.target)
        evals = LazyEvals(functools.partial(self._curves.load, self._root, trial, key), known)
        if trial.target not in known:
            evals.reached[trial.target] = reach(tuple(evals), trial.target)
            row = _Row(key, status, provenance, bool(verified), evals.reached)
            self._new[trial.id] = (row, None)
        served = _decode_status(status, self._provenance_of(provenance))
        return TrialResult(trial, evals, served, verified=bool(verified))

    def _provenance_of(self, text: str) -> dict[str, Any]:
        """The provenance of ``text``, decoded once per distinct text."""
        found = self._provenance.get(text)
        if found is None:
            found = _parse(text)
            if type(found) is not dict:
                raise ValueError(f"not a provenance: {text[:40]!r}")
            self._provenance[text] = found
        return found

    def save(self) -> None:
        """Store the results read from files, and new reaches, since the index was opened
        (one transaction); an index that cannot be written now is left as it is."""
        if not self.enabled or not self._new:
            return
        rows = [
            (i, r.key, r.status, r.provenance, int(r.verified), _encode_reaches(r.reaches))
            for i, (r, _) in self._new.items()
        ]
        curves = [(i, r.key, evals) for i, (r, evals) in self._new.items() if evals is not None]
        try:
            with self._connection() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO trials VALUES (?, ?, ?, ?, ?, ?)", rows)
                db.executemany("INSERT OR REPLACE INTO curves VALUES (?, ?, ?)", curves)
                db.execute("COMMIT")
        except sqlite3.DatabaseError:
            return
        self._rows.update({row[0]: row for row in rows})
        self._new = {}

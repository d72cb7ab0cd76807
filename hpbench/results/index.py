"""A cache of checked trial results, so that scoring a large store does not re-parse it.

``<results>/.index.sqlite`` (SQLite, standard library) holds, per trial directory, what the
checking reader (:func:`~hpbench.results.records.read_trial`) made of its files, keyed by
the files' identity: inode, size, mtime and ctime (nanoseconds) of ``trial.json``,
``status.json`` and ``metrics.jsonl``. The per-trial files stay the source of truth:

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
import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable
from pathlib import Path

from hpbench.plan import Trial
from hpbench.results.records import EvalRecord, Status, TrialResult, has_results, read_trial

INDEX_NAME = ".index.sqlite"
#: The layout of the rows; an index of another version is rebuilt.
VERSION = 3  # 3: rows carry algoperf_seconds
#: A trial whose files changed more recently than this is read, not stored (see above).
RACY_SECONDS = 2.0
_FILES = ("trial.json", "status.json", "metrics.jsonl")


def _stat_key(directory: str) -> str:
    """The identity of a trial's files: one ``ino:size:mtime:ctime`` (or ``-``) per file."""
    parts = []
    for name in _FILES:
        try:
            s = os.stat(f"{directory}/{name}")
        except FileNotFoundError:
            parts.append("-")
        else:
            parts.append(f"{s.st_ino}:{s.st_size}:{s.st_mtime_ns}:{s.st_ctime_ns}")
    return " ".join(parts)


def _newest_ctime(key: str) -> int:
    return max((int(p.rsplit(":", 1)[1]) for p in key.split() if p != "-"), default=0)


def _encode(result: TrialResult) -> str:
    """The row of a result: JSON, the evaluations by column (a list of numbers parses several
    times faster than a list of objects), NaN and infinities as Python's ``json`` writes them."""
    evals = result.evals
    names = sorted({name for r in evals for name in r.metrics})
    data = {
        "status": result.status.to_json(),
        "verified": result.verified,
        "step": [r.step for r in evals],
        "train_seconds": [r.train_seconds for r in evals],
        "train_loss": [r.train_loss for r in evals],
        "algoperf_seconds": [r.algoperf_seconds for r in evals],
        "metrics": {n: [r.metrics.get(n, _ABSENT) for r in evals] for n in names},
    }
    return json.dumps(data, separators=(",", ":"))


#: A metric a row lacks (rows of one trial normally all have the same metrics).
_ABSENT = "-"


def _decode(payload: str, trial: Trial) -> TrialResult:
    """The stored result, for ``trial`` (the planned one, as the reader would give it)."""
    data = json.loads(payload)
    names = list(data["metrics"])
    columns = zip(*data["metrics"].values(), strict=True) if names else ((),) * len(data["step"])
    evals = tuple(
        EvalRecord(
            step,
            seconds,
            loss,
            {n: v for n, v in zip(names, values, strict=True) if v != _ABSENT},
            algoperf,
        )
        for step, seconds, loss, algoperf, values in zip(
            data["step"],
            data["train_seconds"],
            data["train_loss"],
            data["algoperf_seconds"],
            columns,
            strict=True,
        )
    )
    return TrialResult(trial, evals, Status(**data["status"]), verified=data["verified"])


def _create(db: sqlite3.Connection) -> None:
    db.execute(
        "CREATE TABLE IF NOT EXISTS trials "
        "(id TEXT PRIMARY KEY, key TEXT NOT NULL, result TEXT NOT NULL)"
    )
    db.execute(f"PRAGMA user_version = {VERSION}")


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


class ResultsIndex:
    """The index of one results directory: :meth:`read` a planned trial through it, then
    :meth:`save` what was read from the files. Without a usable index file it reads every
    trial from its files (``enabled`` is False)."""

    def __init__(self, results_dir: Path, warn: Callable[[str], None] = _warn):
        self.results_dir = Path(results_dir)
        self.path = self.results_dir / INDEX_NAME
        self._root = str(self.results_dir)
        self._warn = warn
        self._rows: dict[str, tuple[str, str]] = {}
        self._new: dict[str, tuple[str, str]] = {}
        self._started = time.time_ns()
        self.enabled = self.results_dir.is_dir() and self._load()

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10.0, isolation_level=None)

    def _load(self) -> bool:
        """Read every row; rebuild a garbage index or one of another version."""
        try:
            with self._connection() as db:
                version = db.execute("PRAGMA user_version").fetchone()[0]
                tables = db.execute("SELECT name FROM sqlite_master WHERE type='table'")
                if version != VERSION and [row[0] for row in tables]:
                    self._warn(
                        f"{self.path}: index of version {version}, not {VERSION}; rebuilding"
                    )
                    db.execute("BEGIN IMMEDIATE")
                    db.execute("DROP TABLE IF EXISTS trials")
                    db.execute("COMMIT")
                _create(db)
                self._rows = {i: (k, r) for i, k, r in db.execute("SELECT * FROM trials")}
            return True
        except sqlite3.DatabaseError as e:
            if not self.path.exists() or isinstance(e, sqlite3.OperationalError):
                return False  # cannot be created or locked: read the files
            self._warn(f"{self.path}: not a readable index ({e}); rebuilding it")
            self.path.unlink(missing_ok=True)
            try:
                with self._connection() as db:
                    _create(db)
                return True
            except sqlite3.DatabaseError:
                return False

    def _connection(self) -> contextlib.closing[sqlite3.Connection]:
        return contextlib.closing(self._connect())

    def read(self, trial: Trial) -> TrialResult | None:
        """The checked result of the planned ``trial`` (None: no results), from the index
        when its files are as they were indexed, else from the files (see the module)."""
        directory = f"{self._root}/{trial.id}"
        key = _stat_key(directory) if self.enabled else ""
        row = self._rows.get(trial.id)
        if row is not None and row[0] == key:
            try:
                return _decode(row[1], trial)
            except (ValueError, TypeError, KeyError):
                pass  # a damaged row: read the files
        if not has_results(Path(directory)):
            return None
        result = read_trial(Path(directory), planned=trial)
        if (
            self.enabled
            and not result.damaged
            and key == _stat_key(directory)
            and _newest_ctime(key) < self._started - int(RACY_SECONDS * 1e9)
        ):
            self._new[trial.id] = (key, _encode(result))
        return result

    def save(self) -> None:
        """Store the results read from files since the index was opened (one transaction);
        an index that cannot be written now is left as it is."""
        if not self.enabled or not self._new:
            return
        rows = [(i, k, r) for i, (k, r) in self._new.items()]
        try:
            with self._connection() as db:
                db.execute("BEGIN IMMEDIATE")
                db.executemany("INSERT OR REPLACE INTO trials VALUES (?, ?, ?)", rows)
                db.execute("COMMIT")
        except sqlite3.DatabaseError:
            return
        self._rows.update(self._new)
        self._new = {}

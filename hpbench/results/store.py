"""The writer side of the results store: a trial's directory, its claim lock, its files.

A trial is trained by the one process holding ``<trial>/lock`` (``fcntl.flock``): the
kernel drops the lock when its holder dies, so the lock of a killed run is reclaimed by the
next run without any clean-up. The lock file records the holder (pid, host) and a
heartbeat, so others can tell a dead owner (:class:`Holder`). ``metrics.jsonl`` is
append-only while training and cut back to the restored step on resume; ``trial.json`` and
``status.json`` are replaced atomically. No JAX import.
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import shutil
import threading
import time
from pathlib import Path

import attrs

from hpbench.plan import Trial
from hpbench.results.records import (
    CORRUPT,
    FINISHED_STATES,
    EvalRecord,
    Status,
    TrialResult,
    metrics_digest,
    parse_metrics,
    read_planned_trial,
    read_started_trial,
    write_json_atomic,
)

__all__ = [
    "FINISHED_STATES",
    "Holder",
    "MirrorTrialDir",
    "StoreError",
    "TrialClaim",
    "TrialDir",
    "claim",
    "live_status",
    "read_holder",
    "store_error",
]


#: errno -> what it means for a results store.
_STORE_ERRNOS = {
    errno.ENOSPC: "full",
    errno.EDQUOT: "full",
    errno.EROFS: "read-only",
    errno.EACCES: "read-only",
    errno.EPERM: "read-only",
}


class StoreError(Exception):
    """The results store cannot be written: ``kind`` is "full" (no space or quota left) or
    "read-only"; ``path`` the file or directory that failed (when known)."""

    def __init__(self, kind: str, path: str | None, detail: str):
        super().__init__(f"{path or 'the results directory'}: {detail}")
        self.kind = kind
        self.path = path
        self.detail = detail


def store_error(error: BaseException, results_dir: Path | None = None) -> StoreError | None:
    """The :class:`StoreError` behind ``error`` (itself, its causes or contexts, or the
    message of a library that wraps the OSError in another type), or None. A permission
    error on a path outside ``results_dir`` (a data file) is not the store's."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, StoreError):
            return error
        if isinstance(error, OSError) and error.errno in _STORE_ERRNOS:
            kind, path = _STORE_ERRNOS[error.errno], error.filename
            outside = (
                results_dir is not None
                and path is not None
                and not Path(os.path.abspath(path)).is_relative_to(Path(results_dir).absolute())
            )
            if kind == "read-only" and outside:
                return None
            return StoreError(kind, None if path is None else str(path), error.strerror or "")
        text = str(error)
        if "No space left on device" in text or "Disk quota exceeded" in text:
            return StoreError("full", None, "No space left on device")
        if "Read-only file system" in text:
            return StoreError("read-only", None, "Read-only file system")
        error = error.__cause__ or error.__context__
    return None


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


class TrialDir:
    """The files of one trial under ``results_dir/<trial-id>/``."""

    def __init__(self, results_dir: Path, trial: Trial):
        self.trial = trial
        self.path = Path(results_dir) / trial.id

    @property
    def metrics_path(self) -> Path:
        return self.path / "metrics.jsonl"

    @property
    def status_path(self) -> Path:
        return self.path / "status.json"

    @property
    def checkpoints(self) -> Path:
        return self.path / "checkpoints"

    def write_trial(self) -> None:
        """Write ``trial.json`` (the resolved trial with its id)."""
        write_json_atomic(self.path / "trial.json", {"id": self.trial.id, **self.trial.canonical()})

    def read(self) -> TrialResult | None:
        """The trial's checked result (see :func:`~hpbench.results.records.read_trial`;
        damage reads as state ``"corrupt"``), or None when it has none yet."""
        return read_planned_trial(self.path.parent, self.trial)

    def read_status(self) -> Status | None:
        """The recorded status once the trial's files pass their checks (state ``"corrupt"``
        when they do not), or None when there is none; its reach (``reached_step``,
        ``reached_seconds``) read from the curve against this trial's target. The file
        records the reach of the target the trial trained with, and a suite may have moved
        it since (the target is part of a trial's id only when training stops there): what
        a run says of a trial is said against today's target, as its score is."""
        from hpbench.results.curves import reach

        result = read_started_trial(self.path.parent, self.trial)
        if result is None or result.damaged:
            return None if result is None else result.status
        found = reach(result.evals, self.trial.target)
        return attrs.evolve(result.status, reached_step=found.step, reached_seconds=found.seconds)

    def finished(self) -> bool:
        """True when the trial has a final result (done or diverged) that reads back whole."""
        status = self.read_status()
        return status is not None and status.state in FINISHED_STATES

    def write_status(self, status: Status) -> None:
        """Atomically replace ``status.json``, stamping the time of the write and the row
        count and checksum of ``metrics.jsonl`` as it stands."""
        if status.state == CORRUPT:
            raise ValueError("'corrupt' is what a reader finds, never a status to write")
        try:
            content = self.metrics_path.read_bytes()
        except FileNotFoundError:
            content = b""
        data = status.to_json()
        data["updated"] = _now()
        data["metrics"] = metrics_digest(content)
        write_json_atomic(self.status_path, data)

    def append_eval(self, record: EvalRecord) -> None:
        """Append one evaluation line and flush it to disk."""
        self.path.mkdir(parents=True, exist_ok=True)
        with open(self.metrics_path, "a") as f:
            f.write(json.dumps(record.to_json(), sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def truncate_evals(self, step: int) -> tuple[EvalRecord, ...]:
        """Keep only the evaluations at or before ``step`` (those a restored run already
        made), atomically; returns them. A torn last line is dropped too; any other line
        that does not parse raises :class:`~hpbench.results.records.Damaged` and the file
        is left as it is (never rewritten from a partial read)."""
        try:
            content = self.metrics_path.read_bytes()
        except FileNotFoundError:
            return ()
        kept = tuple(r for r in parse_metrics(self.metrics_path, content, True) if r.step <= step)
        tmp = self.metrics_path.with_name(".metrics.jsonl.tmp")
        with open(tmp, "w") as f:
            f.write("".join(json.dumps(r.to_json(), sort_keys=True) + "\n" for r in kept))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.metrics_path)
        return kept

    def set_aside(self, why: str) -> Path | None:
        """Move the trial's result files into ``damaged-<time>/`` with ``why.txt`` (nothing
        is deleted) and write a fresh ``trial.json``: the trial then has no results. Returns
        where they went, None when there was nothing to move."""
        files = [self.path / n for n in ("trial.json", "metrics.jsonl", "status.json")]
        files = [f for f in files if f.exists()]
        if not files:
            return None
        stamp = _now().replace(":", "").replace("+0000", "Z")
        aside = self.path / f"damaged-{stamp}"
        n = 1
        while aside.exists():
            n += 1
            aside = self.path / f"damaged-{stamp}-{n}"
        aside.mkdir(parents=True)
        (aside / "why.txt").write_text(why + "\n")
        for f in files:
            os.replace(f, aside / f.name)
        self.write_trial()
        return aside

    def reset(self) -> None:
        """Forget every result of this trial (for ``--force``)."""
        self.metrics_path.unlink(missing_ok=True)
        self.status_path.unlink(missing_ok=True)
        shutil.rmtree(self.checkpoints, ignore_errors=True)


class MirrorTrialDir(TrialDir):
    """A trial directory as a secondary process of a multi-host job sees it: it writes
    nothing, and answers status reads from memory, starting at the status the primary
    read (``status``) and following the statuses this process would have written. The
    processes train in lockstep, so it tracks what the primary writes without reading the
    (possibly unshared) results directory."""

    def __init__(self, results_dir: Path, trial: Trial, status: Status | None):
        super().__init__(results_dir, trial)
        self._status = status

    def write_trial(self) -> None:
        """Nothing: the primary writes ``trial.json``."""

    def read_status(self) -> Status | None:
        return self._status

    def write_status(self, status: Status) -> None:
        self._status = status

    def append_eval(self, record: EvalRecord) -> None:
        """Nothing: the primary writes ``metrics.jsonl``."""

    def truncate_evals(self, step: int) -> tuple[EvalRecord, ...]:
        """Nothing to cut here (the primary cuts its ``metrics.jsonl``)."""
        return ()

    def reset(self) -> None:
        self._status = None


#: How often a claim's holder rewrites its heartbeat, and when another host's claim whose
#: heartbeat is older counts as abandoned (its holder died or lost the file system).
HEARTBEAT_SECONDS = 30.0
STALE_SECONDS = 300.0
_LOCK_RECORD_BYTES = 256  # records are padded to this, so a reader never sees a cut one


@attrs.frozen
class Holder:
    """Who holds a claim: process id, host and the time (Unix seconds) of its last heartbeat."""

    pid: int
    host: str
    heartbeat: float
    released: bool = False  # the claim was let go: nobody holds it now

    def alive(self, now: float | None = None) -> bool:
        """Still holding: not released and, on this host, the process exists; elsewhere,
        its heartbeat is recent."""
        if self.released:
            return False
        if self.host == _HOST:
            return _pid_alive(self.pid)
        return (time.time() if now is None else now) - self.heartbeat < STALE_SECONDS

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host}"


_HOST = os.uname().nodename


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True


def read_holder(lock_path: Path) -> Holder | None:
    """The last holder recorded in a claim's lock file (None: never claimed, or unreadable).
    A lock written before heartbeats (``"pid host"``) has its file's time as heartbeat."""
    try:
        text = lock_path.read_text().strip()
        mtime = lock_path.stat().st_mtime
    except OSError:
        return None
    try:
        data = json.loads(text)
        return Holder(
            int(data["pid"]),
            str(data["host"]),
            float(data["heartbeat"]),
            bool(data.get("released", False)),
        )
    except (ValueError, KeyError, TypeError):
        parts = text.split()
        if len(parts) == 2 and parts[0].isdigit():
            return Holder(int(parts[0]), parts[1], mtime)
        return None


def live_status(directory: Path, status: Status) -> Status:
    """``status``, except that a "running" trial nobody holds, or whose holder is gone (see
    :class:`Holder`), is "interrupted": its run stopped without a word."""
    if status.state != "running":
        return status
    holder = read_holder(Path(directory) / "lock")
    if holder is not None and holder.alive():
        return status
    gone = (
        f"its run ({holder.describe()}) is gone"
        if holder is not None and not holder.released
        else "no run holds it"
    )
    return attrs.evolve(status, state="interrupted", reason=f"{gone}; rerun to resume")


class _Heartbeats:
    """One daemon thread that rewrites the heartbeat of every claim this process holds."""

    def __init__(self) -> None:
        self._claims: set[TrialClaim] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, held: TrialClaim) -> None:
        with self._lock:
            self._claims.add(held)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, daemon=True, name="heartbeat")
                self._thread.start()

    def discard(self, held: TrialClaim) -> None:
        with self._lock:
            self._claims.discard(held)

    def _loop(self) -> None:
        while True:
            time.sleep(HEARTBEAT_SECONDS)
            with self._lock:
                claims = list(self._claims)
            for held in claims:
                held.beat()


_HEARTBEATS = _Heartbeats()


class TrialClaim:
    """An exclusive, non-blocking claim on a trial directory, held until :meth:`release`;
    its lock file records the holder and a heartbeat, rewritten while it is held."""

    def __init__(self, fd: int, path: Path):
        self._fd: int | None = fd
        self.path = path
        self._write_lock = threading.Lock()
        self.beat()
        _HEARTBEATS.add(self)

    def beat(self, released: bool = False) -> None:
        """Record this process and the time in the lock file (padded: one write, one size)."""
        record = {"pid": os.getpid(), "host": _HOST, "heartbeat": time.time()}
        if released:
            record["released"] = True
        with self._write_lock:
            if self._fd is None:
                return
            # a full or read-only disk: the flock still holds the claim
            with contextlib.suppress(OSError):
                os.pwrite(self._fd, json.dumps(record).ljust(_LOCK_RECORD_BYTES).encode(), 0)

    def release(self) -> None:
        """Record that nobody holds the trial now (keeping who did last), then unlock."""
        _HEARTBEATS.discard(self)
        self.beat(released=True)
        with self._write_lock:
            if self._fd is not None:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> TrialClaim:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def claim(trial_dir: TrialDir) -> TrialClaim | None:
    """Lock ``trial_dir`` for this process, or None when a live process holds it.

    ``flock`` locks belong to the open file and vanish with the process that holds them,
    so a stale lock of a dead run on this host never blocks. A lock another host holds
    whose heartbeat is older than :data:`STALE_SECONDS` (a dead machine on a shared file
    system that keeps its locks) is taken over: its file is renamed aside and a new one
    locked. (On network file systems without flock support, use one results directory per
    machine.)
    """
    trial_dir.path.mkdir(parents=True, exist_ok=True)
    lock_path = trial_dir.path / "lock"
    held = _try_lock(lock_path)
    if held is None:
        holder = read_holder(lock_path)
        if holder is None or holder.host == _HOST or holder.alive():
            return None
        stale = lock_path.with_name(f"lock.abandoned-{holder.host}-{holder.pid}")
        os.replace(lock_path, stale)
        held = _try_lock(lock_path)
    return held


def _try_lock(lock_path: Path) -> TrialClaim | None:
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return TrialClaim(fd, lock_path)

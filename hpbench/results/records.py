"""The on-disk format of a trial's results and its one reader, which checks what it reads.

``<results>/<trial-id>/``:

- ``trial.json``: ``{"id": ..., **Trial.canonical()}``, the resolved trial;
- ``metrics.jsonl``: one :class:`EvalRecord` per line, in step order;
- ``status.json``: a :class:`Status`, with the row count and SHA-256 of ``metrics.jsonl``
  as it stood when the status was written (``metrics``);
- ``lock``: held (``flock``) by the process training the trial; says who and since when.

``<results>/_jobs/<job>/``: the Orbax checkpoints of a packed job (all its members' state in
one checkpoint; ``status.json``'s ``provenance.job`` names it). The engine's business:
see ``docs/determinism.md``. The reader ignores it (it has no ``trial.json``).

Every read checks the files: they parse, follow the schema, the trial hashes to its
directory's name, the rows' steps increase and agree with the status, and the rows the
status counted hash to its checksum. A trial that fails a check reads as state
``"corrupt"`` with the reason (:class:`Damaged`), and is never scored. Only the last line of
``metrics.jsonl`` of an unfinished trial may be torn (a writer killed mid-line). A status
written before checksums existed is checked but not verified (``TrialResult.verified``).

Non-finite floats are written as ``null`` (JSON has no NaN) and read back as NaN.
Writers live with the engine; this module has no JAX import, so scoring can use it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import attrs

from hpbench.plan import Trial

#: The states a writer records.
STATES = ("pending", "running", "done", "diverged", "failed", "interrupted")
#: The state a reader reports for files that fail their checks (never written).
CORRUPT = "corrupt"
#: States with a final result. A failed trial (an exception, e.g. an ImportError when the code
#: changed under a running campaign) says nothing about the algorithm and is retrained by the
#: next run; reports and benchmarks count only these.
FINISHED_STATES = ("done", "diverged")


class Damaged(ValueError):
    """A trial file that does not read back as it was written: which file, and what is wrong."""

    def __init__(self, path: Path, problem: str):
        super().__init__(f"{Path(path).name}: {problem}")
        self.path = Path(path)
        self.problem = problem


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


@attrs.frozen
class EvalRecord:
    """One evaluation: the step, accumulated training seconds (no compilation, evaluation or
    checkpoint time), the mean training loss since the previous evaluation, every eval
    metric, and AlgoPerf's accumulated submission time (training with its compilation;
    ``docs/scoring.md``). ``algoperf_seconds`` is None in rows written before it existed."""

    step: int
    train_seconds: float
    train_loss: float
    metrics: Mapping[str, float]
    algoperf_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        data = {
            "step": self.step,
            "train_seconds": self.train_seconds,
            "train_loss": _finite_or_none(self.train_loss),
            "metrics": {k: _finite_or_none(v) for k, v in sorted(self.metrics.items())},
        }
        if self.algoperf_seconds is not None:
            data["algoperf_seconds"] = self.algoperf_seconds
        return data

    @classmethod
    def from_json(cls, data: Any) -> EvalRecord:
        """The record of one line; ValueError when it does not follow the schema."""
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        step, seconds, loss = data.get("step"), data.get("train_seconds"), data.get("train_loss")
        metrics = data.get("metrics")
        if not _is_int(step) or step < 0:
            raise ValueError(f"step: expected a step, found {step!r}")
        if not _is_number(seconds):
            raise ValueError(f"train_seconds: expected a number, found {seconds!r}")
        if loss is not None and not _is_number(loss):
            raise ValueError(f"train_loss: expected a number, found {loss!r}")
        algoperf = data.get("algoperf_seconds")
        if algoperf is not None and not _is_number(algoperf):
            raise ValueError(f"algoperf_seconds: expected a number, found {algoperf!r}")
        if not isinstance(metrics, dict) or not all(
            v is None or _is_number(v) for v in metrics.values()
        ):
            raise ValueError("metrics: expected an object of numbers")
        return cls(
            step=step,
            train_seconds=float(seconds),
            train_loss=_nan_if_none(loss),
            metrics={k: _nan_if_none(v) for k, v in metrics.items()},
            algoperf_seconds=None if algoperf is None else float(algoperf),
        )


@attrs.frozen
class Status:
    """Where a trial stands. ``reached_step``/``reached_seconds`` are the first evaluation
    at which the target was reached (None when it was not). ``metrics``: the row count and
    SHA-256 of ``metrics.jsonl`` when the status was written (the writer fills it in)."""

    state: str = attrs.field(validator=attrs.validators.in_((*STATES, CORRUPT)))
    step: int = 0
    reason: str | None = None
    reached_step: int | None = None
    reached_seconds: float | None = None
    updated: str | None = None  # ISO 8601 time of the write
    provenance: Mapping[str, str] = attrs.Factory(dict)  # hpbench/jax version, device kind
    metrics: Mapping[str, Any] | None = None  # {"rows": n, "sha256": hex}

    @property
    def finished(self) -> bool:
        return self.state in FINISHED_STATES

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Any) -> Status:
        """The status of ``status.json``'s content; ValueError when it breaks the schema."""
        if not isinstance(data, dict):
            raise ValueError("expected an object")
        problems = {
            "state": data.get("state") in STATES,
            "step": _is_int(data.get("step", 0)) and data.get("step", 0) >= 0,
            "reason": data.get("reason") is None or isinstance(data["reason"], str),
            "reached_step": data.get("reached_step") is None or _is_int(data["reached_step"]),
            "reached_seconds": data.get("reached_seconds") is None
            or _is_number(data["reached_seconds"]),
            "updated": data.get("updated") is None or isinstance(data["updated"], str),
            "provenance": isinstance(data.get("provenance", {}), dict),
            "metrics": data.get("metrics") is None
            or (
                isinstance(data["metrics"], dict)
                and _is_int(data["metrics"].get("rows"))
                and isinstance(data["metrics"].get("sha256"), str)
            ),
        }
        for key, ok in problems.items():
            if not ok:
                raise ValueError(f"{key}: unexpected value {data.get(key)!r}")
        known = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@attrs.frozen
class TrialResult:
    """A trial with its evaluations and status, as read from the store. A damaged trial has
    state ``"corrupt"`` (the reason says what is wrong) and no evaluations; ``verified`` is
    False for a status written before checksums (its rows are checked, not hashed).
    ``evals`` is a tuple, or (served by the results index) a sequence loaded on first use."""

    trial: Trial
    evals: Sequence[EvalRecord]
    status: Status
    verified: bool = True

    @property
    def id(self) -> str:
        return self.trial.id

    @property
    def damaged(self) -> bool:
        return self.status.state == CORRUPT


def _plain_file_mode() -> int:
    """The permissions ``open`` gives a new file under this process's umask."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


#: Read once: querying the umask sets it, which is not safe while other threads make files.
PLAIN_FILE_MODE = _plain_file_mode()


@contextlib.contextmanager
def atomic_open(path: Path, mode: str = "w") -> Iterator[IO]:
    """A file at ``path`` written whole or not at all: a temporary file beside it, flushed to
    disk and renamed over ``path`` when the block ends without an exception. It gets the
    permissions a plain ``open`` would (``mkstemp``'s own are 0600, which hides results and
    archives from the other users of a shared results directory)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, mode) as f:
            os.chmod(tmp, PLAIN_FILE_MODE)
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename."""
    with atomic_open(path) as f:
        json.dump(data, f, indent=1, sort_keys=True)


def metrics_digest(content: bytes) -> dict[str, Any]:
    """The checksum a status records of ``metrics.jsonl``'s complete lines."""
    complete = content[: content.rfind(b"\n") + 1]
    return {"rows": complete.count(b"\n"), "sha256": hashlib.sha256(complete).hexdigest()}


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def read_metrics_bytes(directory: Path) -> bytes:
    """The content of a trial's ``metrics.jsonl``; empty when there is none yet (the store
    writes it with the first evaluation, so a trial diverged before it has none)."""
    return _read_bytes(directory / "metrics.jsonl") or b""


def parse_metrics(path: Path, content: bytes, torn_tail: bool) -> tuple[EvalRecord, ...]:
    """Every line of ``metrics.jsonl`` as a record, strictly: a line that does not parse is
    damage, except a last line without its newline when ``torn_tail`` (a killed writer)."""
    lines = content.split(b"\n")
    tail = lines.pop()  # b"" when the file ends with a newline
    if tail and not torn_tail:
        raise Damaged(path, f"line {len(lines) + 1} is cut off")
    records: list[EvalRecord] = []
    for number, line in enumerate(lines, start=1):
        try:
            record = EvalRecord.from_json(json.loads(line))
        except ValueError as e:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            raise Damaged(path, f"line {number}: {e}") from None
        if records and record.step <= records[-1].step:
            raise Damaged(path, f"line {number}: step {record.step} after {records[-1].step}")
        records.append(record)
    return tuple(records)


def read_status(path: Path) -> Status | None:
    """``status.json``: None when there is none; :class:`Damaged` when it does not parse."""
    content = _read_bytes(path)
    if content is None:
        return None
    try:
        return Status.from_json(json.loads(content))
    except ValueError as e:
        raise Damaged(path, str(e)) from None


def _read_trial_json(directory: Path) -> Trial:
    path = directory / "trial.json"
    content = _read_bytes(path)
    if content is None:
        raise Damaged(path, "missing")
    try:
        data = json.loads(content)
        trial = Trial.from_json(data)
    except (ValueError, TypeError, KeyError, AttributeError) as e:
        raise Damaged(path, f"{type(e).__name__}: {e}") from None
    if data.get("id") != directory.name or trial.id != directory.name:
        raise Damaged(path, f"describes trial {trial.id}, not {directory.name}")
    return trial


def _check_rows(directory: Path, trial: Trial, status: Status, content: bytes) -> tuple:
    """The records of ``metrics.jsonl`` once they agree with ``status``; and whether the
    status's checksum verified them (False: a status without one)."""
    path = directory / "metrics.jsonl"
    unfinished = status.state in ("pending", "running", "interrupted", "failed")
    evals = parse_metrics(path, content, torn_tail=unfinished)
    verified = status.metrics is not None
    if verified:
        digest = metrics_digest(content)
        rows, expected = status.metrics["rows"], status.metrics["sha256"]
        if digest["rows"] < rows or (digest["rows"] > rows and not unfinished):
            raise Damaged(path, f"{digest['rows']} rows, the status recorded {rows}")
        lines = content.split(b"\n")[:rows]
        if hashlib.sha256(b"".join(line + b"\n" for line in lines)).hexdigest() != expected:
            raise Damaged(path, "its rows do not match the checksum in status.json")
    counted = evals[: status.metrics["rows"]] if verified else evals
    _check_steps(path, trial, status, [r.step for r in counted])
    return evals, verified


def _check_steps(path: Path, trial: Trial, status: Status, steps: list[int]) -> None:
    """The rows are the trial's evaluations up to the status's step, none missing: every
    ``eval_every`` steps and at the horizon. A diverged trial's step is the one whose
    training loss was non-finite, the loss of the parameters after that many updates: the
    evaluation at that step, when it is one, ran on them before the loss did, so its row is
    there too (its metric often NaN)."""
    if status.state in ("failed", "pending"):
        return
    every, last = trial.eval_every, trial.horizon_steps
    grid = [*range(every, last, every), last]
    expected = [s for s in grid if s <= status.step]
    if status.state == "done" and (not expected or expected[-1] != status.step):
        raise Damaged(path.with_name("status.json"), f"done at step {status.step}, not an eval")
    seen = [s for s in steps if s <= status.step] if status.state != "diverged" else steps
    if seen != expected:
        missing = sorted(set(expected) - set(seen))
        extra = sorted(set(seen) - set(expected))
        found = f"missing steps {missing[:3]}" if missing else f"unexpected steps {extra[:3]}"
        raise Damaged(path, f"{found} (status: {status.state} at step {status.step})")
    if status.reached_step is not None and status.reached_step not in expected:
        raise Damaged(path, f"no row at the step the target was reached ({status.reached_step})")


def read_trial(directory: Path, planned: Trial | None = None) -> TrialResult:
    """Read and check one trial directory; a damaged one reads as state ``"corrupt"``.

    ``planned``: the trial the caller expects there (whose target scoring uses; a damaged
    ``trial.json`` then still has a trial to report). Without it, a damaged ``trial.json``
    raises :class:`Damaged`."""
    directory = Path(directory)
    result = _read_checked(directory, planned)
    if result.damaged and _maybe_moving(directory):  # read between two writes of a live run
        time.sleep(_REREAD_SECONDS)
        result = _read_checked(directory, planned)
    return result


#: A live writer changes ``metrics.jsonl`` and then ``status.json`` (on resume, on a repair):
#: a reader in between sees them disagree, so a running trial is read again once after this.
_REREAD_SECONDS = 0.2


def _maybe_moving(directory: Path) -> bool:
    try:
        return read_status(directory / "status.json").state == "running"
    except (Damaged, AttributeError):  # damaged, or gone (moved aside)
        return False


def _read_checked(directory: Path, planned: Trial | None) -> TrialResult:
    try:
        stored = _read_trial_json(directory)
        status = read_status(directory / "status.json")
        content = read_metrics_bytes(directory)
        if status is None:
            if content:
                raise Damaged(directory / "status.json", "missing, but metrics.jsonl has rows")
            status, evals, verified = Status(state="pending"), (), True
        else:
            evals, verified = _check_rows(directory, planned or stored, status, content)
    except Damaged as damage:
        if planned is None and damage.path.name == "trial.json":
            raise
        return TrialResult(
            trial=planned or stored,
            evals=(),
            status=Status(state=CORRUPT, reason=str(damage)),
        )
    return TrialResult(trial=planned or stored, evals=evals, status=status, verified=verified)


def trial_directories(results_dir: Path) -> list[Path]:
    """Every trial directory under ``results_dir``: those with a trial file (``_jobs`` and
    hidden directories are not trials), including one whose ``trial.json`` was lost."""
    names = ("trial.json", "status.json", "metrics.jsonl")
    return sorted(
        p
        for p in Path(results_dir).iterdir()
        if p.is_dir()
        and not p.name.startswith(("_", "."))
        and any((p / name).exists() for name in names)
    )


def read_results(results_dir: Path, trial_ids: Iterable[str] | None = None) -> list[TrialResult]:
    """Every trial with a ``trial.json`` under ``results_dir`` (or just ``trial_ids``,
    skipping missing ones). Raises :class:`Damaged` for a damaged ``trial.json`` (there is
    no trial to report it under; :func:`trial_directories` finds those without one);
    other damage reads as state ``"corrupt"``."""
    results_dir = Path(results_dir)
    if trial_ids is None:
        dirs = sorted(p.parent for p in results_dir.glob("*/trial.json"))
    else:
        dirs = [results_dir / t for t in trial_ids if (results_dir / t / "trial.json").exists()]
    return [read_trial(d) for d in dirs]


def has_results(directory: Path) -> bool:
    """Whether a trial directory holds any result file (a claim alone is no result)."""
    return any((directory / n).exists() for n in ("trial.json", "status.json", "metrics.jsonl"))


def read_planned_trial(results_dir: Path, trial: Trial) -> TrialResult | None:
    """The result of the planned ``trial`` under ``results_dir`` (None when it has none),
    carrying the planned trial, not the stored copy: a trial that does not stop at its target
    shares its id with the same training under other targets, and is scored against the
    target of the plan being read. Damage reads as state ``"corrupt"``."""
    directory = Path(results_dir) / trial.id
    if not has_results(directory):
        return None
    return read_trial(directory, planned=trial)


def read_started_trial(results_dir: Path, trial: Trial) -> TrialResult | None:
    """As :func:`read_planned_trial`, but None also while the trial has no ``status.json``
    (only its ``trial.json``, written when it was claimed): the one test of whether a trial
    has a recorded status. Damage reads as state ``"corrupt"``."""
    result = read_planned_trial(results_dir, trial)
    if result is None or result.damaged:
        return result
    return result if (Path(results_dir) / trial.id / "status.json").exists() else None


def read_planned(results_dir: Path, trials: Iterable[Trial]) -> dict[str, TrialResult]:
    """The results of the planned ``trials`` found under ``results_dir``, by trial id
    (see :func:`read_planned_trial`); damaged ones are left out, as not run."""
    found = {}
    for trial in trials:
        result = read_planned_trial(results_dir, trial)
        if result is not None and not result.damaged:
            found[trial.id] = result
    return found


def read_finished(results_dir: Path, trials: Iterable[Trial]) -> dict[str, TrialResult]:
    """The results of the planned ``trials`` that finished (:attr:`Status.finished`), by
    trial id: what a score may read; a campaign is complete when it holds every trial."""
    found = read_planned(results_dir, trials)
    return {i: r for i, r in found.items() if r.status.finished}

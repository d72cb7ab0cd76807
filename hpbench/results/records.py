"""The on-disk format of a trial's results and its reader.

``<results>/<trial-id>/``:

- ``trial.json``: ``{"id": ..., **Trial.canonical()}``, the resolved trial;
- ``metrics.jsonl``: one :class:`EvalRecord` per line, in step order;
- ``status.json``: a :class:`Status`;
- ``lock``: held (``flock``) by the process training the trial.

``<results>/_jobs/<job>/``: the Orbax checkpoints of a packed job (all its members' state in
one checkpoint; ``status.json``'s ``provenance.job`` names it). The engine's business:
see ``docs/determinism.md``. The reader ignores it (it has no ``trial.json``).

Non-finite floats are written as ``null`` (JSON has no NaN) and read back as NaN.
Writers live with the engine; this module has no JAX import, so scoring can use it.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from hpbench.plan import Trial

STATES = ("pending", "running", "done", "diverged", "failed", "interrupted")


def _finite_or_none(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(value) else float(value)


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


@attrs.frozen
class EvalRecord:
    """One evaluation: the step, accumulated training seconds (no eval/checkpoint time),
    the mean training loss since the previous evaluation, and every eval metric."""

    step: int
    train_seconds: float
    train_loss: float
    metrics: Mapping[str, float]

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "train_seconds": self.train_seconds,
            "train_loss": _finite_or_none(self.train_loss),
            "metrics": {k: _finite_or_none(v) for k, v in sorted(self.metrics.items())},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EvalRecord:
        return cls(
            step=int(data["step"]),
            train_seconds=float(data["train_seconds"]),
            train_loss=_nan_if_none(data.get("train_loss")),
            metrics={k: _nan_if_none(v) for k, v in data["metrics"].items()},
        )


@attrs.frozen
class Status:
    """Where a trial stands. ``reached_step``/``reached_seconds`` are the first evaluation
    at which the target was reached (None when it was not)."""

    state: str = attrs.field(validator=attrs.validators.in_(STATES))
    step: int = 0
    reason: str | None = None
    reached_step: int | None = None
    reached_seconds: float | None = None
    updated: str | None = None  # ISO 8601 time of the write
    provenance: Mapping[str, str] = attrs.Factory(dict)  # hpbench/jax version, device kind

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Status:
        known = {f.name for f in attrs.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@attrs.frozen
class TrialResult:
    """A trial with its evaluations and status, as read from the store."""

    trial: Trial
    evals: tuple[EvalRecord, ...]
    status: Status

    @property
    def id(self) -> str:
        return self.trial.id


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` via a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_evals(path: Path) -> tuple[EvalRecord, ...]:
    """Read ``metrics.jsonl``; a torn last line (a killed writer) is ignored."""
    if not path.exists():
        return ()
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(EvalRecord.from_json(json.loads(line)))
        except (json.JSONDecodeError, KeyError):
            break
    return tuple(records)


def read_trial(directory: Path) -> TrialResult:
    """Read one trial directory."""
    directory = Path(directory)
    trial = Trial.from_json(json.loads((directory / "trial.json").read_text()))
    status_path = directory / "status.json"
    status = (
        Status.from_json(json.loads(status_path.read_text()))
        if status_path.exists()
        else Status(state="pending")
    )
    return TrialResult(trial=trial, evals=read_evals(directory / "metrics.jsonl"), status=status)


def read_results(results_dir: Path, trial_ids: Iterable[str] | None = None) -> list[TrialResult]:
    """Every trial under ``results_dir`` (or just ``trial_ids``, skipping missing ones)."""
    results_dir = Path(results_dir)
    if trial_ids is None:
        dirs = sorted(p for p in results_dir.glob("*/trial.json"))
        dirs = [p.parent for p in dirs]
    else:
        dirs = [results_dir / t for t in trial_ids if (results_dir / t / "trial.json").exists()]
    return [read_trial(d) for d in dirs]


def read_planned_trial(results_dir: Path, trial: Trial) -> TrialResult | None:
    """The result of the planned ``trial`` under ``results_dir`` (None when it has none),
    carrying the planned trial, not the stored copy: a trial that does not stop at its target
    shares its id with the same training under other targets, and is scored against the
    target of the plan being read."""
    directory = Path(results_dir) / trial.id
    if not (directory / "trial.json").exists():
        return None
    return attrs.evolve(read_trial(directory), trial=trial)


def read_planned(results_dir: Path, trials: Iterable[Trial]) -> dict[str, TrialResult]:
    """The results of the planned ``trials`` found under ``results_dir``, by trial id
    (see :func:`read_planned_trial`)."""
    found = {}
    for trial in trials:
        result = read_planned_trial(results_dir, trial)
        if result is not None:
            found[trial.id] = result
    return found

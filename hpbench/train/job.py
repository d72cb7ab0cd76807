"""Jobs: trials packed into one compiled program, as plain serialisable data.

Trials that differ only in *packable* hyperparameters (plain numbers inside the compiled
step, see :class:`hpbench.algorithms.registry.Hyperparameter`) share a pack key and train
as one ``jax.vmap``-ed program. Everything else (workload, size, variant, algorithm and its
static options, schedule shape, horizon, batch size, seed, eval cadence, dropout) shapes the
program or its data and splits packs. No JAX import: backends ship Jobs as JSON.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from hpbench.algorithms.registry import get_algorithm
from hpbench.plan import Plan, Scalar, Trial


@attrs.frozen
class CheckpointPolicy:
    """When to save: every ``every_steps`` steps and/or every ``every_seconds`` seconds of
    wall time (checked between fused step chunks), keeping the latest ``keep``."""

    every_steps: int | None = None
    every_seconds: float | None = 300.0
    keep: int = 2

    @classmethod
    def parse(cls, text: str, keep: int = 2) -> CheckpointPolicy:
        """``"500"`` = every 500 steps; ``"30s"``, ``"10m"`` = wall time; ``"0"`` = only at
        the end."""
        text = text.strip().lower()
        units = {"s": 1.0, "m": 60.0, "h": 3600.0}
        try:
            if text and text[-1] in units:
                seconds = float(text[:-1]) * units[text[-1]]
                if seconds <= 0:
                    raise ValueError
                return cls(every_steps=None, every_seconds=seconds, keep=keep)
            steps = int(text)
            if steps < 0:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"checkpoint cadence {text!r}: expected steps (e.g. 500), or seconds/minutes/"
                "hours (e.g. 30s, 10m, 1h), or 0 for only at the end"
            ) from None
        return cls(every_steps=steps or None, every_seconds=None, keep=keep)

    def due(self, step: int, last_step: int, seconds_since: float) -> bool:
        """Whether to save at ``step``, the last save having been at ``last_step``,
        ``seconds_since`` seconds of wall time ago."""
        if self.every_steps and step // self.every_steps > last_step // self.every_steps:
            return True
        return bool(self.every_seconds) and seconds_since >= self.every_seconds


@attrs.frozen
class Job:
    """Trials sharing one pack key, trained together by :func:`hpbench.train.run_job`."""

    trials: tuple[Trial, ...] = attrs.field(converter=tuple)
    checkpoint: CheckpointPolicy = CheckpointPolicy()
    steps_per_dispatch: int = 16  # steps fused with lax.scan per call, between boundaries
    force: bool = False  # retrain trials that already finished

    def __attrs_post_init__(self) -> None:
        if not self.trials:
            raise ValueError("a job needs at least one trial")
        keys = {pack_key(t) for t in self.trials}
        if len(keys) > 1:
            raise ValueError("the trials of a job must share a pack key (see make_jobs)")

    @property
    def id(self) -> str:
        """A short hash of the member trial ids (order-independent)."""
        blob = ",".join(sorted(t.id for t in self.trials))
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def lead(self) -> Trial:
        """The first trial; every member agrees with it on the pack key."""
        return self.trials[0]

    def to_json(self) -> dict[str, Any]:
        return {
            "trials": [{"id": t.id, **t.canonical()} for t in self.trials],
            "checkpoint": attrs.asdict(self.checkpoint),
            "steps_per_dispatch": self.steps_per_dispatch,
            "force": self.force,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            trials=tuple(Trial.from_json(t) for t in data["trials"]),
            checkpoint=CheckpointPolicy(**data.get("checkpoint", {})),
            steps_per_dispatch=int(data.get("steps_per_dispatch", 16)),
            force=bool(data.get("force", False)),
        )

    def dumps(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True)


def is_packable(algorithm: str, name: str, value: Scalar) -> bool:
    """Whether hyperparameter ``name`` may differ between members of one pack (the
    algorithm's registry entry says)."""
    return get_algorithm(algorithm).packable(name, value)


def packed_values(trial: Trial) -> dict[str, float | int]:
    """The trial's packable values: its packable hyperparameters and its warmup fraction."""
    values = {k: v for k, v in trial.hyperparameters if is_packable(trial.algorithm, k, v)}
    values["warmup"] = trial.warmup
    return values


def static_hyperparameters(trial: Trial) -> dict[str, Scalar]:
    """The trial's hyperparameters that shape the compiled program."""
    return {k: v for k, v in trial.hyperparameters if not is_packable(trial.algorithm, k, v)}


def pack_key(trial: Trial) -> tuple:
    """What must be equal for two trials to train in one compiled program."""
    return (
        trial.workload,
        trial.size,
        trial.variant,
        trial.data,
        trial.train_rows,
        trial.label_noise,
        trial.width,
        trial.algorithm,
        trial.options,
        tuple(sorted(static_hyperparameters(trial).items())),
        tuple(sorted(k for k, v in trial.hyperparameters if is_packable(trial.algorithm, k, v))),
        trial.schedule,
        trial.horizon_steps,
        trial.max_steps,
        trial.batch_size,
        trial.seed,
        trial.eval_every,
    )


def make_jobs(
    plan: Plan | Iterable[Trial],
    pack: int | None = None,
    *,
    pack_size: Callable[[Trial], int] | None = None,
    **job_options: Any,
) -> list[Job]:
    """Group the plan's trials by pack key (first-seen order) into jobs of at most ``pack``
    members; without ``pack``, each group's size comes from ``pack_size(trial)`` (``hpbench
    run`` passes :func:`hpbench.train.memory.pack_size_from_memory`, which imports JAX; this
    module does not). Without a ``checkpoint`` option, a plan's ``checkpoint_seconds`` sets
    the cadence."""
    trials = plan.trials if isinstance(plan, Plan) else tuple(plan)
    seconds = getattr(plan, "checkpoint_seconds", None)
    if "checkpoint" not in job_options and seconds is not None:
        job_options["checkpoint"] = CheckpointPolicy(every_seconds=float(seconds))
    if pack is not None and pack < 1:
        raise ValueError(f"--pack must be at least 1, got {pack}")
    if pack is None and pack_size is None:
        raise TypeError("make_jobs: give a pack size (pack) or a rule for it (pack_size)")
    groups: dict[tuple, list[Trial]] = {}
    for trial in dict.fromkeys(trials):  # drop duplicates, keep order
        groups.setdefault(pack_key(trial), []).append(trial)
    jobs = []
    for members in groups.values():
        size = pack if pack is not None else max(1, pack_size(members[0]))
        for start in range(0, len(members), size):
            jobs.append(Job(trials=tuple(members[start : start + size]), **job_options))
    return jobs

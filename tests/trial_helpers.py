"""Trials the engine, resume and results-store tests share (no training here)."""

from __future__ import annotations

import json
from pathlib import Path

from hpbench.plan import Target, Trial


def toy_trial(learning_rate: float = 3e-3, **changes) -> Trial:
    """A toy_mlp AdamW trial of 100 steps evaluated every 20."""
    fields = dict(
        workload="toy_mlp",
        size="mini",
        variant="base",
        algorithm="adamw",
        hyperparameters={"learning_rate": learning_rate, "weight_decay": 1e-4},
        schedule="warmup_cosine",
        warmup=0.05,
        horizon=0.25,
        max_steps=400,
        batch_size=64,
        seed=0,
        eval_every=20,
        target=Target("error_rate", 0.06, "min"),
    )
    fields.update(changes)
    return Trial(**fields)


def records(results: Path, trial: Trial) -> list[dict]:
    """metrics.jsonl without the wall-clock field (what must be reproducible)."""
    lines = (results / trial.id / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "train_seconds"} for line in lines]

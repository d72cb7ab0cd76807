"""Trials the engine, resume and results-store tests share (no training here)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hpbench.plan import Target, Trial

#: The fields of a metrics row that are wall-clock times.
CLOCKS = ("train_seconds", "algoperf_seconds")


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
    """metrics.jsonl without the wall-clock fields (what must be reproducible)."""
    lines = (results / trial.id / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in CLOCKS} for line in lines]


_HOLD = """
import json, sys, time
from hpbench.plan import Trial
from hpbench.results.store import TrialDir, claim
held = claim(TrialDir(sys.argv[1], Trial.from_json(json.loads(sys.argv[2]))))
print("held" if held else "refused", flush=True)
time.sleep(60)
"""


def hold_claim(results: Path, trial: Trial) -> subprocess.Popen:
    """Another process that claims ``trial`` in ``results`` and keeps it for a minute; its
    first line of output says whether it got it ("held" or "refused")."""
    return subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(results), json.dumps(trial.canonical())],
        stdout=subprocess.PIPE,
        text=True,
    )

"""Search-test helpers: a three-workload spec and trial results written without training."""

from __future__ import annotations

import math
from pathlib import Path

from hpbench.plan import Trial
from hpbench.results.records import EvalRecord, Status
from hpbench.results.store import TrialDir

#: Three mini workloads with a 100-step budget evaluated every 10 steps (never trained here).
WORKLOADS = """
[workloads.criteo]
target = { value = 0.45 }
max_steps = 100
eval_every = 10
[workloads.ogbg]
target = { value = 0.3 }
max_steps = 100
eval_every = 10
[workloads.wmt]
target = { value = 20.0 }
max_steps = 100
eval_every = 10
"""


def write_result(results_dir: Path, trial: Trial, fraction: float) -> None:
    """A finished trial that first reaches its target at ``fraction`` of its horizon
    (``inf``: never), evaluated every ``eval_every`` steps up to the horizon."""
    directory = TrialDir(results_dir, trial)
    directory.write_trial()
    target = trial.target
    good = target.value - 0.01 if target.direction == "min" else target.value + 0.01
    bad = target.value + 1.0 if target.direction == "min" else target.value - 1.0
    reach = math.inf if math.isinf(fraction) else round(fraction * trial.horizon_steps)
    for step in range(trial.eval_every, trial.horizon_steps + 1, trial.eval_every):
        value = good if step >= reach else bad
        directory.append_eval(EvalRecord(step, step * 0.01, 1.0, {target.metric: value}))
    directory.write_status(Status(state="done", step=trial.horizon_steps))

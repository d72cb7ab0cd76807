"""Orbax checkpoints of a job: the stacked training state plus the host-side bookkeeping.

One asynchronous ``CheckpointManager`` per job (``<results>/_jobs/<job-run-id>/``) saves
two items per step: ``state`` (parameters, optimizer and model state of every member, the
active mask, divergence steps and the running training-loss sums) and ``meta`` (JSON: step,
member trial ids, the data position, the RNG key, each member's training seconds and
time-to-target so far). Restoring both gives back exactly the run that was saved.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import jax
import orbax.checkpoint as ocp

CHECKPOINT_FORMAT = 1


class JobCheckpoints:
    """Save, list and restore one job's checkpoints, keeping the latest ``keep``."""

    def __init__(self, directory: Path, keep: int, abstract_state: Any, shardings: Any):
        self.directory = Path(directory)
        self._treedef = jax.tree.structure(abstract_state)
        self._target = jax.tree.map(
            lambda a, s: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=s),
            abstract_state,
            shardings,
        )
        self._manager = ocp.CheckpointManager(
            self.directory.absolute(),
            options=ocp.CheckpointManagerOptions(
                max_to_keep=keep, enable_async_checkpointing=True, create=True
            ),
        )

    def latest_step(self) -> int | None:
        return self._manager.latest_step()

    def all_steps(self) -> list[int]:
        """The steps of every committed checkpoint."""
        return list(self._manager.all_steps())

    def set_aside(self, step: int, stamp: str) -> Path:
        """Move the checkpoint of ``step`` out of the job (it does not restore), next to the
        job's directory; nothing is deleted. Returns where it went."""
        aside = self.directory.with_name(f"{self.directory.name}.damaged-{stamp}-step{step}")
        os.replace(self.directory / str(step), aside)
        self._manager.reload()
        return aside

    def save(self, step: int, state: Any, meta: dict[str, Any]) -> None:
        """Start saving (returns once the arrays are copied off the devices)."""
        meta = {"format": CHECKPOINT_FORMAT, "step": step, **meta}
        self._manager.save(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)
            ),
            force=True,
        )

    def restore(self, step: int) -> tuple[Any, dict[str, Any]]:
        """The state (placed with the job's shardings) and the meta saved at ``step``."""
        restored = self._manager.restore(
            step,
            args=ocp.args.Composite(
                state=ocp.args.StandardRestore(self._target), meta=ocp.args.JsonRestore()
            ),
        )
        # Orbax gives containers back as plain tuples/dicts: rebuild the original pytree.
        state = jax.tree.unflatten(self._treedef, jax.tree.leaves(restored.state))
        return state, dict(restored.meta)

    def wait(self) -> None:
        """Block until every started save is committed to disk."""
        self._manager.wait_until_finished()

    def close(self) -> None:
        self._manager.close()


def load_trained_params(results_dir: Path, trial_id: str) -> Any:
    """A trial's parameters (numpy) from its job's latest checkpoint: the trained model
    once the trial is finished."""
    import numpy as np

    from hpbench.results.records import Damaged, read_status

    path = Path(results_dir) / trial_id / "status.json"
    status = read_status(path)
    if status is None or "job" not in status.provenance:
        raise Damaged(path, "no status naming the trial's job")
    job_dir = Path(results_dir) / "_jobs" / status.provenance["job"]
    manager = ocp.CheckpointManager(job_dir.absolute())
    try:
        step = manager.latest_step()
        if step is None:
            raise FileNotFoundError(f"no checkpoint of trial {trial_id} in {job_dir}")
        with warnings.catch_warnings():  # "sharding read from file": what we want here
            warnings.simplefilter("ignore", UserWarning)
            restored = manager.restore(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.PyTreeRestore(), meta=ocp.args.JsonRestore()
                ),
            )
    finally:
        manager.close()
    index = restored.meta["trials"].index(trial_id)
    return jax.tree.map(lambda x: np.asarray(x)[index], restored.state["params"])

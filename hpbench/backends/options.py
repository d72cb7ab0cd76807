"""Each backend's options (a runner profile's ``[pool]``, ``[ray]`` and ``[slurm]`` tables),
declared with :func:`hpbench.config.fields.setting` and registered with their backend
(:class:`hpbench.backends.registry.BackendEntry` ``options``), which is how
:mod:`hpbench.backends.profile` finds the table of each backend name. No third-party import:
a profile is checked without the backend's extra installed.
"""

from __future__ import annotations

import re
from typing import Any

import attrs

from hpbench.config.fields import Choice, Integer, Items, Kind, Named, Number, Text, setting
from hpbench.config.locate import Path_
from hpbench.config.values import Interval, Reporter

_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?$")
#: A resource request or memory size: any number >= 0.
_AMOUNT = Number(Interval(0.0, float("inf"), high_open=True))


@attrs.frozen
class SlurmTime(Kind):
    """Slurm's time limit, held as minutes: an integer, or ``"[D-]HH:MM[:SS]"``."""

    expected = 'minutes (e.g. 240) or "[D-]HH:MM[:SS]" (e.g. "04:00:00")'
    type_text = 'minutes, or `"[D-]HH:MM[:SS]"`'

    def read(self, reporter: Reporter, path: Path_, value: Any) -> int | None:
        if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
            return value
        match = _TIME.match(value) if isinstance(value, str) else None
        if match:
            days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
            total = days * 1440 + hours * 60 + minutes + (1 if seconds else 0)
            if total >= 1:
                return total
        reporter.fail(path, self.expected, value)
        return None

    def accepts(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1

    def schema(self) -> dict[str, Any]:
        minutes = {"type": "integer", "minimum": 1}
        return {"anyOf": [minutes, {"type": "string", "pattern": _TIME.pattern}]}


@attrs.frozen
class ClusterAddress(Text):
    """A Ray cluster's address; ``""`` (start a local cluster) is held as None."""

    @staticmethod
    def convert(value: Any) -> Any:
        return value or None


@attrs.frozen
class PoolOptions:
    """``[pool]``: ``workers`` processes on this machine (``device = "cpu"``), or one per
    group of ``devices_per_job`` GPUs from ``gpus`` (``device = "gpu"``)."""

    workers: int = setting(2, Integer(), "CPU worker processes")
    device: str = setting(
        "cpu",
        Choice(("cpu", "gpu")),
        "`cpu`: `workers` processes; `gpu`: one worker per GPU group",
    )
    gpus: tuple[int, ...] | None = setting(
        None,
        Items(
            Integer(0),
            "a non-empty list of GPU indices (e.g. [0, 1])",
            "list of integers >= 0",
            each=False,
        ),
        "GPU indices to use (default: what `nvidia-smi -L` lists)",
        default_text="all",
    )

    def check_with(self, profile: Any) -> list[tuple[str, str, Any]]:
        """(key, expected, found) of each setting that is valid alone but not with the
        ``profile``'s: fewer ``gpus`` than one job's ``devices_per_job``."""
        if self.gpus is not None and len(self.gpus) < profile.devices_per_job:
            expected = f"at least devices_per_job = {profile.devices_per_job} GPUs"
            return [("gpus", expected, list(self.gpus))]
        return []


@attrs.frozen
class RayOptions:
    """``[ray]``: the cluster (``address``; empty: start a local one) and each job's
    resource request."""

    address: str | None = setting(
        None,
        ClusterAddress(),
        '`""`: start a local cluster; `"auto"`; `"ray://head:10001"`',
        default_text='`""`',
    )
    num_cpus: float = setting(1.0, _AMOUNT, "CPUs each job requests")
    num_gpus: float = setting(0.0, _AMOUNT, "GPUs each job requests")
    resources: dict[str, float] = setting(
        attrs.Factory(dict),
        Named(_AMOUNT, "table of numbers >= 0"),
        "custom resources each job requests, e.g. `{ TPU = 4 }`",
        default_text="`{}`",
    )
    local_cpus: int | None = setting(
        None, Integer(), "CPUs of a local cluster started by hpbench", default_text="all"
    )


@attrs.frozen
class SlurmOptions:
    """``[slurm]``: a submitit job array (``executor = "local"`` runs it on this machine)."""

    executor: str = setting(
        "slurm",
        Choice(("slurm", "local")),
        '`"local"` runs the array as processes here (submitit)',
    )
    folder: str = setting("slurm_logs/%j", Text(), "submitit's logs and pickles")
    partition: str | None = setting(None, Text(), "as in `sbatch`", default_text="unset")
    time_minutes: int = setting(60, SlurmTime(), "per task", key="time")
    nodes: int = setting(1, Integer(), "nodes per task")
    gpus_per_node: int = setting(0, Integer(0), "GPUs per node")
    cpus_per_task: int = setting(1, Integer(), "CPUs per task")
    mem_gb: float | None = setting(None, _AMOUNT, "memory per node, GB", default_text="unset")
    array_parallelism: int = setting(64, Integer(), "array tasks running at once")
    account: str | None = setting(None, Text(), "as in `sbatch`", default_text="unset")
    qos: str | None = setting(None, Text(), "as in `sbatch`", default_text="unset")
    constraint: str | None = setting(None, Text(), "as in `sbatch`", default_text="unset")

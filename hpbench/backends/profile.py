"""Runner profiles (``runners/*.toml``): where and how jobs run, validated like specs.

A profile names a backend and its options; problems are reported like a spec's
(``file:line:col: key: expected X, found Y``) through :mod:`hpbench.config`, all problems of
a file at once, as a :class:`~hpbench.config.ConfigError`. No JAX import.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs

from hpbench.config.errors import ConfigError, Problem, display_path
from hpbench.config.source import Document, read_document
from hpbench.config.values import Interval, Reporter

BACKEND_NAMES = ("local", "pool", "ray", "slurm")
RUNNER_KEYS = (
    "backend",
    "description",
    "pack",
    "devices_per_job",
    "concurrency",
    "retries",
    "data_dirs",
)
POOL_KEYS = ("workers", "device", "gpus")
RAY_KEYS = ("address", "num_cpus", "num_gpus", "resources", "local_cpus")
SLURM_KEYS = (
    "executor",
    "folder",
    "partition",
    "time",
    "nodes",
    "gpus_per_node",
    "cpus_per_task",
    "mem_gb",
    "array_parallelism",
    "account",
    "qos",
    "constraint",
)
DISTRIBUTED_KEYS = ("processes", "coordinator_address")
SECTIONS = {
    "runner": RUNNER_KEYS,
    "pool": POOL_KEYS,
    "ray": RAY_KEYS,
    "slurm": SLURM_KEYS,
    "distributed": DISTRIBUTED_KEYS,
}
#: The profiles shipped with hpbench (in a source checkout).
SHIPPED = Path(__file__).resolve().parents[2] / "runners"
_TIME = re.compile(r"^(?:(\d+)-)?(\d+):(\d{2})(?::(\d{2}))?$")


@attrs.frozen
class PoolOptions:
    """``[pool]``: ``workers`` processes on this machine (``device = "cpu"``), or one per
    group of ``devices_per_job`` GPUs from ``gpus`` (``device = "gpu"``)."""

    workers: int = 2
    device: str = "cpu"
    gpus: tuple[int, ...] | None = None  # None: every GPU nvidia-smi lists


@attrs.frozen
class RayOptions:
    """``[ray]``: the cluster (``address``; empty: start a local one) and each job's
    resource request."""

    address: str | None = None
    num_cpus: float = 1.0
    num_gpus: float = 0.0
    resources: dict[str, float] = attrs.Factory(dict)  # custom ones, e.g. {"TPU" = 4}
    local_cpus: int | None = None  # CPUs of a local cluster started here (None: all)


@attrs.frozen
class SlurmOptions:
    """``[slurm]``: a submitit job array (``executor = "local"`` runs it on this machine)."""

    executor: str = "slurm"
    folder: str = "slurm_logs/%j"
    partition: str | None = None
    time_minutes: int = 60
    nodes: int = 1
    gpus_per_node: int = 0
    cpus_per_task: int = 1
    mem_gb: float | None = None
    array_parallelism: int = 64
    account: str | None = None
    qos: str | None = None
    constraint: str | None = None


@attrs.frozen
class DistributedOptions:
    """``[distributed]``: one job spans ``processes`` JAX processes (hosts), joined by
    ``jax.distributed.initialize`` (the coordinator is auto-detected on TPU VMs and Slurm)."""

    processes: int = 1
    coordinator_address: str | None = None


@attrs.frozen
class RunnerProfile:
    """A validated runner profile."""

    backend: str = "local"
    file: str | None = None
    description: str = ""
    pack: int | None = None  # trials per job; None: from device memory
    devices_per_job: int = 1
    concurrency: int | None = None  # jobs at once; None: as many as the backend has slots
    retries: int = 2  # reruns of a job whose worker died (each resumes from its checkpoint)
    #: Absolute directories a spec's ``data`` paths may lead into besides the repository
    #: (:func:`hpbench.spec.confine.check_data_paths`).
    data_dirs: tuple[str, ...] = ()
    pool: PoolOptions = PoolOptions()
    ray: RayOptions = RayOptions()
    slurm: SlurmOptions = SlurmOptions()
    distributed: DistributedOptions = DistributedOptions()


LOCAL = RunnerProfile()


def load_profile(path: Path | str) -> RunnerProfile:
    """Read and check the profile at ``path``; raises ConfigError listing every problem."""
    path = Path(path)
    if not path.is_file():
        message = f"expected an existing runner profile file, found no file {display_path(path)}"
        hint = "the shipped profiles are in runners/ (local, pool, ray, slurm, tpu_pod)"
        raise ConfigError([Problem(display_path(path), 1, 1, "", message, hint)])
    return check_profile(read_document(path))


def resolve_profile(name: str | None) -> RunnerProfile:
    """``--runner``: a profile file, or a bare name looked up in ``./runners/`` and then in
    the checkout's ``runners/`` (``pool`` -> ``runners/pool.toml``); None is local."""
    if name is None or name == "local" and not Path(name).is_file():
        return LOCAL
    path = Path(name)
    if not path.suffix and not path.is_file():
        candidates = [Path("runners") / f"{name}.toml", SHIPPED / f"{name}.toml"]
        path = next((c for c in candidates if c.is_file()), candidates[0])
    return load_profile(path)


def check_profile(doc: Document) -> RunnerProfile:
    """The :class:`RunnerProfile` of ``doc``; ConfigError listing every problem otherwise."""
    r = Reporter(doc)
    data = doc.data
    r.unknown_keys((), data, SECTIONS, "a runner profile section")
    runner = _section(r, data, "runner")
    backend = r.string(("runner", "backend"), runner.get("backend", "local"), BACKEND_NAMES)
    description = runner.get("description", "")
    r.string(("runner", "description"), description)
    profile = RunnerProfile(
        backend=backend or "local",
        file=doc.file,
        description=description if isinstance(description, str) else "",
        pack=_optional_int(r, ("runner", "pack"), runner),
        devices_per_job=_int(r, ("runner", "devices_per_job"), runner, 1),
        concurrency=_optional_int(r, ("runner", "concurrency"), runner),
        retries=_int(r, ("runner", "retries"), runner, 2, low=0),
        data_dirs=_data_dirs(r, runner),
        pool=_pool(r, _section(r, data, "pool")),
        ray=_ray(r, _section(r, data, "ray")),
        slurm=_slurm(r, _section(r, data, "slurm")),
        distributed=_distributed(r, _section(r, data, "distributed")),
    )
    _check_together(r, profile)
    if r.problems:
        raise ConfigError(r.problems)
    return profile


def _data_dirs(r: Reporter, runner: dict[str, Any]) -> tuple[str, ...]:
    """``[runner] data_dirs``: absolute directories (a relative one would depend on where
    hpbench runs)."""
    value = runner.get("data_dirs", [])
    if isinstance(value, list) and all(
        isinstance(d, str) and d and Path(d).is_absolute() and "\0" not in d for d in value
    ):
        return tuple(value)
    r.fail(("runner", "data_dirs"), 'a list of absolute directories (e.g. ["/data"])', value)
    return ()


def _check_together(r: Reporter, profile: RunnerProfile) -> None:
    """Settings that are valid alone but not with each other."""
    gpus = profile.pool.gpus
    if gpus is not None and len(gpus) < profile.devices_per_job:
        expected = f"at least devices_per_job = {profile.devices_per_job} GPUs"
        r.fail(("pool", "gpus"), expected, list(gpus))
    if profile.distributed.processes > 1 and profile.backend in ("pool", "ray"):
        expected = "1 with the pool and ray backends (multi-host jobs run under local or slurm)"
        r.fail(("distributed", "processes"), expected, profile.distributed.processes)


def _section(r: Reporter, data: dict[str, Any], name: str) -> dict[str, Any]:
    """The table ``[name]`` (empty when absent), with its unknown keys reported."""
    if name not in data:
        return {}
    table = r.table((name,), data[name])
    if table is None:
        return {}
    r.unknown_keys((name,), table, SECTIONS[name], f"a key of [{name}]")
    return table


def _int(r: Reporter, path: tuple, table: dict[str, Any], default: int, low: int = 1) -> int:
    value = r.integer(path, table[path[-1]], low) if path[-1] in table else default
    return default if value is None else value


def _optional_int(r: Reporter, path: tuple, table: dict[str, Any], low: int = 1) -> int | None:
    return r.integer(path, table[path[-1]], low) if path[-1] in table else None


def _optional_string(r: Reporter, path: tuple, table: dict[str, Any]) -> str | None:
    return r.string(path, table[path[-1]]) if path[-1] in table else None


def _number(r: Reporter, path: tuple, table: dict[str, Any], default: float) -> float:
    if path[-1] not in table:
        return default
    value = r.number(path, table[path[-1]], Interval(0.0, float("inf"), high_open=True))
    return default if value is None else value


def _pool(r: Reporter, table: dict[str, Any]) -> PoolOptions:
    device = r.string(("pool", "device"), table.get("device", "cpu"), ("cpu", "gpu")) or "cpu"
    gpus = None
    if "gpus" in table:
        value = table["gpus"]
        if (
            isinstance(value, list)
            and value
            and all(isinstance(g, int) and not isinstance(g, bool) and g >= 0 for g in value)
        ):
            gpus = tuple(value)
        else:
            r.fail(("pool", "gpus"), "a non-empty list of GPU indices (e.g. [0, 1])", value)
    return PoolOptions(workers=_int(r, ("pool", "workers"), table, 2), device=device, gpus=gpus)


def _ray(r: Reporter, table: dict[str, Any]) -> RayOptions:
    resources: dict[str, float] = {}
    if "resources" in table and (found := r.table(("ray", "resources"), table["resources"])):
        for name in found:
            resources[name] = _number(r, ("ray", "resources", name), found, 0.0)
    address = _optional_string(r, ("ray", "address"), table)
    return RayOptions(
        address=address or None,
        num_cpus=_number(r, ("ray", "num_cpus"), table, 1.0),
        num_gpus=_number(r, ("ray", "num_gpus"), table, 0.0),
        resources=resources,
        local_cpus=_optional_int(r, ("ray", "local_cpus"), table),
    )


def _slurm(r: Reporter, table: dict[str, Any]) -> SlurmOptions:
    s = SlurmOptions()
    executor = r.string(
        ("slurm", "executor"), table.get("executor", s.executor), ("slurm", "local")
    )
    mem_gb = _number(r, ("slurm", "mem_gb"), table, 0.0) if "mem_gb" in table else None
    return SlurmOptions(
        executor=executor or s.executor,
        folder=_optional_string(r, ("slurm", "folder"), table) or s.folder,
        partition=_optional_string(r, ("slurm", "partition"), table),
        time_minutes=_time(r, table, s.time_minutes),
        nodes=_int(r, ("slurm", "nodes"), table, s.nodes),
        gpus_per_node=_int(r, ("slurm", "gpus_per_node"), table, 0, low=0),
        cpus_per_task=_int(r, ("slurm", "cpus_per_task"), table, s.cpus_per_task),
        mem_gb=mem_gb,
        array_parallelism=_int(r, ("slurm", "array_parallelism"), table, s.array_parallelism),
        account=_optional_string(r, ("slurm", "account"), table),
        qos=_optional_string(r, ("slurm", "qos"), table),
        constraint=_optional_string(r, ("slurm", "constraint"), table),
    )


def _time(r: Reporter, table: dict[str, Any], default: int) -> int:
    """Slurm's time limit: minutes as an integer, or ``"[D-]HH:MM[:SS]"``."""
    if "time" not in table:
        return default
    value = table["time"]
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    match = _TIME.match(value) if isinstance(value, str) else None
    if match:
        days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
        total = days * 1440 + hours * 60 + minutes + (1 if seconds else 0)
        if total >= 1:
            return total
    r.fail(("slurm", "time"), 'minutes (e.g. 240) or "[D-]HH:MM[:SS]" (e.g. "04:00:00")', value)
    return default


def _distributed(r: Reporter, table: dict[str, Any]) -> DistributedOptions:
    address = _optional_string(r, ("distributed", "coordinator_address"), table)
    if address is not None and not re.fullmatch(r"[^\s:]+:\d+", address):
        r.fail(("distributed", "coordinator_address"), 'host:port (e.g. "10.0.0.1:1234")', address)
        address = None
    return DistributedOptions(
        processes=_int(r, ("distributed", "processes"), table, 1), coordinator_address=address
    )


def profile_schema() -> dict[str, Any]:
    """A draft-07 JSON Schema of runner profiles (for editors and taplo)."""
    positive = {"type": "number", "minimum": 0}
    count = {"type": "integer", "minimum": 1}
    strings = {key: {"type": "string"} for key in ("partition", "account", "qos", "constraint")}
    sections = {
        "runner": {
            "backend": {"enum": list(BACKEND_NAMES)},
            "description": {"type": "string"},
            "pack": count,
            "devices_per_job": count,
            "concurrency": count,
            "retries": {"type": "integer", "minimum": 0},
            "data_dirs": {"type": "array", "items": {"type": "string", "pattern": "^/"}},
        },
        "pool": {
            "workers": count,
            "device": {"enum": ["cpu", "gpu"]},
            "gpus": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 0}},
        },
        "ray": {
            "address": {"type": "string"},
            "num_cpus": positive,
            "num_gpus": positive,
            "resources": {"type": "object", "additionalProperties": positive},
            "local_cpus": count,
        },
        "slurm": {
            "executor": {"enum": ["slurm", "local"]},
            "folder": {"type": "string"},
            "time": {"anyOf": [count, {"type": "string", "pattern": _TIME.pattern}]},
            "nodes": count,
            "gpus_per_node": {"type": "integer", "minimum": 0},
            "cpus_per_task": count,
            "mem_gb": positive,
            "array_parallelism": count,
            **strings,
        },
        "distributed": {
            "processes": count,
            "coordinator_address": {"type": "string", "pattern": r"^[^\s:]+:\d+$"},
        },
    }
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hpbench runner profile",
        "description": "Where and how jobs run (docs/running.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {"type": "object", "additionalProperties": False, "properties": keys}
            for name, keys in sections.items()
        },
    }

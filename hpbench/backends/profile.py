"""Runner profiles (``runners/*.toml``): where and how jobs run, validated like specs.

A profile names a backend and its options, each key declared once on the models below
(:func:`hpbench.config.fields.setting`): their validators, the checker, the JSON Schema
(``hpbench schema runner``) and the table in docs/running.md derive from the declarations.
Problems are reported like a spec's
(``file:line:col: key: expected X, found Y``) through :mod:`hpbench.config`, all problems of
a file at once, as a :class:`~hpbench.config.ConfigError`. No JAX import.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import attrs

from hpbench.backends.registry import BACKENDS
from hpbench.config.errors import ConfigError, Problem, display_path
from hpbench.config.fields import (
    DOCS_HEADER,
    Choice,
    Integer,
    Items,
    Kind,
    Named,
    Number,
    Text,
    docs_rows,
    read_settings,
    setting,
    settings,
    settings_schema,
)
from hpbench.config.locate import Path_
from hpbench.config.source import Document, read_document
from hpbench.config.values import Interval, Reporter

BACKEND_NAMES = tuple(BACKENDS)
#: The profiles shipped with hpbench (in a source checkout).
SHIPPED = Path(__file__).resolve().parents[2] / "runners"
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
class AbsolutePath(Kind):
    """An absolute path (a relative one would depend on where hpbench runs)."""

    expected = "an absolute path"
    type_text = "absolute path"

    def accepts(self, value: Any) -> bool:
        return (
            isinstance(value, str)
            and bool(value)
            and Path(value).is_absolute()
            and ("\0" not in value)
        )

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "pattern": "^/"}


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


@attrs.frozen
class RayOptions:
    """``[ray]``: the cluster (``address``; empty: start a local one) and each job's
    resource request."""

    address: str | None = setting(
        None,
        Text(),
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


@attrs.frozen
class DistributedOptions:
    """``[distributed]``: one job spans ``processes`` JAX processes (hosts), joined by
    ``jax.distributed.initialize`` (the coordinator is auto-detected on TPU VMs and Slurm)."""

    processes: int = setting(
        1, Integer(), 'JAX processes (hosts) one job spans; see "Multi-host jobs"'
    )
    coordinator_address: str | None = setting(
        None,
        Text(r"[^\s:]+:\d+", 'host:port (e.g. "10.0.0.1:1234")', "`host:port`"),
        "auto-detected on TPU VMs and Slurm",
        default_text="auto",
    )


@attrs.frozen
class RunnerProfile:
    """A validated runner profile."""

    backend: str = setting("local", Choice(BACKEND_NAMES), "`local`, `pool`, `ray` or `slurm`")
    file: str | None = None
    description: str = setting("", Text(), "free text")
    pack: int | None = setting(
        None,
        Integer(),
        "trials per job (one compiled program); `--pack` overrides",
        default_text="from memory",
    )
    devices_per_job: int = setting(1, Integer(), "GPUs each pool worker sees")
    concurrency: int | None = setting(
        None,
        Integer(),
        "at most this many jobs at once (pool workers, Ray tasks)",
        default_text="all slots",
    )
    retries: int = setting(
        2,
        Integer(0),
        "reruns of a job whose worker, node or task died (each resumes from its checkpoint)",
    )
    #: Absolute directories a spec's ``data`` paths may lead into besides the repository
    #: (:func:`hpbench.spec.confine.check_data_paths`).
    data_dirs: tuple[str, ...] = setting(
        (),
        Items(
            AbsolutePath(),
            'a list of absolute directories (e.g. ["/data"])',
            "list of absolute paths",
            min_items=0,
            each=False,
        ),
        "absolute directories a spec's `data` paths may lead into besides the spec's "
        'repository (and `$HPBENCH_DATA_DIR`): `data_dirs = ["/data/algoperf"]`',
    )
    pool: PoolOptions = PoolOptions()
    ray: RayOptions = RayOptions()
    slurm: SlurmOptions = SlurmOptions()
    distributed: DistributedOptions = DistributedOptions()


#: The tables of a profile: the model each fills (``[runner]``: the profile's own keys).
SECTIONS: dict[str, type] = {
    "runner": RunnerProfile,
    "pool": PoolOptions,
    "ray": RayOptions,
    "slurm": SlurmOptions,
    "distributed": DistributedOptions,
}


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
    r.unknown_keys((), doc.data, SECTIONS, "a runner profile section")
    values = {name: _section(r, doc.data, name) for name in SECTIONS}
    ray = values["ray"]
    if "address" in ray:
        ray["address"] = ray["address"] or None  # "": start a local cluster
    profile = RunnerProfile(
        file=doc.file,
        **values["runner"],
        pool=PoolOptions(**values["pool"]),
        ray=RayOptions(**ray),
        slurm=SlurmOptions(**values["slurm"]),
        distributed=DistributedOptions(**values["distributed"]),
    )
    _check_together(r, profile)
    if r.problems:
        raise ConfigError(r.problems)
    return profile


def _check_together(r: Reporter, profile: RunnerProfile) -> None:
    """Settings that are valid alone but not with each other."""
    gpus = profile.pool.gpus
    if gpus is not None and len(gpus) < profile.devices_per_job:
        expected = f"at least devices_per_job = {profile.devices_per_job} GPUs"
        r.fail(("pool", "gpus"), expected, list(gpus))
    if profile.distributed.processes > 1 and BACKENDS[profile.backend].multi_host is None:
        single = " and ".join(n for n, b in BACKENDS.items() if b.multi_host is None)
        multi = " or ".join(n for n, b in BACKENDS.items() if b.multi_host is not None)
        expected = f"1 with the {single} backends (multi-host jobs run under {multi})"
        r.fail(("distributed", "processes"), expected, profile.distributed.processes)


def _section(r: Reporter, data: dict[str, Any], name: str) -> dict[str, Any]:
    """The valid values of the table ``[name]`` by attribute (empty when absent), its
    problems reported."""
    if name not in data:
        return {}
    table = r.table((name,), data[name])
    if table is None:
        return {}
    return read_settings(r, (name,), table, settings(SECTIONS[name]), f"a key of [{name}]")


def profile_schema() -> dict[str, Any]:
    """A draft-07 JSON Schema of runner profiles (for editors and taplo), from the models'
    declarations."""
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "hpbench runner profile",
        "description": "Where and how jobs run (docs/running.md).",
        "type": "object",
        "additionalProperties": False,
        "properties": {
            name: {
                "type": "object",
                "additionalProperties": False,
                "properties": settings_schema(model),
            }
            for name, model in SECTIONS.items()
        },
    }


def profile_docs_table() -> str:
    """The table of every profile key in docs/running.md, from the models' declarations."""
    rows = [row for name, model in SECTIONS.items() for row in docs_rows(model, section=name)]
    return "\n".join([*DOCS_HEADER, *rows])

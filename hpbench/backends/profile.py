"""Runner profiles (``runners/*.toml``): where and how jobs run, validated like specs.

A profile names a backend and its options, each key declared once
(:func:`hpbench.config.fields.setting`): the profile's own keys and ``[distributed]`` on the
models below, each backend's table on the options type its registry entry names
(:mod:`hpbench.backends.options`). Their validators, the checker, the JSON Schema (``hpbench
schema runner``) and the table in docs/running.md derive from the declarations.
Problems are reported like a spec's
(``file:line:col: key: expected X, found Y``) through :mod:`hpbench.config`, all problems of
a file at once, as a :class:`~hpbench.config.ConfigError`. No JAX import.
"""

from __future__ import annotations

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
    Text,
    docs_rows,
    read_settings,
    setting,
    settings,
    settings_schema,
    table_schema,
)
from hpbench.config.source import Document, read_document
from hpbench.config.values import Reporter

BACKEND_NAMES = tuple(BACKENDS)
#: The profiles shipped with hpbench (in a source checkout).
SHIPPED = Path(__file__).resolve().parents[2] / "runners"


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


def backend_options(given: dict[str, Any] | None = None) -> dict[str, Any]:
    """The options of every registered backend that takes some: ``given``'s, else the
    defaults of its registered type; ValueError for a name or a type not registered."""
    given = dict(given or {})
    out = {}
    for name, entry in BACKENDS.items():
        if entry.options is None:
            continue
        value = given.pop(name, None)
        if value is not None and not isinstance(value, entry.options):
            raise ValueError(
                f"RunnerProfile.options[{name!r}]: expected {entry.options.__name__}, "
                f"found {type(value).__name__}"
            )
        out[name] = entry.options() if value is None else value
    if given:
        known = ", ".join(n for n, e in BACKENDS.items() if e.options is not None)
        raise ValueError(
            f"RunnerProfile.options: no registered backend takes options named "
            f"{', '.join(map(repr, given))} (known: {known})"
        )
    return out


@attrs.frozen
class RunnerProfile:
    """A validated runner profile."""

    backend: str = setting(
        "local",
        Choice(BACKEND_NAMES),
        ", ".join(f"`{n}`" for n in BACKEND_NAMES[:-1]) + f" or `{BACKEND_NAMES[-1]}`",
    )
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
    #: Each backend's options by its name (its table), defaults where not given: the type
    #: its registry entry names (:attr:`hpbench.backends.registry.BackendEntry.options`).
    options: dict[str, Any] = attrs.field(factory=dict, converter=backend_options)
    distributed: DistributedOptions = DistributedOptions()


def sections() -> dict[str, type]:
    """The tables of a profile and the model each fills: ``[runner]`` the profile's own
    keys, then each registered backend's options, then ``[distributed]``."""
    backends = {name: e.options for name, e in BACKENDS.items() if e.options is not None}
    return {"runner": RunnerProfile, **backends, "distributed": DistributedOptions}


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
    tables = sections()
    r.unknown_keys((), doc.data, tables, "a runner profile section")
    values = {name: _section(r, doc.data, name, model) for name, model in tables.items()}
    own = ("runner", "distributed")
    profile = RunnerProfile(
        file=doc.file,
        **values["runner"],
        options={name: model(**values[name]) for name, model in tables.items() if name not in own},
        distributed=DistributedOptions(**values["distributed"]),
    )
    _check_together(r, profile)
    if r.problems:
        raise ConfigError(r.problems)
    return profile


def _check_together(r: Reporter, profile: RunnerProfile) -> None:
    """Settings that are valid alone but not with each other (a backend's options check
    theirs against the profile: ``check_with``)."""
    for name, options in profile.options.items():
        check = getattr(options, "check_with", None)
        if check is not None:
            for key, expected, found in check(profile):
                r.fail((name, key), expected, found)
    if profile.distributed.processes > 1 and BACKENDS[profile.backend].multi_host is None:
        single = " and ".join(n for n, b in BACKENDS.items() if b.multi_host is None)
        multi = " or ".join(n for n, b in BACKENDS.items() if b.multi_host is not None)
        expected = f"1 with the {single} backends (multi-host jobs run under {multi})"
        r.fail(("distributed", "processes"), expected, profile.distributed.processes)


def _section(r: Reporter, data: dict[str, Any], name: str, model: type) -> dict[str, Any]:
    """The valid values of the table ``[name]`` (of ``model``) by attribute (empty when
    absent), its problems reported."""
    if name not in data:
        return {}
    table = r.table((name,), data[name])
    if table is None:
        return {}
    return read_settings(r, (name,), table, settings(model), f"a key of [{name}]")


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
            name: table_schema(settings_schema(model)) for name, model in sections().items()
        },
    }


def profile_docs_table() -> str:
    """The table of every profile key in docs/running.md, from the models' declarations."""
    rows = [row for name, model in sections().items() for row in docs_rows(model, section=name)]
    return "\n".join([*DOCS_HEADER, *rows])

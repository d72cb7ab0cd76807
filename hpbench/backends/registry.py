"""The backend registry: one entry per backend name, each loaded on first use.

A backend is anything with :meth:`Backend.run_jobs`; each registered one is a module of
this package (a module satisfies a protocol through its attributes, PEP 544), imported
only when a profile names it, so the ``ray`` and ``slurm`` backends need their extras only
when used. Runner profiles accept exactly the registered names. No JAX import.
"""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

import attrs

from hpbench.backends.options import PoolOptions, RayOptions, SlurmOptions

if TYPE_CHECKING:
    from hpbench.backends.profile import RunnerProfile
    from hpbench.train.job import Job
    from hpbench.train.run import Progress, TrialOutcome

#: How a backend runs a profile of several processes (``[distributed] processes > 1``):
#: "lockstep" - every process of the launch runs this same run, joined by
#: ``jax.distributed`` (:mod:`hpbench.backends.multihost`); "tasks" - the backend launches
#: each job as a task of that many processes.
MultiHost = Literal["lockstep", "tasks"]


class Backend(Protocol):
    """Where jobs run: each job through :func:`hpbench.train.run_job`, as the profile says."""

    def run_jobs(
        self,
        jobs: list[Job],
        results_dir: Path,
        profile: RunnerProfile,
        progress: Progress | None = None,
    ) -> list[TrialOutcome]:
        """Run ``jobs``; one outcome per trial, in job order."""
        ...


class BackendUnavailable(RuntimeError):
    """A registered backend whose third-party package is not installed."""


@attrs.frozen
class BackendEntry:
    """A backend's name, the module that implements :class:`Backend`, how it runs jobs
    larger than one host (None: it does not), the extra (``pip install 'hpbench[extra]'``)
    that brings the package it needs (``requires``), and ``options``: the model of its
    runner profile table ``[name]`` (:mod:`hpbench.backends.options`; None: it takes none),
    which the profile reads by name."""

    name: str
    module: str
    multi_host: MultiHost | None = None
    extra: str | None = None
    requires: str | None = None
    options: type | None = None

    def load(self) -> Backend:
        """The backend, imported now; :class:`BackendUnavailable` when its extra is missing."""
        if self.requires is not None and importlib.util.find_spec(self.requires) is None:
            raise BackendUnavailable(
                f"the {self.name} backend needs {self.requires}, which is not installed: "
                f"pip install 'hpbench[{self.extra}]'"
            )
        return importlib.import_module(self.module)


#: Every backend by name, in registration order.
BACKENDS: dict[str, BackendEntry] = {}


def register(entry: BackendEntry) -> BackendEntry:
    """Add ``entry`` to :data:`BACKENDS`; a name registered twice is an error."""
    if entry.name in BACKENDS:
        raise ValueError(f"backend {entry.name!r} is registered twice")
    BACKENDS[entry.name] = entry
    return entry


def runs_in_lockstep(profile: RunnerProfile) -> bool:
    """Whether this process is one of several that run the profile's jobs together."""
    return profile.distributed.processes > 1 and BACKENDS[profile.backend].multi_host == "lockstep"


def get_backend(name: str) -> Backend:
    """The registered backend ``name``, loaded; KeyError lists the known names."""
    try:
        entry = BACKENDS[name]
    except KeyError:
        raise KeyError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}") from None
    return entry.load()


register(BackendEntry("local", "hpbench.backends.local", multi_host="lockstep"))
register(BackendEntry("pool", "hpbench.backends.pool", options=PoolOptions))
register(
    BackendEntry("ray", "hpbench.backends.ray", extra="ray", requires="ray", options=RayOptions)
)
register(
    BackendEntry(
        "slurm",
        "hpbench.backends.slurm",
        multi_host="tasks",
        extra="slurm",
        requires="submitit",
        options=SlurmOptions,
    )
)

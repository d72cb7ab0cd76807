"""Where a report's numbers come from: versions, commit, spec hashes, devices, date.

Everything is read without importing JAX (package metadata, ``git``, the trials'
``status.json`` provenance), so rendering a report stays fast and works without a device.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import subprocess
from collections.abc import Iterable, Sequence
from importlib import metadata
from pathlib import Path

import attrs

from hpbench import machine
from hpbench.plan import Plan
from hpbench.results.records import TrialResult

#: Keys of ``Status.provenance`` that name the device a trial trained on.
DEVICE_KEYS = ("device_kind", "device", "devices")


@attrs.frozen
class SpecProvenance:
    """One spec of a report: its path, the hash of its file and of its compiled plan."""

    label: str
    path: str
    file_sha256: str  # first 12 hex digits of the file's bytes
    plan_sha256: str  # first 12 hex digits of its sorted trial ids: what was trained


@attrs.frozen
class Provenance:
    """What produced a report."""

    hpbench_version: str
    jax_version: str
    git_commit: str
    devices: tuple[str, ...]
    trained_with: tuple[str, ...]  # hpbench and JAX versions the trials recorded
    specs: tuple[SpecProvenance, ...]
    date: str  # ISO 8601, UTC, to the second
    rendered_on: str = "unknown"  # the rendering machine, shown when no trial names devices
    #: the machines the trials recorded (``hpbench.machine.describe``; older trials did not)
    hosts: tuple[str, ...] = ()


def package_version(name: str) -> str:
    """The installed version of distribution ``name``, read from its metadata (no import)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def git_commit(directory: Path | None = None) -> str:
    """The checkout's commit (with ``-dirty`` if it has uncommitted changes), or "unknown"."""
    try:
        head = _git(directory, "rev-parse", "--short=12", "HEAD")
        dirty = _git(directory, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}-dirty" if dirty else head


def _git(directory: Path | None, *args: str) -> str:
    """The stripped output of ``git args`` run in ``directory``; raises if git fails."""
    return subprocess.run(
        ["git", *args], cwd=directory, capture_output=True, text=True, timeout=10, check=True
    ).stdout.strip()


def spec_provenance(plan: Plan, trial_ids: Sequence[str]) -> SpecProvenance:
    """Hashes of a spec file (``plan.source``) and of the trials it compiles to."""
    ids = "\n".join(sorted(trial_ids))
    source = Path(plan.source)
    return SpecProvenance(
        label=plan.name,
        path=plan.source,
        file_sha256=hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        if source.is_file()
        else "n/a",
        plan_sha256=hashlib.sha256(ids.encode()).hexdigest()[:12],
    )


def devices_of(results: Iterable[TrialResult]) -> tuple[str, ...]:
    """The distinct device kinds recorded in the trials' ``status.json`` provenance."""
    found = {
        str(result.status.provenance[key])
        for result in results
        for key in DEVICE_KEYS
        if key in result.status.provenance
    }
    return tuple(sorted(found))


def hosts_of(results: Iterable[TrialResult]) -> tuple[str, ...]:
    """The distinct machines recorded in the trials' ``status.json`` provenance."""
    found = {str(r.status.provenance["host"]) for r in results if "host" in r.status.provenance}
    return tuple(sorted(found))


def versions_of(results: Iterable[TrialResult]) -> tuple[str, ...]:
    """The distinct "hpbench X, jax Y" the trials recorded when they trained."""
    recorded = [r.status.provenance for r in results]
    found = {
        f"hpbench {p.get('hpbench', '?')}, jax {p.get('jax', '?')}"
        for p in recorded
        if "hpbench" in p or "jax" in p
    }
    return tuple(sorted(found))


def collect(
    specs: Sequence[SpecProvenance], results: Iterable[TrialResult], now: dt.datetime | None = None
) -> Provenance:
    """The provenance of a report over ``specs`` and their ``results``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    results = list(results)
    return Provenance(
        hpbench_version=package_version("hpbench"),
        jax_version=package_version("jax"),
        git_commit=git_commit(),
        devices=devices_of(results),
        trained_with=versions_of(results),
        specs=tuple(specs),
        date=now.replace(microsecond=0).isoformat(),
        rendered_on=machine.describe(),
        hosts=hosts_of(results),
    )

"""Results archives: the finished trials of specs as one ``.tar.xz``, so reports can be
re-rendered without retraining, and its restore into a results directory.

An export holds ``<trial-id>/{metrics.jsonl,status.json,trial.json}`` of every finished,
verified trial (never checkpoints), with sorted names, fixed owners, modes and mtimes:
exporting the same results gives the same bytes. An import treats the archive as untrusted
(archives come with pull requests): every member must be a regular file with one of those
names and a bounded size, each trial must read back finished and verified by
:func:`~hpbench.results.records.read_trial` (row count and SHA-256 in ``status.json``),
and nothing is written unless all of it passes. A trial already in the results directory is
kept: skipped when its files are the archive's, reported as a conflict otherwise.
No JAX import.
"""

from __future__ import annotations

import io
import lzma
import re
import shutil
import tarfile
import tempfile
from collections.abc import Iterable
from pathlib import Path

import attrs

from hpbench.plan import Trial
from hpbench.results.records import (
    Damaged,
    atomic_open,
    read_metrics_bytes,
    read_planned_trial,
    read_trial,
)

#: The files of a trial an archive carries (the integrity reader needs all three).
FILES = ("metrics.jsonl", "status.json", "trial.json")
#: Largest member an import accepts (a metrics.jsonl of 100k evaluations is ~20 MB).
MAX_MEMBER_BYTES = 64 << 20
#: Largest total an import unpacks, and most members it reads.
MAX_TOTAL_BYTES = 1 << 30
MAX_MEMBERS = 300_000
#: The mtime of every member: 2000-01-01T00:00:00Z, so the bytes do not depend on when.
MTIME = 946684800
_TRIAL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}\Z")


class ArchiveError(ValueError):
    """An archive that cannot be exported or imported: what is wrong, and where."""


@attrs.frozen
class Exported:
    """What an export wrote (trial ids) and left out (trial id -> why)."""

    trials: tuple[str, ...]
    left_out: dict[str, str]


@attrs.frozen
class Imported:
    """What an import restored, skipped as already there, and kept (trial id -> why)."""

    restored: tuple[str, ...]
    skipped: tuple[str, ...]
    conflicts: dict[str, str]


def export_results(results_dir: Path, trials: Iterable[Trial], out: Path) -> Exported:
    """Write the finished, verified ``trials`` found under ``results_dir`` to ``out``
    (``.tar.xz``); the rest are listed in ``left_out`` with the reason."""
    chosen, left_out = [], {}
    for trial in {t.id: t for t in trials}.values():
        result = read_planned_trial(Path(results_dir), trial)
        if result is None:
            left_out[trial.id] = "no results"
        elif result.damaged:
            left_out[trial.id] = f"corrupt ({result.status.reason})"
        elif not result.status.finished:
            left_out[trial.id] = f"not finished ({result.status.state})"
        elif not result.verified:
            left_out[trial.id] = "status.json has no checksum (written before checksums)"
        else:
            chosen.append(trial.id)
    chosen.sort()
    with atomic_open(Path(out), "wb") as f, tarfile.open(fileobj=f, mode="w:xz") as tar:
        for trial_id in chosen:
            for name in FILES:
                data = _trial_file(Path(results_dir) / trial_id / name)
                tar.addfile(_member(f"{trial_id}/{name}", len(data)), io.BytesIO(data))
    return Exported(tuple(chosen), left_out)


def _member(name: str, size: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, MTIME, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def read_archive(path: Path) -> dict[str, dict[str, bytes]]:
    """The trials of an archive (trial id -> file name -> content), every member checked
    before it is read; :class:`ArchiveError` names the first that is not allowed."""
    trials: dict[str, dict[str, bytes]] = {}
    total = 0
    try:
        with tarfile.open(path, mode="r:xz") as tar:
            for count, member in enumerate(tar, 1):  # stops at the first bad header
                trial_id, name = _check_member(member, path)
                total += member.size
                if count > MAX_MEMBERS or total > MAX_TOTAL_BYTES:
                    raise ArchiveError(
                        f"{path}: more than {MAX_MEMBERS} members or {MAX_TOTAL_BYTES} bytes"
                    )
                if name in trials.setdefault(trial_id, {}):
                    raise ArchiveError(f"{path}: {member.name!r} stands twice")
                trials[trial_id][name] = tar.extractfile(member).read()
    except (tarfile.TarError, lzma.LZMAError, EOFError) as error:
        raise ArchiveError(f"{path}: not a readable .tar.xz ({error})") from None
    except OSError as error:
        raise ArchiveError(f"{path}: {error.strerror}") from None
    for trial_id, files in trials.items():
        if missing := [name for name in FILES if name not in files]:
            raise ArchiveError(f"{path}: trial {trial_id} has no {', '.join(missing)}")
    return trials


def _check_member(member: tarfile.TarInfo, path: Path) -> tuple[str, str]:
    """(trial id, file name) of a member that is a regular file named ``<id>/<file>``."""
    where = f"{path}: member {member.name!r}"
    if not member.isreg():
        raise ArchiveError(f"{where} is not a regular file (links and devices are refused)")
    parts = member.name.split("/")
    if len(parts) != 2 or not _TRIAL_ID.match(parts[0]) or parts[1] not in FILES:
        raise ArchiveError(
            f"{where}: expected <trial-id>/<{'|'.join(FILES)}> (no absolute paths, '..' "
            "or other files)"
        )
    if member.size > MAX_MEMBER_BYTES:
        raise ArchiveError(f"{where}: {member.size} bytes, over the {MAX_MEMBER_BYTES} allowed")
    return parts[0], parts[1]


def import_results(path: Path, results_dir: Path) -> Imported:
    """Restore the trials of the archive at ``path`` into ``results_dir``: all of them
    checked first (:class:`ArchiveError`, nothing written, when any fails), then each moved
    into place unless a trial of that id is already there."""
    trials = read_archive(Path(path))
    results_dir = Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=results_dir, prefix=".import-"))
    restored, skipped, conflicts = [], [], {}
    try:
        for trial_id, files in sorted(trials.items()):
            _stage(staging / trial_id, files, path)
        for trial_id, files in sorted(trials.items()):
            target = results_dir / trial_id
            if target.exists():
                if all(_same(target / name, data) for name, data in files.items()):
                    skipped.append(trial_id)
                else:
                    conflicts[trial_id] = f"{target} holds other results (kept)"
                continue
            try:
                (staging / trial_id).rename(target)
            except OSError as error:  # created meanwhile by another process
                conflicts[trial_id] = f"{target}: {error.strerror} (kept)"
                continue
            restored.append(trial_id)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Imported(tuple(restored), tuple(skipped), conflicts)


def _stage(directory: Path, files: dict[str, bytes], path: Path) -> None:
    """Write one trial's files and check them with the store's reader."""
    directory.mkdir()
    for name, data in files.items():
        (directory / name).write_bytes(data)
    where = f"{path}: trial {directory.name}"
    try:
        result = read_trial(directory)
    except Damaged as damage:
        raise ArchiveError(f"{where}: {damage}") from None
    if result.damaged:
        raise ArchiveError(f"{where}: {result.status.reason}")
    if not result.status.finished or not result.verified:
        raise ArchiveError(f"{where}: not a finished trial with a checksummed status.json")


def _trial_file(path: Path) -> bytes:
    """The bytes of a trial's file, ``metrics.jsonl`` as the store's reader reads it (empty
    when a trial diverged before its first evaluation wrote one)."""
    if path.name == "metrics.jsonl":
        return read_metrics_bytes(path.parent)
    return path.read_bytes()


def _same(path: Path, data: bytes) -> bool:
    try:
        return _trial_file(path) == data
    except OSError:
        return False

"""Where a spec's ``data`` paths may lead: well formed, and inside the spec's repository, a
runner profile's data directories or ``$HPBENCH_DATA_DIR`` (the generic rules, plain names
and ``extends`` confinement, are :mod:`hpbench.config.confine`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from hpbench.config.confine import inside, repository_root
from hpbench.config.errors import ConfigError, Problem, show

if TYPE_CHECKING:
    from hpbench.spec.model import Spec


def is_data_path(value: str) -> bool:
    """Whether a spec's ``data`` path is well formed: absolute, or relative to the working
    directory without ``..`` (so it cannot climb out of it), and free of control characters.
    """
    if not value or any(ord(c) < 32 or ord(c) == 127 for c in value):
        return False
    path = PurePosixPath(value)
    return path.is_absolute() or ".." not in path.parts


def data_roots(spec_file: str | Path, data_dirs: Sequence[str | Path] = ()) -> tuple[Path, ...]:
    """Where a spec's ``data`` paths may lead: its repository, the data directories a
    runner profile names (``[runner] data_dirs``) and ``$HPBENCH_DATA_DIR`` if set."""
    env = os.environ.get("HPBENCH_DATA_DIR")
    roots = [repository_root(Path(spec_file).resolve().parent), *map(Path, data_dirs)]
    return tuple(roots + ([Path(env)] if env else []))


def check_data_paths(spec: Spec, data_dirs: Sequence[str | Path], hint: str) -> None:
    """ConfigError unless every ``data`` path of ``spec``, resolved from the working directory
    (links followed, nothing opened), lies in :func:`data_roots`; ``hint`` says how to allow
    a directory. Called by every command that trains, before any job starts."""
    roots = data_roots(spec.file, data_dirs)
    problems = []
    for run in spec.workloads:
        if run.data is None or inside(Path(run.data), roots) is not None:
            continue
        key = ("workloads", run.name, "variants", run.variant, "data")
        if spec.document is None or key not in spec.document.where:
            key = ("workloads", run.name, "data")
        message = (
            "expected a data path inside the repository or an allowed data directory, "
            f"found {show(run.data)}, which leads outside them"
        )
        if spec.document is not None:
            problems.append(spec.document.problem(key, message, hint))
        else:
            problems.append(Problem(spec.file, 1, 1, ".".join(key), message, hint))
    if problems:
        raise ConfigError(problems)

"""This machine in a few words, for provenance: its processor model, CPU count, OS and
architecture, without the host name. Trials record it (``Status.provenance["host"]``) because
at mini scale training is chaotic: another processor's floating point moves a trial's curve
(docs/determinism.md), so a number is cited with the machine it came from."""

from __future__ import annotations

import functools
import os
import platform
from pathlib import Path

CPUINFO = Path("/proc/cpuinfo")


def processor_model(cpuinfo: Path = CPUINFO) -> str:
    """The processor's model name (Linux: /proc/cpuinfo's ``model name``), else what
    :func:`platform.processor` says, else the architecture."""
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and value.strip():
                return value.strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@functools.cache
def describe() -> str:
    """``"Intel(R) Xeon(R) Processor, 2 CPUs, Linux x86_64"``."""
    return f"{processor_model()}, {os.cpu_count()} CPUs, {platform.system()} {platform.machine()}"

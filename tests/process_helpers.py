"""Tests' JAX processes joined by ``jax.distributed`` on this machine: hosts of a multihost
run, simulated with CPU devices and gloo collectives."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping


def free_port() -> int:
    """A TCP port free on localhost now (the coordinator's)."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def start_hosts(
    code: str,
    count: int,
    *args: str,
    devices: int = 1,
    env: Callable[[int], Mapping[str, str]] = lambda process: {},
) -> list[subprocess.Popen]:
    """Start ``count`` Python processes running ``code`` with the arguments ``PORT PROCESS
    *args`` (a free coordinator port, the process's id), each with ``devices`` CPU devices
    and ``env(process)`` added to its environment; :func:`host_outputs` ends them."""
    port = str(free_port())
    common = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": str(devices)}
    common.pop("XLA_FLAGS", None)  # a device count there is not this one
    return [
        subprocess.Popen(
            [sys.executable, "-c", code, port, str(process), *args],
            env={**common, **env(process)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for process in range(count)
    ]


def host_outputs(children: list[subprocess.Popen], timeout: int = 600) -> list[str]:
    """The standard outputs of ``children``, each checked to have exited 0 within
    ``timeout`` seconds (the end of its standard error shown if not); any still running
    after a failure is killed, so no host waits for a partner that is gone."""
    try:
        answers = [child.communicate(timeout=timeout) for child in children]
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.communicate()
    for process, (child, (_, err)) in enumerate(zip(children, answers, strict=True)):
        assert child.returncode == 0, f"process {process} exited {child.returncode}:\n{err[-3000:]}"
    return [out for out, _ in answers]


def run_hosts(
    code: str,
    count: int,
    *args: str,
    devices: int = 1,
    env: Callable[[int], Mapping[str, str]] = lambda process: {},
    timeout: int = 600,
) -> list[dict]:
    """:func:`start_hosts` then :func:`host_outputs`: the JSON object each host prints last."""
    children = start_hosts(code, count, *args, devices=devices, env=env)
    return [last_json(out) for out in host_outputs(children, timeout)]


def last_json(out: str) -> dict:
    """The JSON object on the last line of a process's output."""
    return json.loads(out.strip().splitlines()[-1])

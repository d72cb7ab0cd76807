"""``hpbench run`` when the world misbehaves: a read-only store, a full disk, a second
Ctrl-C, a concurrent run that holds trials (alive, dead, or on a dead host). Real training
of the toy workload, real signals, real processes; the full disk is an ENOSPC raised at the
results writer (and a real full tmpfs where the tests may mount one)."""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from trial_helpers import hold_claim, toy_trial

from hpbench.backends import run_jobs
from hpbench.cli import main
from hpbench.cli.run import EXIT_FULL, EXIT_READ_ONLY
from hpbench.cli.status import read_states
from hpbench.results.records import read_trial
from hpbench.results.store import TrialDir, claim
from hpbench.train import CheckpointPolicy, Job

SUITE = Path(__file__).resolve().parent.parent / "specs" / "suites" / "toy.toml"
SPEC = f"""
[benchmark]
name = "toy_adamw"
description = "one learning rate on the toy workload"
extends = "{SUITE}"

[algorithm]
name = "adamw"
learning_rate = 1e-2

[schedule]
shape = "warmup_cosine"
warmup = 0.05
horizon = 0.25
"""


@pytest.fixture
def spec(tmp_path) -> Path:
    path = tmp_path / "toy.toml"
    path.write_text(SPEC)
    return path


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` read-only for real: a read-only bind mount as root (who ignores file
    modes), file modes otherwise."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        modes = {p: p.stat().st_mode for p in [path, *path.rglob("*")]}
        for p in modes:
            p.chmod(modes[p] & ~0o222)
        try:
            yield
        finally:
            for p, mode in modes.items():
                p.chmod(mode)


def test_a_finished_read_only_store_still_answers_cached(spec, tmp_path, capsys):
    results = tmp_path / "results"
    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    capsys.readouterr()
    with read_only(results):
        assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "(cached)" in out and err == ""


def test_an_unfinished_read_only_store_fails_in_one_line(spec, tmp_path, capsys):
    results = tmp_path / "results"
    results.mkdir()
    with read_only(results):
        code = main(["run", str(spec), "--results", str(results), "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_READ_ONLY
    [line] = err.splitlines()
    assert line.startswith(f"hpbench run: {results}") and "cannot write" in line
    assert f"make {results} writable, or pass --results DIR" in line
    assert "Traceback" not in err


def test_a_full_disk_ends_in_one_message_a_log_and_a_resumable_state(
    spec, tmp_path, capsys, monkeypatch
):
    results = tmp_path / "results"
    append = TrialDir.append_eval

    def full_at_60(self, record):
        if record.step >= 60:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.metrics_path))
        append(self, record)

    monkeypatch.setattr(TrialDir, "append_eval", full_at_60)
    code = main(
        ["run", str(spec), "--results", str(results), "--quiet", "--checkpoint-every", "20"]
    )
    err = capsys.readouterr().err
    assert code == EXIT_FULL
    [line] = err.splitlines()
    assert "no space left on the device of" in line and "MiB free" in line
    assert "Saved: 0 finished trials; the others resume from their last checkpoint" in line
    assert "rerun the same command" in line
    log = Path(line.split("(detail: ")[1].rstrip(")"))
    assert "Traceback" in log.read_text() and "No space left on device" in log.read_text()
    [state] = read_states(results)
    assert state.status.state == "interrupted" and "rerun to resume" in state.status.reason

    monkeypatch.setattr(TrialDir, "append_eval", append)
    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    [trial_dir] = [p for p in results.iterdir() if not p.name.startswith("_")]
    result = read_trial(trial_dir)
    assert result.status.state == "done" and [r.step for r in result.evals][-1] == 100


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_really_full_tmpfs_ends_in_one_message(spec, tmp_path, capsys):
    """The disk fills inside Orbax's background commit thread: its log records go to the
    log file, not the terminal."""
    mount = tmp_path / "small"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=200k", "tmpfs", str(mount)], check=True)
    try:
        results = mount / "results"
        code = main(
            ["run", str(spec), "--results", str(results), "--quiet", "--checkpoint-every", "20"]
        )
        err = capsys.readouterr().err
    finally:
        subprocess.run(["umount", str(mount)], check=True)
    assert code == EXIT_FULL
    [line] = err.splitlines()
    assert "no space left on the device of" in line and "(0.0 MiB free)" in line


CHILD = """
import sys, time
from hpbench.workloads import toy
serve = toy.ToyWorkload.batch
def batch(self, seed, step):
    time.sleep(float(sys.argv[1]))
    return serve(self, seed, step)
toy.ToyWorkload.batch = batch
if sys.argv[2] == "cli":
    from hpbench.cli import main
    sys.exit(main(sys.argv[3:]))
from hpbench.backends.local import main
sys.exit(main(sys.argv[3:]))
"""


def _child(tmp_path: Path, delay: float, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "JAX_COMPILATION_CACHE_DIR": str(tmp_path / "jax-cache"),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(delay), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(__file__).parent,
    )


def _wait_for(condition, process: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _status(results: Path, trial) -> dict | None:
    try:
        return json.loads((results / trial.id / "status.json").read_text())
    except (OSError, ValueError):
        return None


def test_a_second_ctrl_c_exits_cleanly_and_leaves_a_resumable_state(spec, tmp_path):
    results = tmp_path / "results"
    every = ("--checkpoint-every", "20")
    child = _child(tmp_path, 0.02, "cli", "run", str(spec), "--results", str(results), *every)
    _wait_for(lambda: list(results.glob("_jobs/*/*/commit_success.txt")), child)
    child.send_signal(signal.SIGINT)
    time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == 130, err
    assert "Traceback" not in err and "rerun the same command" in err
    [state] = read_states(results)
    assert state.status.state == "interrupted"
    assert main(["run", str(spec), "--results", str(results), "--quiet"]) == 0
    [result] = [read_trial(p) for p in results.iterdir() if not p.name.startswith("_")]
    assert result.status.state == "done" and [r.step for r in result.evals] == [20, 40, 60, 80, 100]


def test_a_run_waits_for_a_trial_a_concurrent_run_holds_and_takes_it_over_when_it_dies(
    tmp_path, caplog, monkeypatch
):
    monkeypatch.setattr("hpbench.backends.others.POLL_SECONDS", 0.2)
    held, own = toy_trial(1e-2), toy_trial(3e-3)
    results = tmp_path / "results"
    job_file = tmp_path / "held.json"
    every_20 = CheckpointPolicy(every_steps=20, every_seconds=None)
    job_file.write_text(Job(trials=(held,), checkpoint=every_20).dumps())
    other = _child(tmp_path, 0.1, "local", str(job_file), str(results))
    _wait_for(lambda: (_status(results, held) or {}).get("step", 0) >= 20, other)

    def kill_once_waited_for() -> None:
        deadline = time.monotonic() + 240
        while "waiting for" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        other.send_signal(signal.SIGKILL)

    killer = threading.Thread(target=kill_once_waited_for, daemon=True)
    try:
        with caplog.at_level(logging.WARNING, logger="hpbench.run"):
            killer.start()
            outcomes = run_jobs([Job(trials=(held,)), Job(trials=(own,))], results)
    finally:
        killer.join(timeout=240)
        other.kill()
        other.communicate()
    assert other.returncode == -signal.SIGKILL  # it died holding the trial
    assert "waiting for 1 trial(s) that pid" in caplog.text
    by_id = {o.trial.id: o for o in outcomes}
    assert by_id[held.id].state == by_id[own.id].state == "done"
    assert by_id[held.id].repair is None  # resumed from the dead run's checkpoint
    result = read_trial(results / held.id)
    assert result.status.state == "done" and [r.step for r in result.evals] == [20, 40, 60, 80, 100]


def test_a_claim_of_another_host_is_taken_over_once_its_heartbeat_is_stale(tmp_path):
    """A dead machine on a shared file system may keep its lock: its stale heartbeat
    frees the trial; a fresh one does not."""
    trial = toy_trial()
    holder = hold_claim(tmp_path, trial)
    try:
        assert holder.stdout.readline().strip() == "held"
        lock = tmp_path / trial.id / "lock"
        record = {"pid": 4242, "host": "another-host", "heartbeat": time.time()}
        lock.write_text(json.dumps(record))
        assert claim(TrialDir(tmp_path, trial)) is None  # alive elsewhere: left alone
        lock.write_text(json.dumps({**record, "heartbeat": time.time() - 3600}))
        taken = claim(TrialDir(tmp_path, trial))
        assert taken is not None
        assert (tmp_path / trial.id / "lock.abandoned-another-host-4242").exists()
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        taken.release()
    finally:
        holder.kill()
        holder.wait()


def test_status_shows_a_dead_owners_running_trial_as_interrupted(tmp_path):
    trial = toy_trial()
    trial_dir = TrialDir(tmp_path, trial)
    trial_dir.write_trial()
    from hpbench.results.records import Status

    trial_dir.write_status(Status(state="running"))
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    record = {"pid": int(dead.stdout), "host": os.uname().nodename, "heartbeat": time.time()}
    (trial_dir.path / "lock").write_text(json.dumps(record))
    [state] = read_states(tmp_path)
    assert state.status.state == "interrupted"
    assert f"its run (pid {record['pid']} on" in state.status.reason
    with claim(trial_dir):  # a live holder: running
        [state] = read_states(tmp_path)
        assert state.status.state == "running"


def test_only_the_stores_own_write_errors_are_store_errors(tmp_path):
    from hpbench.results.store import store_error

    results = tmp_path / "results"
    denied = OSError(errno.EACCES, "Permission denied", str(results / "abc" / "status.json"))
    assert store_error(denied, results).kind == "read-only"
    data = OSError(errno.EACCES, "Permission denied", "/data/imagenet/train.zarr")
    assert store_error(data, results) is None  # a data file: the trial fails, as any error
    wrapped = RuntimeError("commit failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    assert store_error(ValueError("x"), results) is None
    assert store_error(wrapped, results).kind == "full"

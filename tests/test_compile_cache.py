"""The persistent compilation cache: a second process loads the programs the first compiled
and trains to the same records; the user's own cache directory wins. Real ``hpbench run``
processes on the toy workload (the cache is opened when JAX first compiles)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from pathlib import Path

import jax
from backend_helpers import write_spec

from hpbench.train.compile_cache import default_cache_dir, use_compilation_cache

SUITE = Path(__file__).resolve().parent.parent / "specs" / "suites" / "toy.toml"


def run_spec(spec: Path, results: Path, cache: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HPBENCH_COMPILE_CACHE_DIR": str(cache),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",  # toy programs compile fast
        "JAX_DEBUG_LOG_MODULES": "jax._src.compiler",  # logs each cache hit
    }
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    return subprocess.run(
        [sys.executable, "-m", "hpbench.cli", "run", str(spec), "--results", str(results)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def evaluations(results: Path) -> list[list[tuple]]:
    """Each trial's evaluations without their clock readings, trials in id order."""
    out = []
    for metrics in sorted(results.glob("*/metrics.jsonl")):
        rows = [json.loads(line) for line in metrics.read_text().splitlines()]
        out.append([(r["step"], r["train_loss"], r["metrics"]) for r in rows])
    return out


def test_a_second_run_loads_the_compiled_programs_and_trains_identically(tmp_path):
    spec, cache = write_spec(tmp_path, SUITE), tmp_path / "compiled"
    first = run_spec(spec, tmp_path / "first", cache)
    assert first.returncode == 0, first.stderr
    entries = list((cache / (platform.node() or "localhost")).glob("*-cache"))
    assert entries, "nothing was written to the compilation cache"
    second = run_spec(spec, tmp_path / "second", cache)
    assert second.returncode == 0, second.stderr
    assert "Persistent compilation cache hit" in second.stderr
    trained = evaluations(tmp_path / "first")
    assert len(trained) == 2 and all(len(t) > 1 for t in trained)
    assert evaluations(tmp_path / "second") == trained  # bitwise: the same executables


def test_the_cache_is_per_machine_under_its_root(monkeypatch, tmp_path):
    monkeypatch.setenv("HPBENCH_COMPILE_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / (platform.node() or "localhost")
    monkeypatch.delenv("HPBENCH_COMPILE_CACHE_DIR")
    assert default_cache_dir().parent == Path.home() / ".cache" / "hpbench" / "compiled"


def test_a_directory_the_user_chose_is_kept(tmp_path):
    chosen = jax.config.jax_compilation_cache_dir
    try:
        jax.config.update("jax_compilation_cache_dir", str(tmp_path / "mine"))
        use_compilation_cache()
        assert jax.config.jax_compilation_cache_dir == str(tmp_path / "mine")
    finally:
        jax.config.update("jax_compilation_cache_dir", chosen)

"""``python -m benchmarks accelerator``: the tiny mode end to end, and the synthetic full data.

The full mode runs on a GPU (benchmarks/device/run_accelerator.sh); the tiny mode runs the
same sections at mini sizes on CPU, so the command cannot rot between GPU runs.
"""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("accelerator")
    cache = tmp_path_factory.mktemp("compiled")
    environ = {**os.environ, "PYTHONPATH": str(ROOT), "HPBENCH_COMPILE_CACHE_DIR": str(cache)}
    done = subprocess.run(
        # a budget that nothing reaches: every item runs however loaded the machine is
        [sys.executable, "-m", "benchmarks", "accelerator", "--tiny", "--budget", "900"]
        + ["--out", str(out)],
        cwd=ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=1500,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads((out / "accelerator.json").read_text()), (out / "accelerator.md").read_text()


@pytest.mark.slow  # runs the whole benchmark script, ~35 s on 2 cores
def test_tiny_mode_writes_the_machine_and_every_section(tiny_run):
    data, markdown = tiny_run
    assert data["mode"] == "tiny"
    assert data["device"]["platform"] == "cpu" and data["device"]["count"] >= 1
    import jax
    import jaxlib

    assert (data["jax"], data["jaxlib"]) == (jax.__version__, jaxlib.__version__)
    date = datetime.datetime.fromisoformat(data["date"])
    assert abs(datetime.datetime.now(datetime.timezone.utc) - date).total_seconds() < 3600
    assert set(data["sections"]) == {"checkpoint", "engine", "packing", "search"}
    for name, section in data["sections"].items():
        assert section["goal"] and section["rows"], name
        assert not any("error" in row for row in section["rows"]), section["rows"]
        assert f"## {name}" in markdown and section["goal"] in markdown
    assert data["device"]["kind"] in markdown and f"jax {data['jax']}" in markdown
    for name in ("checkpoint", "engine", "packing"):  # each in a process of its own
        assert "peak_bytes_in_use" in data["sections"][name]["device_memory"]
    fraction = data["sections"]["engine"]["device_memory"]["XLA_PYTHON_CLIENT_MEM_FRACTION"]
    assert fraction == os.environ.get("XLA_PYTHON_CLIENT_MEM_FRACTION", "0.95")
    assert "device_memory" not in data["sections"]["search"]  # leaves the device to its runs


@pytest.mark.slow  # runs the whole benchmark script, ~35 s on 2 cores
def test_tiny_mode_figures_are_positive_and_consistent(tiny_run):
    sections = tiny_run[0]["sections"]
    (engine,) = sections["engine"]["rows"]
    assert engine["engine steps/s"] > 0 and engine["loop steps/s"] > 0
    expected = 100 * (engine["loop steps/s"] / engine["engine steps/s"] - 1)
    assert engine["overhead %"] == pytest.approx(expected)
    assert engine["GFLOP/step"] > 0
    assert "MFU engine (tf32)" not in engine  # no peak known for a CPU

    (packing,) = sections["packing"]["rows"]
    rates = {k: packing[f"K={k} point-steps/s"] for k in (1, 2, 4)}
    assert all(rate > 0 for rate in rates.values())
    assert packing["best K"] == max(rates, key=rates.get)
    assert packing["speed-up"] == pytest.approx(rates[packing["best K"]] / rates[1])
    assert packing["engine's pack"] >= 1 and packing["K=1 MB/member"] > 0

    (search,) = sections["search"]["rows"]
    assert search["wall s"] > search["training s"] > 0
    summary = sections["search"]
    assert summary["points_per_hour"] == pytest.approx(search["points"] / search["wall s"] * 3600)
    assert summary["projected_hours"] > 0

    (checkpoint,) = sections["checkpoint"]["rows"]
    assert checkpoint["state MB"] > 0 and 0 < checkpoint["blocking s"] <= checkpoint["committed s"]
    assert checkpoint["cost at 10 min %"] == pytest.approx(checkpoint["blocking s"] / 6)


def test_peaks_pick_the_default_float32_product_dtype():
    from benchmarks.bench_accelerator import peak_for

    assert peak_for("NVIDIA H200", "gpu") == ("tf32", 494.7e12)
    assert peak_for("NVIDIA A100-SXM4-80GB", "gpu") == ("tf32", 156e12)
    assert peak_for("TPU v4", "tpu") == ("bf16", 275e12)
    assert peak_for("cpu", "cpu") == (None, None)


@pytest.mark.parametrize("name", ["imagenet_resnet", "criteo", "wmt", "librispeech_conformer"])
def test_synthetic_full_data_has_the_real_batch_shapes(name):
    from benchmarks.synthetic_full import synthetic_full_data
    from hpbench.workloads.registry import get_workload, load_workload

    batch_size = {"imagenet_resnet": 8, "criteo": 64, "wmt": 4, "librispeech_conformer": 2}[name]
    with synthetic_full_data(name, batch_size):
        workload = load_workload(name, "full", data="nowhere", batch_size=batch_size)
    batch = workload.batch(0, 3)
    shapes = {key: value.shape for key, value in batch.items()}
    expected = {
        "imagenet_resnet": {"images": (8, 224, 224, 3), "labels": (8,)},
        "criteo": {"dense": (64, 13), "categorical": (64, 26), "labels": (64,)},
        "wmt": {"inputs": (4, 256), "targets": (4, 256)},
        "librispeech_conformer": {
            "audio": (2, 320_000),
            "audio_paddings": (2, 320_000),
            "labels": (2, 256),
            "label_paddings": (2, 256),
        },
    }[name]
    assert shapes == expected
    if name == "wmt":  # ids in the vocabulary, an EOS, then padding
        assert batch["inputs"].max() < 32_000 and (batch["inputs"] == 2).sum() == 4
        assert (batch["inputs"][:, -1] == 0).all()
    if name == "imagenet_resnet":
        assert batch["labels"].max() < 1000 and batch["images"].dtype == np.uint8
    # outside the context the user's data path is checked again
    assert get_workload(name).family
    with pytest.raises(ValueError, match="nowhere"):
        load_workload(name, "full", data="nowhere")

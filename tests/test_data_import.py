"""``hpbench data import``: NumPy arrays in, a zarr dataset the ``full`` workloads load out.

Real files throughout: small arrays built from each workload's own layout are saved with
NumPy, imported through ``hpbench.cli.main``, read back through tensorstore and opened by
the workload's ``full`` loader. Bad inputs exit 2 with one message and write nothing.
"""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpbench import cli
from hpbench.cli.data import full_workloads
from hpbench.data.cache import read_arrays
from hpbench.workloads.importer import full_layout_of, import_arrays
from hpbench.workloads.registry import load_workload
from hpbench.workloads.userdata import ArrayLayout

ROWS = {"train": 3, "valid": 2}
FREE_SIZE = 4  # every free size other than the row count (T, L, V, E)


def example_array(layout: ArrayLayout, rng: np.random.Generator) -> np.ndarray:
    """Values of ``layout``'s dtype and shape: its split's row count, then FREE_SIZE."""
    rows = ROWS.get(layout.name.split("_", 1)[0], FREE_SIZE)
    shape = [
        (rows if i == 0 else FREE_SIZE) if size is None else size
        for i, size in enumerate(layout.shape)
    ]
    dtype = np.dtype(layout.dtype)
    if dtype.kind == "f":
        return rng.standard_normal(shape).astype(dtype)
    if dtype.kind == "b":
        return rng.random(shape) < 0.5
    return rng.integers(0, 200, shape).astype(dtype)


def example_arrays(workload: str, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {layout.name: example_array(layout, rng) for layout in full_layout_of(workload)}


def run(capsys, *args: str) -> tuple[int, str, str]:
    """``hpbench data import ARGS``: exit code, stdout, stderr."""
    code = cli.main(["data", "import", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_import_converts_exactly_and_reads_back_equal_through_tensorstore(tmp_path, capsys):
    arrays = example_arrays("criteo")
    train = {name: array for name, array in arrays.items() if name.startswith("train_")}
    np.savez(  # as NumPy makes them by default: float64, int64
        tmp_path / "train.npz",
        train_dense=train["train_dense"].astype(np.float64),
        train_categorical=train["train_categorical"].astype(np.int64),
        train_labels=train["train_labels"],
    )
    for name in ("valid_dense", "valid_categorical", "valid_labels"):
        np.save(tmp_path / f"{name}.npy", arrays[name])
    out = tmp_path / "criteo_full"
    sources = [str(tmp_path / "train.npz"), *(str(p) for p in tmp_path.glob("valid_*.npy"))]

    code, stdout, stderr = run(capsys, "criteo", *sources, "--out", str(out))

    assert (code, stderr) == (0, "")
    back = read_arrays(out)
    assert sorted(back) == sorted(arrays)
    for name, array in arrays.items():
        assert back[name].dtype == array.dtype, name
        np.testing.assert_array_equal(back[name], array, err_msg=name)
    assert "train_dense        float32 (from float64) [3, 13]  156 bytes" in stdout
    assert f'[workloads.criteo]\nsize = "full"\ndata = "{out.resolve()}"' in stdout
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("workload", full_workloads())
def test_every_full_workload_loads_the_imported_dataset(tmp_path, capsys, workload):
    """The checks follow the layout each workload's ``full`` build opens (image sizes too)."""
    np.savez(tmp_path / "data.npz", **example_arrays(workload))
    out = tmp_path / "data"

    code, _, stderr = run(capsys, workload, str(tmp_path / "data.npz"), "--out", str(out))

    assert (code, stderr) == (0, "")
    loaded = load_workload(workload, "full", data=str(out))
    assert {name: tuple(array.shape) for name, array in loaded.data.items()} == {
        name: array.shape for name, array in example_arrays(workload).items()
    }


def test_each_host_reads_only_its_rows_of_an_imported_dataset(tmp_path, capsys, monkeypatch):
    """Two hosts' training batches of zarr arrays: each reads its half of the rows (as the
    streaming readers split a batch), together the batch one host reads whole."""
    from hpbench.data import order, stream
    from hpbench.workloads import userdata

    monkeypatch.setitem(ROWS, "train", 16)
    np.savez(tmp_path / "data.npz", **example_arrays("criteo"))
    code, _, stderr = run(
        capsys, "criteo", str(tmp_path / "data.npz"), "--out", str(tmp_path / "z")
    )
    assert (code, stderr) == (0, "")
    workload = load_workload("criteo", "full", data=str(tmp_path / "z"), batch_size=8)
    read, take = [], userdata.take
    monkeypatch.setattr(userdata, "take", lambda a, rows: read.append(rows) or take(a, rows))
    parts = []
    for shard in (stream.HostShard(0, 2), stream.HostShard(1, 2), stream.ONE_HOST):
        monkeypatch.setattr(stream, "host_shard", lambda shard=shard: shard)
        read.clear()
        parts.append(workload.batch(3, 5))
        assert {len(rows) for rows in read} == {8 // shard.count}  # each array: its rows only
    rows = order.batch_indices(3, 5, 16, 8)
    np.testing.assert_array_equal(
        parts[0]["labels"], example_arrays("criteo")["train_labels"][rows[:4]]
    )
    for name, whole in parts[2].items():
        np.testing.assert_array_equal(np.concatenate([parts[0][name], parts[1][name]]), whole)


def test_evaluation_batches_of_zarr_arrays_are_read_as_the_stream_reads_them(tmp_path, capsys):
    """Over 2 evaluation devices: the rows that split evenly as this process's part, an odd
    row as the replicated rest (``array_batches``; the engine's sharded evaluation of them
    equals the one-device one: tests/test_engine_scale.py, tests/test_multihost_eval.py)."""
    import jax
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    from hpbench.workloads.base import array_batches, evaluating_on

    np.savez(tmp_path / "data.npz", **example_arrays("criteo"))
    code, _, stderr = run(
        capsys, "criteo", str(tmp_path / "data.npz"), "--out", str(tmp_path / "z")
    )
    assert (code, stderr) == (0, "")
    data = load_workload("criteo", "full", data=str(tmp_path / "z")).data
    rows = NamedSharding(Mesh(np.asarray(jax.devices()[:2]), ("data",)), PartitionSpec("data"))
    with evaluating_on(rows):
        (batch,) = array_batches(data, "valid", ("dense", "labels"), 2, 2)
        (odd,) = array_batches(data, "valid", ("dense", "labels"), 1, 5)
    valid = example_arrays("criteo")
    assert (batch.count, batch.split, batch.rest, odd.split, odd.local) == (2, 2, None, 0, None)
    np.testing.assert_array_equal(batch.local["dense"], valid["valid_dense"])
    np.testing.assert_array_equal(odd.rest["labels"], valid["valid_labels"][:1])
    (whole,) = array_batches(data, "valid", ("dense",), 2, 2)  # outside the engine: all rest
    assert whole.split == 0 and np.array_equal(whole.rest["dense"], valid["valid_dense"])


def criteo_sources(tmp_path: Path, **changes: np.ndarray | None) -> list[str]:
    """A criteo dataset as one .npz, with arrays replaced (or dropped, by None)."""
    arrays = {**example_arrays("criteo"), **changes}
    np.savez(tmp_path / "criteo.npz", **{k: v for k, v in arrays.items() if v is not None})
    return [str(tmp_path / "criteo.npz")]


BAD_ARRAYS = {
    "missing array": (
        {"valid_labels": None},
        ["missing array valid_labels: give it in a SOURCE file"],
    ),
    "unknown array": (
        {"valid_probs": np.zeros(2, np.float32)},
        ["criteo.npz [valid_probs]: unknown array valid_probs"],
    ),
    "wrong dtype": (
        {"train_categorical": np.zeros((3, 26), np.float32)},
        ["criteo.npz [train_categorical]: dtype float32, which does not convert to int32"],
    ),
    "inexact float64": (
        {"train_dense": np.full((3, 13), 0.1)},
        ["criteo.npz [train_dense]: dtype float64 with values that float32 cannot hold exactly"],
    ),
    "int64 out of int32 range": (
        {"valid_categorical": np.full((2, 26), 2**31, np.int64)},
        ["[valid_categorical]: dtype int64 with values that int32 cannot hold exactly"],
    ),
    "wrong fixed size": (
        {"train_dense": np.zeros((3, 12), np.float32)},
        ["criteo.npz [train_dense]: shape [3, 12]; expected [N, 13]"],
    ),
    "wrong rank": (
        {"train_labels": np.zeros((3, 1), np.float32)},
        ["criteo.npz [train_labels]: shape [3, 1]; expected [N]"],
    ),
    "mismatched rows": (
        {"valid_labels": np.zeros(3, np.float32)},
        ["split valid: row counts differ (valid_dense 2, valid_categorical 2, valid_labels 3)"],
    ),
    "two problems at once": (
        {"valid_labels": None, "train_dense": np.zeros((3, 12), np.float32)},
        ["missing array valid_labels", "[train_dense]: shape [3, 12]"],
    ),
}


@pytest.mark.parametrize("case", BAD_ARRAYS)
def test_bad_arrays_exit_2_naming_the_problem_and_write_nothing(tmp_path, capsys, case):
    changes, messages = BAD_ARRAYS[case]
    out = tmp_path / "out"

    code, stdout, stderr = run(
        capsys, "criteo", *criteo_sources(tmp_path, **changes), "--out", str(out)
    )

    assert code == 2
    for message in messages:
        assert message in stderr
    assert "criteo (size full) expects:\n  train_dense: zarr float32 [N, 13]" in stderr
    assert "Traceback" not in stderr and stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["criteo.npz"]


def test_a_missing_source_file_is_named_with_its_path(tmp_path, capsys):
    missing = tmp_path / "nope" / "valid.npz"
    code, _, stderr = run(
        capsys, "criteo", *criteo_sources(tmp_path), str(missing), "--out", str(tmp_path / "out")
    )
    assert code == 2
    assert stderr == f"hpbench data import: {missing}: no such file\n"
    assert not (tmp_path / "out").exists()


def test_an_array_given_twice_is_refused(tmp_path, capsys):
    sources = criteo_sources(tmp_path)
    np.save(tmp_path / "train_labels.npy", np.zeros(3, np.float32))
    code, _, stderr = run(
        capsys,
        "criteo",
        *sources,
        str(tmp_path / "train_labels.npy"),
        "--out",
        str(tmp_path / "out"),
    )
    assert code == 2
    assert "array train_labels is given twice" in stderr


def test_an_unknown_workload_exits_2_listing_the_known_ones(tmp_path, capsys):
    code, _, stderr = run(
        capsys, "toy_mlp", *criteo_sources(tmp_path), "--out", str(tmp_path / "out")
    )
    assert code == 2
    assert "unknown workload 'toy_mlp'; one of: criteo, fastmri," in stderr


def test_a_non_empty_out_is_refused_without_force_and_kept(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    sources = criteo_sources(tmp_path)

    code, _, stderr = run(capsys, "criteo", *sources, "--out", str(out))
    assert code == 2
    assert f"--out {out}: not empty; choose a new directory, or pass --force" in stderr

    code, _, stderr = run(capsys, "criteo", *sources, "--out", str(out), "--force")
    assert code == 2  # --force replaces a dataset, never a directory of other files
    assert "holds files that are not zarr arrays" in stderr
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["criteo.npz", "out"]


def test_force_replaces_a_dataset(tmp_path, capsys):
    out = tmp_path / "out"
    assert run(capsys, "criteo", *criteo_sources(tmp_path), "--out", str(out))[0] == 0
    labels = np.ones(3, np.float32)

    code, _, stderr = run(
        capsys,
        "criteo",
        *criteo_sources(tmp_path, train_labels=labels),
        "--out",
        str(out),
        "--force",
    )

    assert (code, stderr) == (0, "")
    np.testing.assert_array_equal(read_arrays(out, ["train_labels"])["train_labels"], labels)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["criteo.npz", "out"]


def test_a_failure_while_writing_leaves_no_dataset(tmp_path, monkeypatch):
    """Killed or failing mid-write: the partial copy is removed and --out never appears."""
    from hpbench.workloads import importer

    written = []

    def fail_on_third_array(path, arrays):
        if len(written) == 2:
            raise OSError("disk full")
        written.append(path)
        real_write_arrays(path, arrays)

    real_write_arrays = importer.write_arrays
    monkeypatch.setattr(importer, "write_arrays", fail_on_third_array)
    with pytest.raises(OSError, match="disk full"):
        import_arrays("criteo", [Path(p) for p in criteo_sources(tmp_path)], tmp_path / "out")
    assert written and sorted(p.name for p in tmp_path.iterdir()) == ["criteo.npz"]


def test_data_import_help_does_not_import_jax():
    code = (
        "import sys\n"
        "from hpbench import cli\n"
        "try:\n"
        "    cli.main(['data', 'import', '--help'])\n"
        "except SystemExit as e:\n"
        "    assert e.code == 0, e.code\n"
        "assert 'jax' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "WORKLOAD SOURCE [SOURCE ...]" in result.stdout

"""Readers of AlgoPerf's prepared data, read back from tiny datasets written in the real
formats (fastMRI h5 volumes, Criteo day TSV files) through the code users run, and the
streaming pipeline's determinism. Skipped without the algoperf-data extra."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("grain")
pytest.importorskip("h5py")


from hpbench.data import criteo_tsv, fastmri_h5  # noqa: E402
from hpbench.data.farmhash import fingerprint64  # noqa: E402
from hpbench.data.formats import detect  # noqa: E402
from hpbench.data.stream import HostShard, StepStream, stream  # noqa: E402
from hpbench.data.synthetic import write_criteo, write_fastmri  # noqa: E402


def _fingerprints(strings: list[bytes]) -> list[int]:
    padded = np.zeros((len(strings), 16), np.uint8)
    for i, s in enumerate(strings):
        padded[i, : len(s)] = list(s)
    return [int(v) for v in fingerprint64(padded, np.array([len(s) for s in strings]))]


# --- FarmHash and Criteo parsing -------------------------------------------------------


def test_fingerprint64_is_tensorflows_hash_bucket():
    # tf.strings.to_hash_bucket_fast's documented example: ["Hello", "TensorFlow", "2.x"], 3
    assert [v % 3 for v in _fingerprints([b"Hello", b"TensorFlow", b"2.x"])] == [0, 2, 2]


def test_fingerprint64_equals_farmhash_for_every_length():
    farmhash = pytest.importorskip("farmhash")
    rng = np.random.default_rng(0)
    strings = [bytes(rng.integers(32, 127, n).tolist()) for n in range(17) for _ in range(5)]
    strings += [b"68fd1e64" + str(j).encode() for j in range(26)]
    assert _fingerprints(strings) == [farmhash.fingerprint64(s.decode()) for s in strings]


def test_parse_lines_applies_algoperfs_log_transform_and_hashing():
    counts = ["5", "", "-1", "-2", "0", "1000000", "7", "", "", "", "", "", "3"]
    hexes = ["68fd1e64", "", "05db9164"] + ["0000abcd"] * 23
    line = "\t".join(["1", *counts, *hexes]).encode()
    batch = criteo_tsv.parse_lines([line])
    dense = [math.log(5 + 1), 0, 0, 0, 0, math.log(1e6 + 1), math.log(8)] + [0] * 5
    np.testing.assert_allclose(batch["dense"][0], [*dense, math.log(4)], rtol=1e-6)
    assert batch["labels"].tolist() == [1.0]
    # Fingerprint64(value + column) % vocabulary, an empty value hashed as "00000000"
    values = [h or "00000000" for h in hexes]
    raw = _fingerprints([(v + str(j)).encode() for j, v in enumerate(values)])
    want = [h % size for h, size in zip(raw, criteo_tsv.VOCAB_SIZES, strict=True)]
    # ... then through float32 as AlgoPerf's pipeline does: exact below 2**24 only
    assert batch["categorical"][0].tolist() == [int(np.float32(w)) for w in want]
    big = [w for w in want if w > 2**24]
    assert big and all(int(np.float32(w)) % 2 == 0 for w in big)


def test_a_line_with_missing_fields_is_refused_with_the_line():
    with pytest.raises(criteo_tsv.CriteoDataError, match="3 fields, expected 40"):
        criteo_tsv.parse_lines([b"1\t2\t3"])


# --- the Criteo stream -------------------------------------------------------------------


def _all_lines(paths) -> list[bytes]:
    return [line for p in paths for line in p.read_bytes().splitlines()]


@pytest.mark.parametrize("stride", [4, 4096])
def test_criteo_batches_are_the_day_files_streamed_in_a_seeded_file_order(
    tmp_path, monkeypatch, stride
):
    monkeypatch.setattr(criteo_tsv, "INDEX_STRIDE", stride)  # 4: every read seeks
    root = write_criteo(tmp_path / "criteo1tb", train_lines=(40, 25, 30))
    (root / "day_2_00").write_bytes((root / "day_2_00").read_bytes().rstrip(b"\n"))
    reader = criteo_tsv.CriteoReader.open(root, 16, tmp_path / "index")
    files = [root / f"day_{d}_00" for d in range(3)]
    epochs = []
    for epoch in range(3):
        order = np.random.default_rng([7, epoch]).permutation(3)
        epochs += _all_lines([files[i] for i in order])
    assert len(epochs) == 3 * 95
    for step in (0, 2, 5, 6, 11):  # step 5 crosses from the first epoch into the second
        want = criteo_tsv.parse_lines(epochs[16 * step : 16 * step + 16])
        got = reader(7, step)
        for key in want:
            np.testing.assert_array_equal(got[key], want[key])
    halves = [
        criteo_tsv.CriteoReader.open(root, 16, tmp_path / "index", HostShard(h, 2)) for h in (0, 1)
    ]
    joined = np.concatenate([half(7, 5)["dense"] for half in halves])
    np.testing.assert_array_equal(joined, reader(7, 5)["dense"])


def test_criteo_validation_is_day_23_files_19_to_35(tmp_path):
    root = write_criteo(tmp_path / "criteo1tb", valid_lines=20)
    reader = criteo_tsv.CriteoReader.open(root, 8, tmp_path / "index")
    assert reader.num_valid == 20
    want = criteo_tsv.parse_lines(_all_lines([root / "day_23_19", root / "day_23_20"]))
    got = reader.valid_batch(slice(3, 17))
    np.testing.assert_array_equal(got["categorical"], want["categorical"][3:17])


def test_a_directory_without_validation_days_is_refused(tmp_path):
    root = tmp_path / "criteo1tb"
    root.mkdir()
    (root / "day_0_00").write_text("")
    with pytest.raises(criteo_tsv.CriteoDataError, match="day_23_19 .. day_23_35"):
        criteo_tsv.CriteoReader.open(root, 8, tmp_path / "index")


# --- fastMRI -----------------------------------------------------------------------------


def test_a_slice_is_masked_transformed_cropped_and_normalised_as_algoperf():
    rng = np.random.default_rng(3)
    kspace = (rng.normal(size=(640, 368)) + 1j * rng.normal(size=(640, 368))).astype(np.complex64)
    target = rng.uniform(0, 20, (320, 320)).astype(np.float32)
    mask = fastmri_h5.column_mask(368, np.random.default_rng(0))
    # centre: int(368 * 0.08) = 29 columns from (368 - 29 + 1) // 2 = 170; ~1/4 sampled
    assert mask[170:199].all() and mask.sum() < 368
    out = fastmri_h5.process_slice(kspace, target, 2.5, mask)
    # the orthonormal centred inverse FFT, cropped to the middle 320 x 320
    image = np.fft.fftshift(np.fft.ifft2(np.fft.ifftshift(kspace * mask), norm="ortho"))
    magnitude = np.abs(image[160:480, 24:344])
    mean, std = magnitude.mean(), magnitude.std()
    np.testing.assert_allclose(out["mean"], mean, rtol=1e-4)
    np.testing.assert_allclose(out["std"], std, rtol=1e-4)
    np.testing.assert_allclose(out["inputs"], np.clip((magnitude - mean) / std, -6, 6), atol=1e-4)
    np.testing.assert_allclose(out["targets"], np.clip((target - mean) / std, -6, 6), atol=1e-4)
    assert out["targets"].max() == 6.0  # the target (0..20) is far above the input scale
    assert out["volume_max"] == np.float32(2.5)


def test_fastmri_reader_reads_the_h5_volumes_in_a_seeded_order(tmp_path):
    import h5py

    root = write_fastmri(tmp_path / "fastmri", train=(3, 2), valid=(2, 1))
    reader = fastmri_h5.FastMRIReader.open(root, 2)
    assert reader.train.num_slices == 5 and reader.valid.num_slices == 3
    from hpbench.data.order import batch_indices

    slices = batch_indices(4, 3, 5, 2)  # step 3 crosses into the second epoch
    volumes = sorted((root / "knee_singlecoil_train").glob("*.h5"))
    where = [(volumes[0], s) if s < 3 else (volumes[1], s - 3) for s in slices]
    got = reader(4, 3)
    for row, ((path, index), number) in enumerate(zip(where, slices, strict=True)):
        with h5py.File(path) as file:
            mask = fastmri_h5.column_mask(368, np.random.default_rng([4, int(number)]))
            want = fastmri_h5.process_slice(
                file["kspace"][index], file["reconstruction_esc"][index], file.attrs["max"], mask
            )
        np.testing.assert_array_equal(got["inputs"][row], want["inputs"])
        np.testing.assert_array_equal(got["targets"][row], want["targets"])
    valid = reader.valid_batch(slice(0, 3))
    with h5py.File(sorted((root / "knee_singlecoil_val").glob("*.h5"))[0]) as file:
        assert valid["volume_max"][0] == np.float32(file.attrs["max"])
    assert valid["volume_max"][2] != valid["volume_max"][0]  # the second volume's maximum


def test_detect_tells_the_layouts_apart(tmp_path):
    assert detect(write_fastmri(tmp_path / "fastmri", (1,), (1,))) == "fastmri_h5"
    assert detect(write_criteo(tmp_path / "criteo1tb")) == "criteo_tsv"
    assert detect(tmp_path) == "zarr"
    assert detect(None) == "zarr"


# --- the stream ----------------------------------------------------------------------------


@pytest.mark.parametrize("workers", [0, 2])
def test_a_restarted_stream_yields_the_uninterrupted_streams_batches(tmp_path, workers):
    reader = criteo_tsv.CriteoReader.open(write_criteo(tmp_path / "c"), 8, tmp_path / "index")
    whole = [b for b, _ in zip(stream(reader, 3, 0), range(30), strict=False)]
    resumed = stream(reader, 3, 17, worker_count=workers)
    for step in range(17, 30):
        got = next(resumed)
        for key in got:
            np.testing.assert_array_equal(got[key], whole[step][key])
    assert not np.array_equal(whole[0]["dense"], whole[1]["dense"])


def test_step_stream_serves_any_step_and_restarts_on_a_jump(tmp_path):
    reader = criteo_tsv.CriteoReader.open(write_criteo(tmp_path / "c"), 8, tmp_path / "index")
    steps = StepStream(reader)
    for step in (0, 0, 1, 2, 9, 10, 3):
        np.testing.assert_array_equal(steps.batch(5, step)["labels"], reader(5, step)["labels"])


# --- the full workloads pick the reader by the directory's layout ---------------------------


def test_full_workloads_read_algoperfs_directories_by_default_under_the_data_dir(
    tmp_path, monkeypatch
):
    from hpbench.workloads.registry import load_workload

    monkeypatch.setenv("HPBENCH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    write_criteo(tmp_path / "criteo1tb")
    write_fastmri(tmp_path / "fastmri", train=(3,), valid=(1,))
    criteo = load_workload("criteo", "full", batch_size=16)  # no `data`: the default dir
    assert criteo.reader is not None and criteo.batch_size == 16
    reader = criteo_tsv.CriteoReader.open(tmp_path / "criteo1tb", 16, tmp_path / "index")
    for step in (0, 1, 4):
        np.testing.assert_array_equal(criteo.batch(2, step)["dense"], reader(2, step)["dense"])
    fastmri = load_workload("fastmri", "full", data=str(tmp_path / "fastmri"), batch_size=2)
    assert fastmri.batch(0, 1)["inputs"].shape == (2, 320, 320)
    assert set(fastmri.batch(0, 1)) == {"inputs", "targets"}


def test_a_volume_without_its_target_is_refused_naming_the_file(tmp_path):
    import h5py

    root = write_fastmri(tmp_path / "fastmri", train=(2,), valid=(1,))
    broken = root / "knee_singlecoil_train" / "file2000000.h5"
    with h5py.File(broken, "w") as file:
        file.create_dataset("kspace", data=np.zeros((1, 640, 368), np.complex64))
    with pytest.raises(fastmri_h5.FastMRIDataError, match="file2000000.h5: not a fastMRI volume"):
        fastmri_h5.FastMRIReader.open(root, 2)


def test_algoperf_files_without_the_extra_say_what_to_install(tmp_path, monkeypatch):
    from hpbench.workloads.registry import load_workload

    monkeypatch.setitem(__import__("sys").modules, "h5py", None)  # as if not installed
    data = write_criteo(tmp_path / "criteo1tb")
    with pytest.raises(ImportError, match=r"pip install 'hpbench\[algoperf-data\]'"):
        load_workload("criteo", "full", data=str(data))


def test_validation_reads_the_rows_of_this_process_devices_and_the_replicated_rest(
    tmp_path, monkeypatch
):
    """With an evaluation sharding, each validation batch is read as this process's rows
    of its prefix that splits over the devices, plus the replicated rest; eval_batches
    assembles them into the batch one host reads whole (one process here: it holds both
    devices; tests/test_multihost_eval.py has two processes)."""
    import jax
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    from hpbench.data.stream import split_rows, valid_batches
    from hpbench.workloads.base import batch_rows, eval_batches, evaluating_on

    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    reader = criteo_tsv.CriteoReader.open(write_criteo(tmp_path, (4,), 10), 4, tmp_path / "ix")
    asked = []
    read = criteo_tsv.CriteoReader.valid_batch
    monkeypatch.setattr(
        criteo_tsv.CriteoReader,
        "valid_batch",
        lambda self, rows: asked.append((rows.start, rows.stop)) or read(self, rows),
    )
    sharding = NamedSharding(Mesh(np.array(jax.devices()[:2]), ("data",)), P("data"))
    assert split_rows(3, sharding) == (2, slice(0, 2)) and split_rows(1, sharding)[0] == 0
    batches = list(valid_batches(reader, 10, 3, sharding))  # rows 0-2, 3-5, 6-8, 9
    assert asked == [(0, 2), (2, 3), (3, 5), (5, 6), (6, 8), (8, 9), (9, 10)]
    assert [(b.count, b.split) for b in batches] == [(3, 2), (3, 2), (3, 2), (1, 0)]
    assert sum(batch_rows(b) for b in batches) == 10
    with evaluating_on(sharding):
        placed = list(eval_batches(batches))
    whole = reader.valid_batch(slice(0, 10))
    for key, value in whole.items():
        np.testing.assert_array_equal(np.concatenate([p[key] for p in placed]), value)
    specs = [str(p["labels"].sharding.spec) for p in placed]
    assert specs == ["P('data',)", "P()"] * 3 + ["P()"]

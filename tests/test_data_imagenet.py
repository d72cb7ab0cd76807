"""Full-size ImageNet from AlgoPerf's TFDS imagenet2012 layout: tiny JPEGs written into real
TFRecord shards and read back through the code users run; AlgoPerf's preprocessing (crop
geometry, bicubic resize, flip, normalisation, RandAugment ops, mixup) checked against
formulas worked by hand and against Pillow's ImageOps; determinism per (seed, step) and
resume; a reduced ResNet and ViT trained one step and evaluated on 8 simulated devices."""

from __future__ import annotations

import io
import json

import attrs
import numpy as np
import pytest

pytest.importorskip("grain")
PIL = pytest.importorskip("PIL")
pytest.importorskip("simplejpeg")

from PIL import Image, ImageOps  # noqa: E402
from trial_helpers import full_trial, run_on_8_devices  # noqa: E402

from hpbench.data import image_ops, imagenet_tfds, randaugment  # noqa: E402
from hpbench.data.stream import HostShard, StepStream  # noqa: E402
from hpbench.data.tfrecord import TfdsError  # noqa: E402
from hpbench.plan import Target  # noqa: E402

SIZES = [(48, 64), (64, 40), (50, 50), (36, 90), (60, 80), (40, 40)]


def jpeg(rng: np.random.Generator, height: int, width: int) -> bytes:
    pixels = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    rng = np.random.default_rng(0)
    root = tmp_path_factory.mktemp("imagenet")
    train = [(jpeg(rng, *SIZES[i % 6]), int(rng.integers(0, 1000))) for i in range(12)]
    valid = [(jpeg(rng, *SIZES[i]), int(rng.integers(0, 1000))) for i in range(5)]
    imagenet_tfds.write_dataset(root, {"train": train, "validation": valid}, num_shards=3)
    return root, train, valid


# --- the TFDS layout -------------------------------------------------------------------------


def test_every_example_reads_back_from_its_shard(dataset):
    root, train, valid = dataset
    split = imagenet_tfds.ImageSplit.open(imagenet_tfds.dataset_dir(root), "train")
    assert len(split) == 12 and len(split.shards) == 3
    assert [split.example(i) for i in range(12)] == train
    assert imagenet_tfds.dataset_dir(root / "imagenet2012").name == "5.1.0"


def test_examples_agree_with_protobuf_both_ways():
    from test_ogbg_tfds import example_class  # tf.train.Example from its .proto

    Example = example_class()
    ours = Example.FromString(imagenet_tfds.encode_image_example(b"\xff\xd8jpeg", 417, "n1.JPEG"))
    assert ours.features.feature["image"].bytes_list.value == [b"\xff\xd8jpeg"]
    assert ours.features.feature["label"].int64_list.value == [417]
    assert ours.features.feature["file_name"].bytes_list.value == [b"n1.JPEG"]
    theirs = Example()
    theirs.features.feature["label"].int64_list.value.append(999)
    theirs.features.feature["image"].bytes_list.value.append(b"\x00" * 300)
    theirs.features.feature["file_name"].bytes_list.value.append(b"x.JPEG")
    data = theirs.SerializeToString()
    assert imagenet_tfds.parse_image_example(data, "here") == (b"\x00" * 300, 999)
    theirs.features.feature["label"].int64_list.value[0] = 1000
    with pytest.raises(TfdsError, match="here: label 1000 outside"):
        imagenet_tfds.parse_image_example(theirs.SerializeToString(), "here")


def test_record_offsets_are_cached_by_path_size_and_mtime(dataset, tmp_path):
    root, train, _ = dataset
    version = imagenet_tfds.dataset_dir(root)
    split = imagenet_tfds.ImageSplit.open(version, "train", cache=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 3
    again = imagenet_tfds.ImageSplit.open(version, "train", cache=tmp_path)
    for a, b in zip(split.offsets, again.offsets, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [again.example(i) for i in range(12)] == train
    for path in tmp_path.glob("*.npy"):  # the cached index is what is read next time
        np.save(path, np.zeros(2, np.int64))
    with pytest.raises(TfdsError, match="2 records, dataset_info.json says 4"):
        imagenet_tfds.ImageSplit.open(version, "train", cache=tmp_path)


def test_a_corrupt_record_or_a_wrong_shard_count_names_the_file(dataset, tmp_path):
    root, train, _ = dataset
    imagenet_tfds.write_dataset(tmp_path, {"train": train[:4], "validation": train[:2]}, 2)
    version = tmp_path / "imagenet2012" / "5.1.0"
    shard = sorted(version.glob("*-train.*"))[1]
    data = bytearray(shard.read_bytes())
    data[40] ^= 0xFF  # inside the first record's payload
    shard.write_bytes(bytes(data))
    split = imagenet_tfds.ImageSplit.open(version, "train")
    with pytest.raises(TfdsError, match=f"{shard.name}.*CRC mismatch"):
        split.example(2)
    info = json.loads((version / "dataset_info.json").read_text())
    info["splits"][0]["shardLengths"] = ["2", "3"]
    (version / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(TfdsError, match=f"{shard.name}: 2 records, dataset_info.json says 3"):
        imagenet_tfds.ImageSplit.open(version, "train")
    info["splits"][0]["shardLengths"] = ["4"]
    (version / "dataset_info.json").write_text(json.dumps(info))
    with pytest.raises(TfdsError, match="2 train shards, dataset_info.json says 1"):
        imagenet_tfds.ImageSplit.open(version, "train")
    with pytest.raises(TfdsError, match="dataset_setup.py --dataset imagenet"):
        imagenet_tfds.dataset_dir(tmp_path / "nothing")


# --- the crop geometry, worked by hand --------------------------------------------------------


class Script:
    """A generator stand-in: ``integers`` returns scripted values and records its ranges."""

    def __init__(self, ints, floats=()):
        self.ints, self.floats, self.calls = list(ints), list(floats), []

    def integers(self, low, high):
        self.calls.append((low, high))
        return self.ints.pop(0)

    def random(self, dtype=None):
        return self.floats.pop(0)


def test_random_crop_draws_the_height_then_the_offsets():
    # 100x200, aspect 1: min area 0.08 * 20000 = 1600 -> h >= 40; max height
    # round(sqrt(20000)) = 141, capped at the image's 100; h = 40 + U{0..60}
    rng = Script([20, 7, 99])
    assert image_ops.random_crop(100, 200, 1.0, rng) == (7, 99, 60, 60)
    assert rng.calls == [(0, 61), (0, 40), (0, 140)]


def test_random_crop_caps_the_height_by_the_width():
    # 300 high, 100 wide, aspect 4/3: round(150 * 4/3) = 200 > 100, so the largest height
    # is int(100.5 / (4/3)) = 75; the smallest round(sqrt(2400 / (4/3))) = 42
    rng = Script([33, 0, 0])
    y, x, h, w = image_ops.random_crop(300, 100, 4 / 3, rng)
    assert rng.calls[0] == (0, 34) and (h, w) == (75, 100)
    assert rng.calls[1:] == [(0, 225)]  # w == width: no x draw


def test_distorted_boxes_cover_at_least_a_tenth_with_aspect_in_range():
    rng = np.random.default_rng(0)
    boxes = [image_ops.distorted_box(300, 400, rng) for _ in range(2000)]
    fractions = np.array([h * w / 120000 for _, _, h, w in boxes])
    aspects = np.array([w / h for _, _, h, w in boxes if (h, w) != (300, 400)])
    assert fractions.min() >= 0.1 and fractions.max() <= 1.0
    assert (fractions < 0.15).any() and (fractions > 0.9).any()
    assert aspects.min() >= 0.74 and aspects.max() <= 1.34
    assert all(y + h <= 300 and x + w <= 400 and y >= 0 and x >= 0 for y, x, h, w in boxes)


def test_a_box_that_is_the_whole_image_falls_back_to_the_centre_crop(dataset, monkeypatch):
    data = dataset[1][0][0]
    monkeypatch.setattr(
        image_ops, "distorted_box", lambda height, width, rng: (0, 0, height, width)
    )
    out = image_ops.crop_for_train(data, np.random.default_rng(0))
    np.testing.assert_array_equal(out, image_ops.crop_for_eval(data))


def test_centre_window_keeps_224_of_256_of_the_short_side():
    # int(0.875 * 375) = 328; offsets ((375 - 328 + 1) // 2, (500 - 328 + 1) // 2)
    assert image_ops.center_window(375, 500) == (24, 86, 328, 328)
    assert image_ops.center_window(256, 256) == (16, 16, 224, 224)


# --- the resize, flip and normalisation --------------------------------------------------------


def keys_cubic(t: np.ndarray, a: float = -0.5) -> np.ndarray:
    t = np.abs(t)
    near = (a + 2) * t**3 - (a + 3) * t**2 + 1
    far = a * t**3 - 5 * a * t**2 + 8 * a * t - 4 * a
    return np.where(t <= 1, near, np.where(t < 2, far, 0.0))


@pytest.mark.parametrize("in_size, out_size", [(50, 224), (500, 224), (224, 224), (37, 11)])
def test_bicubic_weights_are_keys_kernel_at_half_pixel_centres(in_size, out_size):
    taps, weights = image_ops._resize_weights(in_size, out_size)
    for o in range(out_size):
        centre = (o + 0.5) * in_size / out_size - 0.5
        idx = np.floor(centre) + np.arange(-1, 3)
        want = keys_cubic(centre - idx)
        want = np.where((idx >= 0) & (idx < in_size), want, 0)
        want /= want.sum()
        got = np.zeros(in_size)
        np.add.at(got, taps[o], weights[o])
        expected = np.zeros(in_size)
        np.add.at(expected, np.clip(idx, 0, in_size - 1).astype(int), want)
        np.testing.assert_allclose(got, expected, atol=2e-3)  # the 1/1024 table


def test_bicubic_resize_keeps_constants_and_linear_ramps():
    ramp = np.tile(np.arange(80, dtype=np.float32)[None, :, None], (60, 1, 3))
    out = image_ops.resize_bicubic(ramp, 32)
    centres = (np.arange(32) + 0.5) * 80 / 32 - 0.5
    np.testing.assert_allclose(out[5, 2:-2, 0], centres[2:-2], atol=2e-3)
    flat = image_ops.resize_bicubic(np.full((70, 45, 3), 77, np.uint8), 224)
    np.testing.assert_allclose(flat, 77, rtol=1e-6)


def test_flip_is_a_coin_after_the_crop_draws(dataset):
    _, train, _ = dataset
    data, flips = train[1][0], []
    for seed in range(8):
        crop_rng, rng = np.random.default_rng(seed), np.random.default_rng(seed)
        crop = image_ops.crop_for_train(data, crop_rng)
        flipped = crop_rng.random() < 0.5
        out = image_ops.preprocess_train(data, rng, randaugment=False)
        np.testing.assert_array_equal(out, crop[:, ::-1] if flipped else crop)
        flips.append(flipped)
    assert any(flips) and not all(flips)


def test_device_normalisation_is_algoperfs_mean_and_std_in_pixel_units():
    from hpbench.workloads.imagenet import normalize

    pixels = np.random.default_rng(0).uniform(-5, 260, (2, 4, 4, 3)).astype(np.float32)
    mean = np.array([0.485, 0.456, 0.406]) * 255
    std = np.array([0.229, 0.224, 0.225]) * 255
    np.testing.assert_allclose(np.asarray(normalize(pixels)), (pixels - mean) / std, atol=1e-5)


# --- RandAugment's operations ------------------------------------------------------------------


@pytest.fixture
def image():
    return np.random.default_rng(1).integers(0, 256, (24, 32, 3), dtype=np.uint8)


def test_histogram_ops_match_pillows_imageops(image):
    pil = Image.fromarray(image)
    np.testing.assert_array_equal(randaugment.equalize(image), np.asarray(ImageOps.equalize(pil)))
    np.testing.assert_array_equal(
        randaugment.autocontrast(image), np.asarray(ImageOps.autocontrast(pil))
    )
    rng = np.random.default_rng(0)
    posterized = randaugment.apply("Posterize", image, rng)
    np.testing.assert_array_equal(posterized, np.asarray(ImageOps.posterize(pil, 4)))
    np.testing.assert_array_equal(randaugment.apply("Invert", image, rng), 255 - image)


def test_pixel_ops_follow_algoperfs_formulas(image):
    rng = np.random.default_rng(0)
    added = randaugment.apply("SolarizeAdd", image, rng).astype(int)
    want = np.where(image < 128, np.minimum(image.astype(int) + 110, 255), image)
    np.testing.assert_array_equal(added, want)
    # threshold int(10 / 10 * 256) = 256, cast to uint8 by TensorFlow: 0, nothing below it
    np.testing.assert_array_equal(randaugment.apply("Solarize", image, rng), 255 - image)
    # brightness 1.9: clip(1.9 x) truncated; contrast blends with the pixel count / 256 = 3
    bright = randaugment.apply("Brightness", image, rng)
    np.testing.assert_array_equal(bright, np.clip(np.float32(1.9) * image, 0, 255).astype(np.uint8))
    contrast = randaugment.apply("Contrast", image, rng)
    want = np.clip(3 + np.float32(1.9) * (image.astype(np.float32) - 3), 0, 255).astype(np.uint8)
    np.testing.assert_array_equal(contrast, want)


def test_geometric_ops_sample_the_nearest_pixel_and_fill_128(image):
    np.testing.assert_array_equal(randaugment.rotate(image, 180.0), image[::-1, ::-1])
    shifted = randaugment._project(image, (1, 0, 5, 0, 1, 0))  # output x reads input x + 5
    np.testing.assert_array_equal(shifted[:, :-5], image[:, 5:])
    assert (shifted[:, -5:] == 128).all()
    cut = randaugment.cutout(image, Script([3, 30]), 40)  # centre (3, 30): all rows, x >= 0
    assert (cut == 128).all()


# --- the reader: determinism, resume, hosts, mixup ---------------------------------------------


def test_batches_are_a_function_of_seed_and_step_and_resume_exactly(dataset):
    root, _, _ = dataset
    reader = imagenet_tfds.ImageNetReader.open(root, batch_size=4)
    batch = reader(0, 3)
    assert batch["images"].shape == (4, 224, 224, 3) and batch["images"].dtype == np.float32
    np.testing.assert_array_equal(batch["images"], reader(0, 3)["images"])
    assert not np.array_equal(batch["images"], reader(1, 3)["images"])
    running = StepStream(reader)
    for step in range(4):
        last = running.batch(0, step)
    resumed = StepStream(reader).batch(0, 3)
    np.testing.assert_array_equal(last["images"], resumed["images"])
    np.testing.assert_array_equal(last["labels"], resumed["labels"])


def test_vit_batches_mix_each_row_with_the_previous_one_across_hosts(dataset):
    root, _, _ = dataset
    whole = imagenet_tfds.ImageNetReader.open(root, batch_size=4, vit=True)
    batch = whole(2, 5)
    raw = [whole._example(2, 5, row, n) for row, n in enumerate(_numbers(whole, 2, 5))]
    images = np.stack([image for image, _ in raw])
    weight = batch["mix_weights"][0]
    assert 0 <= weight <= 1 and (batch["mix_weights"] == weight).all()
    np.testing.assert_allclose(
        batch["images"], weight * images + (1 - weight) * np.roll(images, 1, 0), atol=1e-4
    )
    np.testing.assert_array_equal(batch["mix_labels"], np.roll(batch["labels"], 1))
    halves = [attrs.evolve(whole, shard=HostShard(i, 2))(2, 5) for i in range(2)]
    for key in batch:
        np.testing.assert_array_equal(np.concatenate([h[key] for h in halves]), batch[key])


def _numbers(reader, seed, step):
    from hpbench.data.order import batch_indices

    return [int(n) for n in batch_indices(seed, step, len(reader.train), reader.batch_size)]


def test_validation_is_every_image_centre_cropped_in_file_order(dataset):
    root, _, valid = dataset
    reader = imagenet_tfds.ImageNetReader.open(root, batch_size=4)
    batch = reader.valid_batch(slice(1, 4))
    assert batch["labels"].tolist() == [label for _, label in valid[1:4]]
    np.testing.assert_array_equal(batch["images"][0], image_ops.crop_for_eval(valid[1][0]))


def test_full_workloads_stream_training_and_validation_from_the_tfds_directory(
    dataset, monkeypatch
):
    from hpbench.workloads.registry import load_workload

    root, _, valid = dataset
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    resnet = load_workload("imagenet_resnet", "full", data=str(root))
    assert resnet.reader is not None and not resnet.reader.vit and not resnet.data
    resnet = attrs.evolve(resnet, batch_override=4, eval_batch_size=2)
    batch = resnet.batch(0, 2)
    want = attrs.evolve(resnet.reader, batch_size=4)(0, 2)
    for key in ("images", "labels"):
        np.testing.assert_array_equal(batch[key], want[key])
    total, batches = resnet._valid_batches()
    labels = np.concatenate([b.rest["labels"] for b in batches])  # one host: all rows
    assert total == 5 and labels.tolist() == [label for _, label in valid]
    assert load_workload("imagenet_vit", "full", data=str(root)).reader.vit


@pytest.mark.slow  # compiles a ViT on 224x224 inputs: ~30-90 s on 2 loaded cores
def test_vit_learns_mixed_targets(dataset, monkeypatch):
    import jax
    import optax

    from hpbench.workloads import imagenet
    from hpbench.workloads.registry import load_workload

    root, _, _ = dataset
    monkeypatch.setenv("HPBENCH_DATA_WORKERS", "0")
    monkeypatch.setattr(imagenet, "vit_model", lambda *a: imagenet.ViT(1000, 16, 16, 1, 32, 2))
    vit = attrs.evolve(load_workload("imagenet_vit", "full", data=str(root)), batch_override=4)
    assert vit.reader.vit
    batch = vit.batch(0, 0)
    assert batch["images"].shape == (4, 224, 224, 3) and "mix_weights" in batch
    params, state = vit.init(jax.random.key(0))
    params = jax.tree.map(lambda p: p + 0.01, params)  # a head that is not all zeros
    loss, _ = vit.loss(params, state, batch, jax.random.key(1), dropout=0.0, label_smoothing=0.0)
    logits = vit.model().apply({"params": params}, imagenet.normalize(batch["images"]))
    w = batch["mix_weights"][0]
    ce = optax.softmax_cross_entropy_with_integer_labels
    want = w * ce(logits, batch["labels"]) + (1 - w) * ce(logits, batch["mix_labels"])
    np.testing.assert_allclose(float(loss), float(want.mean()), rtol=1e-5)


# --- a reduced trial on 8 simulated devices ----------------------------------------------------

MESH_SETUP = """
from hpbench.workloads import imagenet
if sys.argv[3] == "reduced":  # same data path (224x224 crops from TFDS shards), small nets
    imagenet.resnet_model = lambda size, n, variant, width=1: imagenet.ResNet(
        n, (1,), 4, bottleneck=True, imagenet_stem=True
    )
    imagenet.vit_model = lambda size, n, variant, dropout, width=1: imagenet.ViT(
        n, 16, 16, 1, 32, 2
    )
"""


def _mesh_run(tmp_path, root, workload: str, model: str = "reduced") -> dict:
    trial = full_trial(workload, str(root), Target("error_rate", 0.0, "min"))
    metrics = run_on_8_devices(tmp_path, trial, MESH_SETUP, model)
    assert 0.0 <= metrics["error_rate"] <= 1.0 and metrics["loss"] > 0
    return metrics


@pytest.mark.slow  # a JAX process on 8 devices, 224x224 inputs: ~80 s on 2 loaded cores
@pytest.mark.parametrize("workload", ["imagenet_resnet", "imagenet_vit"])
def test_reduced_model_trains_and_evaluates_from_tfds_shards_on_8_devices(
    dataset, tmp_path, workload
):
    root, _, _ = dataset
    _mesh_run(tmp_path, root, workload)


@pytest.mark.slow  # AlgoPerf's ResNet-50 on 224x224 crops, 8 CPU devices: minutes
def test_full_resnet50_trains_and_evaluates_from_tfds_shards_on_8_devices(dataset, tmp_path):
    root, _, _ = dataset
    _mesh_run(tmp_path, root, "imagenet_resnet", "full")

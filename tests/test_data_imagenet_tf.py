"""hpbench's NumPy ImageNet preprocessing against the TensorFlow ops AlgoPerf's
``imagenet_jax/input_pipeline.py`` and ``randaugment.py`` call. TensorFlow is not a
dependency of hpbench: this runs only where it is installed (``pip install tensorflow-cpu``),
and its last result is recorded in docs/full-scale.md."""

from __future__ import annotations

import io

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("PIL")
pytest.importorskip("simplejpeg")

from PIL import Image  # noqa: E402

from hpbench.data import image_ops, randaugment  # noqa: E402


def photo(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Smooth colour fields with texture: a JPEG-friendly image."""
    y = np.linspace(0, np.pi * 3, height)[:, None, None]
    x = np.linspace(0, np.pi * 4, width)[None, :, None]
    phase = rng.uniform(0, np.pi, 3)
    base = 127 + 90 * np.sin(y + phase) * np.cos(x - phase)
    return np.clip(base + rng.normal(0, 12, (height, width, 3)), 0, 255).astype(np.uint8)


def jpeg(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="JPEG", quality=90)
    return out.getvalue()


@pytest.mark.parametrize("shape", [(375, 500), (64, 48), (224, 224), (500, 333)])
def test_resize_is_tensorflows_bicubic(shape):
    image = photo(np.random.default_rng(0), *shape)
    want = tf.image.resize([image], [224, 224], method="bicubic")[0].numpy()
    np.testing.assert_allclose(image_ops.resize_bicubic(image), want, atol=2e-3)


def test_decode_and_centre_crop_match_tensorflows():
    data = jpeg(photo(np.random.default_rng(1), 375, 500))
    np.testing.assert_array_equal(image_ops.decode_jpeg(data), tf.io.decode_jpeg(data).numpy())
    grey = jpeg(photo(np.random.default_rng(2), 50, 60)[..., 0])
    want = tf.io.decode_jpeg(grey, channels=3).numpy()
    np.testing.assert_array_equal(image_ops.decode_jpeg(grey), want)
    assert image_ops.jpeg_shape(data) == tuple(tf.io.extract_jpeg_shape(data).numpy()[:2])
    y, x, h, w = image_ops.center_window(375, 500)
    crop = tf.io.decode_and_crop_jpeg(data, [y, x, h, w], channels=3)
    want = tf.image.resize([crop], [224, 224], method="bicubic")[0].numpy()
    got = image_ops.crop_for_eval(data)
    # libjpeg's cropped decoding upsamples chroma at the window's right edge from the edge
    # pixel: the last output columns differ by a few grey levels, the rest agree
    np.testing.assert_allclose(got[:, :-3], want[:, :-3], atol=2e-3)
    np.testing.assert_allclose(got, want, atol=6)


def test_distorted_boxes_follow_tensorflows_distribution():
    ours, theirs = [], []
    rng = np.random.default_rng(0)
    for seed in range(1500):
        ours.append(image_ops.distorted_box(375, 500, rng))
        begin, size, _ = tf.image.stateless_sample_distorted_bounding_box(
            [375, 500, 3],
            bounding_boxes=tf.constant([0.0, 0.0, 1.0, 1.0], shape=[1, 1, 4]),
            seed=[seed, 7],
            min_object_covered=0.1,
            aspect_ratio_range=(0.75, 4 / 3),
            area_range=(0.08, 1.0),
            max_attempts=10,
            use_image_if_no_bounding_boxes=True,
        )
        theirs.append((*begin.numpy()[:2], *size.numpy()[:2]))
    for boxes in (ours, theirs):
        assert min(h * w for _, _, h, w in boxes) >= 0.1 * 375 * 500
    area = [np.array([h * w for _, _, h, w in b]) / (375 * 500) for b in (ours, theirs)]
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert abs(np.quantile(area[0], q) - np.quantile(area[1], q)) < 0.04, q
    whole = [np.mean([(h, w) == (375, 500) for _, _, h, w in b]) for b in (ours, theirs)]
    assert abs(whole[0] - whole[1]) < 0.02


def test_grayscale_and_solarize_match_tensorflow():
    image = photo(np.random.default_rng(2), 40, 30)
    want = tf.image.rgb_to_grayscale(image).numpy()
    np.testing.assert_array_equal(randaugment.grayscale(image), want)

    @tf.function
    def solarize(image, threshold=256):  # AlgoPerf's, traced as in its tf.data map
        return tf.where(image < threshold, image, 255 - image)

    np.testing.assert_array_equal(
        randaugment.apply("Solarize", image, np.random.default_rng(0)), solarize(image).numpy()
    )


@pytest.mark.parametrize("degrees", [30.0, -30.0])
def test_rotate_matches_the_projective_transform_kernel(degrees):
    image = photo(np.random.default_rng(3), 224, 224)
    radians = degrees * np.pi / 180
    cos, sin = np.cos(radians), np.sin(radians)
    x_off = (223 - (cos * 223 - sin * 223)) / 2
    y_off = (223 - (sin * 223 + cos * 223)) / 2
    wrapped = np.concatenate([image, np.ones((224, 224, 1), np.uint8)], -1)
    out = tf.raw_ops.ImageProjectiveTransformV3(
        images=wrapped[None],
        transforms=tf.constant([[cos, -sin, x_off, sin, cos, y_off, 0, 0]], tf.float32),
        output_shape=[224, 224],
        interpolation="NEAREST",
        fill_mode="CONSTANT",
        fill_value=0.0,
    )[0].numpy()
    want = np.where(out[..., 3:] == 0, np.uint8(128), out[..., :3])
    got = randaugment.rotate(image, degrees)
    assert np.mean(got != want) < 1e-3  # float32 ties at half pixels may round apart

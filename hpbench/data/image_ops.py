"""AlgoPerf's ImageNet preprocessing in NumPy, op for op with the TensorFlow kernels its
``imagenet_jax/input_pipeline.py`` calls: ``stateless_sample_distorted_bounding_box``
(the random-resized crop), the padded centre crop, ``tf.image.resize`` bicubic (half-pixel
centres, no antialiasing), the horizontal flip and mixup. Random draws come from NumPy, so
they follow the same distributions as TensorFlow's Philox streams, not the same values.
"""

from __future__ import annotations

import io

import numpy as np

IMAGE_SIZE = 224  # AlgoPerf's center_crop_size
RESIZE_SIZE = 256  # AlgoPerf's resize_size: the centre crop keeps 224 / 256 of the short side
AREA_RANGE = (0.08, 1.0)  # AlgoPerf's scale_ratio_range
ASPECT_RATIO_RANGE = (0.75, 4.0 / 3.0)
MIN_OBJECT_COVERED = 0.1
MAX_ATTEMPTS = 10
MIXUP_ALPHA = 0.2  # the ViT workload's mixup_alpha


def decode_jpeg(data: bytes) -> np.ndarray:
    """(H, W, 3) uint8 RGB of JPEG bytes, as TensorFlow's ``decode_jpeg`` with its defaults
    (libjpeg-turbo's fast integer IDCT, fancy upsampling; grey converted to RGB). CMYK and
    other colour spaces libjpeg-turbo cannot convert go through Pillow."""
    import simplejpeg

    try:
        return simplejpeg.decode_jpeg(data, colorspace="RGB", fastdct=True, fastupsample=False)
    except ValueError:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGB"))


def jpeg_shape(data: bytes) -> tuple[int, int]:
    """(height, width) from the JPEG header, without decoding (``extract_jpeg_shape``)."""
    import simplejpeg

    height, width, _, _ = simplejpeg.decode_jpeg_header(data)
    return height, width


# --- the random-resized crop ---------------------------------------------------------------


def _lrint(x: float) -> int:
    return int(np.rint(np.float32(x)))  # lrintf: round half to even


def random_crop(
    height: int, width: int, aspect_ratio: float, rng: np.random.Generator
) -> tuple[int, int, int, int] | None:
    """TensorFlow's ``GenerateRandomCrop`` for AlgoPerf's area range: (y, x, h, w) of a crop
    with ``w = round(aspect_ratio h)`` and area in the range, h uniform over its possible
    values, or None when the constraints cannot be met."""
    f32 = np.float32
    aspect_ratio = f32(aspect_ratio)
    min_area = f32(AREA_RANGE[0]) * f32(width) * f32(height)
    max_area = f32(AREA_RANGE[1]) * f32(width) * f32(height)
    crop_h = _lrint(np.sqrt(min_area / aspect_ratio))
    max_h = _lrint(np.sqrt(max_area / aspect_ratio))
    if _lrint(max_h * aspect_ratio) > width:
        max_h = int((width + 0.5 - 1e-7) / aspect_ratio)
        if _lrint(max_h * aspect_ratio) > width:
            max_h -= 1
    max_h = min(max_h, height)
    crop_h = min(crop_h, max_h)
    if crop_h < max_h:
        crop_h += int(rng.integers(0, max_h - crop_h + 1))
    crop_w = _lrint(crop_h * aspect_ratio)
    area = f32(crop_w * crop_h)
    if area < min_area:
        crop_h += 1
        crop_w = _lrint(crop_h * aspect_ratio)
        area = f32(crop_w * crop_h)
    if area > max_area:
        crop_h -= 1
        crop_w = _lrint(crop_h * aspect_ratio)
        area = f32(crop_w * crop_h)
    if (
        area < min_area
        or area > max_area
        or crop_w > width
        or crop_h > height
        or crop_w <= 0
        or crop_h <= 0
    ):
        return None
    y = int(rng.integers(0, height - crop_h)) if crop_h < height else 0
    x = int(rng.integers(0, width - crop_w)) if crop_w < width else 0
    return y, x, crop_h, crop_w


def distorted_box(height: int, width: int, rng: np.random.Generator) -> tuple[int, int, int, int]:
    """``sample_distorted_bounding_box`` with AlgoPerf's arguments: up to 10 attempts, each an
    aspect ratio uniform in [3/4, 4/3] and a crop covering at least 10% of the image (the
    whole image is the one bounding box); the whole image when every attempt fails."""
    low, high = np.float32(ASPECT_RATIO_RANGE[0]), np.float32(ASPECT_RATIO_RANGE[1])
    for _ in range(MAX_ATTEMPTS):
        aspect = np.float32(rng.random(dtype=np.float32)) * (high - low) + low
        crop = random_crop(height, width, aspect, rng)
        if crop is None:
            continue
        area = crop[2] * crop[3]
        if area >= 1 and np.float32(area) / np.float32(height * width) >= MIN_OBJECT_COVERED:
            return crop
    return 0, 0, height, width


def center_window(height: int, width: int) -> tuple[int, int, int, int]:
    """AlgoPerf's evaluation crop (y, x, size, size): ``int(224 / 256 * min(h, w))`` square,
    offsets rounded up, before the resize to 224."""
    size = int(np.float32(IMAGE_SIZE / RESIZE_SIZE) * np.float32(min(height, width)))
    return (height - size + 1) // 2, (width - size + 1) // 2, size, size


# --- tf.image.resize(method=BICUBIC), antialias=False --------------------------------------

_TABLE_SIZE = 1024


def _coefficients(a: float = -0.5) -> np.ndarray:
    """TensorFlow's Keys cubic kernel, tabulated at 1/1024 steps: [i, 0] at distance i/1024,
    [i, 1] at distance 1 + i/1024."""
    x = (np.arange(_TABLE_SIZE + 1) / _TABLE_SIZE).astype(np.float32)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = x + 1
    far = ((a * far - 5 * a) * far + 8 * a) * far - 4 * a
    return np.stack([near, far], axis=1).astype(np.float32)


_COEFFS = _coefficients()


def _resize_weights(in_size: int, out_size: int) -> tuple[np.ndarray, np.ndarray]:
    """(indices, weights), each (out_size, 4): ``ResizeBicubic``'s taps with half-pixel
    centres; taps outside the image get weight 0 and the rest are renormalised."""
    scale = np.float32(in_size) / np.float32(out_size)
    centre = (np.arange(out_size, dtype=np.float32) + np.float32(0.5)) * scale - np.float32(0.5)
    base = np.floor(centre).astype(np.int64)
    offset = np.rint((centre - base) * _TABLE_SIZE).astype(np.int64)
    weights = np.stack(
        [
            _COEFFS[offset, 1],
            _COEFFS[offset, 0],
            _COEFFS[_TABLE_SIZE - offset, 0],
            _COEFFS[_TABLE_SIZE - offset, 1],
        ],
        axis=1,
    )
    taps = base[:, None] + np.arange(-1, 3)
    weights = np.where((taps >= 0) & (taps < in_size), weights, np.float32(0))
    weights = weights / weights.sum(axis=1, keepdims=True)
    return np.clip(taps, 0, in_size - 1), weights.astype(np.float32)


def resize_bicubic(image: np.ndarray, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, size, C) float32: ``tf.image.resize(..., BICUBIC)`` of an (H, W, C) image."""
    rows, row_w = _resize_weights(image.shape[0], size)
    cols, col_w = _resize_weights(image.shape[1], size)
    image = image.astype(np.float32)
    out = np.einsum("ok,okwc->owc", row_w, image[rows])
    return np.einsum("pk,opkc->opc", col_w, out[:, cols])


# --- the two pipelines ---------------------------------------------------------------------


def crop_for_train(data: bytes, rng: np.random.Generator) -> np.ndarray:
    """``_decode_and_random_crop``: the distorted box, or the centre crop when the box is the
    whole image, resized to 224x224 (float32, unnormalised pixel values)."""
    height, width = jpeg_shape(data)
    y, x, h, w = distorted_box(height, width, rng)
    if (h, w) == (height, width):
        return crop_for_eval(data)
    return resize_bicubic(decode_jpeg(data)[y : y + h, x : x + w])


def crop_for_eval(data: bytes) -> np.ndarray:
    """``_decode_and_center_crop``: the centre 224/256 square resized to 224x224."""
    image = decode_jpeg(data)
    y, x, h, w = center_window(*image.shape[:2])
    return resize_bicubic(image[y : y + h, x : x + w])


def preprocess_train(data: bytes, rng: np.random.Generator, randaugment: bool) -> np.ndarray:
    """``preprocess_for_train`` up to normalisation (done on the device): crop, flip with
    probability 1/2, then (ViT) RandAugment on the image clipped and cast to uint8."""
    image = crop_for_train(data, rng)
    if rng.random() < 0.5:
        image = image[:, ::-1]
    if randaugment:
        from hpbench.data.randaugment import distort

        image = distort(np.clip(image, 0, 255).astype(np.uint8), rng).astype(np.float32)
    return np.ascontiguousarray(image)


def mixup_weight(rng: np.random.Generator, alpha: float = MIXUP_ALPHA) -> np.float32:
    """The batch's mixup weight: Gamma(a) / (Gamma(a) + Gamma(a)), i.e. Beta(a, a)."""
    a, b = rng.gamma(alpha), rng.gamma(alpha)
    return np.float32(a / (a + b)) if a + b > 0 else np.float32(0.5)

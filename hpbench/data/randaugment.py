"""AlgoPerf's RandAugment (``imagenet_jax/randaugment.py``) on uint8 NumPy images: two
layers, each one of 16 operations drawn uniformly and applied at magnitude 10 (AlgoPerf
computes a per-op probability but never uses it, so the drawn op always applies).

At magnitude 10: rotate +-30 degrees, shear +-0.3, translate +-100 pixels (sign drawn),
posterize to 4 bits, solarize at threshold 256 (which TensorFlow casts to the uint8 0, so
every pixel inverts; checked against TensorFlow 2.21), solarize-add
110 below 128, colour / contrast / brightness / sharpness factor 1.9, cutout of an 80x80
square; empty pixels are filled with 128. Geometric ops sample the nearest pixel
(``ImageProjectiveTransformV3``, rounding half away from zero).
"""

from __future__ import annotations

import numpy as np

MAGNITUDE = 10.0
MAX_LEVEL = 10.0
NUM_LAYERS = 2
REPLACE = 128
CUTOUT_CONST = 40
TRANSLATE_CONST = 100
ENHANCE_FACTOR = MAGNITUDE / MAX_LEVEL * 1.8 + 0.1


def blend(image1: np.ndarray, image2: np.ndarray, factor: float) -> np.ndarray:
    """``image1 + factor (image2 - image1)``, clipped when extrapolating, truncated to uint8."""
    if factor == 0.0:
        return image1
    if factor == 1.0:
        return image2
    image1 = image1.astype(np.float32)
    temp = image1 + np.float32(factor) * (image2.astype(np.float32) - image1)
    if not 0.0 < factor < 1.0:
        temp = np.clip(temp, 0.0, 255.0)
    return temp.astype(np.uint8)


def grayscale(image: np.ndarray) -> np.ndarray:
    """``tf.image.rgb_to_grayscale`` of uint8: weighted in [0, 1] floats, back by x 255.5."""
    weights = np.array([0.2989, 0.5870, 0.1140], np.float32)
    gray = (image.astype(np.float32) * np.float32(1 / 255.0)) @ weights
    return np.clip(gray * np.float32(255.5), 0, 255).astype(np.uint8)[..., None]


def _project(image: np.ndarray, matrix: tuple[float, ...]) -> np.ndarray:
    """Output pixel (x, y) takes input (a0 x + a1 y + a2, b0 x + b1 y + b2), nearest,
    ``REPLACE`` where that falls outside the image (wrap / transform / unwrap)."""
    a0, a1, a2, b0, b1, b2 = (np.float32(v) for v in matrix)
    height, width = image.shape[:2]
    y, x = np.mgrid[:height, :width].astype(np.float32)
    src_x = a0 * x + a1 * y + a2
    src_y = b0 * x + b1 * y + b2
    src_x = np.sign(src_x) * np.floor(np.abs(src_x) + 0.5)  # std::round
    src_y = np.sign(src_y) * np.floor(np.abs(src_y) + 0.5)
    inside = (src_x >= 0) & (src_x < width) & (src_y >= 0) & (src_y < height)
    sx = np.clip(src_x, 0, width - 1).astype(np.int64)
    sy = np.clip(src_y, 0, height - 1).astype(np.int64)
    return np.where(inside[..., None], image[sy, sx], np.uint8(REPLACE))


def rotate(image: np.ndarray, degrees: float) -> np.ndarray:
    radians = np.float32(degrees * np.pi / 180.0)
    cos, sin = np.cos(radians), np.sin(radians)
    h, w = (np.float32(s) for s in image.shape[:2])
    x_offset = ((w - 1) - (cos * (w - 1) - sin * (h - 1))) / 2
    y_offset = ((h - 1) - (sin * (w - 1) + cos * (h - 1))) / 2
    return _project(image, (cos, -sin, x_offset, sin, cos, y_offset))


def autocontrast(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    for c in range(3):
        lo, hi = np.float32(image[..., c].min()), np.float32(image[..., c].max())
        if hi > lo:
            scale = np.float32(255.0) / (hi - lo)
            scaled = image[..., c].astype(np.float32) * scale - lo * scale
            out[..., c] = np.clip(scaled, 0.0, 255.0).astype(np.uint8)
    return out


def equalize(image: np.ndarray) -> np.ndarray:
    out = image.copy()
    for c in range(3):
        histo = np.bincount(image[..., c].reshape(-1), minlength=256).astype(np.int64)
        nonzero = histo[histo != 0]
        step = (nonzero.sum() - nonzero[-1]) // 255
        if step == 0:
            continue
        lut = (np.cumsum(histo) + step // 2) // step
        lut = np.clip(np.concatenate([[0], lut[:-1]]), 0, 255)
        out[..., c] = lut[image[..., c]].astype(np.uint8)
    return out


def sharpness(image: np.ndarray, factor: float) -> np.ndarray:
    """PIL's SMOOTH kernel (1 1 1 / 1 5 1 / 1 1 1, / 13) inside, the original at the border."""
    x = image.astype(np.float32)
    kernel = np.array([[1, 1, 1], [1, 5, 1], [1, 1, 1]], np.float32) / np.float32(13.0)
    height, width = image.shape[:2]
    smooth = sum(
        kernel[i, j] * x[i : height - 2 + i, j : width - 2 + j] for i in range(3) for j in range(3)
    )
    degenerate = image.copy()
    degenerate[1:-1, 1:-1] = np.clip(smooth, 0.0, 255.0).astype(np.uint8)
    return blend(degenerate, image, factor)


def cutout(image: np.ndarray, rng: np.random.Generator, pad: int) -> np.ndarray:
    height, width = image.shape[:2]
    cy, cx = int(rng.integers(0, height)), int(rng.integers(0, width))
    out = image.copy()
    out[max(0, cy - pad) : min(height, cy + pad), max(0, cx - pad) : min(width, cx + pad)] = REPLACE
    return out


def _signed(value: float, rng: np.random.Generator) -> float:
    return value if rng.random() < 0.5 else -value


def apply(name: str, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One RandAugment operation at ``MAGNITUDE``."""
    level = MAGNITUDE / MAX_LEVEL
    factor = ENHANCE_FACTOR
    if name == "AutoContrast":
        return autocontrast(image)
    if name == "Equalize":
        return equalize(image)
    if name == "Invert":
        return 255 - image
    if name == "Rotate":
        return rotate(image, _signed(level * 30.0, rng))
    if name == "Posterize":
        shift = 8 - int(level * 4)
        return (image >> shift) << shift
    if name == "Solarize":  # TensorFlow casts the threshold 256 to uint8: 0, so all invert
        threshold = np.uint8(int(level * 256) % 256)
        return np.where(image < threshold, image, 255 - image).astype(np.uint8)
    if name == "SolarizeAdd":
        added = np.clip(image.astype(np.int64) + int(level * 110), 0, 255).astype(np.uint8)
        return np.where(image < 128, added, image)
    if name == "Color":
        return blend(np.repeat(grayscale(image), 3, axis=-1), image, factor)
    if name == "Contrast":
        # AlgoPerf's "mean" is the histogram's total over 256: the pixel count / 256
        mean = min(image.shape[0] * image.shape[1] / 256.0, 255.0)
        return blend(np.full_like(image, np.uint8(mean)), image, factor)
    if name == "Brightness":
        return blend(np.zeros_like(image), image, factor)
    if name == "Sharpness":
        return sharpness(image, factor)
    if name == "ShearX":
        return _project(image, (1.0, _signed(level * 0.3, rng), 0.0, 0.0, 1.0, 0.0))
    if name == "ShearY":
        return _project(image, (1.0, 0.0, 0.0, _signed(level * 0.3, rng), 1.0, 0.0))
    if name == "TranslateX":
        return _project(image, (1.0, 0.0, _signed(level * TRANSLATE_CONST, rng), 0.0, 1.0, 0.0))
    if name == "TranslateY":
        return _project(image, (1.0, 0.0, 0.0, 0.0, 1.0, _signed(level * TRANSLATE_CONST, rng)))
    if name == "Cutout":
        return cutout(image, rng, int(level * CUTOUT_CONST))
    raise ValueError(f"unknown RandAugment operation {name!r}")


OPS = (
    "AutoContrast",
    "Equalize",
    "Invert",
    "Rotate",
    "Posterize",
    "Solarize",
    "Color",
    "Contrast",
    "Brightness",
    "Sharpness",
    "ShearX",
    "ShearY",
    "TranslateX",
    "TranslateY",
    "Cutout",
    "SolarizeAdd",
)


def distort(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``distort_image_with_randaugment(image, 2, 10)``: two uniformly drawn operations."""
    for _ in range(NUM_LAYERS):
        image = apply(OPS[int(rng.integers(0, len(OPS)))], image, rng)
    return image

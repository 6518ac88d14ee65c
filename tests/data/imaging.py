"""Encoding test images with Pillow, the independent reference codec."""

import io

import numpy as np
from PIL import Image


def encode(image: np.ndarray, fmt: str = "JPEG", mode: str | None = None, **kwargs) -> bytes:
    """Encodes with Pillow, optionally converting to a Pillow mode first (L, CMYK, RGBA)."""
    pil = Image.fromarray(image)
    if mode is not None:
        pil = pil.convert(mode)
    buffer = io.BytesIO()
    pil.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


def pil_decode(data: bytes) -> np.ndarray:
    """The independent reference decoder: Pillow, converted to RGB."""
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def bilinear(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resampling with half-pixel centres and no antialiasing, in float64."""

    def taps(n_out, n_in):
        source = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        low = np.floor(source).astype(int)
        return low, np.minimum(low + 1, n_in - 1), source - low

    y0, y1, fy = taps(height, image.shape[0])
    x0, x1, fx = taps(width, image.shape[1])
    image = image.astype(np.float64)
    fx = fx[None, :, None]
    top = image[y0][:, x0] * (1 - fx) + image[y0][:, x1] * fx
    bottom = image[y1][:, x0] * (1 - fx) + image[y1][:, x1] * fx
    return top * (1 - fy)[:, None, None] + bottom * fy[:, None, None]

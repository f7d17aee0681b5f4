"""Still images in and out: decode to RGB, atomic writes. OpenCV's BGR stops here."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from .files import atomic_path

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
ALPHA_SUFFIXES = (".png", ".webp", ".tif", ".tiff")  # the ones that keep transparency


def is_image_path(path: Path | str) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


def _decode(path: Path | str, flag: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {os.fspath(path)!r} does not exist")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, flag) if data.size else None
    if image is None:
        raise ValueError(f"expected a decodable image, got {os.fspath(path)!r} (not an image or corrupt)")
    return image


def read_image(path: Path | str) -> np.ndarray:
    """Decode an image file to ``uint8 (H, W, 3)`` RGB (alpha dropped, grey expanded, EXIF orientation applied)."""
    return cv2.cvtColor(_decode(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def _alpha_of(image: np.ndarray) -> np.ndarray | None:
    """The alpha of an image decoded as stored (``IMREAD_UNCHANGED``), as ``uint8``; None if it has none or every
    pixel is opaque."""
    if image.ndim != 3 or image.shape[2] != 4:
        return None
    alpha = image[..., 3]
    if alpha.dtype != np.uint8:  # 16-bit PNG and TIFF
        alpha = np.round(alpha.astype(np.float64) * (255.0 / np.iinfo(alpha.dtype).max)).astype(np.uint8)
    return None if bool((alpha == 255).all()) else np.ascontiguousarray(alpha)


def read_alpha(path: Path | str) -> np.ndarray | None:
    """The image file's transparency as ``uint8 (H, W)`` (255: opaque), or None where it has none (a format
    without alpha, no alpha channel, or every pixel opaque)."""
    if Path(path).suffix.lower() not in ALPHA_SUFFIXES:  # a JPEG or BMP: nothing to decode for
        return None
    return _alpha_of(_decode(path, cv2.IMREAD_UNCHANGED))


def read_grey(path: Path | str) -> np.ndarray:
    """Decode an image file to ``uint8 (H, W)`` grey levels (for masks)."""
    return _decode(path, cv2.IMREAD_GRAYSCALE)


def read_mask_levels(path: Path | str) -> np.ndarray:
    """A mask file as ``uint8 (H, W)``: its alpha where it has transparency, else its grey levels. The usual mask
    (a grey or a transparent PNG) is decoded once; a mask folder reads one per frame."""
    if Path(path).suffix.lower() in ALPHA_SUFFIXES:
        image = _decode(path, cv2.IMREAD_UNCHANGED)
        alpha = _alpha_of(image)
        if alpha is not None:
            return alpha
        if image.ndim == 2 and image.dtype == np.uint8:  # already what IMREAD_GRAYSCALE gives
            return image
    return read_grey(path)


def encode_image(image: np.ndarray, suffix: str, alpha: np.ndarray | None = None) -> bytes:
    """``uint8 (H, W, 3)`` RGB (or ``(H, W)`` grey) -> the bytes of an image file of type ``suffix``; ``alpha``
    ``uint8 (H, W)``, the transparency, goes with an RGB image into the formats that keep it (PNG, WebP, TIFF)."""
    if suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"expected an image file ending in {', '.join(IMAGE_SUFFIXES)}, got {suffix!r}")
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    if alpha is not None and image.ndim == 3 and suffix.lower() in ALPHA_SUFFIXES:
        if alpha.shape != image.shape[:2]:
            raise ValueError(f"expected an alpha of shape {image.shape[:2]}, got {alpha.shape}")
        bgr = np.dstack([bgr, alpha.astype(np.uint8)])
    ok, data = cv2.imencode(suffix.lower(), bgr)
    if not ok:
        raise ValueError(f"could not encode an image as {suffix}")
    return data.tobytes()


def write_image(path: Path | str, image: np.ndarray, alpha: np.ndarray | None = None) -> None:
    """Write ``uint8 (H, W, 3)`` RGB (or ``(H, W)`` grey) atomically; format from the suffix; ``alpha``: see
    :func:`encode_image`."""
    data = encode_image(image, Path(path).suffix, alpha)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)

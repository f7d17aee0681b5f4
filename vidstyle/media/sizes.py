"""Frame sizes and resizing of ``(H, W[, C])`` arrays. No file I/O."""

from __future__ import annotations

import cv2
import numpy as np


def fit_long_side(height: int, width: int, long_side: int | None) -> tuple[int, int]:
    """Size with the long side equal to ``long_side`` (unchanged if None), aspect kept."""
    if long_side is None:
        return height, width
    if long_side < 16:
        raise ValueError(f"expected a size of at least 16 px, got {long_side}")
    scale = long_side / max(height, width)
    return max(1, round(height * scale)), max(1, round(width * scale))


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an ``(H, W[, C])`` array; area filter when shrinking, cubic when enlarging."""
    if image.shape[:2] == (height, width):
        return image
    shrinking = height * width < image.shape[0] * image.shape[1]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC
    return cv2.resize(image, (width, height), interpolation=interpolation)


def even_size(height: int, width: int) -> tuple[int, int]:
    """The size rounded down to even sides, as yuv420p needs (no black padding line)."""
    return max(2, height - height % 2), max(2, width - width % 2)


def processing_size(height: int, width: int, max_size: int | None) -> tuple[int, int]:
    """A video's size for optimisation: long side ``max_size`` (never upscaled), even sides."""
    cap = None if max_size is None or max_size >= max(height, width) else max_size
    return even_size(*fit_long_side(height, width, cap))

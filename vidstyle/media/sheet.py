"""Contact sheets: rows of captioned tiles in one image, for previews and the README's sample."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import cv2
import numpy as np

from .sizes import resize

MARGIN, CAPTION = 6, 18  # px
BACKGROUND = (24, 24, 24)


def _ascii(text: str) -> str:
    """OpenCV's fonts draw ASCII only: accents are dropped (Léger -> Leger), other signs become '?'."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in plain)


def _caption(tile: np.ndarray, text: str) -> np.ndarray:
    """The tile with a caption strip under it (text shortened with '...' to fit)."""
    width = tile.shape[1]
    strip = np.full((CAPTION, width, 3), BACKGROUND, np.uint8)
    text = _ascii(text)
    scale = 0.4
    while text and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 4:
        text = text[:-4] + "..." if len(text) > 4 else ""
    cv2.putText(strip, text, (2, CAPTION - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (235, 235, 235), 1, cv2.LINE_AA)
    return np.concatenate([tile, strip], axis=0)


def contact_sheet(rows: Sequence[Sequence[tuple[np.ndarray, str]]], tile_height: int = 160) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB: each row's ``(image, caption)`` tiles scaled to ``tile_height``, side by side."""
    if not rows or not all(rows):
        raise ValueError("expected at least one tile in every row of a contact sheet")
    drawn = []
    for row in rows:
        tiles = [_caption(resize(image, tile_height, max(1, round(image.shape[1] * tile_height / image.shape[0]))),
                          text) for image, text in row]
        gap = np.full((tiles[0].shape[0], MARGIN, 3), BACKGROUND, np.uint8)
        drawn.append(np.concatenate([part for tile in tiles for part in (gap, tile)] + [gap], axis=1))
    width = max(row.shape[1] for row in drawn)
    padded = [np.pad(row, ((0, 0), (0, width - row.shape[1]), (0, 0)), constant_values=BACKGROUND[0])
              for row in drawn]
    gap = np.full((MARGIN, width, 3), BACKGROUND, np.uint8)
    return np.concatenate([part for row in padded for part in (gap, row)] + [gap], axis=0)

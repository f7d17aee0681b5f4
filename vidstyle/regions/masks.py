"""Region masks: loading, validation, inversion, feathering, per-layer guides. No video I/O.

A mask is ``float32 (H, W)`` in [0, 1]; grey levels are soft weights.
Guides follow Gatys et al. 2017 (spatial control): downsampled to each layer
by area interpolation and, where a single style is used, eroded by the
layer's receptive field ("inside" guides) so statistics near the border do
not bleed across it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..config import SettingError
from ..media.sizes import resize
from ..media.images import read_mask_levels

ASPECT_TOLERANCE = 0.02


def fit_mask(mask: np.ndarray, height: int, width: int, name: str = "mask", key: str = "mask") -> np.ndarray:
    """Resize ``mask (h, w)`` to the frame if the aspect ratios match; refuse otherwise (naming setting ``key``)."""
    h, w = mask.shape[:2]
    if abs((w / h) / (width / height) - 1) > ASPECT_TOLERANCE:
        raise SettingError(key, 
            f"{name} is {w}x{h} (aspect {w / h:.3f}) but the frames are {width}x{height} "
            f"(aspect {width / height:.3f}): expected the same aspect ratio"
        )
    return resize(mask, height, width) if (h, w) != (height, width) else mask


def load_mask(path: Path | str, height: int, width: int, key: str = "mask") -> np.ndarray:
    """Read an image as a soft mask at ``(height, width)``: grey levels / 255, or its alpha where it has
    transparency (a layer exported from an editor, a cutout: the opaque part is the region)."""
    try:
        grey = read_mask_levels(path)
    except (ValueError, OSError) as exc:
        raise SettingError(key, str(exc)) from None
    return fit_mask(grey, height, width, f"mask {os.fspath(path)!r}", key).astype(np.float32) / 255.0


EMPTY_HINT = "expected a region to stylize; check it or `invert_mask`"
FULL_HINT = "expected a region; drop the mask to stylize everything"


def check_coverage(mask: np.ndarray, name: str = "mask", key: str = "mask", empty_hint: str = EMPTY_HINT,
                   full_hint: str = FULL_HINT) -> None:
    """Refuse masks that select nothing or everything (after inversion); the error names setting ``key``."""
    selected = float((mask >= 0.5).mean())
    if selected < 1e-3:
        raise SettingError(key, f"{name} is empty (no pixel above 50%): {empty_hint}")
    if selected > 1 - 1e-3:
        raise SettingError(key, f"{name} covers the whole frame: {full_hint}")


def shape_mask(mask: np.ndarray, *, invert: bool = False, feather: int = 0) -> np.ndarray:
    """Apply ``invert`` then ``feather`` (a Gaussian soft edge about ``feather`` px wide)."""
    out = 1.0 - mask if invert else mask
    if feather > 0:
        size = 2 * feather + 1
        out = cv2.GaussianBlur(out, (size, size), feather / 2.0, borderType=cv2.BORDER_REPLICATE)
    return np.clip(out, 0.0, 1.0).astype(np.float32)


SNAP = 0.05  # soft weights within this of 0 or 1 count as 0 or 1


def snap(mask: np.ndarray, margin: float = SNAP) -> np.ndarray:
    """Weights below ``margin`` become 0 and above ``1 - margin`` become 1.

    A segmentation's faint tails (a person probability of 0.02 on the wall)
    would otherwise blend a little style into what the mask leaves out; with
    the snap, what a mask excludes is kept exactly.
    """
    return np.where(mask < margin, 0.0, np.where(mask > 1 - margin, 1.0, mask)).astype(np.float32)


def mask_tensor(mask: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(H, W)`` -> ``(1, 1, H, W)``."""
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None, None].to(device)


def layer_size(layer: str, height: int, width: int) -> tuple[int, int]:
    """Spatial size of a VGG19 layer's output for an input of ``(height, width)`` (pools floor)."""
    match = re.fullmatch(r"(?:conv|relu)(\d)_\d|pool(\d)", layer)
    if match is None:
        raise ValueError(f"expected a VGG19 layer name, got {layer!r}")
    pools = int(match.group(1)) - 1 if match.group(1) else int(match.group(2))
    for _ in range(pools):
        height, width = height // 2, width // 2
    return height, width


def layer_guides(mask: torch.Tensor, layers: Sequence[str], *, erode: bool) -> dict[str, torch.Tensor]:
    """Guides ``{layer: (1, 1, h, w)}``: area-downsampled and optionally eroded ('inside' guides).

    Erosion is a 3x3 min filter at each layer's resolution (one conv's reach);
    where it would leave nothing (a tiny region), the plain guide is used.
    """
    height, width = mask.shape[-2:]
    guides = {}
    for name in layers:
        guide = F.interpolate(mask, size=layer_size(name, height, width), mode="area")
        if erode:
            eroded = -F.max_pool2d(-guide, 3, stride=1, padding=1)
            if eroded.sum() > 0.5:
                guide = eroded
        guides[name] = guide
    return guides

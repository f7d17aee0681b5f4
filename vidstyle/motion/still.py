"""Textureless regions that did not change: where DIS flow is noise, zero motion explains the pixels.

Ruder et al.'s motion-boundary test, ``|grad u|^2 + |grad v|^2 > 0.01 |w|^2 + 0.002``, was
tuned for DeepFlow, whose variational smoothness carries motion into flat areas. DIS
(OpenCV's default here) estimates flat, slightly noisy regions (a road, a wall, a clear sky
under a still camera) from sensor noise: its flow there jitters by pixels, fails the test,
and the region loses its temporal term and is re-stylized from the content every frame, so
it swims. Our departure from Ruder: where the image has no texture, the two frames do not
differ beyond their noise, and DIS's own flow fails the checks in most of the neighbourhood,
the flow is set to zero, which passes the checks (and is what the frames show). Where DIS
is right in a flat region (clouds in a panning sky), its flow is kept.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

WINDOW = 7  # px: the neighbourhood of the texture and change measures
# "No texture" for DIS: the gradient of the denoised image (grey levels per px) is below this
# floor, or below this share of the frame's noise level, whichever is larger.
FLAT_FLOOR, FLAT_PER_NOISE = 0.5, 0.5
STILL_CAMERA = 0.5  # share of unchanged pixels above which the camera counts as still


def _blur(image: np.ndarray, size: int) -> np.ndarray:
    return cv2.blur(image, (size, size), borderType=cv2.BORDER_REFLECT)


def noise_level(grey: np.ndarray) -> float:
    """The image's noise, grey levels: the robust spread (1.4826 MAD) of the image minus its blur."""
    g = grey.astype(np.float32)
    return 1.4826 * float(np.median(np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.0))))


def _flat(grey: np.ndarray, noise: float) -> np.ndarray:
    """Where the image holds too little structure, above its own noise, for DIS to track.

    Texture is the gradient of the denoised image (Gaussian, sigma 1.5), grey levels per px,
    over the window.
    """
    g = grey.astype(np.float32)
    smooth = cv2.GaussianBlur(g, (0, 0), 1.5)
    gx = cv2.Sobel(smooth, cv2.CV_32F, 1, 0, ksize=3) / 8
    gy = cv2.Sobel(smooth, cv2.CV_32F, 0, 1, ksize=3) / 8
    texture = np.sqrt(_blur(gx * gx + gy * gy, WINDOW))
    return texture < max(FLAT_FLOOR, FLAT_PER_NOISE * noise)


def still_regions(grey: np.ndarray, earlier: np.ndarray) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(on grey's grid, on earlier's grid, still camera)``: bool maps of textureless pixels that did not
    change, and whether most of the frame did not change (a still camera).

    "Did not change" is judged against the frames' own noise, measured in space (not from the
    frame difference, which motion inflates): the mean absolute difference over the window is
    below 2.5 x the noise + 0.5 levels. A smooth sky under a panning camera changes by more
    than that and keeps its (correct) DIS flow.
    """
    noise = 0.5 * (noise_level(grey) + noise_level(earlier))
    change = _blur(np.abs(grey.astype(np.float32) - earlier.astype(np.float32)), WINDOW)
    unchanged = change < 2.5 * noise + 0.5
    return unchanged & _flat(grey, noise), unchanged & _flat(earlier, noise), float(unchanged.mean()) > STILL_CAMERA


def zero_still_noise(flow: torch.Tensor, checked: torch.Tensor, still: np.ndarray, still_camera: bool) -> torch.Tensor:
    """``flow (1, 2, H, W)`` with zeros in still regions.

    Under a still camera every still region is zero motion. Under a moving one a textureless
    region that did not change may still be moving with the camera (a smooth sky panned
    sideways), so DIS's flow is kept there where it passes ``checked`` (its reliability) in
    most of the neighbourhood.
    """
    zero = still
    if not still_camera:
        zero = still & (_blur(checked[0, 0].detach().cpu().numpy().astype(np.float32), 3 * WINDOW) < 0.5)
    return flow.masked_fill(torch.from_numpy(zero).to(flow.device)[None, None], 0.0)

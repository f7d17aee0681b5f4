"""Pixels a moving object uncovers: start them from the paint of their own surface, not of the object.

Ruder et al. start a later frame from the previous stylized frame warped by the backward flow,
unreliable pixels included. Behind a moving object that is wrong in a way the optimisation does not
repair: the road it uncovers was hidden in the previous frame, so its flow points into the object, and
the warped paint there is the object's. The temporal term lets those pixels go (they fail Ruder's
check), but a later frame's few iterations keep most of the start; in the next frame the band is
reliable, and the temporal term holds the object's colours on the road from then on. Frame after frame
the object leaves a trail of copies of its own edge (seen in BENCHMARKS.md, stability: the followed
object of clip (b), with the exact flow too).

Our departure: where a pixel is not reliable *and* the warped input does not match the input (so the
warp fetched something else), its start is filled in (OpenCV's Telea inpainting) from the paint around
it that moves as it does; neighbours that move otherwise (the object that covered it) are left out of
the fill. Its temporal weight is set to zero: the warped paint there is not a target.

The fill alone still left a trail (BENCHMARKS.md, passes: clip (b), 53 RGB levels between the uncovered road's
paint and the road's, 18 when every frame is painted on its own). The paint of the surface just beside an
object's edge is the object's halo: the optimisation blends the object's colours a few pixels into it. When the
object moves on, that halo moves with the surface, is reliable, and is held by the temporal term; the next sliver
is filled from it, and the band behind the object takes the object's colours. So the hole also takes a margin of
``margin`` pixels (at the processing size) around it over the pixels that move as it does: the surface that sat
against the object's edge in the earlier frame, filled from the paint beyond it. 2 px took the trail on (b) from
53 to 15 and on (d) from 48 to 29, for 18-20% more warping error on clips (b)-(d), where the margin is repainted.
Only the trailing side grows (the object moved away from the hole): a hole on an object's leading edge (a flow
error where it covers the surface) grew as well at first and cost 43% over the textured scene of (c).
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .cuts import MATCH_LEVELS, warped_difference

RELIABLE = 0.9  # pixels whose (resized) reliability is below this may be filled
SAME_MOTION = 0.5  # px: a neighbour moves "as the pixel does" when their flows differ by at most this
REACH = 10  # px: how far around the filled pixels other motion is looked for (and left out of the fill)
RADIUS = 3  # px: Telea's neighbourhood


def mismatched(content: np.ndarray, earlier: np.ndarray, flow_bwd: torch.Tensor) -> np.ndarray:
    """Pixels where ``earlier`` warped by ``flow_bwd`` does not show what ``content`` shows: bool ``(H, W)``.

    ``content`` and ``earlier`` are ``uint8 (H, W, 3)`` at the flow's size. Any colour channel differing by
    :data:`MATCH_LEVELS` (both slightly blurred) is a mismatch: an object and the road it leaves can have the
    same brightness but not the same colour.
    """
    return warped_difference(content, earlier, flow_bwd) >= MATCH_LEVELS


def uncovered(content: np.ndarray, earlier: np.ndarray, flow_bwd: torch.Tensor, reliable: torch.Tensor,
              margin: int = 0) -> np.ndarray:
    """The pixels of ``content`` a warm start fills: bool ``(H, W)``, where the warp of ``earlier`` is not reliable
    (``reliable (1, 1, H, W)`` below :data:`RELIABLE`) and does not show what ``content`` shows, and within
    ``margin`` px of those the pixels that move as the nearest of them does (:func:`with_margin`)."""
    unreliable = reliable[0, 0].cpu().numpy() < RELIABLE
    if not unreliable.any():
        return unreliable
    hole = unreliable & mismatched(content, earlier, flow_bwd.cpu())
    return with_margin(hole, flow_bwd, margin)


def _nearest_motion(hole: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Each pixel's distance in motion from its nearest ``hole`` pixel: ``|flow - flow[nearest]|``, px ``(H, W)``."""
    holes = hole.astype(np.uint8)
    _, nearest = cv2.distanceTransformWithLabels(1 - holes, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(holes)
    motion = np.zeros((int(nearest.max()) + 1, 2), np.float32)
    motion[nearest[ys, xs]] = flow[ys, xs]
    return np.linalg.norm(flow - motion[nearest], axis=2)


def with_margin(hole: np.ndarray, flow_bwd: torch.Tensor, margin: int) -> np.ndarray:
    """``hole`` (bool ``(H, W)``) and the pixels within ``margin`` px of its trailing pixels that move as their
    nearest hole pixel does (``flow_bwd (1, 2, H, W)``, within :data:`SAME_MOTION`): the surface beside the band an
    object uncovered, not the object.

    A hole pixel is trailing when something moves otherwise within :data:`REACH` of it (the object) and moved away
    from it: seen from the pixel's surface, the object's backward displacement points towards the pixel (it came
    from there). A hole on an object's leading edge (a flow error where the object covers the surface) has no halo
    carried out of it, and new ground at the frame's edge under a moving camera has no object beside it: both keep
    their size."""
    if margin <= 0 or not hole.any():
        return hole
    flow = flow_bwd[0].permute(1, 2, 0).float().cpu().numpy()
    reach = np.ones((2 * REACH + 1, 2 * REACH + 1), np.uint8)
    apart = _nearest_motion(hole, flow) > SAME_MOTION
    other = apart & (cv2.dilate(hole.astype(np.uint8), reach) > 0)
    if not other.any():
        return hole
    # within REACH of each pixel: how much moves otherwise, where its centre lies, and how it moves
    height, width = hole.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    weight = other.astype(np.float32)
    count, at_x, at_y, moves_x, moves_y = (
        cv2.boxFilter(v, -1, reach.shape, normalize=False, borderType=cv2.BORDER_CONSTANT)
        for v in (weight, weight * xs, weight * ys, weight * flow[..., 0], weight * flow[..., 1]))
    seen = np.maximum(count, 1e-6)
    away = ((xs - at_x / seen) * (moves_x / seen - flow[..., 0]) + (ys - at_y / seen) * (moves_y / seen - flow[..., 1]))
    trailing = hole & (count > 0) & (away > 0)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1, 2 * margin + 1))
    return hole | ((cv2.dilate(trailing.astype(np.uint8), disk) > 0) & ~apart)


def fill_uncovered(start: torch.Tensor, flow_bwd: torch.Tensor, hole: np.ndarray) -> torch.Tensor:
    """``start (1, 3, H, W)`` in [0, 1] with the ``hole`` pixels (bool ``(H, W)``) filled from the pixels around
    them that move like the nearest hole pixel (``flow_bwd (1, 2, H, W)``); the others are unchanged."""
    if start.shape[:2] != (1, 3) or flow_bwd.shape[-2:] != start.shape[-2:] or hole.shape != tuple(start.shape[-2:]):
        raise ValueError(f"expected one RGB image, its flow and a hole mask of one size, got {tuple(start.shape)}, "
                         f"{tuple(flow_bwd.shape)} and {hole.shape}")
    if not hole.any():
        return start
    holes = hole.astype(np.uint8)
    flow = flow_bwd[0].permute(1, 2, 0).float().cpu().numpy()
    # the motion the fill must share: its nearest hole pixel's
    around = cv2.dilate(holes, np.ones((2 * REACH + 1, 2 * REACH + 1), np.uint8)) > 0
    other = around & (_nearest_motion(hole, flow) > SAME_MOTION)
    paint = start[0].permute(1, 2, 0).float().cpu().numpy()
    paint8 = (paint * 255).round().clip(0, 255).astype(np.uint8)
    filled = cv2.inpaint(paint8, (hole | other).astype(np.uint8), RADIUS, cv2.INPAINT_TELEA)
    out = np.where(hole[..., None], filled.astype(np.float32) / 255, paint)
    return torch.from_numpy(out).permute(2, 0, 1)[None].to(start.device, start.dtype)

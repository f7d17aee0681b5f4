"""Masks through time: a region picked on one frame follows its object; motion-compensated smoothing; GrabCut.

A mask drawn or cut on a keyframe is carried to the next frame by *forward* splatting (each of its pixels
goes where the flow sends it), then re-fitted to that frame with GrabCut seeded by the carried mask: its
core is object, what lies beyond a ring around it is background, and the ring is decided by the colours
of the object and its background on the keyframe. A backward warp (the temporal loss's) fetches the object's mask into the background the object
uncovers, so the region drags a trail behind a moving object; a flow alone drifts off thin, fast parts
(a signer's arms). Measured against exact object masks and the person model's masks in BENCHMARKS.md
(regions). Where the re-fit finds no
object of its own colours (a region drawn across a smooth surface), the carried mask is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from ..config import SettingError
from ..config import FlowMethod
from ..motion.estimate import compute_flow, to_grey
from ..motion.reliability import flow_pair
from ..motion.warp import warp
from .masks import mask_tensor

HYSTERESIS = (0.3, 0.7)  # low, high thresholds for re-binarising a warped mask
RING = 0.08  # the re-fit's undecided ring, as a fraction of the square root of the region's area (px)
# A re-fit that keeps less than this IoU of the carried mask found no object of its own colours there (a region
# drawn across a smooth surface): the carried mask is kept.
REFIT_AGREEMENT = 0.8
CLICK_BOX = 2 / 3  # a single GrabCut click: the object lies in a box this fraction of the frame around it
GRABCUT_ITERATIONS = 5
GRABCUT_SIDE = 320  # px: a smaller frame is enlarged for GrabCut (its colour models need pixels; at 96 px it failed)


def hysteresis(mask: np.ndarray, low: float = HYSTERESIS[0], high: float = HYSTERESIS[1]) -> np.ndarray:
    """Binary mask: pixels >= ``low`` connected to a pixel >= ``high``."""
    candidates = (mask >= low).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[mask >= high])] = True
    keep[0] = False
    return keep[labels].astype(np.float32)


def carry(mask: np.ndarray, flow_fwd: np.ndarray) -> np.ndarray:
    """``(H, W)`` binary mask moved along ``flow_fwd`` ``(H, W, 2)`` (on the mask's grid, pointing into the next
    frame): each selected pixel lands where the flow sends it, the gaps a spreading motion leaves are closed.
    Unlike a backward warp, background the object uncovers receives nothing."""
    height, width = mask.shape
    ys, xs = np.nonzero(mask >= 0.5)
    tx = np.rint(xs + flow_fwd[ys, xs, 0]).astype(np.int64)
    ty = np.rint(ys + flow_fwd[ys, xs, 1]).astype(np.int64)
    inside = (tx >= 0) & (tx < width) & (ty >= 0) & (ty < height)
    out = np.zeros((height, width), np.uint8)
    out[ty[inside], tx[inside]] = 1
    out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    return out.astype(np.float32)


@dataclass(frozen=True)
class Colours:
    """GrabCut's colour models (background, object) of a region on the frame it was picked on."""

    background: np.ndarray  # (1, 65) float64, OpenCV's GMM layout
    foreground: np.ndarray


def colours_of(mask: np.ndarray, frame: np.ndarray) -> Colours | None:
    """The colour models of the region ``mask`` on ``frame`` (``uint8 (H, W, 3)``); None when the mask is empty or
    the whole frame (nothing to tell apart)."""
    selected = mask >= 0.5
    if not selected.any() or selected.all():
        return None
    labels = np.where(selected, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    background, foreground = np.zeros((1, 65)), np.zeros((1, 65))
    try:
        cv2.grabCut(np.ascontiguousarray(frame), labels, None, background, foreground, 1, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # too few pixels of one kind for a model
        return None
    return Colours(background, foreground)


def refit(mask: np.ndarray, frame: np.ndarray, colours: Colours | None) -> np.ndarray:
    """A carried ``(H, W)`` mask fitted to ``frame`` (``uint8 (H, W, 3)``) by GrabCut seeded by it: its core (eroded
    by a ring of :data:`RING`) is object, beyond the ring is background, the ring is decided by ``colours``.

    The colour models are the keyframe's, frozen (``GC_EVAL_FREEZE_MODEL``): models learned again on each frame
    learn from the last frame's mistakes, and on a dark object over a dark river the region grew into the river
    frame after frame (IoU 0.75 over clip (c); 0.96 with the keyframe's models; BENCHMARKS.md, regions)."""
    selected = (mask >= 0.5).astype(np.uint8)
    area = int(selected.sum())
    if colours is None or area == 0 or area == selected.size:
        return selected.astype(np.float32)
    ring = max(2, int(round(RING * np.sqrt(area))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * ring + 1, 2 * ring + 1))
    labels = np.full(mask.shape, cv2.GC_BGD, np.uint8)
    labels[cv2.dilate(selected, kernel) > 0] = cv2.GC_PR_BGD
    labels[selected > 0] = cv2.GC_PR_FGD
    labels[cv2.erode(selected, kernel) > 0] = cv2.GC_FGD
    try:
        cv2.grabCut(np.ascontiguousarray(frame), labels, None, colours.background.copy(), colours.foreground.copy(),
                    1, cv2.GC_EVAL_FREEZE_MODEL)
    except cv2.error:
        return selected.astype(np.float32)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)


def follow(mask: np.ndarray, grey_from: np.ndarray, grey_to: np.ndarray, frame_to: np.ndarray,
           method: FlowMethod, colours: Colours | None) -> np.ndarray:
    """``mask`` on the frame of ``grey_from`` -> the same region on the next frame (either direction in time): carried
    by the flow and re-fitted, unless the re-fit disagrees with the carried mask (:data:`REFIT_AGREEMENT`)."""
    carried = carry(mask, compute_flow(grey_from, grey_to, method))
    fitted = refit(carried, frame_to, colours)
    return fitted if overlap(fitted, carried) >= REFIT_AGREEMENT else carried


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two masks (selected where >= 0.5); 1 when both are empty."""
    a, b = a >= 0.5, b >= 0.5
    union = int((a | b).sum())
    return float((a & b).sum() / union) if union else 1.0


def keyframe_track(frames: Iterator[np.ndarray], keyframe_mask: np.ndarray, keyframe: int,
                   method: FlowMethod) -> Iterator[np.ndarray]:
    """Masks of all frames from one drawn on ``keyframe``: backward before it, forward after it (:func:`follow`).

    Only the frames up to the keyframe are held (backward propagation needs them); after it the clip
    streams.
    """
    before = []
    for index, frame in enumerate(frames):
        before.append(frame)
        if index == keyframe:
            break
    if len(before) <= keyframe:
        raise SettingError("mask_keyframe", f"expected a frame within the clip's {len(before)} frames, got {keyframe}")
    greys = [to_grey(frame) for frame in before]
    colours = colours_of(keyframe_mask, before[keyframe])
    backward = [keyframe_mask]
    for t in range(keyframe - 1, -1, -1):
        backward.append(follow(backward[-1], greys[t + 1], greys[t], before[t], method, colours))
    yield from reversed(backward)
    mask, grey = keyframe_mask, greys[-1]
    del before, backward, greys
    for frame in frames:
        next_grey = to_grey(frame)
        mask = follow(mask, grey, next_grey, frame, method, colours)
        grey = next_grey
        yield mask


def smooth(pairs: Iterable[tuple[np.ndarray, np.ndarray]], weight: float, method: FlowMethod) -> Iterator[np.ndarray]:
    """Motion-compensated temporal smoothing: ``m~_t = (1-s) m_t + s c_t warp(m~_{t-1})`` (+ ``s (1-c_t) m_t``).

    ``pairs`` are ``(RGB frame, raw mask)`` in clip order.
    """
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for frame, mask in pairs:
        grey = to_grey(frame)
        if previous is not None and weight > 0:
            bwd, reliable = flow_pair(grey, previous[1], method)
            warped = warp(mask_tensor(previous[0]), bwd)[0, 0].numpy()
            mask = mask + weight * reliable[0, 0].numpy() * (warped - mask)
        previous = (mask, grey)
        yield mask.astype(np.float32)


def grabcut(frame: np.ndarray, prompt: tuple[int, ...]) -> np.ndarray:
    """Object mask (OpenCV GrabCut) from ``prompt`` in ``frame``'s pixels: a box ``x, y, w, h`` around the object, or
    a click ``x, y`` on it. A click stands for a box of :data:`CLICK_BOX` of the frame around it (inside the frame)
    whose clicked spot is surely the object, so the mask is never empty (on the bench's objects and a signer, that
    box's mask matched the object best of a third, a half and two thirds of the frame: BENCHMARKS.md, regions)."""
    height, width = frame.shape[:2]
    check_prompt(prompt, height, width)
    factor = int(np.ceil(GRABCUT_SIDE / max(height, width)))
    if factor > 1:
        larger = cv2.resize(frame, (width * factor, height * factor), interpolation=cv2.INTER_NEAREST)
        mask = grabcut(larger, tuple(int(v) * factor for v in prompt))
        return cv2.resize(mask, (width, height), interpolation=cv2.INTER_AREA)
    # A grey level of seeded noise: on a perfectly flat picture GrabCut's colour models degenerate and its graph
    # cut took 20 s on a 384x256 frame (0.6 s with the noise); real footage is noisier than this already.
    noise = np.random.default_rng(0).integers(-1, 2, frame.shape, dtype=np.int16)
    frame = np.clip(frame.astype(np.int16) + noise, 0, 255).astype(np.uint8)
    labels = np.full((height, width), cv2.GC_BGD, np.uint8)
    if len(prompt) == 2:
        x, y, w, h = click_box(prompt, height, width)
        labels[y:y + h, x:x + w] = cv2.GC_PR_FGD
        cv2.circle(labels, (int(prompt[0]), int(prompt[1])), max(2, int(0.03 * min(height, width))),
                   int(cv2.GC_FGD), -1)
    else:
        x, y, w, h = prompt
        labels[y:y + h, x:x + w] = cv2.GC_PR_FGD
    try:
        # GrabCut models colours with GMMs: channel order does not matter, RGB goes in as is.
        cv2.grabCut(np.ascontiguousarray(frame), labels, None, np.zeros((1, 65)), np.zeros((1, 65)),
                    GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # a box of a pixel or two, or all the frame: nothing to model colours on
        return np.zeros((height, width), np.float32) if len(prompt) == 4 else (labels == cv2.GC_FGD).astype(np.float32)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)


def click_box(point: tuple[int, ...], height: int, width: int) -> tuple[int, int, int, int]:
    """The box ``x, y, w, h`` a single click stands for: :data:`CLICK_BOX` of the frame, centred on it, inside."""
    w, h = max(1, int(width * CLICK_BOX)), max(1, int(height * CLICK_BOX))
    return min(max(0, int(point[0]) - w // 2), width - w), min(max(0, int(point[1]) - h // 2), height - h), w, h


def check_prompt(prompt: tuple[int, ...], height: int, width: int) -> None:
    """Refuse a GrabCut click outside the ``width x height`` frame or a box that is not wholly inside it, in the
    numbers given (source pixels when called with the source's size)."""
    if len(prompt) == 2:
        x, y = prompt
        if not (0 <= x < width and 0 <= y < height):
            raise SettingError("grabcut", f"expected a click x,y inside the {width}x{height} frame, got {x},{y}")
        return
    x, y, w, h = prompt
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise SettingError("grabcut", f"expected a box x,y,w,h inside the {width}x{height} frame, got {x},{y},{w},{h}")

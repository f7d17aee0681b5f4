"""Masks through time: keyframe propagation along the flow, motion-compensated smoothing, GrabCut.

Propagation uses the same backward flow as the temporal loss (Ruder et al.
2016); a warped soft mask is re-binarised with hysteresis so it neither
erodes nor bleeds over many frames.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import cv2
import numpy as np

from ..config import SettingError
from ..config import FlowMethod
from ..motion.flow import compute_flow, flow_pair, flow_to_tensor, to_grey, warp
from .masks import mask_tensor

HYSTERESIS = (0.3, 0.7)  # low, high thresholds for re-binarising a warped mask


def hysteresis(mask: np.ndarray, low: float = HYSTERESIS[0], high: float = HYSTERESIS[1]) -> np.ndarray:
    """Binary mask: pixels >= ``low`` connected to a pixel >= ``high``."""
    candidates = (mask >= low).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[mask >= high])] = True
    keep[0] = False
    return keep[labels].astype(np.float32)


def propagate(mask: np.ndarray, grey_from: np.ndarray, grey_to: np.ndarray, method: FlowMethod) -> np.ndarray:
    """Carry ``mask`` (on ``grey_from``'s grid) to ``grey_to``'s grid by backward flow, then re-threshold."""
    bwd = flow_to_tensor(compute_flow(grey_to, grey_from, method))
    warped = warp(mask_tensor(mask), bwd)[0, 0].numpy()
    return hysteresis(warped)


def keyframe_track(frames: Iterator[np.ndarray], keyframe_mask: np.ndarray, keyframe: int,
                   method: FlowMethod) -> Iterator[np.ndarray]:
    """Masks of all frames from one drawn on ``keyframe``: backward before it, forward after it.

    Only the grey frames up to the keyframe are held (backward propagation
    needs them); after it the clip streams.
    """
    before = []
    for index, frame in enumerate(frames):
        before.append(to_grey(frame))
        if index == keyframe:
            break
    if len(before) <= keyframe:
        raise SettingError("mask_keyframe", f"expected a frame within the clip's {len(before)} frames, got {keyframe}")
    backward = [keyframe_mask]
    for t in range(keyframe - 1, -1, -1):
        backward.append(propagate(backward[-1], before[t + 1], before[t], method))
    yield from reversed(backward)
    mask, grey = keyframe_mask, before[-1]
    del before, backward
    for frame in frames:
        next_grey = to_grey(frame)
        mask = propagate(mask, grey, next_grey, method)
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


def grabcut(frame: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """Foreground mask from a rectangle prompt (OpenCV GrabCut, 5 iterations)."""
    x, y, w, h = rect
    height, width = frame.shape[:2]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise SettingError("grabcut", f"expected x,y,w,h inside the {width}x{height} frame, got {x},{y},{w},{h}")
    labels = np.zeros((height, width), np.uint8)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    # GrabCut models colours with GMMs: channel order does not matter, RGB goes in as is.
    cv2.grabCut(np.ascontiguousarray(frame), labels, rect, background, foreground, 5, cv2.GC_INIT_WITH_RECT)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)

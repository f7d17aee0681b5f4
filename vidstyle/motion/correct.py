"""Where the estimator's flow fetches the wrong thing, try the motion next door.

DIS estimates motion patch by patch, and near an object's edge a patch sees two motions: the still
background beside a moving object takes some of its motion, and the object's rim some of the
background's. Where the forward and backward flows bleed alike, Ruder's check passes them, and the
temporal term then holds paint fetched from the wrong place (measured against ground-truth motion in
BENCHMARKS.md, stability: on the crossing clip half of the error sat on the 2-3% of pixels whose flow
was off by more than half a pixel).

Our departure: where the earlier frame warped by the flow does not show what the frame shows (the 5x5
mean of the absolute difference of the slightly blurred greys is above :data:`MISMATCH` levels), the
pixel tries standing still and the flows of its neighbours :data:`OFFSETS` px away in the four
directions, and takes the one that matches best if it at least halves the mismatch. Where the flow
failed Ruder's check (the pixel may just have been uncovered, and then anything that fetches a similar
colour "matches"), a candidate must also pass the check against the other direction's flow.
"""

from __future__ import annotations

import cv2
import numpy as np

MISMATCH = 6.0  # grey levels: mean absolute difference (5x5, both blurred) above which a pixel's flow is retried
GAIN = 0.5  # a candidate must bring the mismatch to this share of the flow's, or less
OFFSETS = (3, 6, 10)  # px: how far away the neighbours whose flows are tried sit (left, right, above, below)
WINDOW = 5  # px: the side of the window the mismatch is averaged over
ROW = 1024  # points sampled per row of a remap


def consistent(disagreement, magnitude):
    """Ruder's forward-backward test, ``|w~ + w^|^2 <= 0.01 (|w~|^2 + |w^|^2) + 0.5``, given the squared norms
    (NumPy arrays or torch tensors); :func:`~vidstyle.motion.reliability.reliability` applies it to whole frames."""
    return disagreement <= 0.01 * magnitude + 0.5


def _sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """``image`` (H, W) or (H, W, C) sampled bilinearly at the points (replicated border): (N,) or (N, C)."""
    count = len(xs)
    rows = -(-count // ROW)  # OpenCV's remap takes maps under 32767 px a side: lay the points out in rows
    maps = [np.zeros(rows * ROW, np.float32) for _ in range(2)]
    maps[0][:count], maps[1][:count] = xs, ys
    out = cv2.remap(image, maps[0].reshape(rows, ROW), maps[1].reshape(rows, ROW), cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(rows * ROW, *image.shape[2:])[:count]


def correct_flow(flow: np.ndarray, grey: np.ndarray, earlier: np.ndarray, other: np.ndarray,
                 passed: np.ndarray) -> np.ndarray:
    """``flow (H, W, 2)`` from ``grey`` into ``earlier`` (``uint8 (H, W)``) with its mismatched pixels retried.

    ``other`` is the flow the other way (``earlier`` into ``grey``, on ``earlier``'s grid) and ``passed``
    (bool ``(H, W)``) says where ``flow`` passed Ruder's check against it; elsewhere a candidate must pass it.
    Returns a new array; pixels that match, or find nothing clearly better, keep their flow.
    """
    if flow.shape != (*grey.shape, 2) or earlier.shape != grey.shape or other.shape != flow.shape:
        raise ValueError(f"expected two grey frames and their flows of one size, got {grey.shape}, {earlier.shape}, "
                         f"{flow.shape} and {other.shape}")
    frame, earlier = (cv2.GaussianBlur(g.astype(np.float32), (0, 0), 1.0) for g in (grey, earlier))
    flow, other = flow.astype(np.float32), other.astype(np.float32)
    height, width = grey.shape
    gx, gy = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    fetched = cv2.remap(earlier, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR,
                        borderMode=cv2.BORDER_REPLICATE)
    base = cv2.blur(np.abs(frame - fetched), (WINDOW, WINDOW))
    bad = base > MISMATCH
    out = flow.copy()
    if not bad.any():
        return out
    ys, xs = np.nonzero(bad)  # the pixels retried, and the window around them their mismatch is averaged over
    near_ys, near_xs = np.nonzero(cv2.dilate(bad.astype(np.uint8), np.ones((WINDOW, WINDOW), np.uint8)))
    difference = np.zeros((height, width), np.float32)
    trusted = passed[ys, xs]
    best, best_cost = flow[ys, xs], base[ys, xs]
    shifts = [None] + [shift for step in OFFSETS for shift in ((-step, 0), (step, 0), (0, -step), (0, step))]
    for shift in shifts:  # standing still, then each neighbour's flow
        if shift is None:
            near, candidate = np.zeros((len(near_xs), 2), np.float32), np.zeros((len(xs), 2), np.float32)
        else:
            near = flow[np.clip(near_ys + shift[1], 0, height - 1), np.clip(near_xs + shift[0], 0, width - 1)]
            candidate = flow[np.clip(ys + shift[1], 0, height - 1), np.clip(xs + shift[0], 0, width - 1)]
        difference[near_ys, near_xs] = np.abs(frame[near_ys, near_xs]
                                              - _sample(earlier, near_xs + near[:, 0], near_ys + near[:, 1]))
        cost = cv2.blur(difference, (WINDOW, WINDOW))[ys, xs]
        take = cost < best_cost
        if not trusted.all():  # Ruder's test against the other direction, where the flow itself failed it
            back = _sample(other, xs + candidate[:, 0], ys + candidate[:, 1])
            take &= trusted | consistent(((back + candidate) ** 2).sum(1), (back ** 2).sum(1) + (candidate ** 2).sum(1))
        best[take], best_cost[take] = candidate[take], cost[take]
    take = best_cost <= GAIN * base[ys, xs]
    out[ys[take], xs[take]] = best[take]
    return out

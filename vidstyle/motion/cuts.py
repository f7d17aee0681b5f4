"""Cut cues: how much of a frame its previous frame, warped, explains, and how far their colours moved."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from .warp import warp

MATCH_LEVELS = 12.0  # grey levels: a warped pixel that differs by more (both blurred) is not explained


def warped_difference(frame: np.ndarray, earlier: np.ndarray, flow_bwd: torch.Tensor) -> np.ndarray:
    """``(H, W)`` largest channel difference, in levels, between ``frame`` and ``earlier`` warped by ``flow_bwd``
    (``uint8 (H, W)`` grey or ``(H, W, C)``), both slightly blurred so that resampling does not count."""
    soft = [cv2.GaussianBlur(f.astype(np.float32), (0, 0), 1.5) for f in (frame, earlier)]
    moving = torch.from_numpy(soft[1])
    moving = moving[None, None] if moving.ndim == 2 else moving.permute(2, 0, 1)[None]
    warped = warp(moving, flow_bwd.float())[0].permute(1, 2, 0).numpy()
    return np.abs(soft[0].reshape(warped.shape) - warped).max(axis=2)


def explained_fraction(grey: np.ndarray, earlier: np.ndarray, flow_bwd: torch.Tensor, mask: torch.Tensor) -> float:
    """The share of ``grey``'s pixels the flow explains: reliable, and ``earlier`` warped by ``flow_bwd`` matches
    them within :data:`MATCH_LEVELS` (both slightly blurred, so resampling does not count). The cut cue: across a
    hard cut nothing matches, however consistent a filled flow is."""
    matches = warped_difference(grey, earlier, flow_bwd) < MATCH_LEVELS
    return float((mask[0, 0].numpy() * matches).mean())


def histogram_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the 3-D colour histograms of two RGB frames (1 = identical distributions)."""
    hists = []
    for frame in (a, b):
        hist = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
        hists.append(cv2.normalize(hist, hist).flatten())
    return float(cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_CORREL))

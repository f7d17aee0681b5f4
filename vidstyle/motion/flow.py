"""Optical flow (OpenCV DIS, DeepFlow or Farneback), warping, reliability masks and cut detection. No VGG.

Conventions: a flow is ``(1, 2, H, W)`` in pixels, channel 0 = x, 1 = y,
defined on the grid of the frame it warps *into*. ``flow_bwd`` of frame t
points from t to t-1: ``frame_t(p) ~ frame_{t-1}(p + flow_bwd(p))``.
"""

from __future__ import annotations

import typing

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..config import FlowMethod, ReliabilityCheck
from .correct import consistent, correct_flow
from .flat import fill_flat

FLOW_METHODS: tuple[str, ...] = typing.get_args(FlowMethod)
RELIABILITY_CHECKS: tuple[str, ...] = typing.get_args(ReliabilityCheck)


def to_grey(frame: np.ndarray) -> np.ndarray:
    """``uint8 (H, W, 3)`` RGB -> ``uint8 (H, W)`` for the flow estimators."""
    return cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY)


def _estimator(method: FlowMethod):
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        return lambda a, b: dis.calc(a, b, None)
    if method == "deepflow":  # Weinzaepfel et al. 2013, Ruder's choice: variational, slower, fills flat areas
        deepflow = cv2.optflow.createOptFlow_DeepFlow()
        return lambda a, b: deepflow.calc(a, b, None)
    if method == "farneback":
        return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 5, 5, 1.1, 0)
    raise ValueError(f"expected a flow method among {', '.join(FLOW_METHODS)}, got {method!r}")


def compute_flow(source: np.ndarray, target: np.ndarray, method: FlowMethod = "dis") -> np.ndarray:
    """Flow on ``source``'s grid pointing into ``target``: ``source(p) ~ target(p + flow(p))``.

    Inputs are ``uint8 (H, W)`` grey frames; returns ``float32 (H, W, 2)``.
    """
    if source.shape != target.shape or source.ndim != 2:
        raise ValueError(f"expected two grey frames of equal size, got {source.shape} and {target.shape}")
    return _estimator(method)(source, target).astype(np.float32)


def flow_to_tensor(flow: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(H, W, 2)`` array -> ``(1, 2, H, W)`` tensor."""
    return torch.from_numpy(np.ascontiguousarray(flow)).permute(2, 0, 1).unsqueeze(0).to(device).contiguous()


def resize_flow(flow: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, 2, H, W)`` flow resampled to ``size`` (h, w), its vectors scaled to the new grid's pixels."""
    h, w = flow.shape[-2:]
    if (h, w) == tuple(size):
        return flow
    scale = torch.tensor([size[1] / w, size[0] / h], dtype=flow.dtype, device=flow.device).view(1, 2, 1, 1)
    return F.interpolate(flow, size=size, mode="bilinear", align_corners=True) * scale


def resize_weights(weights: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """``(B, 1, H, W)`` weights in [0, 1] (a reliability mask) at ``size``: area means when shrinking."""
    if tuple(weights.shape[-2:]) == tuple(size):
        return weights
    smaller = size[0] * size[1] < weights.shape[-2] * weights.shape[-1]
    return F.interpolate(weights, size=size, mode="area" if smaller else "bilinear",
                         align_corners=None if smaller else False).clamp(0, 1)


def _grid(flow: torch.Tensor) -> torch.Tensor:
    """Sampling positions ``p + flow(p)`` in grid_sample's [-1, 1] coordinates, ``(B, H, W, 2)``."""
    _, _, h, w = flow.shape
    ys, xs = torch.meshgrid(
        torch.arange(h, device=flow.device, dtype=flow.dtype),
        torch.arange(w, device=flow.device, dtype=flow.dtype),
        indexing="ij",
    )
    x = (xs + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    y = (ys + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    return torch.stack([x, y], dim=-1)


def warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Backward warp: ``out(p) = image(p + flow(p))``; ``(B, C, H, W)`` with ``flow (B, 2, H, W)``.

    ``mode``: ``bilinear`` (masks, flows, the metrics: Ruder's warp), ``bicubic``, or ``lanczos`` (OpenCV's
    8x8 Lanczos, on the CPU; not differentiable), which keeps the most of the detail that a stylized frame
    carried through many warps would otherwise lose. Overshoot of the last two is the caller's to clamp.
    Samples beyond the border repeat the edge pixel in every mode.
    """
    if flow.shape[1] != 2 or flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"expected a flow of shape (B, 2, {image.shape[-2]}, {image.shape[-1]}), got {tuple(flow.shape)}")
    if mode == "lanczos":
        return _warp_lanczos(image, flow)
    return F.grid_sample(image, _grid(flow).to(image.dtype), mode=mode, padding_mode="border", align_corners=True)


def _warp_lanczos(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    height, width = image.shape[-2:]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = []
    for picture, motion in zip(image.detach().float().cpu(), flow.detach().float().cpu()):
        pixels = np.ascontiguousarray(picture.permute(1, 2, 0).numpy())
        motion = motion.numpy()
        warped = cv2.remap(pixels, xs + motion[0], ys + motion[1], cv2.INTER_LANCZOS4, borderMode=cv2.BORDER_REPLICATE)
        out.append(torch.from_numpy(warped.reshape(height, width, -1)).permute(2, 0, 1))
    return torch.stack(out).to(image.device, image.dtype)


def inside_frame(flow: torch.Tensor) -> torch.Tensor:
    """``(B, 1, H, W)``: 1 where ``p + flow(p)`` lands inside the frame."""
    grid = _grid(flow)
    inside = (grid[..., 0].abs() <= 1.0) & (grid[..., 1].abs() <= 1.0)
    return inside.unsqueeze(1).to(flow.dtype)


def reliability(flow_bwd: torch.Tensor, flow_fwd: torch.Tensor) -> torch.Tensor:
    """Ruder et al. 2016 consistency mask of frame t, ``(B, 1, H, W)`` in {0, 1}.

    ``flow_bwd`` (t -> t-1, on t's grid) is the flow used for warping;
    ``flow_fwd`` (t-1 -> t, on t-1's grid) is sampled along it: w~ = fwd(p + bwd(p)).
    A pixel is unreliable where

    * forward and backward disagree (disocclusion):
      ``|w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5``;
    * it lies on a motion boundary: ``|grad u~|^2 + |grad v~|^2 > 0.01 |w~|^2 + 0.002``;
    * ``p + w^(p)`` leaves the frame.
    """
    w_hat = flow_bwd
    w_tilde = warp(flow_fwd, flow_bwd)
    disagreement = (w_tilde + w_hat).pow(2).sum(1, keepdim=True)
    magnitude = w_tilde.pow(2).sum(1, keepdim=True) + w_hat.pow(2).sum(1, keepdim=True)
    agree = consistent(disagreement, magnitude)
    # forward differences, replicated at the last row/column
    dx = F.pad(w_tilde[..., :, 1:] - w_tilde[..., :, :-1], (0, 1, 0, 0), mode="replicate")
    dy = F.pad(w_tilde[..., 1:, :] - w_tilde[..., :-1, :], (0, 0, 0, 1), mode="replicate")
    gradient = dx.pow(2).sum(1, keepdim=True) + dy.pow(2).sum(1, keepdim=True)
    smooth = gradient <= 0.01 * w_tilde.pow(2).sum(1, keepdim=True) + 0.002
    return (agree & smooth).to(flow_bwd.dtype) * inside_frame(flow_bwd)


def flow_pair(grey: np.ndarray, earlier: np.ndarray, method: FlowMethod = "dis",
              check: ReliabilityCheck = "regions",
              size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow of ``grey`` into ``earlier`` and ``grey``'s reliability mask, both ``(1, *, H, W)``.

    Both are computed at the greys' size; with ``size`` they are returned resized to it (the
    vectors scaled, the mask averaged), so the flow can see finer detail than the optimisation.
    The forward flow (``earlier`` -> ``grey``) is computed only to check the backward one. With
    ``check="regions"`` (the default) flat regions first get the motion of their marks or border
    (``motion/flat.py``), then pixels whose warp fetches something else try their neighbours' motion
    (``motion/correct.py``): our departures from Ruder. ``"ruder"`` is the published test alone.
    """
    if check not in RELIABILITY_CHECKS:
        raise ValueError(f"expected a reliability check among {', '.join(RELIABILITY_CHECKS)}, got {check!r}")
    bwd_array, fwd_array = compute_flow(grey, earlier, method), compute_flow(earlier, grey, method)
    bwd, fwd = flow_to_tensor(bwd_array), flow_to_tensor(fwd_array)
    if check == "regions":
        bwd_ok, fwd_ok = (reliability(bwd, fwd)[0, 0].numpy() > 0.5), (reliability(fwd, bwd)[0, 0].numpy() > 0.5)
        bwd_array, fwd_array = fill_flat(bwd_array, bwd_ok, grey, earlier), fill_flat(fwd_array, fwd_ok, earlier, grey)
        bwd, fwd = flow_to_tensor(bwd_array), flow_to_tensor(fwd_array)
        bwd_ok, fwd_ok = (reliability(bwd, fwd)[0, 0].numpy() > 0.5), (reliability(fwd, bwd)[0, 0].numpy() > 0.5)
        bwd = flow_to_tensor(correct_flow(bwd_array, grey, earlier, fwd_array, bwd_ok))
        fwd = flow_to_tensor(correct_flow(fwd_array, earlier, grey, bwd_array, fwd_ok))
    mask = reliability(bwd, fwd)
    if size is None:
        return bwd, mask
    return resize_flow(bwd, size), resize_weights(mask, size)


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


def closest_first(masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Ruder's long-term weights: ``c_j = max(c_j - sum_{k closer} c_k, 0)``, masks ordered closest first."""
    weighted, covered = [], torch.zeros_like(masks[0])
    for mask in masks:
        weighted.append((mask - covered).clamp_min(0))
        covered = covered + mask
    return weighted


def histogram_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of the 3-D colour histograms of two RGB frames (1 = identical distributions)."""
    hists = []
    for frame in (a, b):
        hist = cv2.calcHist([frame], [0, 1, 2], None, [8, 8, 8], [0, 256, 0, 256, 0, 256])
        hists.append(cv2.normalize(hist, hist).flatten())
    return float(cv2.compareHist(hists[0], hists[1], cv2.HISTCMP_CORREL))

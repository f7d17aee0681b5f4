"""Optical flow estimation (OpenCV DIS, DeepFlow or Farneback) and resampling flows and weights. No VGG.

Conventions: a flow is ``(1, 2, H, W)`` in pixels (``(H, W, 2)`` as an array), channel 0 = x, 1 = y,
defined on the grid of the frame it warps *into*. ``flow_bwd`` of frame t points from t to t-1:
``frame_t(p) ~ frame_{t-1}(p + flow_bwd(p))``.
"""

from __future__ import annotations

import typing

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from ..config import FlowMethod

FLOW_METHODS: tuple[str, ...] = typing.get_args(FlowMethod)


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

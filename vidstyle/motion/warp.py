"""Warping an image along a flow (bilinear, bicubic or Lanczos), and where a flow leaves the frame."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
import torch
import torch.nn.functional as F


@lru_cache(maxsize=8)
def _pixels(height: int, width: int, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """``(positions, scale)``: each pixel's ``(x, y)``, ``(H, W, 2)``, and the factors to grid_sample's [-1, 1]
    coordinates, ``(2,)``; made once per size (read only)."""
    ys, xs = torch.meshgrid(torch.arange(height, device=device, dtype=dtype),
                            torch.arange(width, device=device, dtype=dtype), indexing="ij")
    scale = torch.tensor([2.0 / max(width - 1, 1), 2.0 / max(height - 1, 1)], device=device, dtype=dtype)
    return torch.stack([xs, ys], dim=-1), scale


def sampling_grid(flow: torch.Tensor) -> torch.Tensor:
    """Sampling positions ``p + flow(p)`` in grid_sample's [-1, 1] coordinates, ``(B, H, W, 2)``."""
    positions, scale = _pixels(*flow.shape[-2:], flow.dtype, flow.device)
    return (flow.permute(0, 2, 3, 1) + positions).mul_(scale).sub_(1.0)


def warp(image: torch.Tensor, flow: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """Backward warp: ``out(p) = image(p + flow(p))``; ``(B, C, H, W)`` with ``flow (B, 2, H, W)``.

    ``mode``: ``bilinear`` (masks, flows, the metrics: Ruder's warp), ``bicubic``, or ``lanczos`` (OpenCV's
    8x8 Lanczos, on the CPU; not differentiable), which keeps the most of the detail that a stylized frame
    carried through many warps would otherwise lose. Overshoot of the last two is the caller's to clamp.
    Samples beyond the border repeat the edge pixel in every mode.
    """
    if flow.shape[1] != 2 or flow.shape[-2:] != image.shape[-2:]:
        raise ValueError(f"expected a flow of shape (B, 2, {image.shape[-2]}, {image.shape[-1]}), "
                         f"got {tuple(flow.shape)}")
    if mode == "lanczos":
        return _warp_lanczos(image, flow)
    return sample(image, sampling_grid(flow), mode)


def sample(image: torch.Tensor, grid: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """:func:`warp` given the flow's :func:`sampling_grid`, for a caller that uses the grid twice."""
    return F.grid_sample(image, grid.to(image.dtype), mode=mode, padding_mode="border", align_corners=True)


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


def inside_frame(flow: torch.Tensor, grid: torch.Tensor | None = None) -> torch.Tensor:
    """``(B, 1, H, W)``: 1 where ``p + flow(p)`` lands inside the frame (``grid``: the flow's, if at hand)."""
    grid = sampling_grid(flow) if grid is None else grid
    inside = (grid[..., 0].abs() <= 1.0) & (grid[..., 1].abs() <= 1.0)
    return inside.unsqueeze(1).to(flow.dtype)

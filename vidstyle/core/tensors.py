"""``uint8`` arrays <-> ``(1, 3, H, W)`` tensors, and colour conversions on tensors. No file I/O."""

from __future__ import annotations

import numpy as np
import torch

# NTSC YIQ, as used by Gatys et al. 2017 for luminance-only transfer.
_RGB_TO_YIQ = torch.tensor(
    [[0.299, 0.587, 0.114], [0.595716, -0.274453, -0.321263], [0.211456, -0.522591, 0.311135]]
)
_YIQ_TO_RGB = torch.linalg.inv(_RGB_TO_YIQ)


def to_tensor(image: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """``uint8 (H, W, 3)`` RGB -> ``float32 (1, 3, H, W)`` in [0, 1]."""
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 array of shape (H, W, 3), got {image.dtype} {image.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1).unsqueeze(0)
    return (tensor.to(device=device, dtype=torch.float32) / 255.0).contiguous()


def to_uint8(tensor: torch.Tensor) -> np.ndarray:
    """``(1, 3, H, W)`` in [0, 1] -> ``uint8 (H, W, 3)`` RGB (rounded, clipped)."""
    if tensor.ndim != 4 or tensor.shape[:2] != (1, 3):
        raise ValueError(f"expected a tensor of shape (1, 3, H, W), got {tuple(tensor.shape)}")
    array = tensor.detach().float().clamp(0, 1).mul(255).round().to(torch.uint8)
    return array[0].permute(1, 2, 0).cpu().numpy()


def rgb_to_yiq(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB -> YIQ."""
    return torch.einsum("ij,bjhw->bihw", _RGB_TO_YIQ.to(image), image)


def yiq_to_rgb(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` YIQ -> RGB (not clipped)."""
    return torch.einsum("ij,bjhw->bihw", _YIQ_TO_RGB.to(image), image)


def luminance(image: torch.Tensor) -> torch.Tensor:
    """``(B, 3, H, W)`` RGB -> grey ``(B, 3, H, W)`` with R = G = B = Y."""
    return rgb_to_yiq(image)[:, :1].expand(-1, 3, -1, -1).contiguous()


def match_luminance(style: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Grey version of ``style`` whose luminance mean and std match ``content``'s (G17, sec. 5.1)."""
    y_style = rgb_to_yiq(style)[:, :1]
    y_content = rgb_to_yiq(content)[:, :1]
    matched = (y_style - y_style.mean()) / (y_style.std() + 1e-6) * y_content.std() + y_content.mean()
    return matched.clamp(0, 1).expand(-1, 3, -1, -1).contiguous()


def combine_luminance(stylized: torch.Tensor, content: torch.Tensor) -> torch.Tensor:
    """Luminance of ``stylized`` with the chroma (I, Q) of ``content``, clipped to [0, 1]."""
    yiq = torch.cat([rgb_to_yiq(stylized)[:, :1], rgb_to_yiq(content)[:, 1:]], dim=1)
    return yiq_to_rgb(yiq).clamp(0, 1)


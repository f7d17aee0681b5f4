"""Segmentation backends behind one small protocol: ``segmenter(frames) -> soft masks``.

A backend is a callable taking a batch of ``uint8 (H, W, 3)`` RGB frames and
returning one ``float32 (H, W)`` mask in [0, 1] per frame.
"""

from __future__ import annotations

import torch

from .sources import MaskSource, Segmenter


def make_segmenter(source: MaskSource, device: torch.device | str = "cpu") -> Segmenter | None:
    """The backend ``source.segment`` names (None when the source is not a segmentation)."""
    if source.segment is None:
        return None
    from .smp import SmpSegmenter

    return SmpSegmenter(source.segment, source.classes, source.labels, device)

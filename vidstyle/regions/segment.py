"""Segmentation backends behind one small protocol: ``segmenter(frames) -> soft masks``.

A backend is a callable taking a batch of ``uint8 (H, W, 3)`` RGB frames and
returning one ``float32 (H, W)`` mask in [0, 1] per frame:

* ``person``: MediaPipe Selfie Segmentation, shipped and run offline by OpenCV (``person.py``);
* anything else: a segmentation-models-pytorch checkpoint with ``classes`` (``smp.py``).
"""

from __future__ import annotations

import torch

from ..config import SettingError
from .sources import MaskSource, Segmenter

PERSON = "person"


def make_segmenter(source: MaskSource, device: torch.device | str = "cpu") -> Segmenter | None:
    """The backend ``source.segment`` names (None when the source is not a segmentation)."""
    if source.segment is None:
        return None
    if source.segment == PERSON:
        if source.classes or source.labels is not None:
            raise SettingError("classes", "expected no `classes` or `labels` with `segment` person (its one class is the "
                                          "person)")
        from .person import PersonSegmenter

        return PersonSegmenter()
    from .smp import SmpSegmenter

    return SmpSegmenter(source.segment, source.classes, source.labels, device)

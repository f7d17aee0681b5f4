"""vidstyle: optimization-based neural style transfer for videos and stills.

The public API is loaded lazily, so ``import vidstyle.media`` (no torch) stays light::

    import vidstyle
    vidstyle.stylize_image("photo.jpg", "vangogh")          # uint8 (H, W, 3) RGB
    vidstyle.stylize_video("in.mp4", "out.mp4", "vangogh:0.6,picasso:0.4")
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import FeatureConfig, LossConfig, MaskConfig, OptimConfig, RunConfig, StyleConfig, TemporalConfig, VideoConfig

_LAZY = {
    "stylize_image": "vidstyle.stills.pipeline",
    "stylize_video": "vidstyle.video.pipeline",
    "warping_error": "vidstyle.video.metrics",
    "MaskSource": "vidstyle.regions.sources",
}

__all__ = [
    "FeatureConfig", "LossConfig", "MaskConfig", "OptimConfig", "RunConfig", "StyleConfig", "TemporalConfig",
    "VideoConfig", *_LAZY,
]
__version__ = "0.2.0"


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")

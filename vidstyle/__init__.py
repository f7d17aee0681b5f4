"""vidstyle: optimization-based neural style transfer for videos and stills.

The public API is loaded lazily, so ``import vidstyle.media`` (no torch) stays light::

    import vidstyle
    vidstyle.stylize_image("photo.jpg", "vangogh")          # uint8 (H, W, 3) RGB
    vidstyle.stylize_video("in.mp4", "out.mp4", "vangogh:0.6,picasso:0.4")
    job = vidstyle.Job.from_values({"input": "in.mp4", "output": "out.mp4", "styles": "vangogh", "max_size": 384})
    vidstyle.run_job(job)                                   # the same work as job.command_line()
"""

from __future__ import annotations

import importlib
from typing import Any

from .config import (FeatureConfig, ImageConfig, LossConfig, MaskConfig, OptimConfig, RunConfig, SettingError,
                     StyleConfig, TemporalConfig, VideoConfig)

_LAZY = {
    "stylize_image": "vidstyle.image.pipeline",
    "stylize_video": "vidstyle.video.pipeline",
    "warping_error": "vidstyle.video.metrics",
    "MaskSource": "vidstyle.regions.sources",
    "Job": "vidstyle.job",
    "Region": "vidstyle.job",
    "run_job": "vidstyle.batch.execute",
}

__all__ = [
    "FeatureConfig", "ImageConfig", "LossConfig", "MaskConfig", "OptimConfig", "RunConfig", "SettingError",
    "StyleConfig", "TemporalConfig", "VideoConfig", *_LAZY,
]
__version__ = "0.3.0"  # the one version number: pyproject.toml reads it from here


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vidstyle' has no attribute {name!r}")

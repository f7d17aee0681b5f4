"""vidstyle: optimization-based neural style transfer for videos and stills."""

from .config import FeatureConfig, LossConfig, OptimConfig, RunConfig, StyleConfig, TemporalConfig, VideoConfig
from .image import stylize_image
from .metrics import warping_error
from .pipeline import stylize_video

__all__ = [
    "FeatureConfig",
    "LossConfig",
    "OptimConfig",
    "RunConfig",
    "StyleConfig",
    "TemporalConfig",
    "VideoConfig",
    "stylize_image",
    "stylize_video",
    "warping_error",
]
__version__ = "0.1.0"

"""vidstyle: optimization-based neural style transfer for videos and stills."""

from .config import FeatureConfig, LossConfig, OptimConfig, RunConfig, StyleConfig, TemporalConfig
from .image import stylize_image

__all__ = [
    "FeatureConfig",
    "LossConfig",
    "OptimConfig",
    "RunConfig",
    "StyleConfig",
    "TemporalConfig",
    "stylize_image",
]
__version__ = "0.1.0"

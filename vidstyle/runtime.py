"""Device choice and model loading, decided once at the edge and followed by everything else."""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch

from .config import FeatureConfig
from .features import VGGFeatures
from .weights import VGGWeights, load_weights

DEVICES = ("auto", "cpu", "cuda", "mps")


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; an explicit device must be present."""
    if name not in DEVICES and not name.startswith("cuda:"):
        raise ValueError(f"expected a device among {', '.join(DEVICES)}, got {name!r}")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("expected a CUDA device, got none: use --device cpu or auto")
    if name == "mps" and not has_mps:
        raise ValueError("expected an Apple MPS device, got none: use --device cpu or auto")
    return torch.device(name)


@functools.lru_cache(maxsize=4)
def _cached_weights(source: str) -> VGGWeights:
    return load_weights(source)


def load_extractor(features: FeatureConfig, layers: Sequence[str], device: torch.device) -> VGGFeatures:
    """VGG19 truncated at the deepest of ``layers``, on ``device``; weights are read once per process."""
    extractor = VGGFeatures(_cached_weights(features.weights), layers, features.pooling)
    return extractor.to(device)

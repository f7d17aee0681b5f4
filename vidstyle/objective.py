"""The full objective for one image: content + mixed-Gram style + TV [+ temporal terms]."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass

import torch

from .config import LossConfig
from .features import VGGFeatures
from .losses import content_loss, gram, style_loss, temporal_loss, tv_loss


@dataclass(frozen=True)
class TemporalTerm:
    """``warped (1, 3, H, W)``: an earlier stylized frame warped into this one; ``weight (1, 1, H, W)``."""

    warped: torch.Tensor
    weight: torch.Tensor


class Objective:
    """Callable ``image -> (loss, terms)`` with targets computed once at construction."""

    def __init__(
        self,
        extractor: VGGFeatures,
        loss: LossConfig,
        style_targets: Mapping[str, torch.Tensor],
        content: torch.Tensor,
        *,
        temporal: Sequence[TemporalTerm] = (),
        temporal_weight: float = 0.0,
        bf16: bool = False,
    ) -> None:
        self.extractor = extractor
        self.loss = loss
        self.style_targets = dict(style_targets)
        self.temporal = tuple(temporal)
        self.temporal_weight = temporal_weight
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
        grams = {name: gram(features[name]) for name in self.style_targets}
        terms = {
            "content": content_loss(features, self.content_targets),
            "style": style_loss(grams, self.style_targets),
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

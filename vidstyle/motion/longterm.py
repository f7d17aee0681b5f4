"""Ruder et al.'s long-term temporal weights: each earlier frame counts only where no closer one does."""

from __future__ import annotations

import torch


def closest_first(masks: list[torch.Tensor]) -> list[torch.Tensor]:
    """Ruder's long-term weights: ``c_j = max(c_j - sum_{k closer} c_k, 0)``, masks ordered closest first."""
    weighted, covered = [], torch.zeros_like(masks[0])
    for mask in masks:
        weighted.append((mask - covered).clamp_min(0))
        covered = covered + mask
    return weighted

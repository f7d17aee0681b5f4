"""Region-restricted style (Gatys et al. 2017): per-region Gram targets, per-frame guides, compositing.

The style term acts only inside each region through guided Gram matrices;
outside every region only the content (and temporal) terms act, and the
final image is composited with the feathered union of the masks, so pixels
outside it are exactly the content's.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from .config import RunConfig
from .features import VGGFeatures
from .image import load_style_images
from .masks import layer_guides, mask_tensor
from .objective import StyleRegion
from .styles import StyleEntry, mixed_gram_targets

Targets = dict[str, torch.Tensor]


def style_targets(
    extractor: VGGFeatures, entries: Sequence[StyleEntry], reference: torch.Tensor, config: RunConfig,
    cache: dict[Path, torch.Tensor] | None = None,
) -> Targets:
    """Mixed Gram targets of a spec; style images are prepared against ``reference (1, 3, H, W)``."""
    cache = {} if cache is None else cache
    missing = [e for e in entries if e.path not in cache]
    for entry, image in zip(missing, load_style_images(missing, reference, config.style)):
        cache[entry.path] = image
    images = [cache[e.path] for e in entries]
    return mixed_gram_targets(extractor, images, [e.weight for e in entries], config.loss.style_layers)


def frame_regions(
    targets: Sequence[Targets], masks: Sequence[np.ndarray], background: Targets | None, layers: Sequence[str],
    device: torch.device,
) -> tuple[list[StyleRegion], torch.Tensor | None]:
    """Regions for one frame and the union mask ``(1, 1, H, W)`` to composite with (None: no compositing).

    Guides are eroded ('inside' guides) only when a single region is styled;
    several regions tile the frame and must cover their shared borders.
    """
    tensors = [mask_tensor(m, device) for m in masks]
    union = torch.stack(tensors).sum(0).clamp(0, 1)
    styled = len(tensors) + (background is not None)
    regions = [StyleRegion(t, layer_guides(m, layers, erode=styled == 1)) for t, m in zip(targets, tensors)]
    if background is not None:
        regions.append(StyleRegion(background, layer_guides(1 - union, layers, erode=False)))
        return regions, None
    return regions, union


def composite(stylized: torch.Tensor, content: torch.Tensor, union: torch.Tensor | None) -> torch.Tensor:
    """``union * stylized + (1 - union) * content``; where the union is 0 the content is kept exactly."""
    if union is None:
        return stylized
    return torch.where(union > 0, union * stylized + (1 - union) * content, content)

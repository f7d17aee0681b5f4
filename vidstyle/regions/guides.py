"""Region-restricted style (Gatys et al. 2017): per-frame guided style regions and the final composite.

The style term acts only inside each region through guided Gram matrices;
outside every region only the content (and temporal) terms act, and the
final image is composited with the feathered union of the masks, so pixels
outside it are exactly the content's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from ..config import SettingError
from ..core.objective import StyleRegion
from ..core.styles import StyleEntry, parse_style_spec
from ..core.targets import Targets
from .masks import layer_guides, mask_tensor
from .sources import MaskSource

Spec = str | Sequence[StyleEntry]  # "vangogh:0.6,picasso:0.4" or resolved entries
Specs = list[tuple[MaskSource | None, tuple[StyleEntry, ...]]]


def entries(styles: Spec) -> tuple[StyleEntry, ...]:
    return parse_style_spec(styles) if isinstance(styles, str) else tuple(styles)


def style_specs(styles: Spec | None, mask: MaskSource | None, regions: Sequence[tuple[MaskSource, Spec]],
                background_style: Spec | None, even_mix: bool = False) -> tuple[Specs, tuple[StyleEntry, ...] | None]:
    """Check how styles, masks and regions combine and resolve every spec (stills and video alike).

    Returns ``[(mask or None, entries)]`` (the ``styles`` first) and the background entries.
    """
    specs = [(source, entries(spec)) for source, spec in regions]
    if styles is not None:
        specs.insert(0, (mask, entries(styles)))
    elif mask is not None:
        raise SettingError("styles", "expected `styles` together with the mask (or `region` MASK=SPEC)")
    if not specs:
        raise SettingError("styles", "expected `styles` or at least one `region` MASK=SPEC, got neither")
    if any(source is None for source, _ in specs) and len(specs) > 1:
        raise SettingError("region", "expected `styles` with a mask, or `region` only: use `background_style` for the "
                                     "rest")
    if even_mix and specs[0][0] is not None:
        raise SettingError("even_mix", "expected a whole-image mix of styles: with a mask or `region`, each region "
                                       "keeps its own styles")
    background = entries(background_style) if background_style is not None else None
    if background is not None and specs[0][0] is None:
        raise SettingError("background_style", "expected `background_style` together with a mask or `region`")
    return specs, background


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


PARTS = 6  # overlapping parts an even mix is matched in (2x3 on a 16:9 frame)


def part_weights(height: int, width: int, parts: int = PARTS) -> list[np.ndarray]:
    """Overlapping parts of an ``height x width`` image, ``float32 (H, W)`` each, that sum to 1 everywhere: a
    grid of about ``parts`` cells shaped like the image, each a raised-cosine bump over its neighbours' centres."""
    cols = max(1, round((parts * width / height) ** 0.5))
    rows = max(1, round(parts / cols))

    def bumps(count: int, length: int) -> list[np.ndarray]:
        x = (np.arange(length) + 0.5) / length * count - 0.5  # cell centres at 0, 1, ..., count - 1
        out = []
        for i in range(count):
            bump = np.cos(np.clip(np.abs(x - i), 0, 1) * np.pi / 2) ** 2
            if i == 0:
                bump[x < 0] = 1.0
            if i == count - 1:
                bump[x > count - 1] = 1.0
            out.append(bump)
        return out

    return [(row[:, None] * col[None, :]).astype(np.float32) for row in bumps(rows, height)
            for col in bumps(cols, width)]


def even_regions(targets: Targets, size: tuple[int, int], layers: Sequence[str],
                 device: torch.device) -> list[StyleRegion]:
    """The same (mixed) ``targets`` in each of :func:`part_weights`' parts at ``size``: every part of the image is
    asked for the whole mix, which a split into one region per style does not meet."""
    return [StyleRegion(targets, layer_guides(mask_tensor(part, device), layers, erode=False))
            for part in part_weights(*size)]


def composite(stylized: torch.Tensor, content: torch.Tensor, union: torch.Tensor | None) -> torch.Tensor:
    """``union * stylized + (1 - union) * content``; where the union is 0 the content is kept exactly."""
    if union is None:
        return stylized
    return torch.where(union > 0, union * stylized + (1 - union) * content, content)

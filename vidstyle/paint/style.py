"""What an image is painted with, at any pyramid size: whole-image Gram targets, or guided regions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..core.styles import StyleEntry
from ..core.targets import StyleTargets
from ..media.sizes import resize
from ..regions.guides import even_regions, frame_regions


@dataclass
class Styling:
    """Style inputs of an image (a still, or frame ``index`` of a clip) at any size.

    ``specs`` has one entry per region (or one for the whole image: with ``even_mix``, a mix is asked of every
    part of the image, parts built once per size for the whole clip); ``load_masks(index)`` returns the
    image's masks, one per region, when ``masked``. A frame's masks are decoded once, and its regions
    built once per size, however many pyramid levels and the final composite ask for them.
    """

    targets: StyleTargets
    specs: Sequence[tuple[StyleEntry, ...]]
    background: tuple[StyleEntry, ...] | None
    masked: bool
    load_masks: Callable[[int], list[np.ndarray]]
    layers: tuple[str, ...]
    device: torch.device
    _cached: tuple[int, list, dict] | None = field(default=None, repr=False)
    _parts: dict = field(default_factory=dict, repr=False)

    def at(self, index: int, size: tuple[int, int]):
        """``(style for the Objective, union mask (1, 1, h, w) to composite with, or None)`` at ``size``."""
        targets = [self.targets.get(spec, size) for spec in self.specs]
        if not self.masked:
            if self.targets.config.style.even_mix and len(self.specs[0]) > 1:
                if size not in self._parts:
                    self._parts[size] = even_regions(targets[0], size, self.layers, self.device)
                return self._parts[size], None
            return targets[0], None
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self.load_masks(index), {})
        _, masks, built = self._cached
        if size not in built:
            background = self.targets.get(self.background, size) if self.background else None
            built[size] = frame_regions(targets, [resize(m, *size) for m in masks], background, self.layers,
                                        self.device)
        return built[size]

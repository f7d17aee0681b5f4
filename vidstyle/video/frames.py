"""One video frame's optimisation: cold start or warm start, style regions from the mask pre-pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..core.objective import Objective
from ..core.optimize import OptimResult, StepReport, initial_image, optimize_coarse_to_fine
from ..core.targets import Targets
from ..core.tensors import combine_luminance, luminance, to_tensor, to_uint8
from ..media.sizes import resize
from ..regions.guides import composite, frame_regions
from .temporal import FramePrep, warm_start


@dataclass
class FrameStyle:
    """Style inputs of a frame: whole-image targets, or per-region guides from the mask pre-pass.

    ``load_masks(index)`` returns the frame's masks, one per region (only when ``masked``).
    """

    targets: list[Targets]
    background: Targets | None
    masked: bool
    load_masks: Callable[[int], list[np.ndarray]]
    layers: tuple[str, ...]
    device: torch.device
    _cached: tuple[int, list, tuple] | None = field(default=None, repr=False)

    def for_frame(self, index: int, size: tuple[int, int] | None = None):
        """``(style for the Objective, union mask to composite with)`` at ``size`` (default: the masks').

        A frame's masks are decoded, and its full-size regions built, once, however many
        pyramid levels and the final composite ask for them.
        """
        if not self.masked:
            return self.targets[0], None
        if self._cached is None or self._cached[0] != index:
            masks = self.load_masks(index)
            self._cached = (index, masks, frame_regions(self.targets, masks, self.background, self.layers, self.device))
        _, masks, full = self._cached
        if size is None:
            return full
        return frame_regions(self.targets, [resize(m, *size) for m in masks], self.background, self.layers,
                             self.device)


NEW_PIXELS = 0.005  # a frame with fewer unreliable pixels than this has no new region to watch
# New pixels start from the raw content; they count as stylized once they moved from it at least
# this share of what the warm-started pixels moved (in mean absolute RGB difference).
NEW_REGION_MOVED = 0.6


def stop_rule(prep: FramePrep, style_level: float | None, config: RunConfig,
              device: torch.device) -> tuple[Callable[[dict], bool] | None, torch.Tensor | None]:
    """``(may_stop, new pixels to watch)`` for a warm frame: early stopping waits until the frame's style loss
    is within ``style_guard`` of its shot's median so far and its new (unreliable) pixels are stylized."""
    guard = config.temporal.style_guard
    if not style_level or guard <= 0:
        return None, None
    limit = guard * style_level
    new = None
    if 1 in prep.flows:
        new = 1.0 - prep.flows[1][1].to(device)
        new = new if float(new.mean()) > NEW_PIXELS else None

    def may_stop(terms: dict) -> bool:
        return terms["style"] <= limit and terms.get("new_change", 1.0) >= NEW_REGION_MOVED

    return may_stop, new


def stylize_frame(prep: FramePrep, stylized: Mapping[int, np.ndarray], shot_start: int, extractor,
                  styling: FrameStyle, config: RunConfig, on_step: Callable[[StepReport], None] | None = None,
                  style_level: float | None = None) -> tuple[np.ndarray, OptimResult]:
    """Optimise one frame; returns the ``uint8`` result and the optimiser's report.

    The first frame of a shot (and every frame without the temporal term) is
    a cold start with the coarse-to-fine budget; later frames start from the
    previous stylized frame warped by the flow (Ruder et al. 2016) and stop
    early only once as stylized as their shot (``style_level``, its median style loss).
    """
    device = styling.device
    grey = config.style.preserve_colors
    content = to_tensor(prep.content, device)
    target = luminance(content) if grey else content
    temporal = config.temporal
    init, terms = (target.clone(), []) if prep.cut or not temporal.enabled else warm_start(
        prep, stylized, target, shot_start, grey=grey)
    cold = not terms
    if cold:
        init = initial_image(config.optim.init, target, config.optim.seed)
    full_size = tuple(target.shape[-2:])
    may_stop, watch = (None, None) if cold else stop_rule(prep, style_level, config, device)

    def make_objective(size: tuple[int, int]) -> Objective:
        # temporal terms exist only for warm frames, which run at full size
        scaled = target if size == full_size else F.interpolate(target, size=size, mode="area")
        style = styling.for_frame(prep.index, None if size == full_size else size)[0]
        return Objective(extractor, config.loss, style, scaled, temporal=terms,
                         temporal_weight=temporal.temporal_weight, bf16=config.precision == "bf16", watch=watch)

    result = optimize_coarse_to_fine(
        init, make_objective, scales=config.optim.scales if cold else 1, optimizer=config.optim.optimizer,
        iterations=config.optim.iterations if cold else temporal.iterations,
        learning_rate=config.optim.learning_rate, tolerance=0.0 if cold else temporal.tolerance, callback=on_step,
        may_stop=may_stop,
    )
    image = combine_luminance(result.image, content) if grey else result.image
    return to_uint8(composite(image, content, styling.for_frame(prep.index)[1])), result

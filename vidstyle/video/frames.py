"""One video frame's optimisation: cold start or warm start, style regions from the mask pre-pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..core.objective import Objective, TemporalTerm
from ..core.optimize import OptimResult, StepReport, initial_image, optimize_coarse_to_fine, pyramid_sizes
from ..core.styles import StyleEntry
from ..core.targets import StyleTargets
from ..core.tensors import combine_luminance, luminance, to_tensor, to_uint8
from ..media.sizes import resize
from ..regions.guides import composite, frame_regions
from .temporal import FramePrep, warm_start


@dataclass
class FrameStyle:
    """Style inputs of a frame at any pyramid size: whole-image targets, or per-region guides from the mask
    pre-pass. ``load_masks(index)`` returns the frame's masks, one per region (only when ``masked``)."""

    targets: StyleTargets
    specs: list[tuple[StyleEntry, ...]]  # one per region (the whole image when not masked)
    background: tuple[StyleEntry, ...] | None
    masked: bool
    load_masks: Callable[[int], list[np.ndarray]]
    layers: tuple[str, ...]
    device: torch.device
    _cached: tuple[int, list, dict] | None = field(default=None, repr=False)

    def for_frame(self, index: int, size: tuple[int, int]):
        """``(style for the Objective, union mask to composite with)`` at ``size``.

        A frame's masks are decoded once, and its regions built once per size, however many
        pyramid levels and the final composite ask for them.
        """
        targets = [self.targets.get(spec, size) for spec in self.specs]
        if not self.masked:
            return targets[0], None
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self.load_masks(index), {})
        _, masks, built = self._cached
        if size not in built:
            background = self.targets.get(self.background, size) if self.background else None
            built[size] = frame_regions(targets, [resize(m, *size) for m in masks], background, self.layers,
                                        self.device)
        return built[size]


def stop_rule(style_level: float | None, config: RunConfig) -> Callable[[dict], bool] | None:
    """``may_stop`` for a warm frame: early stopping waits until the frame's style loss is within
    ``style_guard`` of its shot's median so far (a frame that quits early in a bad state is a visible flash)."""
    guard = config.temporal.style_guard
    if not style_level or guard <= 0:
        return None
    limit = guard * style_level
    return lambda terms: terms["style"] <= limit


def guard_size(height: int, width: int, config: RunConfig) -> tuple[int, int]:
    """The size at which a later frame's early stop is judged: its coarsest pyramid level."""
    return pyramid_sizes(height, width, config.temporal.scales)[0]


def stylize_frame(prep: FramePrep, stylized: Mapping[int, np.ndarray], shot_start: int, extractor,
                  styling: FrameStyle, config: RunConfig, on_step: Callable[[StepReport], None] | None = None,
                  style_level: float | None = None) -> tuple[np.ndarray, OptimResult]:
    """Optimise one frame; returns the ``uint8`` result and the optimiser's report.

    The first frame of a shot (and every frame without the temporal term) is
    a cold start with the coarse-to-fine budget; later frames start from the
    previous stylized frame warped by the flow (Ruder et al. 2016), do most of
    their work at the coarse level and stop it early only once as stylized as
    their shot (``style_level``: the shot's median style loss at that level's size),
    then refine the full-size detail briefly.
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
    may_stop = None if cold else stop_rule(style_level, config)

    def make_objective(size: tuple[int, int]) -> Objective:
        full = size == full_size
        shrink = (lambda t: t) if full else (lambda t: F.interpolate(t, size=size, mode="area"))
        return Objective(extractor, config.loss, styling.for_frame(prep.index, size)[0], shrink(target),
                         temporal=[TemporalTerm(shrink(t.warped), shrink(t.weight)) for t in terms],
                         temporal_weight=temporal.temporal_weight, bf16=config.precision == "bf16")

    if cold:
        budget = dict(scales=config.optim.scales, iterations=config.optim.iterations,
                      fine_iterations=config.optim.fine_iterations, tolerance=0.0)
    else:  # most of the work at the coarse level; the full-size level refines the warped detail (residual)
        budget = dict(scales=temporal.scales, iterations=temporal.iterations, fine_iterations=temporal.fine_iterations,
                      tolerance=temporal.tolerance, residual=True, may_stop=may_stop, stop_level=0)
    result = optimize_coarse_to_fine(init, make_objective, optimizer=config.optim.optimizer,
                                     learning_rate=config.optim.learning_rate, callback=on_step, **budget)
    image = combine_luminance(result.image, content) if grey else result.image
    return to_uint8(composite(image, content, styling.for_frame(prep.index, full_size)[1])), result

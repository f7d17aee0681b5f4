"""Paint one image: the objective at each pyramid size, the optimisation from a :class:`Start`, colours, composite."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from ..config import RunConfig
from ..core.objective import Objective, TemporalTerm
from ..core.optimize import OptimResult, StepReport, optimize_coarse_to_fine
from ..core.tensors import combine_luminance, luminance, to_uint8
from ..regions.guides import composite
from .start import Start
from .style import Styling

Strategy = Callable[[torch.Tensor], Start]  # the target (content, or its luminance) -> where to start


def target_of(content: torch.Tensor, config: RunConfig) -> torch.Tensor:
    """What the content term compares with: the content, or its luminance (colour preservation)."""
    return luminance(content) if config.style.preserve_colors else content


def paint(content: torch.Tensor, styling: Styling, strategy: Strategy, extractor, config: RunConfig, *,
          index: int = 0, on_step: Callable[[StepReport], None] | None = None,
          snapshot: Callable[[int, np.ndarray], None] | None = None, snapshot_every: int = 0,
          ) -> tuple[np.ndarray, OptimResult]:
    """Optimise ``content (1, 3, H, W)`` in [0, 1] (image ``index`` of ``styling``) from ``strategy``'s start;
    returns the ``uint8 (H, W, 3)`` result and the optimiser's report. ``snapshot(iteration, image)`` gets
    the finished-looking full-size image every ``snapshot_every`` iterations."""
    return paint_from(content, strategy(target_of(content, config)), styling, extractor, config, index=index,
                      on_step=on_step, snapshot=snapshot, snapshot_every=snapshot_every)


def finished(image: torch.Tensor, content: torch.Tensor, union: torch.Tensor | None, config: RunConfig
             ) -> torch.Tensor:
    """An optimised image ``(1, C, H, W)`` as the frame shows it: the content's colours put back (colour
    preservation), the unstyled regions' content composited (``union``: where any style applies)."""
    image = combine_luminance(image, content) if config.style.preserve_colors else image
    return composite(image, content, union)


def carried(content: torch.Tensor, start: Start, styling: Styling, config: RunConfig, index: int = 0) -> np.ndarray:
    """A frame that is not optimised: its start as it would be shown (a chunk's carried frames)."""
    union = styling.at(index, tuple(content.shape[-2:]))[1]
    return to_uint8(finished(start.init.clamp(0, 1), content, union, config))


def paint_from(content: torch.Tensor, start: Start, styling: Styling, extractor, config: RunConfig, *,
               index: int = 0, on_step: Callable[[StepReport], None] | None = None,
               snapshot: Callable[[int, np.ndarray], None] | None = None, snapshot_every: int = 0,
               ) -> tuple[np.ndarray, OptimResult]:
    """Paint one image from ``start``: its initial image, the temporal terms it is held to and its budget (a
    frame of any pass, a still, a preview); see :func:`paint`."""
    target = target_of(content, config)
    full_size = tuple(target.shape[-2:])
    union = styling.at(index, full_size)[1]

    def make_objective(size: tuple[int, int]) -> Objective:
        shrink = (lambda t: t) if size == full_size else (lambda t: F.interpolate(t, size=size, mode="area"))
        return Objective(extractor, config.loss, styling.at(index, size)[0], shrink(target),
                         temporal=[TemporalTerm(shrink(t.warped), shrink(t.weight)) for t in start.temporal],
                         temporal_weight=config.temporal.temporal_weight, bf16=config.precision == "bf16")

    def finish(image: torch.Tensor) -> torch.Tensor:
        return finished(image, content, union, config)

    hook = None
    if snapshot is not None and snapshot_every > 0:
        def hook(iteration: int, image: torch.Tensor) -> None:
            if tuple(image.shape[-2:]) == full_size:
                snapshot(iteration, to_uint8(finish(image)))

    budget = start.budget
    result = optimize_coarse_to_fine(start.init, make_objective, scales=budget.scales, iterations=budget.iterations,
                                     fine_iterations=budget.fine_iterations, tolerance=budget.tolerance,
                                     residual=budget.residual, may_stop=budget.may_stop, stop_level=budget.stop_level,
                                     halve_deep=budget.halve_deep, first_step=budget.first_step,
                                     optimizer=config.optim.optimizer, learning_rate=config.optim.learning_rate,
                                     callback=on_step, snapshot=hook, snapshot_every=snapshot_every)
    result.image = finish(result.image)
    return to_uint8(result.image), result

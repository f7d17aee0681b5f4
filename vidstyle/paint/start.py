"""Where an image's optimisation starts and how much it may spend: the seam for per-frame strategies.

A strategy is a function returning a :class:`Start`. :func:`cold_start` begins from the content (or
noise, or an image) with the coarse-to-fine budget of a still; the video layer's warm start begins
from the previous stylized frame warped by the flow. A new per-frame method is one more function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..config import RunConfig
from ..core.objective import TemporalTerm
from ..core.optimize import initial_image


@dataclass(frozen=True)
class Budget:
    """How the optimisation runs: levels, iterations, early stop (see ``optimize_coarse_to_fine``)."""

    scales: int
    iterations: int
    fine_iterations: int
    tolerance: float = 0.0
    residual: bool = False  # finer levels start from the init plus the coarse level's change
    may_stop: Callable[[dict], bool] | None = None
    stop_level: int = -1
    halve_deep: bool = False  # a cold start: the levels below full size run shorter budgets (optimize_coarse_to_fine)
    first_step: float | None = None  # a warm start: L-BFGS's first step (optimize_pixels, WARM_FIRST_STEP)


@dataclass(frozen=True)
class Start:
    """The initial image ``(1, 3, H, W)``, the temporal terms it is held to, and the budget."""

    init: torch.Tensor
    budget: Budget
    temporal: list[TemporalTerm] = field(default_factory=list)


def cold_start(target: torch.Tensor, config: RunConfig, tolerance: float | None = None) -> Start:
    """A still, a shot's first frame or a preview: from ``config.optim.init`` with the cold budget."""
    optim = config.optim
    return Start(initial_image(optim.init, target, optim.seed),
                 Budget(optim.scales, optim.iterations, optim.fine_iterations,
                        optim.tolerance if tolerance is None else tolerance, halve_deep=True))


def repaint_start(init: torch.Tensor, config: RunConfig, hold: TemporalTerm | None = None) -> Start:
    """A painting brought from elsewhere (a chunk's start, carried along the flow), painted again with the cold
    budget; residual levels keep its detail where it already fits, ``hold`` keeps it where it is trusted."""
    optim = config.optim
    return Start(init, Budget(optim.scales, optim.iterations, optim.fine_iterations, 0.0, residual=True),
                 [hold] if hold is not None else [])

"""Several style specs side by side on one still: the image, then one result per spec."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np
import torch

from ..config import RunConfig
from ..core.optimize import StepReport
from ..media.sheet import contact_sheet
from ..regions.guides import entries
from .pipeline import StillPlan, stylize_plan


def preview_styles(plan: StillPlan, specs: Sequence[str], *, config: RunConfig, device: torch.device,
                   on_spec: Callable[[int, int], None] | None = None,
                   on_step: Callable[[StepReport], None] | None = None) -> np.ndarray:
    """The contact sheet ``[source, result of specs[0], result of specs[1], ...]`` for a checked plan.

    Each spec replaces the plan's first style spec (its mask, if any, is kept).
    """
    tiles = [(plan.image, "source")]
    for done, spec in enumerate(specs):
        variant = replace(plan, specs=[entries(spec)] + list(plan.specs[1:]))
        tiles.append((stylize_plan(variant, config=config, device=device, callback=on_step), spec))
        if on_spec:
            on_spec(done + 1, len(specs))
    return contact_sheet([tiles])

"""``--preview N``: a few evenly spaced frames, each painted as a shot's first frame (a cold start, then settled)
at the processing size, on one sheet.

A minute's look at a style mix or a mask before committing to the whole clip:
the sources on the top row, their stylizations below.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ..config import RunConfig
from ..core.optimize import StepReport
from ..core.device import resolve_config
from ..core.features import load_extractor
from ..core.targets import StyleTargets
from ..core.tensors import to_tensor
from ..media.decode import count_frames
from ..media.sheet import contact_sheet
from ..regions.sources import clip_masks
from ..paint.paint import paint
from ..paint.start import cold_start
from ..paint.style import Styling
from .plan import VideoPlan
from .temporal import settle_start


def preview_indices(total: int, count: int) -> list[int]:
    """``count`` frame indices spread evenly over ``total`` frames, first and last included."""
    if count >= total:
        return list(range(total))
    if count == 1:
        return [0]
    return sorted({round(i * (total - 1) / (count - 1)) for i in range(count)})


def preview_video(plan: VideoPlan, count: int, *, config: RunConfig, device: torch.device,
                  on_frame: Callable[[int, int], None] | None = None,
                  on_step: Callable[[StepReport], None] | None = None, indices: list[int] | None = None,
                  on_image: Callable[[int, np.ndarray], None] | None = None, image_every: int = 0,
                  on_result: Callable[[int, np.ndarray, np.ndarray], None] | None = None) -> np.ndarray:
    """The contact sheet of ``count`` evenly spaced frames of the plan (or of ``indices``): ``uint8 (H, W, 3)``.

    ``on_image(iteration, image)`` sees each frame form, every ``image_every`` iterations at full size;
    ``on_result(index, source, result)`` gets each frame's source and result at the processing size.
    """
    config = resolve_config(config, device)
    total = count_frames(plan.info, plan.start, plan.end)
    wanted = set(preview_indices(total, count) if indices is None else indices)
    picked = []
    for i, frame in enumerate(plan.frames()):  # decode no further than the last frame wanted
        if i in wanted:
            picked.append((i, frame))
        if i >= max(wanted, default=0):
            break
    if not picked:
        raise ValueError(f"expected frames {sorted(wanted)} in the clip's {total} frames, got none")
    masks: dict[int, list[np.ndarray]] = {i: [] for i, _ in picked}
    for region, (source, _) in enumerate(plan.specs):
        if source is None:
            continue
        stream = clip_masks(source, plan.images, plan.height, plan.width, config.temporal.flow,
                            plan.segmenters[region])
        for i, mask in enumerate(stream):
            if i in masks:
                masks[i].append(mask)
    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    targets = StyleTargets(extractor, config, to_tensor(picked[0][1].image, device))
    styling = Styling(targets, [spec for _, spec in plan.specs], plan.background, plan.masked, lambda i: masks[i],
                      config.loss.style_layers, device, plan.timeline())
    sources, results = [], []
    for done, (index, frame) in enumerate(picked):
        content = to_tensor(frame.image, device)
        image, _ = paint(content, styling, lambda t: cold_start(t, config, tolerance=0.0), extractor, config,
                         index=index, on_step=on_step, snapshot=on_image, snapshot_every=image_every)
        if config.temporal.enabled:  # settled, like a shot's first frame in the render
            image, _ = paint(content, styling, lambda t, cold=image: settle_start(cold, t, config), extractor, config,
                             index=index, on_step=on_step, snapshot=on_image, snapshot_every=image_every)
        seconds = float((frame.pts - plan.info.start_pts) * plan.info.time_base)
        sources.append((frame.image, f"frame {index} ({seconds:.2f} s)"))
        results.append((image, "stylized"))
        if on_result:
            on_result(index, frame.image, image)
        if on_frame:
            on_frame(done + 1, len(picked))
    return contact_sheet([sources, results])

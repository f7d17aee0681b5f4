"""Stylize one still image: the library call behind ``vidstyle image``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DEFAULT_SIZE, MaskConfig, RunConfig
from ..core.features import check_size
from ..core.objective import Objective
from ..core.optimize import OptimResult, StepReport, initial_image, optimize_coarse_to_fine
from ..core.runtime import check_files, check_memory, load_extractor, resolve_config, resolve_device
from ..core.styles import StyleEntry
from ..core.targets import StyleTargets
from ..core.tensors import combine_luminance, luminance, to_tensor, to_uint8
from ..media.sizes import fit_long_side, resize
from ..media.stills import read_image
from ..regions.guides import Spec, composite, frame_regions, style_specs
from ..regions.segment import make_segmenter
from ..regions.sources import MaskSource, still_mask

MaskLike = MaskSource | str | Path | np.ndarray


@dataclass(frozen=True)
class Snapshot:
    """An intermediate result, for ``--save-every``."""

    iteration: int
    image: np.ndarray  # uint8 (H, W, 3) RGB


@dataclass(frozen=True)
class StillPlan:
    """A still's inputs, checked: the image at its processing size, its style specs and their masks."""

    image: np.ndarray  # uint8 (H, W, 3) RGB at the processing size
    specs: list[tuple[StyleEntry, ...]]
    masks: list[np.ndarray | None]  # one shaped mask per spec (None: the whole image)
    background: tuple[StyleEntry, ...] | None


def plan_still(content: np.ndarray | str | Path, styles: Spec | None = None, *, size: int | None = DEFAULT_SIZE,
               config: RunConfig = RunConfig(), device: torch.device | None = None, mask: MaskLike | None = None,
               mask_options: MaskConfig = MaskConfig(), regions: Sequence[tuple[MaskLike, Spec]] = (),
               background_style: Spec | None = None) -> StillPlan:
    """Check every input (image, styles, files named by the config, memory) and make the masks, before any
    optimisation. A mask of the wrong aspect, an empty or a full one is refused here."""
    array = read_image(content) if isinstance(content, (str, Path)) else content
    height, width = fit_long_side(*array.shape[:2], size)
    check_files(config)
    check_size(height, width, config.loss.style_layers + config.loss.content_layers)
    if device is not None:
        check_memory(height, width, device, config.optim.optimizer)
    sources = [(MaskSource.of(m, mask_options), spec) for m, spec in regions]
    main = None if mask is None else MaskSource.of(mask, mask_options)
    specs, background = style_specs(styles, main, sources, background_style)
    image = resize(array, height, width)
    scale = width / array.shape[1]  # GrabCut rectangles are given in source pixels
    masks = [None if source is None else still_mask(source.at_scale(scale), image,
                                                    make_segmenter(source, device or "cpu"))
             for source, _ in specs]
    return StillPlan(image, [spec for _, spec in specs], masks, background)


def stylize_image(
    content: np.ndarray | str | Path,
    styles: Spec | None = None,
    *,
    size: int | None = DEFAULT_SIZE,
    config: RunConfig = RunConfig(),
    device: torch.device | str = "auto",
    mask: MaskLike | None = None,
    mask_options: MaskConfig = MaskConfig(),
    regions: Sequence[tuple[MaskLike, Spec]] = (),
    background_style: Spec | None = None,
    callback: Callable[[StepReport], None] | None = None,
    save_every: int = 0,
    on_snapshot: Callable[[Snapshot], None] | None = None,
) -> np.ndarray:
    """Stylize ``content`` (path or ``uint8 (H, W, 3)`` RGB); returns ``uint8 (H', W', 3)``.

    ``size`` is the long side of the result (None keeps the content's size).
    With ``mask`` (a :class:`MaskSource`, a mask file or an ``(H, W)`` array)
    the ``styles`` apply only there; ``regions`` give each mask its own spec;
    ``background_style`` styles what no mask covers.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    plan = plan_still(content, styles, size=size, config=config, device=device, mask=mask, mask_options=mask_options,
                      regions=regions, background_style=background_style)
    return stylize_plan(plan, config=config, device=device, callback=callback, save_every=save_every,
                        on_snapshot=on_snapshot)


def stylize_plan(plan: StillPlan, *, config: RunConfig, device: torch.device,
                 callback: Callable[[StepReport], None] | None = None, save_every: int = 0,
                 on_snapshot: Callable[[Snapshot], None] | None = None) -> np.ndarray:
    """Optimise a checked :class:`StillPlan` (see :func:`plan_still`); returns ``uint8 (H, W, 3)``."""
    config = resolve_config(config, device)
    torch.manual_seed(config.optim.seed)
    result = _optimize(to_tensor(plan.image, device), plan.specs, plan.masks, plan.background, config, callback,
                       save_every, on_snapshot)
    return to_uint8(result.image)


def _optimize(content, specs, masks, background, config: RunConfig, callback, save_every, on_snapshot) -> OptimResult:
    loss_cfg = config.loss
    extractor = load_extractor(config.features, loss_cfg.style_layers + loss_cfg.content_layers, content.device)
    target_content = luminance(content) if config.style.preserve_colors else content
    targets = StyleTargets(extractor, config, content)  # style images sized per pyramid level
    whole = len(masks) == 1 and masks[0] is None and background is None

    def regions_at(size: tuple[int, int]):
        if whole:
            return targets.get(specs[0], size), None
        return frame_regions([targets.get(spec, size) for spec in specs], [resize(m, *size) for m in masks],
                             targets.get(background, size) if background else None, loss_cfg.style_layers,
                             content.device)

    def make_objective(size: tuple[int, int]) -> Objective:
        full = size == tuple(content.shape[-2:])
        scaled = target_content if full else F.interpolate(target_content, size=size, mode="area")
        return Objective(extractor, loss_cfg, regions_at(size)[0], scaled, bf16=config.precision == "bf16")

    union = regions_at(tuple(content.shape[-2:]))[1]

    def finish(image: torch.Tensor) -> torch.Tensor:
        image = combine_luminance(image, content) if config.style.preserve_colors else image
        return composite(image, content, union)

    snapshot = None
    if save_every > 0 and on_snapshot is not None:
        def snapshot(iteration: int, image: torch.Tensor) -> None:
            if image.shape == content.shape:
                on_snapshot(Snapshot(iteration, to_uint8(finish(image))))

    init = initial_image(config.optim.init, target_content, config.optim.seed)
    result = optimize_coarse_to_fine(
        init, make_objective, scales=config.optim.scales, optimizer=config.optim.optimizer,
        iterations=config.optim.iterations, fine_iterations=config.optim.fine_iterations,
        learning_rate=config.optim.learning_rate,
        tolerance=config.optim.tolerance, callback=callback, snapshot=snapshot, snapshot_every=save_every,
    )
    result.image = finish(result.image)
    return result

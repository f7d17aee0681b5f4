"""Stylize one still image: the library call behind ``vidstyle image``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import DEFAULT_SIZE, MaskConfig, RunConfig
from ..core.device import check_memory, resolve_config, resolve_device
from ..core.features import check_files, check_size, load_extractor
from ..core.optimize import StepReport
from ..core.styles import StyleEntry
from ..core.targets import StyleTargets
from ..core.tensors import to_tensor
from ..media.images import read_alpha, read_image
from ..media.sizes import fit_long_side, resize
from ..paint.paint import paint
from ..paint.start import cold_start
from ..paint.style import Styling
from ..regions.guides import Spec, style_specs
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
    alpha: np.ndarray | None = None  # uint8 (H, W) at the processing size: the content file's transparency


def plan_still(content: np.ndarray | str | Path, styles: Spec | None = None, *, size: int | None = DEFAULT_SIZE,
               config: RunConfig = RunConfig(), device: torch.device | None = None, mask: MaskLike | None = None,
               mask_options: MaskConfig = MaskConfig(), regions: Sequence[tuple[MaskLike, Spec]] = (),
               background_style: Spec | None = None) -> StillPlan:
    """Check every input (image, styles, files named by the config, memory) and make the masks, before any
    optimisation. A mask of the wrong aspect, an empty or a full one is refused here."""
    array = read_image(content) if isinstance(content, (str, Path)) else content
    height, width = fit_long_side(*array.shape[:2], size)
    check_files(config)
    check_size(height, width, config.loss.style_layers + config.loss.content_layers, array.shape[:2])
    if device is not None:
        check_memory(height, width, device, config.optim.optimizer, key="size")
    sources = [(MaskSource.of(m, mask_options), spec) for m, spec in regions]
    main = None if mask is None else MaskSource.of(mask, mask_options)
    specs, background = style_specs(styles, main, sources, background_style, config.style.even_mix)
    image = resize(array, height, width)
    # GrabCut prompts are given in source pixels
    masks = [None if source is None else still_mask(source.at_scale(array.shape[:2], (height, width)), image,
                                                    make_segmenter(source, device or "cpu"))
             for source, _ in specs]
    alpha = read_alpha(content) if isinstance(content, (str, Path)) else None
    alpha = None if alpha is None or alpha.shape != array.shape[:2] else resize(alpha, height, width)
    return StillPlan(image, [spec for _, spec in specs], masks, background, alpha)


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
    content = to_tensor(plan.image, device)
    layers = config.loss.style_layers
    extractor = load_extractor(config.features, layers + config.loss.content_layers, device)
    masked = not (len(plan.masks) == 1 and plan.masks[0] is None and plan.background is None)
    styling = Styling(StyleTargets(extractor, config, content), plan.specs, plan.background, masked,
                      lambda _: list(plan.masks), layers, device)
    snapshot = None if on_snapshot is None else (lambda i, image: on_snapshot(Snapshot(i, image)))
    image, _ = paint(content, styling, lambda target: cold_start(target, config), extractor, config,
                     on_step=callback, snapshot=snapshot, snapshot_every=save_every)
    return image

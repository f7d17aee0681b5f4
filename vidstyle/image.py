"""Stylize one still image: the library call behind ``vidstyle image``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .config import RunConfig, StyleConfig
from .imaging import combine_luminance, fit_long_side, luminance, match_luminance, resize, to_tensor, to_uint8
from .masks import MaskOptions, check_coverage, fit_mask, load_mask, shape_mask
from .objective import Objective
from .optimize import OptimResult, StepReport, optimize_coarse_to_fine
from .runtime import load_extractor, resolve_config, resolve_device
from .styles import StyleEntry, parse_style_spec
from .video import read_image

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Snapshot:
    """An intermediate result, for ``--save-every``."""

    iteration: int
    image: np.ndarray  # uint8 (H, W, 3) RGB


def load_style_images(
    entries: Sequence[StyleEntry], content: torch.Tensor, style: StyleConfig
) -> list[torch.Tensor]:
    """Style images as ``(1, 3, H, W)`` tensors on ``content``'s device, long side = scale x content's.

    With ``preserve_colors`` they are converted to grey with the content's
    luminance mean and std (Gatys et al. 2017, luminance-only transfer).
    """
    if style.style_scale <= 0:
        raise ValueError(f"expected --style-scale > 0, got {style.style_scale:g}")
    long_side = max(16, round(max(content.shape[-2:]) * style.style_scale))
    images = []
    for entry in entries:
        array = read_image(entry.path)
        tensor = to_tensor(resize(array, *fit_long_side(*array.shape[:2], long_side)), content.device)
        images.append(match_luminance(tensor, content) if style.preserve_colors else tensor)
    return images


def initial_image(init: str, content: torch.Tensor, seed: int) -> torch.Tensor:
    """``content``, ``noise`` (uniform, seeded) or an image file resized to the content."""
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content)
    array = read_image(Path(init))
    return to_tensor(resize(array, *content.shape[-2:]), content.device)


@dataclass(frozen=True)
class Region:
    """A region to stylize: a mask (path or ``(H, W)`` array, grey = soft weight) and its style spec."""

    mask: np.ndarray | str | Path
    styles: str | Sequence[StyleEntry]


def stylize_image(
    content: np.ndarray | str | Path,
    styles: str | Sequence[StyleEntry] | None = None,
    *,
    size: int | None = 512,
    config: RunConfig = RunConfig(),
    device: torch.device | str = "auto",
    mask: np.ndarray | str | Path | None = None,
    regions: Sequence[Region] = (),
    background_style: str | Sequence[StyleEntry] | None = None,
    mask_options: MaskOptions = MaskOptions(),
    callback: Callable[[StepReport], None] | None = None,
    save_every: int = 0,
    on_snapshot: Callable[[Snapshot], None] | None = None,
) -> np.ndarray:
    """Stylize ``content`` (path or ``uint8 (H, W, 3)`` RGB); returns ``uint8 (H', W', 3)``.

    ``size`` is the long side of the result (None keeps the content's size).
    With ``mask`` the ``styles`` apply only there; ``regions`` give each mask
    its own spec; ``background_style`` styles what no mask covers.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    torch.manual_seed(config.optim.seed)
    array = read_image(content) if isinstance(content, (str, Path)) else content
    height, width = fit_long_side(*array.shape[:2], size)
    content_t = to_tensor(resize(array, height, width), device)
    if styles is not None and regions and mask is None:
        raise ValueError("expected --styles with --mask, or --region only: use --background-style for the rest")
    specs = [(region.mask, region.styles) for region in regions]
    if styles is not None:
        specs.insert(0, (mask, styles))
    if not specs:
        raise ValueError("expected --styles or at least one --region, got neither")
    masks = [None if m is None else _region_mask(m, height, width, mask_options) for m, _ in specs]
    entries = [_entries(spec) for _, spec in specs]
    background = _entries(background_style) if background_style is not None else None
    if background is not None and len(masks) == 1 and masks[0] is None:
        raise ValueError("expected --background-style together with --mask or --region")
    result = _optimize(content_t, entries, masks, background, config, callback, save_every, on_snapshot)
    return to_uint8(result.image)


def _entries(styles: str | Sequence[StyleEntry]) -> tuple[StyleEntry, ...]:
    return parse_style_spec(styles) if isinstance(styles, str) else tuple(styles)


def _region_mask(source, height: int, width: int, options: MaskOptions) -> np.ndarray:
    if isinstance(source, (str, Path)):
        mask = load_mask(source, height, width)
        name = f"mask {str(source)!r}"
    else:
        mask = fit_mask(np.asarray(source, np.float32), height, width)
        name = "mask"
    shaped = shape_mask(mask, MaskOptions(invert=options.invert))
    check_coverage(shaped, name)
    return shape_mask(shaped, MaskOptions(feather=options.feather))


def _optimize(content, entries, masks, background, config, callback, save_every, on_snapshot) -> OptimResult:
    from .regions import composite, frame_regions, style_targets

    loss_cfg = config.loss
    extractor = load_extractor(config.features, loss_cfg.style_layers + loss_cfg.content_layers, content.device)
    target_content = luminance(content) if config.style.preserve_colors else content
    cache: dict = {}
    targets = [style_targets(extractor, e, content, config, cache) for e in entries]
    background_targets = style_targets(extractor, background, content, config, cache) if background else None
    whole = len(masks) == 1 and masks[0] is None and background is None

    def regions_at(size: tuple[int, int]):
        if whole:
            return targets[0], None
        return frame_regions(targets, [resize(m, *size) for m in masks], background_targets, loss_cfg.style_layers,
                             content.device)

    def make_objective(size: tuple[int, int]) -> Objective:
        scaled = target_content if size == tuple(content.shape[-2:]) else F.interpolate(target_content, size=size, mode="area")
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
        iterations=config.optim.iterations, learning_rate=config.optim.learning_rate,
        tolerance=config.optim.tolerance, callback=callback, snapshot=snapshot, snapshot_every=save_every,
    )
    result.image = finish(result.image)
    return result

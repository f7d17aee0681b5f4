"""``vidstyle mask``: write the masks a run would use, with an overlay preview, for checking."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from .imaging import fit_long_side, resize
from .masktrack import IMAGE_SUFFIXES, MaskSource, clip_masks
from .segment import Segmenter
from .video import count_frames, encode_frames, iter_frames, probe, read_image, write_image


def overlay(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The frame with the masked region tinted red and the rest dimmed."""
    tint = np.array([255, 40, 40], np.float32)
    m = mask[..., None]
    out = frame * (0.45 + 0.55 * m) * (1 - 0.35 * m) + 0.35 * m * tint
    return np.clip(out, 0, 255).astype(np.uint8)


def export_masks(input_path: Path, output_dir: Path, source: MaskSource, *, max_size: int | None = 512,
                 device: torch.device | str = "cpu") -> tuple[int, Path]:
    """Masks as ``output_dir/NNNNNN.png`` and a preview (``preview.png`` or ``preview.mp4``)."""
    is_image = input_path.suffix.lower() in IMAGE_SUFFIXES
    if is_image:
        still = read_image(input_path)
        height, width = fit_long_side(*still.shape[:2], max_size)
        frames, total, fps = (lambda: iter([resize(still, height, width)])), 1, Fraction(1)
    else:
        info = probe(input_path)
        height, width = fit_long_side(info.height, info.width, max_size)
        total, fps = count_frames(input_path), info.fps
        frames = lambda: (resize(f, height, width) for f in iter_frames(input_path))  # noqa: E731
    source = source.at_scale(width / (still.shape[1] if is_image else info.width))
    segmenter = Segmenter(source.segment, source.classes, source.labels, device) if source.segment else None
    output_dir.mkdir(parents=True, exist_ok=True)
    previews = output_dir / "preview-frames"
    previews.mkdir(exist_ok=True)
    count = 0
    for index, (frame, mask) in enumerate(zip(frames(), clip_masks(source, frames, total, height, width,
                                                                     segmenter=segmenter))):
        write_image(output_dir / f"{index:06d}.png", np.round(mask * 255).astype(np.uint8))
        write_image(previews / f"{index:06d}.png", overlay(frame, mask))
        count += 1
    if is_image:
        preview = output_dir / "preview.png"
        (previews / "000000.png").replace(preview)
    else:
        preview = output_dir / "preview.mp4"
        encode_frames(str(previews / "%06d.png"), preview, fps)
        for path in previews.glob("*.png"):
            path.unlink()
    previews.rmdir()
    return count, preview

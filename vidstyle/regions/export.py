"""``vidstyle mask``: write the masks a run would use, with an overlay preview, for checking."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np
import torch

from ..config import SettingError
from ..media.decode import Position, check_range, read_frames
from ..media.encode import Timing, encode_video
from ..media.probe import probe
from ..media.sizes import fit_long_side, processing_size, resize
from ..media.images import is_image_path, read_image, write_image
from .segment import make_segmenter
from .sources import MaskSource, clip_masks


def overlay(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The frame with the region in its own colours, the rest dimmed to grey, and the region's outline drawn in
    black and white (a tint vanishes on clothes of its own colour; an outline in both shows on any colour)."""
    m = np.clip(mask, 0, 1)[..., None]
    grey = frame.astype(np.float32).mean(axis=2, keepdims=True)
    out = np.clip(m * frame + (1 - m) * (0.35 * grey + 20), 0, 255).astype(np.uint8)
    outline = ((m[..., 0] >= 0.5).astype(np.uint8))
    contours, _ = cv2.findContours(outline, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    thick = max(1, round(max(frame.shape[:2]) / 320))
    cv2.drawContours(out, contours, -1, (0, 0, 0), 3 * thick, cv2.LINE_AA)
    cv2.drawContours(out, contours, -1, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def export_masks(input_path: Path, output_dir: Path, source: MaskSource, *, max_size: int | None = 512,
                 flow: str = "dis", device: torch.device | str = "cpu", start: Position | None = None,
                 end: Position | None = None) -> tuple[int, Path]:
    """Masks as ``output_dir/NNNNNN.png`` and a preview (``preview.png`` or ``preview.mp4``). A video's range
    ``start``-``end`` is the one a run of that range paints: its masks are numbered from the range's first frame,
    as the run's are (a mask video or folder pairs its first mask with that frame, ``mask_keyframe`` counts from it)."""
    still = is_image_path(input_path)
    if still and (start is not None or end is not None):
        raise SettingError("start" if start is not None else "end",
                           f"expected a video for a range, got the still image {os.fspath(input_path)!r}")
    if still:
        image = read_image(input_path)
        source_height, source_width = image.shape[:2]
        height, width = fit_long_side(*image.shape[:2], max_size)

        def timed():
            yield resize(image, height, width), 0, 1
    else:
        info = probe(input_path)
        check_range(input_path, start, end, info)
        source_height, source_width = info.height, info.width
        height, width = processing_size(info.height, info.width, max_size)

        def timed():
            for frame in read_frames(input_path, start, end, info):
                yield resize(frame.image, height, width), frame.pts, frame.duration

    source = source.at_scale((source_height, source_width), (height, width))
    output_dir.mkdir(parents=True, exist_ok=True)
    timestamps: list[tuple[int, int]] = []
    with tempfile.TemporaryDirectory(dir=output_dir, prefix=".preview-") as previews:
        masks = clip_masks(source, lambda: (f for f, _, _ in timed()), height, width, flow,
                           make_segmenter(source, device))
        for index, ((frame, pts, duration), mask) in enumerate(zip(timed(), masks)):
            write_image(output_dir / f"{index:06d}.png", np.round(mask * 255).astype(np.uint8))
            write_image(Path(previews) / f"{index:06d}.png", overlay(frame, mask))
            timestamps.append((pts, duration))
        if still:
            preview = output_dir / "preview.png"
            (Path(previews) / "000000.png").replace(preview)
        else:
            preview = output_dir / "preview.mp4"
            timing = Timing.from_source([p for p, _ in timestamps], [d for _, d in timestamps], info.time_base,
                                        info.fps)
            images = (read_image(Path(previews) / f"{i:06d}.png") for i in range(len(timestamps)))
            encode_video(images, timing, preview, size=(width, height), scratch=Path(previews))
    return len(timestamps), preview

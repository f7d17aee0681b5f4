"""Per-frame masks for a clip: from a mask video, a folder, a still, a keyframe propagated by flow,
a GrabCut prompt or a segmentation model; smoothed over time along the flow.

Masks are computed in a pass before stylization (backward propagation from a
keyframe needs the frames before it) and written as PNGs, so a long clip
costs disk, not memory, and a resumed run reuses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from .config import FlowMethod
from .flow import compute_flow, flow_to_tensor, reliability, to_grey, warp
from .masks import MaskOptions, check_coverage, fit_mask, load_mask, mask_tensor, shape_mask
from .video import iter_frames

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")
HYSTERESIS = (0.3, 0.7)  # low, high thresholds for re-binarising a warped mask


@dataclass(frozen=True)
class MaskSource:
    """Where a clip's masks come from; exactly one of ``path``, ``grabcut`` or ``segment``.

    ``path`` is a mask video, a folder of per-frame masks, or one still; with
    ``keyframe`` the still is drawn on that frame and propagated by flow.
    """

    path: Path | None = None
    keyframe: int | None = None
    grabcut: tuple[int, int, int, int] | None = None  # x, y, w, h in source pixels, on the keyframe (default 0)
    segment: str | None = None  # smp model directory or Hugging Face id
    classes: tuple[str, ...] = ()
    labels: Path | None = None
    options: MaskOptions = MaskOptions()
    smoothing: float = 0.5  # weight of the flow-warped previous mask (per-frame sources)

    def at_scale(self, factor: float) -> MaskSource:
        """The same source with ``--grabcut`` (given in source pixels) scaled to the processing size."""
        if self.grabcut is None or factor == 1:
            return self
        x, y, w, h = self.grabcut
        rect = (int(x * factor), int(y * factor), max(1, int(round(w * factor))), max(1, int(round(h * factor))))
        return replace(self, grabcut=rect)

    def describe(self) -> str:
        return str(self.path or (f"grabcut {self.grabcut}" if self.grabcut else f"segment {self.segment}"))


def hysteresis(mask: np.ndarray, low: float = HYSTERESIS[0], high: float = HYSTERESIS[1]) -> np.ndarray:
    """Binary mask: pixels >= ``low`` connected to a pixel >= ``high``."""
    candidates = (mask >= low).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    keep = np.zeros(count, bool)
    keep[np.unique(labels[mask >= high])] = True
    keep[0] = False
    return keep[labels].astype(np.float32)


def propagate(mask: np.ndarray, grey_from: np.ndarray, grey_to: np.ndarray, method: FlowMethod) -> np.ndarray:
    """Carry ``mask`` (on ``grey_from``'s grid) to ``grey_to``'s grid by backward flow, then re-threshold."""
    bwd = flow_to_tensor(compute_flow(grey_to, grey_from, method))
    warped = warp(mask_tensor(mask), bwd)[0, 0].numpy()
    return hysteresis(warped)


def keyframe_track(frames: Iterator[np.ndarray], keyframe_mask: np.ndarray, keyframe: int,
                   method: FlowMethod) -> Iterator[np.ndarray]:
    """Masks of all frames from one drawn on ``keyframe``: backward before it, forward after it.

    Only the grey frames up to the keyframe are held (backward propagation
    needs them); after it the clip streams.
    """
    before = []
    for index, frame in enumerate(frames):
        before.append(to_grey(frame))
        if index == keyframe:
            break
    if len(before) <= keyframe:
        raise ValueError(f"expected --mask-keyframe within the clip's {len(before)} frames, got {keyframe}")
    backward = [keyframe_mask]
    for t in range(keyframe - 1, -1, -1):
        backward.append(propagate(backward[-1], before[t + 1], before[t], method))
    yield from reversed(backward)
    mask, grey = keyframe_mask, before[-1]
    del before, backward
    for frame in frames:
        next_grey = to_grey(frame)
        mask = propagate(mask, grey, next_grey, method)
        grey = next_grey
        yield mask


def smooth(masks: Iterable[np.ndarray], greys: Iterable[np.ndarray], weight: float, method: FlowMethod) -> Iterator[np.ndarray]:
    """Motion-compensated temporal smoothing: ``m~_t = (1-s) m_t + s c_t warp(m~_{t-1})`` (+ ``s (1-c_t) m_t``)."""
    previous: tuple[np.ndarray, np.ndarray] | None = None
    for mask, grey in zip(masks, greys):
        if previous is not None and weight > 0:
            bwd = flow_to_tensor(compute_flow(grey, previous[1], method))
            fwd = flow_to_tensor(compute_flow(previous[1], grey, method))
            reliable = reliability(bwd, fwd)[0, 0].numpy()
            warped = warp(mask_tensor(previous[0]), bwd)[0, 0].numpy()
            mask = mask + weight * reliable * (warped - mask)
        previous = (mask, grey)
        yield mask.astype(np.float32)


def folder_masks(folder: Path, count: int, height: int, width: int) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if len(files) < count:
        raise ValueError(f"mask folder {os.fspath(folder)!r} has {len(files)} images: expected one per frame ({count})")
    return files[:count]


def grabcut(frame: np.ndarray, rect: tuple[int, int, int, int]) -> np.ndarray:
    """Foreground mask from a rectangle prompt (OpenCV GrabCut, 5 iterations)."""
    x, y, w, h = rect
    height, width = frame.shape[:2]
    if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
        raise ValueError(f"expected --grabcut x,y,w,h inside the {width}x{height} frame, got {x},{y},{w},{h}")
    labels = np.zeros((height, width), np.uint8)
    background, foreground = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), labels, rect, background, foreground, 5, cv2.GC_INIT_WITH_RECT)
    return np.isin(labels, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.float32)


def _batched(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def raw_masks(source: MaskSource, frames: Callable[[], Iterator[np.ndarray]], count: int, height: int, width: int,
              method: FlowMethod = "dis", segmenter: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
              ) -> Iterator[np.ndarray]:
    """Unshaped soft masks, one per frame; ``frames()`` streams the clip at processing size."""
    greys = lambda: (to_grey(f) for f in frames())  # noqa: E731 - a fresh stream per use
    if source.grabcut is not None:
        key = source.keyframe or 0
        first = next(f for i, f in enumerate(frames()) if i == key)
        yield from keyframe_track(frames(), grabcut(first, source.grabcut), key, method)
    elif source.segment is not None:
        assert segmenter is not None
        probabilities = (m for batch in _batched(frames(), 8) for m in segmenter(batch))
        yield from smooth(probabilities, greys(), source.smoothing, method)
    elif source.path is None:
        raise ValueError("expected a mask path, --grabcut or --segment")
    elif source.path.is_dir():
        files = folder_masks(source.path, count, height, width)
        yield from smooth((load_mask(f, height, width) for f in files), greys(), source.smoothing, method)
    elif source.path.suffix.lower() in IMAGE_SUFFIXES:
        still = load_mask(source.path, height, width)
        if source.keyframe is None:
            yield from (still for _ in range(count))
        else:
            yield from keyframe_track(frames(), hysteresis(still, 0.5, 0.5), source.keyframe, method)
    else:
        name = f"mask video {os.fspath(source.path)!r}"
        decoded = (fit_mask(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), height, width, name).astype(np.float32) / 255
                   for f in iter_frames(source.path, 0, count))
        produced = 0
        for mask in smooth(decoded, greys(), source.smoothing, method):
            produced += 1
            yield mask
        if produced < count:
            raise ValueError(f"{name} has {produced} frames: expected one per frame ({count})")


def clip_masks(source: MaskSource, frames: Callable[[], Iterator[np.ndarray]], count: int, height: int, width: int,
               method: FlowMethod = "dis", segmenter: Callable[[list[np.ndarray]], list[np.ndarray]] | None = None,
               ) -> Iterator[np.ndarray]:
    """Shaped (inverted, feathered) per-frame masks; raises at the end if every frame is empty or full."""
    lowest, highest, sample = 1.0, 0.0, None
    for mask in raw_masks(source, frames, count, height, width, method, segmenter):
        shaped = shape_mask(mask, MaskOptions(invert=source.options.invert))
        coverage = float((shaped >= 0.5).mean())
        if sample is None or coverage < lowest or coverage > highest:
            sample = shaped
        lowest, highest = min(lowest, coverage), max(highest, coverage)
        yield shape_mask(shaped, MaskOptions(feather=source.options.feather))
    if sample is not None and (highest < 1e-3 or lowest > 1 - 1e-3):
        check_coverage(sample, f"mask {source.describe()}")


def mask_source_to_dict(source: MaskSource | None) -> dict | None:
    """Plain data (paths as strings) for batch jobs."""
    if source is None:
        return None
    return {
        "path": None if source.path is None else os.fspath(source.path), "keyframe": source.keyframe,
        "grabcut": list(source.grabcut) if source.grabcut else None, "segment": source.segment,
        "classes": list(source.classes), "labels": None if source.labels is None else os.fspath(source.labels),
        "invert": source.options.invert, "feather": source.options.feather, "smoothing": source.smoothing,
    }


def mask_source_from_dict(data: dict | None) -> MaskSource | None:
    if data is None:
        return None
    return MaskSource(
        path=Path(data["path"]) if data.get("path") else None, keyframe=data.get("keyframe"),
        grabcut=tuple(data["grabcut"]) if data.get("grabcut") else None, segment=data.get("segment"),
        classes=tuple(data.get("classes") or ()), labels=Path(data["labels"]) if data.get("labels") else None,
        options=MaskOptions(invert=bool(data.get("invert")), feather=int(data.get("feather") or 0)),
        smoothing=float(data.get("smoothing", 0.5)),
    )

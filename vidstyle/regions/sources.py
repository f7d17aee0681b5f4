"""Where a region's masks come from: a mask image or video, a folder, an array, a keyframe propagated
by flow, a GrabCut prompt or a segmentation model. One :class:`MaskSource` serves stills and clips.

Video masks are computed in a pass before stylization (backward propagation
from a keyframe needs the frames before it) and written as PNGs by the
pipeline, so a long clip costs disk, not memory, and a resumed run reuses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from ..config import FlowMethod, MaskConfig, from_dict
from ..media.stills import IMAGE_SUFFIXES, is_image_path
from ..media.decode import iter_frames
from ..media.probe import probe
from .masks import check_coverage, fit_mask, load_mask, shape_mask, snap
from .track import grabcut, hysteresis, keyframe_track, smooth

Frames = Callable[[], Iterator[np.ndarray]]  # a fresh stream of the clip's frames at processing size
Segmenter = Callable[[list[np.ndarray]], list[np.ndarray]]  # RGB frames -> soft masks in [0, 1]


@dataclass(frozen=True)
class MaskSource:
    """Where a region's masks come from; exactly one of ``path``, ``image``, ``grabcut`` or ``segment``.

    ``path`` is a mask image, a mask video or a folder of per-frame masks;
    with ``keyframe`` the image is drawn on that frame and propagated by flow.
    ``image`` is an in-memory ``(H, W)`` mask (grey levels or [0, 1]).
    """

    path: Path | None = None
    keyframe: int | None = None
    grabcut: tuple[int, int, int, int] | None = None  # x, y, w, h in source pixels, on the keyframe (default 0)
    segment: str | None = None  # "person" (built in) or an smp model directory / Hugging Face id
    classes: tuple[str, ...] = ()
    labels: Path | None = None
    options: MaskConfig = MaskConfig()
    image: np.ndarray | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        given = [name for name, value in (("--mask", self.path), ("mask array", self.image),
                                          ("--grabcut", self.grabcut), ("--segment", self.segment))
                 if value is not None]
        if len(given) != 1:
            raise ValueError(f"expected one of --mask, --grabcut or --segment, got {' and '.join(given) or 'none'}")
        if self.keyframe is not None and self.keyframe < 0:
            raise ValueError(f"expected --mask-keyframe >= 0, got {self.keyframe}")
        if self.classes and self.segment is None:
            raise ValueError("expected --classes together with --segment")

    @classmethod
    def of(cls, mask: MaskSource | str | Path | np.ndarray, options: MaskConfig = MaskConfig()) -> MaskSource:
        """A source from what a library caller has at hand: a source, a mask file or an array."""
        if isinstance(mask, MaskSource):
            return mask
        if isinstance(mask, np.ndarray):
            return cls(image=mask, options=options)
        return cls(path=Path(mask), options=options)

    def at_scale(self, factor: float) -> MaskSource:
        """The same source with ``--grabcut`` (given in source pixels) scaled to the processing size."""
        if self.grabcut is None or factor == 1:
            return self
        x, y, w, h = self.grabcut
        rect = (int(x * factor), int(y * factor), max(1, int(round(w * factor))), max(1, int(round(h * factor))))
        return replace(self, grabcut=rect)

    def describe(self) -> str:
        if self.path is not None:
            return repr(os.fspath(self.path))
        if self.image is not None:
            return "array"
        return f"grabcut {self.grabcut}" if self.grabcut else f"segment {self.segment!r}"

    def to_dict(self) -> dict:
        """Plain data (paths as strings) for batch jobs and run hashes; in-memory masks cannot travel."""
        if self.image is not None:
            raise ValueError("expected a mask file, got an in-memory mask: save it to a file for batch jobs")
        return {"path": None if self.path is None else os.fspath(self.path), "keyframe": self.keyframe,
                "grabcut": list(self.grabcut) if self.grabcut else None, "segment": self.segment,
                "classes": list(self.classes), "labels": None if self.labels is None else os.fspath(self.labels),
                "options": asdict(self.options)}

    @classmethod
    def from_dict(cls, data: dict) -> MaskSource:
        return cls(path=Path(data["path"]) if data.get("path") else None, keyframe=data.get("keyframe"),
                   grabcut=tuple(data["grabcut"]) if data.get("grabcut") else None, segment=data.get("segment"),
                   classes=tuple(data.get("classes") or ()),
                   labels=Path(data["labels"]) if data.get("labels") else None,
                   options=from_dict(MaskConfig, data.get("options") or {}))


def folder_masks(folder: Path) -> list[Path]:
    """The folder's images in name order: one mask per frame."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise ValueError(f"mask folder {os.fspath(folder)!r} has no images: expected one per frame")
    return files


def _batched(frames: Iterator[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    batch: list[np.ndarray] = []
    for frame in frames:
        batch.append(frame)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _video_masks(path: Path, height: int, width: int) -> Iterator[np.ndarray]:
    name = f"mask video {os.fspath(path)!r}"
    for frame in iter_frames(path):
        grey = frame.mean(axis=2).astype(np.float32) / 255  # masks are grey: any channel mix will do
        yield fit_mask(grey, height, width, name)


def _paired(frames: Iterator[np.ndarray], masks: Iterator[np.ndarray], name: str) -> Iterator[tuple]:
    """``(frame, mask)`` in step; refuse a source that runs out before the clip does."""
    for index, frame in enumerate(frames):
        mask = next(masks, None)
        if mask is None:
            raise ValueError(f"{name} has {index} masks: expected one per frame (at least {index + 1})")
        yield frame, mask


def _segmented(frames: Iterator[np.ndarray], segmenter: Segmenter) -> Iterator[tuple]:
    for batch in _batched(frames, 8):
        yield from zip(batch, segmenter(batch))


def raw_masks(source: MaskSource, frames: Frames, height: int, width: int, method: FlowMethod = "dis",
              segmenter: Segmenter | None = None) -> Iterator[np.ndarray]:
    """Unshaped soft masks ``float32 (height, width)``, one per frame of ``frames()``."""
    smoothing = source.options.smoothing
    if source.image is not None:
        still = fit_mask(np.asarray(source.image, np.float32), height, width)
        still = still / 255.0 if still.max() > 1 else still
        yield from (still for _ in frames())
    elif source.grabcut is not None:
        key = source.keyframe or 0
        first = next((f for i, f in enumerate(frames()) if i == key), None)
        if first is None:
            raise ValueError(f"expected --mask-keyframe within the clip, got {key}")
        yield from keyframe_track(frames(), grabcut(first, source.grabcut), key, method)
    elif source.segment is not None:
        if segmenter is None:
            raise ValueError(f"expected a segmenter for --segment {source.segment!r}")
        yield from smooth(_segmented(frames(), segmenter), smoothing, method)
    elif source.path.is_dir():
        loaded = (load_mask(f, height, width) for f in folder_masks(source.path))
        yield from smooth(_paired(frames(), loaded, f"mask folder {os.fspath(source.path)!r}"), smoothing, method)
    elif is_image_path(source.path):
        still = load_mask(source.path, height, width)
        if source.keyframe is None:
            yield from (still for _ in frames())
        else:
            yield from keyframe_track(frames(), hysteresis(still, 0.5, 0.5), source.keyframe, method)
    else:
        decoded = _video_masks(source.path, height, width)
        yield from smooth(_paired(frames(), decoded, f"mask video {os.fspath(source.path)!r}"), smoothing, method)


def clip_masks(source: MaskSource, frames: Frames, height: int, width: int, method: FlowMethod = "dis",
               segmenter: Segmenter | None = None) -> Iterator[np.ndarray]:
    """Shaped (inverted, feathered) per-frame masks; raises at the end if every frame is empty or full."""
    lowest, highest, sample = 1.0, 0.0, None
    options = source.options
    for mask in raw_masks(source, frames, height, width, method, segmenter):
        shaped = snap(shape_mask(mask, invert=options.invert))
        coverage = float((shaped >= 0.5).mean())
        if sample is None or coverage < lowest or coverage > highest:
            sample = shaped
        lowest, highest = min(lowest, coverage), max(highest, coverage)
        yield shape_mask(shaped, feather=options.feather)
    if sample is not None and (highest < 1e-3 or lowest > 1 - 1e-3):
        check_coverage(sample, f"mask {source.describe()}")


def still_mask(source: MaskSource, image: np.ndarray, segmenter: Segmenter | None = None) -> np.ndarray:
    """The shaped mask of ``source`` for one ``uint8 (H, W, 3)`` image, at its size; refuses empty or full masks."""
    height, width = image.shape[:2]
    (mask,) = clip_masks(source, lambda: iter([image]), height, width, segmenter=segmenter)
    return mask


def parse_rect(text: str | Sequence[int]) -> tuple[int, int, int, int]:
    """``"x,y,w,h"`` (or 4 integers) -> a GrabCut rectangle in source pixels."""
    try:
        values = tuple(int(v) for v in (text.split(",") if isinstance(text, str) else text))
        if len(values) != 4:
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"expected --grabcut x,y,w,h in pixels, got {text!r}") from None
    return values  # type: ignore[return-value]


def parse_region(text: str) -> tuple[Path, str]:
    """``"MASK=SPEC"`` -> (mask path, style spec); the last '=' splits, so mask names may hold one."""
    mask, sep, spec = text.rpartition("=")
    if not sep or not mask.strip() or not spec.strip():
        raise ValueError(f"expected --region MASK=SPEC such as sky.png=swirl:0.7,mosaic:0.3, got {text!r}")
    return Path(mask), spec


def parse_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"sky,building"`` (or a list) -> class names."""
    names = tuple(n.strip() for n in (text.split(",") if isinstance(text, str) else text) if str(n).strip())
    if not names:
        raise ValueError(f"expected class names such as sky,building, got {text!r}")
    return names


def check_source(source: MaskSource, height: int, width: int) -> None:
    """Cheap checks of a source at a ``height x width`` processing size, before any frame is decoded:
    files exist and have the frame's aspect, a still mask is neither empty nor full, a rectangle fits."""
    if source.grabcut is not None:
        x, y, w, h = source.grabcut
        if w <= 0 or h <= 0 or x < 0 or y < 0 or x + w > width or y + h > height:
            raise ValueError(f"expected --grabcut x,y,w,h inside the {width}x{height} frame, got {x},{y},{w},{h}")
    if source.path is None:
        return
    if not source.path.exists():
        raise FileNotFoundError(f"mask {os.fspath(source.path)!r} does not exist")
    if source.path.is_dir():
        load_mask(folder_masks(source.path)[0], height, width)
    elif is_image_path(source.path):
        still = load_mask(source.path, height, width)
        if source.keyframe is None:
            check_coverage(shape_mask(still, invert=source.options.invert), f"mask {source.describe()}")
    else:
        info = probe(source.path)
        fit_mask(np.zeros((info.height, info.width), np.float32), height, width, f"mask video {source.describe()}")

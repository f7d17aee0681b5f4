"""Where a region's masks come from: a mask image or video, a folder, an array, a keyframe propagated
by flow, a GrabCut prompt or a segmentation model. One :class:`MaskSource` serves stills and clips.

Video masks are computed in a pass before stylization (backward propagation
from a keyframe needs the frames before it) and written as PNGs by the
pipeline, so a long clip costs disk, not memory, and a resumed run reuses them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..config import FlowMethod, MaskConfig, SettingError
from ..media.images import IMAGE_SUFFIXES, is_image_path
from ..media.decode import iter_frames
from ..media.probe import probe

Frames = Callable[[], Iterator[np.ndarray]]  # a fresh stream of the clip's frames at processing size
Segmenter = Callable[[list[np.ndarray]], list[np.ndarray]]  # RGB frames -> soft masks in [0, 1]


@dataclass(frozen=True)
class SourceField:
    """One thing a user says about where a region's masks come from, described once: the front ends make
    their option (CLI) and key (jobs.toml, studio) from it. ``key`` names it everywhere (errors too);
    ``attribute`` is the :class:`MaskSource` field it fills; ``origin``: one of the exclusive kinds a
    source comes from; ``path``: a file (relative to a jobs file in TOML)."""

    key: str
    attribute: str
    help: str
    parse: Callable[[Any], Any]
    show: Callable[[Any], Any] = str
    metavar: str | None = None
    origin: bool = False
    path: bool = False
    integer: bool = False


def _frame_index(value: Any) -> int:
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a frame index >= 0, got {value!r}")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text, got {value!r}")
    return value


def _path(value: Any) -> Path:
    return Path(_text(value) if not isinstance(value, Path) else value)


SOURCE_FIELDS: tuple[SourceField, ...] = (
    SourceField("mask", "path", "Restrict `styles` to a region: a mask image (grey = soft weight), a mask video or a "
                "folder of per-frame masks.", _path, metavar="PATH", origin=True, path=True),
    SourceField("mask_keyframe", "keyframe", "The `mask` (or `grabcut`) is drawn on this frame; propagate it by flow.",
                _frame_index, integer=True),
    SourceField("grabcut", "grabcut", "A GrabCut object mask (no model needed) from x,y,w,h, a box around the object, or "
                "x,y, a click on it, in source pixels.", lambda v: parse_prompt(v), lambda r: ",".join(map(str, r)),
                metavar="X,Y[,W,H]", origin=True),
    SourceField("segment", "segment", "Segmentation: 'person' (built in, offline), or an smp model (a save_pretrained "
                "folder or a Hugging Face id such as smp-hub/segformer-b2-1024x1024-city-160k) with `classes`.", _text,
                origin=True),
    SourceField("classes", "classes", "Classes of an smp `segment` model to style, e.g. sky,building.",
                lambda v: parse_names(v), ",".join),
    SourceField("labels", "labels", "JSON list of an smp model's class names (ADE20K and Cityscapes models need none).",
                _path, metavar="PATH", path=True),
)
FIELDS_BY_KEY = {f.key: f for f in SOURCE_FIELDS}
ORIGINS = tuple(f.key for f in SOURCE_FIELDS if f.origin) + ("mask array",)


@dataclass(frozen=True)
class MaskSource:
    """Where a region's masks come from; exactly one of ``path``, ``image``, ``grabcut`` or ``segment``.

    ``path`` is a mask image, a mask video or a folder of per-frame masks;
    with ``keyframe`` the image is drawn on that frame and propagated by flow.
    ``image`` is an in-memory ``(H, W)`` mask (grey levels or [0, 1]). The fields are
    described for users in :data:`SOURCE_FIELDS`; errors name those keys.
    """

    path: Path | None = None
    keyframe: int | None = None
    grabcut: tuple[int, ...] | None = None  # x, y, w, h (a box) or x, y (a click) on the keyframe (default 0)
    segment: str | None = None  # "person" (built in) or an smp model directory / Hugging Face id
    classes: tuple[str, ...] = ()
    labels: Path | None = None
    options: MaskConfig = MaskConfig()
    image: np.ndarray | None = field(default=None, compare=False, repr=False)
    key: str = field(default="mask", compare=False, repr=False)  # the setting that gave it, for errors: mask, region
    typed: tuple[int, ...] | None = field(default=None, compare=False, repr=False)  # ``grabcut`` as given, for errors

    def __post_init__(self) -> None:
        given = [f"`{name}`" if name != "mask array" else name
                 for name, value in zip(ORIGINS, (self.path, self.grabcut, self.segment, self.image))
                 if value is not None]
        if len(given) != 1:
            raise SettingError(self.key, f"expected one of `mask`, `grabcut` or `segment`, got "
                                         f"{' and '.join(given) or 'none'}")
        if self.keyframe is not None and self.keyframe < 0:
            raise SettingError("mask_keyframe", f"expected a frame index >= 0, got {self.keyframe}")
        if self.classes and self.segment is None:
            raise SettingError("classes", "expected `classes` together with `segment`")
        if self.labels is not None and self.segment is None:
            raise SettingError("labels", "expected `labels` together with `segment`")

    @classmethod
    def from_values(cls, values: dict[str, Any], options: MaskConfig = MaskConfig()) -> MaskSource | None:
        """A source from user values by key (parsed), or None when no origin is given."""
        if not any(values.get(key) is not None for key in ORIGINS[:-1]):
            for key in ("classes", "labels"):
                if values.get(key):
                    raise SettingError(key, f"expected `{key}` together with `segment`")
            return None
        return cls(**{FIELDS_BY_KEY[key].attribute: value for key, value in values.items()
                      if key in FIELDS_BY_KEY and value not in (None, ())}, options=options)

    def values(self) -> dict[str, Any]:
        """The source as user values by key (the inverse of :meth:`from_values`)."""
        if self.image is not None:
            raise SettingError("mask", "expected a mask file, got an in-memory mask: save it to a file")
        out = {}
        for spec in SOURCE_FIELDS:
            value = getattr(self, spec.attribute)
            if value not in (None, ()):
                out[spec.key] = value
        return out

    @classmethod
    def of(cls, mask: MaskSource | str | Path | np.ndarray, options: MaskConfig = MaskConfig()) -> MaskSource:
        """A source from what a library caller has at hand: a source, a mask file or an array."""
        if isinstance(mask, MaskSource):
            return mask
        if isinstance(mask, np.ndarray):
            return cls(image=mask, options=options)
        return cls(path=Path(mask), options=options)

    def at_scale(self, source_size: tuple[int, int], size: tuple[int, int]) -> MaskSource:
        """The same source for frames of ``size`` (h, w) decoded from ``source_size``: ``grabcut`` (given in source
        pixels) is checked against the source frame, in the numbers given, then scaled."""
        from .track import check_prompt

        if self.grabcut is None:
            return self
        check_prompt(self.grabcut, *source_size)
        factor = size[1] / source_size[1]
        if len(self.grabcut) == 2:
            scaled: tuple[int, ...] = tuple(min(int(v * factor), side - 1) for v, side in zip(self.grabcut, size[::-1]))
        else:
            x, y, w, h = self.grabcut
            scaled = (int(x * factor), int(y * factor), max(1, int(round(w * factor))), max(1, int(round(h * factor))))
            scaled = (scaled[0], scaled[1], min(scaled[2], size[1] - scaled[0]), min(scaled[3], size[0] - scaled[1]))
        return replace(self, grabcut=scaled, typed=self.typed or self.grabcut)

    @property
    def setting(self) -> str:
        """The key an error about this source's masks names: the region's, else the origin the user gave."""
        if self.key != "mask":
            return self.key
        return "grabcut" if self.grabcut is not None else "segment" if self.segment is not None else "mask"

    def describe(self) -> str:
        """The source as a message names it: ``mask 'sky.png'``, ``GrabCut box 1,2,30,40``, ``segment 'person'``."""
        if self.path is not None:
            return f"mask {os.fspath(self.path)!r}"
        if self.image is not None:
            return "mask array"
        if self.grabcut is not None:
            typed = ",".join(map(str, self.typed or self.grabcut))
            return f"GrabCut {'click' if len(self.grabcut) == 2 else 'box'} {typed}"
        return f"segment {self.segment!r}"


def folder_masks(folder: Path, key: str = "mask") -> list[Path]:
    """The folder's images in name order: one mask per frame."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise SettingError(key, f"mask folder {os.fspath(folder)!r} has no images: expected one per frame")
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


def _video_masks(path: Path, height: int, width: int, key: str) -> Iterator[np.ndarray]:
    from .masks import fit_mask

    name = f"mask video {os.fspath(path)!r}"
    for frame in iter_frames(path):
        grey = frame.mean(axis=2).astype(np.float32) / 255  # masks are grey: any channel mix will do
        yield fit_mask(grey, height, width, name, key)


def _paired(frames: Iterator[np.ndarray], masks: Iterator[np.ndarray], name: str, key: str) -> Iterator[tuple]:
    """``(frame, mask)`` in step; refuse a source that runs out before the clip does."""
    for index, frame in enumerate(frames):
        mask = next(masks, None)
        if mask is None:
            raise SettingError(key, f"{name} has {index} masks: expected one per frame (at least {index + 1})")
        yield frame, mask


def _segmented(frames: Iterator[np.ndarray], segmenter: Segmenter) -> Iterator[tuple]:
    for batch in _batched(frames, 8):
        yield from zip(batch, segmenter(batch))


def raw_masks(source: MaskSource, frames: Frames, height: int, width: int, method: FlowMethod = "dis",
              segmenter: Segmenter | None = None) -> Iterator[np.ndarray]:
    """Unshaped soft masks ``float32 (height, width)``, one per frame of ``frames()``."""
    from .masks import fit_mask, load_mask
    from .track import grabcut, hysteresis, keyframe_track, smooth

    smoothing = source.options.smoothing
    if source.image is not None:
        still = fit_mask(np.asarray(source.image, np.float32), height, width, key=source.key)
        still = still / 255.0 if still.max() > 1 else still
        yield from (still for _ in frames())
    elif source.grabcut is not None:
        key = source.keyframe or 0
        first = next((f for i, f in enumerate(frames()) if i == key), None)
        if first is None:
            raise SettingError("mask_keyframe", f"expected a frame within the clip, got {key}")
        yield from keyframe_track(frames(), grabcut(first, source.grabcut), key, method)
    elif source.segment is not None:
        if segmenter is None:
            raise SettingError("segment", f"expected a segmenter for {source.segment!r}")
        yield from smooth(_segmented(frames(), segmenter), smoothing, method)
    elif source.path.is_dir():
        loaded = (load_mask(f, height, width, source.key) for f in folder_masks(source.path, source.key))
        yield from smooth(_paired(frames(), loaded, f"mask folder {os.fspath(source.path)!r}", source.key), smoothing,
                          method)
    elif is_image_path(source.path):
        still = load_mask(source.path, height, width, source.key)
        if source.keyframe is None:
            yield from (still for _ in frames())
        else:
            yield from keyframe_track(frames(), hysteresis(still, 0.5, 0.5), source.keyframe, method)
    else:
        decoded = _video_masks(source.path, height, width, source.key)
        yield from smooth(_paired(frames(), decoded, f"mask video {os.fspath(source.path)!r}", source.key), smoothing,
                          method)


def clip_masks(source: MaskSource, frames: Frames, height: int, width: int, method: FlowMethod = "dis",
               segmenter: Segmenter | None = None) -> Iterator[np.ndarray]:
    """Shaped (inverted, feathered) per-frame masks; raises at the end if every frame is empty or full."""
    from .masks import check_coverage, shape_mask, snap

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
        check_coverage(sample, source.describe(), source.setting, *coverage_hints(source))


def coverage_hints(source: MaskSource) -> tuple[str, str]:
    """What to do about a source whose mask is empty, and about one that covers the whole frame, in its terms."""
    from .masks import EMPTY_HINT, FULL_HINT

    inverted = source.options.invert
    if source.grabcut is not None:
        empty = "expected the box around the object (or a click on it)" if not inverted else "check `invert_mask`"
        return empty, "expected a box around one object, smaller than the frame"
    if source.segment is not None:
        none = "no person found" if source.segment == "person" else "none of the classes found"
        found = "the person fills the frame" if source.segment == "person" else "the classes fill the frame"
        if inverted:  # the background of nothing is everything
            return f"{found}, so there is no background; drop `invert_mask`", f"{none}, so all of it is background"
        return f"{none} in any frame", f"{found}; drop the mask to stylize everything"
    return EMPTY_HINT, FULL_HINT


def still_mask(source: MaskSource, image: np.ndarray, segmenter: Segmenter | None = None) -> np.ndarray:
    """The shaped mask of ``source`` for one ``uint8 (H, W, 3)`` image, at its size; refuses empty or full masks."""
    height, width = image.shape[:2]
    (mask,) = clip_masks(source, lambda: iter([image]), height, width, segmenter=segmenter)
    return mask


def parse_prompt(text: str | Sequence[int]) -> tuple[int, ...]:
    """``"x,y,w,h"`` (a box) or ``"x,y"`` (a click), or as many integers -> a GrabCut prompt in source pixels."""
    try:
        values = tuple(int(str(v).strip()) for v in (text.split(",") if isinstance(text, str) else text))
        if len(values) not in (2, 4):
            raise ValueError
    except (TypeError, ValueError):
        raise ValueError(f"expected x,y,w,h (a box) or x,y (a click) in pixels, got {text!r}") from None
    return values


def parse_region(text: str) -> tuple[Path, str]:
    """``"MASK=SPEC"`` -> (mask path, style spec); the last '=' splits, so mask names may hold one."""
    mask, sep, spec = text.rpartition("=")
    if not sep or not mask.strip() or not spec.strip():
        raise ValueError(f"expected MASK=SPEC such as sky.png=swirl:0.7,mosaic:0.3, got {text!r}")
    return Path(mask), spec


def parse_names(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"sky,building"`` (or a list) -> class names."""
    names = tuple(n.strip() for n in (text.split(",") if isinstance(text, str) else text) if str(n).strip())
    if not names:
        raise ValueError(f"expected class names such as sky,building, got {text!r}")
    return names


def check_source(source: MaskSource, height: int, width: int) -> None:
    """Cheap checks of a source at a ``height x width`` processing size, before any frame is decoded:
    files exist and have the frame's aspect, a still mask is neither empty nor full, a GrabCut prompt fits (it
    was checked in source pixels by :meth:`MaskSource.at_scale`)."""
    from .masks import check_coverage, fit_mask, load_mask, shape_mask
    from .track import check_prompt

    if source.grabcut is not None:
        check_prompt(source.grabcut, height, width)
    if source.path is None:
        return
    if not source.path.exists():
        raise SettingError(source.key, f"mask {os.fspath(source.path)!r} does not exist")
    if source.path.is_dir():
        load_mask(folder_masks(source.path, source.key)[0], height, width, source.key)
    elif is_image_path(source.path):
        still = load_mask(source.path, height, width, source.key)
        if source.keyframe is None:
            check_coverage(shape_mask(still, invert=source.options.invert), source.describe(), source.key)
    else:
        info = probe(source.path)
        fit_mask(np.zeros((info.height, info.width), np.float32), height, width, f"mask video {os.fspath(source.path)!r}",
                 source.key)

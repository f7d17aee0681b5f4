"""What a video run is, decided and checked before the first frame: inputs, outputs, range, sizes, regions."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ..config import RunConfig, SettingError, TemporalConfig, VideoConfig
from ..core.features import check_size
from ..core.device import check_memory
from ..core.features import check_files
from ..core.styles import StyleEntry
from ..media.decode import Frame, Position, check_order, check_range, parse_position, read_frames
from ..media.encode import VIDEO_OUTPUTS
from ..media.files import check_input, check_output
from ..media.probe import VideoInfo, probe
from ..media.sizes import even_size, fit_long_side, processing_size, resize
from ..regions.guides import Spec, style_specs
from ..regions.segment import make_segmenter
from ..regions.sources import MaskSource, check_source
from ..paint.keys import StyleKey, Timeline, key_frame, parse_style_key, resolve_keys
from .checkpoint import file_digest
from .paintover import PaintOver, check_edits, parse_paint_over


@dataclass(frozen=True)
class VideoPlan:
    """Everything decided before the first frame: range, sizes, regions."""

    input: Path
    output: Path | None  # None for a preview
    info: VideoInfo
    specs: list  # [(MaskSource | None, style entries)]
    background: tuple[StyleEntry, ...] | None
    start: Position | None
    end: Position | None
    height: int  # processing size, even
    width: int
    segmenters: tuple = field(default=(), compare=False, repr=False)  # per spec: its segmentation backend
    style_keys: tuple = ()  # ((frame in the range, StyleKey), ...): the mix of ``styles`` over time
    first_frame: int = 0  # the range's first frame in the clip (style keys are placed in the clip's time)
    paint_over: tuple = ()  # (PaintOver, ...): frames the artist painted over, kept as given (not in the digest)

    def timeline(self) -> Timeline | None:
        """The mix of the styles over the range, when it has style keys."""
        if not self.style_keys:
            return None
        return Timeline(self.specs[0][1], list(self.style_keys), base_frame=-self.first_frame)

    @property
    def masked(self) -> bool:
        return self.specs[0][0] is not None

    def frames(self) -> Iterator[Frame]:
        """A fresh stream of the range's frames at processing size."""
        for frame in self.source_frames():
            image = resize(frame.image, self.height, self.width)
            yield Frame(frame.index, frame.pts, frame.duration, image)

    def source_frames(self) -> Iterator[Frame]:
        """A fresh stream of the range's frames at the source's size (upright)."""
        return read_frames(self.input, self.start, self.end, self.info)

    def flow_size(self, temporal: TemporalConfig) -> tuple[int, int]:
        """(height, width) the optical flow runs at: ``temporal.flow_size`` capped at the source, at least
        the processing size."""
        if temporal.flow_size is None or temporal.flow_size <= max(self.height, self.width):
            return self.height, self.width
        long_side = min(temporal.flow_size, max(self.info.height, self.info.width))
        return fit_long_side(self.info.height, self.info.width, long_side)

    def images(self) -> Iterator[np.ndarray]:
        return (frame.image for frame in self.frames())

    def total_estimate(self) -> int | None:
        """Frames in the range as the container implies them (the exact count comes from decoding)."""
        whole = self.info.estimated_frames()

        def index(position: Position) -> int:
            return position.frame if position.frame is not None else round(position.seconds * self.info.fps)

        first = 0 if self.start is None else index(self.start)
        last = whole if self.end is None else index(self.end) if whole is None else min(whole, index(self.end))
        return None if last is None else max(0, last - first)

    def output_size(self, video: VideoConfig) -> tuple[int, int]:
        """(width, height) of the encoded output: even sides, never a padding line."""
        if video.output_size == "processing":
            return self.width, self.height
        height, width = even_size(self.info.height, self.info.width)
        return width, height

    def digest(self, config: RunConfig) -> str:
        stat = self.input.stat()
        return config.digest(
            input=[os.fspath(self.input.resolve()), stat.st_size, stat.st_mtime_ns],
            styles=[[(file_digest(e.path), e.weight) for e in spec] for _, spec in self.specs],
            background=[(file_digest(e.path), e.weight) for e in self.background or ()],
            masks=[_mask_identity(source) for source, _ in self.specs], range=[str(self.start), str(self.end)],
            size=[self.width, self.height],
            **({"style_keys": [(frame, key.hold, [(file_digest(e.path), e.weight) for e in key.styles])
                               for frame, key in self.style_keys]} if self.style_keys else {}),
        )


def plan_video(input_path: Path | str, output: Path | str | None, styles: Spec | None, *,
               mask: MaskSource | None = None,
               regions: Sequence[tuple[MaskSource, Spec]] = (), background_style: Spec | None = None,
               video: VideoConfig = VideoConfig(), start: str | None = None, end: str | None = None,
               config: RunConfig = RunConfig(), device: torch.device | None = None,
               style_keys: Sequence[str | StyleKey] = (), paint_over: Sequence[str | PaintOver] = ()) -> VideoPlan:
    """Validate every input and output and decide sizes and range, before anything is decoded or optimised.

    With ``device``, the memory the processing size needs there is checked too. ``style_keys`` change the mix of
    ``styles`` over time (:mod:`vidstyle.paint.keys`), at times in the clip (not the range); ``paint_over`` are
    frames of the range painted over by the artist (:mod:`vidstyle.video.paintover`).
    """
    input_path, output = Path(input_path), None if output is None else Path(output)
    check_input(input_path, "video")
    if output is not None:
        check_output(output, tuple(VIDEO_OUTPUTS), (input_path,))
    first, last = (parse_position(start) if start else None), (parse_position(end) if end else None)
    check_order(first, last)
    info = probe(input_path)
    check_range(input_path, first, last, info)
    specs, background = style_specs(styles, mask, regions, background_style, config.style.even_mix)
    height, width = processing_size(info.height, info.width, video.max_size)
    check_files(config)
    check_size(height, width, config.loss.style_layers + config.loss.content_layers,
               (info.height, info.width))
    if device is not None:
        check_memory(height, width, device, config.optim.optimizer)
    specs = [(None if source is None else source.at_scale((info.height, info.width), (height, width)), spec) for source, spec in specs]
    for source, _ in specs:
        if source is not None:
            check_source(source, height, width)
    keys, offset = _style_keys(style_keys, styles, info, first, last)
    segmenters = tuple(None if source is None else make_segmenter(source, device or "cpu") for source, _ in specs)
    plan = VideoPlan(input_path, output, info, specs, background, first, last, height, width, segmenters, keys,
                     offset)
    return replace(plan, paint_over=_paint_over(paint_over, plan)) if paint_over else plan


def _paint_over(paint_over: Sequence[str | PaintOver], plan: VideoPlan) -> tuple:
    """The edits, checked against the range (its frame count as the container implies it)."""
    try:
        edits = [e if isinstance(e, PaintOver) else parse_paint_over(e) for e in paint_over]
    except ValueError as exc:
        raise SettingError("paint_over", str(exc)) from None
    check_edits(edits, plan.height, plan.width, plan.total_estimate())
    return tuple(edits)


def _style_keys(keys: Sequence[str | StyleKey], styles: Spec | None, info: VideoInfo, first: Position | None,
                last: Position | None) -> tuple[tuple, int]:
    """``((frame in the range, key), ...)`` and the range's first frame in the clip, every key checked."""
    if not keys:
        return (), 0
    if styles is None:
        raise SettingError("style_key", "expected `styles` with style keys: the keys change the mix `styles` "
                                        "starts with")
    parsed = []
    for key in keys:
        try:
            parsed.append(key if isinstance(key, StyleKey) else parse_style_key(key))
        except ValueError as exc:
            raise SettingError("style_key", str(exc)) from None
    offset = 0 if first is None else key_frame(first, info.fps)
    placed = resolve_keys(parsed, info.fps, info.estimated_frames())
    return tuple((frame - offset, key) for frame, key in placed), offset


def _mask_identity(source: MaskSource | None) -> list | None:
    """What of a mask source affects pixels: its settings and the bytes of its file(s)."""
    if source is None:
        return None
    files: list = []
    if source.path is not None:
        paths = sorted(source.path.iterdir()) if source.path.is_dir() else [source.path]
        files = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths if p.is_file()]
    elif source.image is not None:
        files = [hashlib.sha256(np.ascontiguousarray(source.image).tobytes()).hexdigest()[:16]]
    return [repr(source), files]

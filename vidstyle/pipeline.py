"""Video: decode -> flow -> warm start + temporal loss -> optimise -> checkpoint -> encode.

Every finished frame is a PNG in a work directory beside the output, with a
line in ``log.jsonl``; a manifest records a hash of every setting that
affects pixels. Re-running the same command continues from the first missing
frame; previous stylized frames are always taken from their stored uint8
form, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoint import Checkpoint, file_digest, work_dir_for
from .config import RunConfig, VideoConfig
from .imaging import combine_luminance, fit_long_side, luminance, resize, to_tensor, to_uint8
from .masktrack import MaskSource, clip_masks
from .objective import Objective
from .regions import composite, frame_regions, style_targets
from .optimize import StepReport, optimize_coarse_to_fine
from .runtime import load_extractor, resolve_config, resolve_device
from .styles import StyleEntry, parse_style_spec
from .temporal import FramePrep, prefetch, prepare_frames, temporal_offsets, warm_start
from .video import (
    VideoInfo, count_frames, encode_frames, ensure_not_input, iter_frames, parse_position, probe, write_image,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FrameReport:
    """Progress of a video, after each finished frame."""

    index: int
    total: int
    iterations: int
    evaluations: int
    loss: float
    terms: dict[str, float]
    seconds: float
    cut: bool
    resumed: bool = False  # loaded from the work directory, not recomputed


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    resumed_frames: int
    cuts: list[int]  # frame indices (relative to --start) where a new shot began
    size: tuple[int, int]  # (width, height) of the output
    log: list[dict]


def _frame_range(input_path: Path, fps, start: str | None, end: str | None) -> tuple[int, int]:
    first = parse_position(start, fps) if start else 0
    decodable = count_frames(input_path)
    last = min(parse_position(end, fps), decodable) if end else decodable
    if decodable == 0:
        raise ValueError(f"expected a video with frames, got {input_path} with none that decode")
    if last <= first:
        raise ValueError(f"expected --start before --end within the clip's {decodable} frames, got frames {first}..{last}")
    return first, last


@dataclass
class _Plan:
    """Everything decided before the first frame: range, sizes, regions, the run's hash."""

    input: Path
    output: Path
    info: VideoInfo
    specs: list  # [(MaskSource | None, style entries)]
    background: tuple[StyleEntry, ...] | None
    first: int
    last: int
    height: int
    width: int

    @property
    def total(self) -> int:
        return self.last - self.first

    @property
    def masked(self) -> bool:
        return self.specs[0][0] is not None

    def frames(self):
        """A fresh stream of the range's frames at processing size."""
        return (resize(f, self.height, self.width) for f in iter_frames(self.input, self.first, self.last))

    def digest(self, config: RunConfig) -> str:
        stat = self.input.stat()
        return config.digest(
            input=[os.fspath(self.input.resolve()), stat.st_size, stat.st_mtime_ns],
            styles=[[(file_digest(e.path), e.weight) for e in spec] for _, spec in self.specs],
            background=[(file_digest(e.path), e.weight) for e in self.background or ()],
            masks=[_mask_identity(source) for source, _ in self.specs], range=[self.first, self.last],
            size=[self.width, self.height],
        )


def _plan(input_path: Path, output: Path, styles, mask, regions, background_style, video: VideoConfig,
          start: str | None, end: str | None) -> _Plan:
    if output.suffix.lower() not in (".mp4", ".m4v"):
        raise ValueError(f"expected an output file ending in .mp4, got {os.fspath(output)!r}")
    ensure_not_input(output, input_path)
    info = probe(input_path)
    specs = [(source, _entries(spec)) for source, spec in regions]
    if styles is not None:
        specs.insert(0, (mask, _entries(styles)))
    if not specs:
        raise ValueError("expected --styles or at least one --region, got neither")
    if any(source is None for source, _ in specs) and len(specs) > 1:
        raise ValueError("expected --styles with --mask, or --region only: use --background-style for the rest")
    height, width = fit_long_side(info.height, info.width, _cap(video.max_size, info))
    specs = [(None if source is None else source.at_scale(width / info.width), spec) for source, spec in specs]
    background = _entries(background_style) if background_style is not None else None
    if background is not None and specs[0][0] is None:
        raise ValueError("expected --background-style together with --mask or --region")
    first, last = _frame_range(input_path, info.fps, start, end)
    return _Plan(input_path, output, info, specs, background, first, last, height, width)


def stylize_video(
    input_path: Path | str,
    output: Path | str,
    styles: str | tuple[StyleEntry, ...],
    *,
    config: RunConfig = RunConfig(),
    video: VideoConfig = VideoConfig(),
    start: str | None = None,
    end: str | None = None,
    restart: bool = False,
    mask: MaskSource | None = None,
    regions: Sequence[tuple[MaskSource, str | tuple[StyleEntry, ...]]] = (),
    background_style: str | tuple[StyleEntry, ...] | None = None,
    device: torch.device | str = "auto",
    on_frame: Callable[[FrameReport], None] | None = None,
    on_step: Callable[[StepReport], None] | None = None,
    segmenter_factory: Callable[[MaskSource], Callable] | None = None,
) -> VideoResult:
    """Stylize a clip into an H.264 MP4 (with the source audio), resumable; see the module docstring.

    With ``mask`` the ``styles`` apply only inside it; ``regions`` give each
    mask track its own styles; ``background_style`` styles the rest.
    """
    plan = _plan(Path(input_path), Path(output), styles, mask, regions, background_style, video, start, end)
    temporal_offsets(config.temporal)  # validate before any work
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    checkpoint = Checkpoint(work_dir_for(plan.output), plan.digest(config), plan.total)
    finished = checkpoint.open(restart)
    torch.manual_seed(config.optim.seed)

    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    # Style images are sized (and, for luminance-only transfer, matched) against the first frame.
    first_frame = to_tensor(next(plan.frames()), device)
    cache: dict = {}
    targets = [style_targets(extractor, spec, first_frame, config, cache) for _, spec in plan.specs]
    background = style_targets(extractor, plan.background, first_frame, config, cache) if plan.background else None
    if plan.masked:
        _write_masks(checkpoint, [source for source, _ in plan.specs], plan.frames, plan.total, plan.height,
                     plan.width, config, device, segmenter_factory)
    styling = _FrameStyle(targets, background, plan.masked, checkpoint, config.loss.style_layers, device)
    log_entries = _frame_loop(plan, checkpoint, finished, extractor, styling, config, device, on_frame, on_step)
    size = _encode(plan, checkpoint, video)
    cuts = [e["frame"] for e in log_entries if e["cut"]]
    return VideoResult(plan.output, plan.total, len(finished), cuts, size, log_entries)


def _frame_loop(plan: _Plan, checkpoint: Checkpoint, finished: list[dict], extractor, styling, config: RunConfig,
                device, on_frame, on_step) -> list[dict]:
    """Optimise every unfinished frame in order, checkpointing each; returns the whole per-frame log."""
    known_cuts = {e["frame"]: e["cut"] for e in finished}
    preps = prefetch(prepare_frames(plan.frames(), config.temporal, skip_before=len(finished), known_cuts=known_cuts))
    keep = max(temporal_offsets(config.temporal), default=1)
    stylized: dict[int, np.ndarray] = {}  # only the frames the temporal offsets need
    entries = list(finished)
    shot_start = 0
    for prep in preps:
        shot_start = prep.index if prep.cut else shot_start
        if prep.index < len(finished):
            if prep.index >= len(finished) - keep:
                stylized[prep.index] = checkpoint.load(prep.index)
            if on_frame:
                e = finished[prep.index]
                on_frame(FrameReport(prep.index, plan.total, e["iterations"], e["evaluations"], e["loss"], e["terms"],
                                     e["seconds"], e["cut"], resumed=True))
            continue
        started = time.perf_counter()
        frame, result = _stylize_frame(prep, stylized, shot_start, extractor, styling, config, device,
                                       config.style.preserve_colors, on_step)
        entry = {
            "frame": prep.index, "iterations": result.iterations, "evaluations": result.evaluations,
            "loss": result.loss, "terms": result.terms, "seconds": round(time.perf_counter() - started, 3),
            "cut": prep.cut and prep.index > 0, "shot_start": shot_start, "reliable": prep.reliable_fraction,
            "histogram_correlation": prep.histogram_correlation,
        }
        checkpoint.save(prep.index, frame, entry)
        entries.append(entry)
        stylized[prep.index] = frame
        stylized.pop(prep.index - keep, None)
        if on_frame:
            on_frame(FrameReport(prep.index, plan.total, result.iterations, result.evaluations, result.loss,
                                 result.terms, entry["seconds"], entry["cut"]))
    return entries


def _encode(plan: _Plan, checkpoint: Checkpoint, video: VideoConfig) -> tuple[int, int]:
    """Encode the finished frames (+ audio) atomically; returns the output's (width, height)."""
    info, processing = plan.info, (plan.width, plan.height)
    size = (info.width, info.height) if video.output_size == "source" else processing
    encode_frames(
        os.fspath(checkpoint.frames_dir / "%06d.png"), plan.output, info.fps,
        audio_source=plan.input if (video.audio and info.has_audio) else None,
        audio_start=float(plan.first / info.fps), audio_duration=float(plan.total / info.fps),
        size=None if size == processing else size, crf=video.crf,
    )
    if not video.keep_frames:
        shutil.rmtree(checkpoint.directory, ignore_errors=True)
    return size[0] + size[0] % 2, size[1] + size[1] % 2


def _cap(max_size: int | None, info) -> int | None:
    """Never upscale for processing."""
    if max_size is None or max_size >= max(info.width, info.height):
        return None
    return max_size


def _entries(styles: str | tuple[StyleEntry, ...]) -> tuple[StyleEntry, ...]:
    return parse_style_spec(styles) if isinstance(styles, str) else tuple(styles)


def _mask_identity(source: MaskSource | None) -> list | None:
    """What of a mask source affects pixels: its settings and the bytes of its file(s)."""
    if source is None:
        return None
    files = []
    if source.path is not None:
        paths = sorted(source.path.iterdir()) if source.path.is_dir() else [source.path]
        files = [(p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in paths if p.is_file()]
    return [repr(source), files]


def _write_masks(checkpoint: Checkpoint, sources, frames, total, height, width, config: RunConfig, device,
                 segmenter_factory) -> None:
    """The mask pre-pass: every region's per-frame masks as PNGs (skipped when already complete)."""
    from .segment import Segmenter

    for region, source in enumerate(sources):
        if all(checkpoint.mask_path(region, i).is_file() for i in range(total)):
            continue
        segmenter = None
        if source.segment is not None:
            factory = segmenter_factory or (lambda s: Segmenter(s.segment, s.classes, s.labels, device))
            segmenter = factory(source)
        count = 0
        for index, mask in enumerate(clip_masks(source, frames, total, height, width, config.temporal.flow, segmenter)):
            write_image(checkpoint.mask_path(region, index), np.round(mask * 255).astype(np.uint8))
            count += 1
        if count < total:
            raise ValueError(f"mask {source.describe()} gave {count} frames: expected {total}")


@dataclass
class _FrameStyle:
    """Style inputs of a frame: whole-image targets, or per-region guides from the mask PNGs."""

    targets: list
    background: dict | None
    masked: bool
    checkpoint: Checkpoint
    layers: tuple[str, ...]
    device: torch.device

    _cached: tuple[int, list, tuple] | None = None  # (frame index, its masks, its full-size regions)

    def for_frame(self, index: int, size: tuple[int, int] | None = None):
        """``(style for the Objective, union mask to composite with)`` at ``size`` (default: the masks').

        A frame's masks are decoded, and its full-size regions built, once, however many
        pyramid levels and the final composite ask for them.
        """
        if not self.masked:
            return self.targets[0], None
        if self._cached is None or self._cached[0] != index:
            masks = [self.checkpoint.load_mask(r, index) for r in range(len(self.targets))]
            self._cached = (index, masks, frame_regions(self.targets, masks, self.background, self.layers, self.device))
        _, masks, full = self._cached
        if size is None:
            return full
        return frame_regions(self.targets, [resize(m, *size) for m in masks], self.background, self.layers, self.device)


def _stylize_frame(prep: FramePrep, stylized, shot_start, extractor, styling: _FrameStyle, config: RunConfig, device,
                   grey, on_step):
    content = to_tensor(prep.content, device)
    target = luminance(content) if grey else content
    temporal = config.temporal
    init, terms = (target.clone(), []) if prep.cut or not temporal.enabled else warm_start(
        prep, stylized, target, shot_start, grey=grey)
    cold = not terms
    if cold and config.optim.init != "content":
        from .image import initial_image

        init = initial_image(config.optim.init, target, config.optim.seed)
    full_size = tuple(target.shape[-2:])
    bf16 = config.precision == "bf16"

    def make_objective(size: tuple[int, int]) -> Objective:
        # temporal terms exist only for warm frames, which run at full size
        scaled = target if size == full_size else F.interpolate(target, size=size, mode="area")
        style = styling.for_frame(prep.index, None if size == full_size else size)[0]
        return Objective(extractor, config.loss, style, scaled, temporal=terms,
                         temporal_weight=temporal.temporal_weight, bf16=bf16)

    result = optimize_coarse_to_fine(
        init, make_objective, scales=config.optim.scales if cold else 1, optimizer=config.optim.optimizer,
        iterations=temporal.first_iterations if cold else temporal.iterations,
        learning_rate=config.optim.learning_rate, tolerance=0.0 if cold else temporal.tolerance, callback=on_step,
    )
    image = combine_luminance(result.image, content) if grey else result.image
    return to_uint8(composite(image, content, styling.for_frame(prep.index)[1])), result

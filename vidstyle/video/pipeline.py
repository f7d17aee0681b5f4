"""Video: plan -> (mask pre-pass) -> frame loop -> encode.

Every finished frame is a PNG in a work directory beside the output, with a
line in ``log.jsonl`` (including its source timestamp); a manifest records a
hash of every setting that affects pixels. Re-running the same command
continues from the first missing frame; previous stylized frames are always
taken from their stored uint8 form, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import RunConfig, VideoConfig
from ..core.features import check_size
from ..core.optimize import StepReport
from ..core.runtime import check_files, check_memory, load_extractor, resolve_config, resolve_device
from ..core.styles import StyleEntry
from ..core.targets import style_targets
from ..core.tensors import to_tensor
from ..media.decode import Frame, Position, parse_position, read_frames
from ..media.encode import AudioCut, Timing, encode_video, output_colour
from ..media.files import check_input, check_output
from ..media.probe import VideoInfo, probe
from ..media.sizes import even_size, processing_size, resize
from ..regions.guides import Spec, style_specs
from ..regions.segment import make_segmenter
from ..regions.sources import MaskSource, check_source, clip_masks
from .checkpoint import Checkpoint, file_digest, work_dir_for
from .frames import FrameStyle, stylize_frame
from .temporal import Prefetch, prepare_frames, temporal_offsets

VIDEO_SUFFIXES = (".mp4", ".m4v")


@dataclass(frozen=True)
class FrameReport:
    """Progress of a video, after each finished frame."""

    index: int
    total: int | None  # the container's estimate until the clip is decoded to its end
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


@dataclass(frozen=True)
class VideoPlan:
    """Everything decided before the first frame: range, sizes, regions."""

    input: Path
    output: Path
    info: VideoInfo
    specs: list  # [(MaskSource | None, style entries)]
    background: tuple[StyleEntry, ...] | None
    start: Position | None
    end: Position | None
    height: int  # processing size, even
    width: int

    @property
    def masked(self) -> bool:
        return self.specs[0][0] is not None

    def frames(self) -> Iterator[Frame]:
        """A fresh stream of the range's frames at processing size."""
        for frame in read_frames(self.input, self.start, self.end, self.info):
            image = resize(frame.image, self.height, self.width)
            yield Frame(frame.index, frame.pts, frame.duration, image)

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
        )


def plan_video(input_path: Path | str, output: Path | str, styles: Spec | None, *, mask: MaskSource | None = None,
               regions: Sequence[tuple[MaskSource, Spec]] = (), background_style: Spec | None = None,
               video: VideoConfig = VideoConfig(), start: str | None = None, end: str | None = None,
               config: RunConfig = RunConfig(), device: torch.device | None = None) -> VideoPlan:
    """Validate every input and output and decide sizes and range, before anything is decoded or optimised.

    With ``device``, the memory the processing size needs there is checked too.
    """
    input_path, output = Path(input_path), Path(output)
    check_input(input_path, "video")
    check_output(output, VIDEO_SUFFIXES, (input_path,))
    first, last = (parse_position(start) if start else None), (parse_position(end) if end else None)
    if first is not None and last is not None and _before(last, first):
        raise ValueError(f"expected --start before --end, got {start!r} and {end!r}")
    info = probe(input_path)
    if next(read_frames(input_path, first, last, info), None) is None:
        raise ValueError(f"expected frames in {os.fspath(input_path)!r} within the range, got none that decode")
    specs, background = style_specs(styles, mask, regions, background_style)
    height, width = processing_size(info.height, info.width, video.max_size)
    check_files(config)
    check_size(height, width, config.loss.style_layers + config.loss.content_layers)
    if device is not None:
        check_memory(height, width, device, config.optim.optimizer)
    specs = [(None if source is None else source.at_scale(width / info.width), spec) for source, spec in specs]
    for source, _ in specs:
        if source is not None:
            check_source(source, height, width)
    return VideoPlan(input_path, output, info, specs, background, first, last, height, width)


def _before(a: Position, b: Position) -> bool:
    """``a <= b`` when both are in the same unit (mixed units are checked once decoded)."""
    if a.frame is not None and b.frame is not None:
        return a.frame <= b.frame
    if a.seconds is not None and b.seconds is not None:
        return a.seconds <= b.seconds
    return False


def stylize_video(
    input_path: Path | str,
    output: Path | str,
    styles: Spec | None,
    *,
    config: RunConfig = RunConfig(),
    video: VideoConfig = VideoConfig(),
    start: str | None = None,
    end: str | None = None,
    restart: bool = False,
    mask: MaskSource | None = None,
    regions: Sequence[tuple[MaskSource, Spec]] = (),
    background_style: Spec | None = None,
    device: torch.device | str = "auto",
    on_frame: Callable[[FrameReport], None] | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> VideoResult:
    """Stylize a clip into an H.264 MP4 (with the source audio), resumable; see the module docstring.

    With ``mask`` the ``styles`` apply only inside it; ``regions`` give each
    mask source its own styles; ``background_style`` styles the rest.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    plan = plan_video(input_path, output, styles, mask=mask, regions=regions, background_style=background_style,
                      video=video, start=start, end=end, config=config, device=device)
    first_image = next(plan.images())  # the plan made sure there is one
    checkpoint = Checkpoint(work_dir_for(plan.output), plan.digest(config))
    finished = checkpoint.open(restart)
    torch.manual_seed(config.optim.seed)
    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    # Style images are sized (and, for luminance-only transfer, matched) against the first frame.
    first_frame = to_tensor(first_image, device)
    cache: dict = {}
    targets = [style_targets(extractor, spec, first_frame, config, cache) for _, spec in plan.specs]
    background = style_targets(extractor, plan.background, first_frame, config, cache) if plan.background else None
    if plan.masked:
        _write_masks(checkpoint, plan, config, device)
    styling = FrameStyle(targets, background, plan.masked,
                         lambda i: [checkpoint.load_mask(r, i) for r in range(len(targets))],
                         config.loss.style_layers, device)
    log_entries = _frame_loop(plan, checkpoint, finished, extractor, styling, config, on_frame, on_step)
    size = _encode(plan, checkpoint, video, log_entries)
    cuts = [e["frame"] for e in log_entries if e["cut"]]
    return VideoResult(plan.output, len(log_entries), len(finished), cuts, size, log_entries)


def _frame_loop(plan: VideoPlan, checkpoint: Checkpoint, finished: list[dict], extractor, styling: FrameStyle,
                config: RunConfig, on_frame, on_step) -> list[dict]:
    """Optimise every unfinished frame in order, checkpointing each; returns the whole per-frame log."""
    known_cuts = {e["frame"]: e["cut"] for e in finished}
    keep = max(temporal_offsets(config.temporal), default=1)
    stylized: dict[int, np.ndarray] = {}  # only the frames the temporal offsets need
    entries = list(finished)
    shot_start = 0
    total = plan.total_estimate()
    preps = prepare_frames(plan.frames(), config.temporal, skip_before=len(finished), known_cuts=known_cuts)
    with Prefetch(preps) as prefetched:
        for prep in prefetched:
            shot_start = prep.index if prep.cut else shot_start
            total = None if total is None else max(total, prep.index + 1)
            if prep.index < len(finished):
                if prep.index >= len(finished) - keep:
                    stylized[prep.index] = checkpoint.load(prep.index)
                if on_frame:
                    e = finished[prep.index]
                    on_frame(FrameReport(prep.index, total, e["iterations"], e["evaluations"], e["loss"], e["terms"],
                                         e["seconds"], e["cut"], resumed=True))
                continue
            started = time.perf_counter()
            frame, result = stylize_frame(prep, stylized, shot_start, extractor, styling, config, on_step)
            entry = {
                "frame": prep.index, "pts": prep.pts, "duration": prep.duration, "iterations": result.iterations,
                "evaluations": result.evaluations, "loss": result.loss, "terms": result.terms,
                "seconds": round(time.perf_counter() - started, 3), "cut": prep.cut and prep.index > 0,
                "shot_start": shot_start, "reliable": prep.reliable_fraction,
                "histogram_correlation": prep.histogram_correlation,
            }
            checkpoint.save(prep.index, frame, entry)
            entries.append(entry)
            stylized[prep.index] = frame
            stylized.pop(prep.index - keep, None)
            if on_frame:
                on_frame(FrameReport(prep.index, total, result.iterations, result.evaluations, result.loss,
                                     result.terms, entry["seconds"], entry["cut"]))
    if not entries:
        raise ValueError(f"expected frames in {os.fspath(plan.input)!r} within the range, got none that decode")
    if on_frame and total != len(entries):  # the container's estimate was off (e.g. 78 claimed, 77 decode)
        e = entries[-1]
        on_frame(FrameReport(e["frame"], len(entries), e["iterations"], e["evaluations"], e["loss"], e["terms"],
                             e["seconds"], e["cut"], resumed=len(entries) == len(finished)))
    return entries


def _encode(plan: VideoPlan, checkpoint: Checkpoint, video: VideoConfig, entries: list[dict]) -> tuple[int, int]:
    """Encode the finished frames (+ audio) atomically; returns the output's (width, height)."""
    info = plan.info
    timing = Timing.from_source([e["pts"] for e in entries], [e["duration"] for e in entries], info.time_base,
                                info.fps)
    audio = None
    if video.audio and info.has_audio:
        audio = AudioCut(plan.input, entries[0]["pts"] * info.time_base - info.container_start, timing.duration)
    size = plan.output_size(video)
    images = (checkpoint.load(i) for i in range(len(entries)))
    encode_video(images, timing, plan.output, size=size, colour=output_colour(info.colour), crf=video.crf,
                 preset=video.preset, audio=audio, scratch=checkpoint.directory)
    if not video.keep_frames:
        shutil.rmtree(checkpoint.directory, ignore_errors=True)
    return size


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


def _write_masks(checkpoint: Checkpoint, plan: VideoPlan, config: RunConfig, device: torch.device) -> None:
    """The mask pre-pass: every region's per-frame masks as PNGs (skipped when already complete)."""
    for region, (source, _) in enumerate(plan.specs):
        if checkpoint.masks_complete(region):
            continue
        masks = clip_masks(source, plan.images, plan.height, plan.width, config.temporal.flow,
                           make_segmenter(source, device))
        count = 0
        for index, mask in enumerate(masks):
            checkpoint.save_mask(region, index, mask)
            count = index + 1
        checkpoint.mark_masks_complete(region, count)

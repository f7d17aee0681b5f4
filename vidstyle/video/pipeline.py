"""Video: plan -> (mask pre-pass) -> frame loop -> encode.

Every finished frame is a PNG in a work directory beside the output, with a
line in ``log.jsonl`` (including its source timestamp); a manifest records a
hash of every setting that affects pixels. Re-running the same command
continues from the first missing frame; previous stylized frames are always
taken from their stored uint8 form, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import errno
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..config import RunConfig, VideoConfig
from ..core.optimize import StepReport
from ..core.runtime import load_extractor, resolve_config, resolve_device
from ..core.targets import StyleTargets
from ..core.tensors import to_tensor
from ..media.encode import encode_stylized
from ..regions.guides import Spec
from ..regions.sources import MaskSource, clip_masks
from .checkpoint import Checkpoint, DiskFullError, work_dir_for
from .frames import FrameStyle, guard_size, stylize_frame
from .plan import VideoPlan, plan_video
from .temporal import FlowFunction, Prefetch, prepare_frames, temporal_offsets

log = logging.getLogger(__name__)


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
    flow: FlowFunction | None = None,
) -> VideoResult:
    """Stylize a clip into an H.264 MP4 (with the source audio), resumable; see the module docstring.

    With ``mask`` the ``styles`` apply only inside it; ``regions`` give each
    mask source its own styles; ``background_style`` styles the rest. ``flow`` replaces the
    optical flow estimator (see :func:`~vidstyle.video.temporal.prepare_frames`).
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    plan = plan_video(input_path, output, styles, mask=mask, regions=regions, background_style=background_style,
                      video=video, start=start, end=end, config=config, device=device)
    return run_video(plan, config=config, video=video, restart=restart, device=device, on_frame=on_frame,
                     on_step=on_step, flow=flow)


def run_video(plan: VideoPlan, *, config: RunConfig, video: VideoConfig, restart: bool = False,
              device: torch.device, on_frame: Callable[[FrameReport], None] | None = None,
              on_step: Callable[[StepReport], None] | None = None, flow: FlowFunction | None = None) -> VideoResult:
    """Stylize a checked :class:`VideoPlan` (see :func:`plan_video`)."""
    config = resolve_config(config, device)
    first_image = next(plan.images())  # the plan made sure there is one
    with Checkpoint(work_dir_for(plan.output), plan.digest(config), os.fspath(plan.output)) as checkpoint:
        finished = checkpoint.open(restart)
        if checkpoint.damaged:
            log.warning("%s: recomputing from there (%d finished frames before it are kept)", checkpoint.damaged,
                        len(finished))
        torch.manual_seed(config.optim.seed)
        extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
        # Style images are sized per pyramid level, and matched (luminance-only transfer) to the first frame.
        targets = StyleTargets(extractor, config, to_tensor(first_image, device))
        if plan.masked:
            _write_masks(checkpoint, plan, config)
        styling = FrameStyle(targets, [spec for _, spec in plan.specs], plan.background, plan.masked,
                             lambda i: [checkpoint.load_mask(r, i) for r in range(len(plan.specs))],
                             config.loss.style_layers, device)
        log_entries = _frame_loop(plan, checkpoint, finished, extractor, styling, config, on_frame, on_step, flow)
        size = _encode(plan, checkpoint, video, log_entries)
    cuts = [e["frame"] for e in log_entries if e["cut"]]
    return VideoResult(plan.output, len(log_entries), len(finished), cuts, size, log_entries)


def _frame_loop(plan: VideoPlan, checkpoint: Checkpoint, finished: list[dict], extractor, styling: FrameStyle,
                config: RunConfig, on_frame, on_step, flow: FlowFunction | None) -> list[dict]:
    """Optimise every unfinished frame in order, checkpointing each; returns the whole per-frame log."""
    known_cuts = {e["frame"]: e["cut"] for e in finished}
    keep = max(temporal_offsets(config.temporal), default=1)
    stylized: dict[int, np.ndarray] = {}  # only the frames the temporal offsets need
    entries = list(finished)
    shot_start = 0
    shot_styles: dict[tuple, list[float]] = {}  # style losses of the current shot's frames, by level size
    judged = guard_size(plan.height, plan.width, config)
    total = plan.total_estimate()
    preps = prepare_frames(plan.source_frames(), config.temporal, skip_before=len(finished), known_cuts=known_cuts,
                           size=(plan.height, plan.width), flow_size=plan.flow_size(config.temporal), flow=flow)
    with Prefetch(preps) as prefetched:
        for prep in prefetched:
            if prep.cut:
                shot_start, shot_styles = prep.index, {}
            total = None if total is None else max(total, prep.index + 1)
            if prep.index < len(finished):
                _record(shot_styles, finished[prep.index])
                if prep.index >= len(finished) - keep:
                    stylized[prep.index] = checkpoint.load(prep.index)
                if on_frame:
                    e = finished[prep.index]
                    on_frame(FrameReport(prep.index, total, e["iterations"], e["evaluations"], e["loss"], e["terms"],
                                         e["seconds"], e["cut"], resumed=True))
                continue
            started = time.perf_counter()
            styles = shot_styles.get(judged)
            level = float(np.median(styles)) if styles else None
            frame, result = stylize_frame(prep, stylized, shot_start, extractor, styling, config, on_step, level)
            entry = {
                "frame": prep.index, "pts": prep.pts, "duration": prep.duration, "iterations": result.iterations,
                "evaluations": result.evaluations, "loss": result.loss, "terms": result.terms,
                "seconds": round(time.perf_counter() - started, 3), "cut": prep.cut and prep.index > 0,
                "shot_start": shot_start, "reliable": prep.reliable_fraction,
                "histogram_correlation": prep.histogram_correlation, "levels": result.levels,
            }
            entry = checkpoint.save(prep.index, frame, entry)
            _record(shot_styles, entry)
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


def _record(shot_styles: dict[tuple, list[float]], entry: dict) -> None:
    """Add a finished frame's style loss at each of its pyramid sizes to its shot's record."""
    for level in entry["levels"]:
        shot_styles.setdefault(tuple(level["size"]), []).append(level["terms"]["style"])


def _encode(plan: VideoPlan, checkpoint: Checkpoint, video: VideoConfig, entries: list[dict]) -> tuple[int, int]:
    """Encode the finished frames (+ audio) atomically; returns the output's (width, height)."""
    size = plan.output_size(video)
    images = (checkpoint.load(i) for i in range(len(entries)))
    try:
        encode_stylized(images, entries, plan.input, plan.info, plan.output, size=size, settings=video,
                        scratch=checkpoint.directory)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(plan.output) from None
        raise
    if not video.keep_frames:
        checkpoint.remove()
    return size


def _write_masks(checkpoint: Checkpoint, plan: VideoPlan, config: RunConfig) -> None:
    """The mask pre-pass: every region's per-frame masks as PNGs (skipped when already complete)."""
    for region, (source, _) in enumerate(plan.specs):
        if checkpoint.masks_complete(region):
            continue
        if checkpoint.damaged:
            log.warning("%s: computing them again", checkpoint.damaged)
            checkpoint.damaged = None
        masks = clip_masks(source, plan.images, plan.height, plan.width, config.temporal.flow,
                           plan.segmenters[region])
        checkpoint.mark_masks_complete(region, [checkpoint.save_mask(region, index, mask)
                                                for index, mask in enumerate(masks)])

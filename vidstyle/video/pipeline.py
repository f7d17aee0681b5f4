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
from ..core.device import resolve_config, resolve_device
from ..core.features import load_extractor
from ..core.targets import StyleTargets
from ..core.tensors import to_tensor
from ..media.encode import encode_stylized
from ..motion.warp import warp
from ..regions.guides import Spec
from ..regions.sources import MaskSource, clip_masks
from .checkpoint import Checkpoint, DiskFullError, work_dir_for
from .plan import VideoPlan, plan_video
from ..paint.paint import paint
from ..paint.start import Start, cold_start
from ..paint.style import Styling
from .record import FrameRecord
from .temporal import (FlowFunction, FramePrep, Prefetch, guard_size, prepare_frames, settle_start, temporal_offsets,
                       warm_start)

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
    warp_error: float | None = None  # against the previous result, by the pipeline's own flow (a progress signal)


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    resumed_frames: int
    cuts: list[int]  # frame indices (relative to the start of the range) where a new shot began
    size: tuple[int, int]  # (width, height) of the output
    log: list[FrameRecord]


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
        styling = Styling(targets, [spec for _, spec in plan.specs], plan.background, plan.masked,
                          lambda i: [checkpoint.load_mask(r, i) for r in range(len(plan.specs))],
                          config.loss.style_layers, device)
        records = _frame_loop(plan, checkpoint, finished, extractor, styling, config, on_frame, on_step, flow)
        size = _encode(plan, checkpoint, video, records)
    cuts = [r.frame for r in records if r.cut]
    return VideoResult(plan.output, len(records), len(finished), cuts, size, records)


def _frame_loop(plan: VideoPlan, checkpoint: Checkpoint, finished: list[FrameRecord], extractor, styling: Styling,
                config: RunConfig, on_frame, on_step, flow: FlowFunction | None) -> list[FrameRecord]:
    """Optimise every unfinished frame in order, checkpointing each; returns the whole per-frame log."""
    known_cuts = {r.frame: r.cut for r in finished}
    keep = max(temporal_offsets(config.temporal), default=1)
    stylized: dict[int, np.ndarray] = {}  # only the frames the temporal offsets need
    contents: dict[int, np.ndarray] = {}  # and their inputs (for the pixels an object uncovers)
    records = list(finished)
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
            contents[prep.index] = prep.content
            contents.pop(prep.index - keep - 1, None)
            if prep.index < len(finished):
                record = finished[prep.index]
                _remember(shot_styles, record)
                if prep.index >= len(finished) - keep:
                    stylized[prep.index] = checkpoint.load(prep.index)
                if on_frame:
                    on_frame(_report(record, total, resumed=True))
                continue
            started = time.perf_counter()
            styles = shot_styles.get(judged)
            level = float(np.median(styles)) if styles else None

            cold: list[bool] = []

            def strategy(target: torch.Tensor, prep: FramePrep = prep) -> Start:
                warm = None if prep.cut or not config.temporal.enabled else warm_start(
                    prep, stylized, target, shot_start, config, level, contents)
                cold.append(warm is None)
                return warm or cold_start(target, config, tolerance=0.0)

            content = to_tensor(prep.content, styling.device)
            frame, result = paint(content, styling, strategy, extractor, config, index=prep.index, on_step=on_step)
            iterations, evaluations = result.iterations, result.evaluations
            if cold[0] and config.temporal.enabled:  # a shot's first frame: settle it as later frames will be
                frame, result = paint(content, styling, lambda target, f=frame: settle_start(f, target, config),
                                      extractor, config, index=prep.index, on_step=on_step)
                iterations, evaluations = iterations + result.iterations, evaluations + result.evaluations
            record = checkpoint.save(frame, FrameRecord(
                prep.index, prep.pts, prep.duration, iterations, evaluations, result.loss, result.terms,
                round(time.perf_counter() - started, 3), prep.cut and prep.index > 0, shot_start,
                prep.reliable_fraction, prep.histogram_correlation, tuple(result.levels),
                warp_error=_warp_error(prep, stylized, frame)))
            _remember(shot_styles, record)
            records.append(record)
            stylized[prep.index] = frame
            stylized.pop(prep.index - keep, None)
            if on_frame:
                on_frame(_report(record, total))
    if not records:
        raise ValueError(f"expected frames in {os.fspath(plan.input)!r} within the range, got none that decode")
    if on_frame and total != len(records):  # the container's estimate was off (e.g. 78 claimed, 77 decode)
        on_frame(_report(records[-1], len(records), resumed=len(records) == len(finished)))
    return records


def _report(record: FrameRecord, total: int | None, resumed: bool = False) -> FrameReport:
    return FrameReport(record.frame, total, record.iterations, record.evaluations, record.loss, record.terms,
                       record.seconds, record.cut, resumed, record.warp_error)


def _warp_error(prep: FramePrep, stylized: dict[int, np.ndarray], frame: np.ndarray) -> float | None:
    """The frame's warping error against the previous result, by the flow it was warm-started with."""
    if 1 not in prep.flows or prep.index - 1 not in stylized:
        return None
    flow, weight = prep.flows[1]
    current, previous = to_tensor(frame), to_tensor(stylized[prep.index - 1])
    difference = (current - warp(previous, flow)).pow(2).mean(1, keepdim=True)
    return round(float((difference * weight).sum() / weight.sum().clamp_min(1.0)), 8)


def _remember(shot_styles: dict[tuple, list[float]], record: FrameRecord) -> None:
    """Add a finished frame's style loss at each of its pyramid sizes to its shot's record."""
    for level in record.levels:
        shot_styles.setdefault(tuple(level.size), []).append(level.terms["style"])


def _encode(plan: VideoPlan, checkpoint: Checkpoint, video: VideoConfig, records: list[FrameRecord]
            ) -> tuple[int, int]:
    """Encode the finished frames (+ audio) atomically; returns the output's (width, height)."""
    size = plan.output_size(video)
    images = (checkpoint.load(i) for i in range(len(records)))
    try:
        encode_stylized(images, [r.timing for r in records], plan.input, plan.info, plan.output, size=size,
                        settings=video, scratch=checkpoint.directory)
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

"""Video: plan -> (mask pre-pass) -> the first pass (``forward.py``) -> later passes (``passes.py``) -> encode.

Every finished frame is a PNG in a work directory beside the output, with a
line in ``log.jsonl`` (its pass and its source timestamp); a manifest records a
hash of every setting that affects pixels. Re-running the same command
continues at the first frame (and pass) not finished; stylized frames are always
taken from their stored uint8 form, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from ..config import RunConfig, VideoConfig
from ..core.optimize import StepReport
from ..core.device import resolve_config, resolve_device
from ..core.features import load_extractor
from ..core.targets import StyleTargets
from ..core.tensors import to_tensor
from ..media.encode import encode_stylized
from ..motion.pairs import PairStore
from ..regions.guides import Spec
from ..regions.sources import MaskSource, clip_masks
from ..paint.style import Styling
from .checkpoint import Checkpoint, DiskFullError, work_dir_for
from .forward import forward_pass
from .paintover import load_edits, reconcile
from .passes import later_passes
from .plan import VideoPlan, plan_video
from .record import FrameRecord
from .temporal import FlowFunction

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
    pass_index: int = 1  # the pass that painted it
    step: int = 0  # frames painted (or resumed) so far over all passes, this one included
    steps: int | None = None  # frames x passes (None until the frame count is known)


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
    style_keys: Sequence[str] = (),
    paint_over: Sequence[str] = (),
) -> VideoResult:
    """Stylize a clip into an H.264 MP4 (with the source audio), resumable; see the module docstring.

    With ``mask`` the ``styles`` apply only inside it; ``regions`` give each
    mask source its own styles; ``background_style`` styles the rest. ``style_keys`` (``"4s=picasso"``,
    :mod:`vidstyle.paint.keys`) change the mix of ``styles`` over the clip's time; ``paint_over`` (``"48=fixed.png"``,
    :mod:`vidstyle.video.paintover`) are frames painted over by the artist, which the clip follows. ``flow``
    replaces the optical flow estimator (see :func:`~vidstyle.video.temporal.prepare_frames`).
    """
    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(config, device)
    plan = plan_video(input_path, output, styles, mask=mask, regions=regions, background_style=background_style,
                      video=video, start=start, end=end, config=config, device=device, style_keys=style_keys,
                      paint_over=paint_over)
    return run_video(plan, config=config, video=video, restart=restart, device=device, on_frame=on_frame,
                     on_step=on_step, flow=flow)


def run_video(plan: VideoPlan, *, config: RunConfig, video: VideoConfig, restart: bool = False,
              device: torch.device, on_frame: Callable[[FrameReport], None] | None = None,
              on_step: Callable[[StepReport], None] | None = None, flow: FlowFunction | None = None) -> VideoResult:
    """Stylize a checked :class:`VideoPlan` (see :func:`plan_video`): the first pass, then the later passes
    (``config.temporal.passes``), then the encode of the last pass's frames."""
    config = resolve_config(config, device)
    first_image = next(plan.images())  # the plan made sure there is one
    passes = config.temporal.passes if config.temporal.enabled else 1
    with Checkpoint(work_dir_for(plan.output), plan.digest(config), os.fspath(plan.output)) as checkpoint:
        finished = reconcile(checkpoint, list(plan.paint_over), checkpoint.open(restart))
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
                          config.loss.style_layers, device, plan.timeline(), lead=config.temporal.key_lead)
        report = _reporter(on_frame, passes)
        first = [r for r in finished if r.pass_index == 1]
        edits = load_edits(list(plan.paint_over), plan.height, plan.width)
        records = forward_pass(plan, checkpoint, first, extractor, styling, config, report, on_step, flow,
                               keep_for_later=passes > 1, edits=edits,
                               pairs=PairStore(video.carry_pairs) if video.carry_pairs else None)
        if passes > 1:
            # a later pass starts from pictures that have caught up already: each frame toward its own mix
            records = later_passes(checkpoint, records + finished[len(first):], extractor, replace(styling, lead=0),
                                   config, report, on_step, edits=edits)
        first = [r for r in records if r.pass_index == 1]
        report.last(len(first))
        size = _encode(plan, checkpoint, video, first, passes)
    cuts = [r.frame for r in first if r.cut]
    return VideoResult(plan.output, len(first), sum(1 for r in finished if r.pass_index == 1), cuts, size, records)


class _reporter:
    """Progress after each painted (or resumed) frame: its record, and where the run stands over all passes."""

    def __init__(self, on_frame: Callable[[FrameReport], None] | None, passes: int) -> None:
        self.on_frame, self.passes = on_frame, passes
        self.step, self.frames, self.record, self.resumed = 0, None, None, False

    def __call__(self, record: FrameRecord, frames: int | None, resumed: bool) -> None:
        self.step += 1
        self.frames = frames if record.pass_index > 1 or frames is None else max(frames, record.frame + 1)
        self.record, self.resumed = record, resumed
        if self.on_frame:
            self.on_frame(_report(record, self.frames, self.step, self.passes, resumed))

    def last(self, count: int) -> None:
        """Once the clip is decoded its frame count is exact: say it if the last report estimated another (a
        container's claim: 78 frames, 77 decode)."""
        if self.on_frame and self.record is not None and self.frames != count:
            self.on_frame(_report(self.record, count, self.step, self.passes, self.resumed))


def _report(record: FrameRecord, frames: int | None, step: int, passes: int, resumed: bool = False) -> FrameReport:
    return FrameReport(record.frame, frames, record.iterations, record.evaluations, record.loss, record.terms,
                       record.seconds, record.cut, resumed, record.warp_error, record.pass_index, step,
                       None if frames is None else frames * passes)


def _encode(plan: VideoPlan, checkpoint: Checkpoint, video: VideoConfig, records: list[FrameRecord],
            passes: int = 1) -> tuple[int, int]:
    """Encode the last pass's frames (+ audio) atomically; returns the output's (width, height)."""
    size = plan.output_size(video)
    images = (checkpoint.load(i, passes) for i in range(len(records)))
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

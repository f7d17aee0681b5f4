"""The first pass over a clip (Ruder et al. 2016): frames in order, each from the previous stylized frame warped
by the flow and held to it, a shot's first frame from a cold start (then settled); every frame checkpointed.

The pass decides where each frame starts (:func:`first_pass_start`); :func:`~vidstyle.paint.paint.paint_from`
paints it. With later passes to come it also keeps, in the work folder, what they read again: each frame's
input and its flows both ways (a pass that runs backwards cannot decode backwards).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..config import RunConfig
from ..core.objective import TemporalTerm
from ..core.tensors import to_tensor
from ..motion.pairs import PairStore
from ..motion.warp import warp
from ..paint.paint import carried, paint_from, target_of
from ..paint.start import Start, cold_start, repaint_start
from ..paint.style import Styling
from .checkpoint import Checkpoint
from .paintover import edited_record
from .plan import VideoPlan
from .record import FrameRecord
from .temporal import FlowFunction, FramePrep, Prefetch, guard_size, prepare_frames, settle_start, temporal_offsets, \
    warm_start

Report = Callable[[FrameRecord, int | None, bool], None]  # (record, the clip's frame count so far, resumed)
TRUST_EVERY = 50  # a chunk's carry keeps its trust map this often (and at its end): a resume carries again from there


@dataclass
class Shot:
    """The shot being painted: its first frame and its frames' style losses at each pyramid size (the early
    stop waits until a frame is as stylized as its shot; temporal.stop_rule)."""

    start: int = 0
    styles: dict[tuple, list[tuple[int, float]]] = field(default_factory=dict)  # by size: (frame, style loss)
    # A chunk's carry: where the carried paint still comes from the shot's first painting along reliable flow
    # (1, 1, H, W), None for all of it (its first frame, an edit)
    trust: torch.Tensor | None = None

    def remember(self, record: FrameRecord) -> None:
        for level in record.levels:
            self.styles.setdefault(tuple(level.size), []).append((record.frame, level.terms["style"]))

    def level(self, size: tuple[int, int], frame: int, styling: Styling) -> float | None:
        """The median style loss at ``size`` of the shot's frames painted toward the same targets as ``frame``
        (with style keys the target moves: :meth:`~vidstyle.paint.style.Styling.comparable`)."""
        styles = styling.comparable(self.styles.get(size, []), frame)
        return float(np.median(styles)) if styles else None


def first_pass_start(prep: FramePrep, stylized: dict[int, np.ndarray], contents: dict[int, np.ndarray],
                     target: torch.Tensor, shot: Shot, judged: tuple[int, int], config: RunConfig,
                     styling: Styling) -> Start | None:
    """Where frame ``prep.index`` starts in the first pass: the previous stylized frame warped (Ruder's warm
    start, uncovered pixels filled), or None for a cold start (a shot's first frame, or ``--no-temporal``)."""
    if prep.cut or not config.temporal.enabled:
        return None
    return warm_start(prep, stylized, target, shot.start, config, shot.level(judged, prep.index, styling), contents)


def forward_pass(plan: VideoPlan, checkpoint: Checkpoint, finished: list[FrameRecord], extractor, styling: Styling,
                 config: RunConfig, report: Report, on_step, flow: FlowFunction | None,
                 keep_for_later: bool = False, edits: dict[int, np.ndarray] | None = None,
                 pairs: PairStore | None = None) -> list[FrameRecord]:
    """Paint every unfinished frame of the first pass in order; returns the pass's whole log. A frame in ``edits``
    (painted over by the artist) is kept as given, and the frames after it start from it. A chunk's carry reads
    the flows it finds in ``pairs`` (video/pairs.py)."""
    edits = edits or {}
    finished, trust = _resume_carry(checkpoint, finished, config.temporal.carry_frames)
    keep = max(temporal_offsets(config.temporal), default=1)
    stylized: dict[int, np.ndarray] = {}  # only the frames the temporal offsets need
    contents: dict[int, np.ndarray] = {}  # and their inputs (for the pixels an object uncovers)
    records = list(finished)
    shot = Shot()
    judged = guard_size(plan.height, plan.width, config)
    total = plan.total_estimate()
    preps = prepare_frames(plan.source_frames(), config.temporal, skip_before=len(finished),
                           known_cuts={r.frame: r.cut for r in finished}, size=(plan.height, plan.width),
                           flow_size=plan.flow_size(config.temporal), flow=flow, both_ways=keep_for_later,
                           carried=config.temporal.carry_frames, pairs=pairs,
                           uncover=config.temporal.fill_uncovered)
    with Prefetch(preps) as prefetched:
        for prep in prefetched:
            if prep.cut:
                shot = Shot(prep.index)
                if styling.timeline is not None:
                    styling.timeline.note_cuts([prep.index])
            total = None if total is None else max(total, prep.index + 1)
            contents[prep.index] = prep.content
            contents.pop(prep.index - keep - 1, None)
            if prep.index < len(finished):
                shot.remember(finished[prep.index])
                if prep.index == len(finished) - 1:
                    shot.trust = trust
                if prep.index >= len(finished) - keep:
                    stylized[prep.index] = checkpoint.load(prep.index)
                report(finished[prep.index], total, True)
                continue
            if keep_for_later:
                _keep(checkpoint, prep)
            if prep.index in edits:
                frame, shot.trust = edits[prep.index], None  # a carry goes on from the edit as given
                record = replace(edited_record(prep.index, prep.pts, prep.duration, prep.cut and prep.index > 0,
                                               shot.start, prep.reliable_fraction, prep.histogram_correlation, 1),
                                 warp_error=warp_error(prep, stylized, frame))
            else:
                record, frame = _paint_frame(prep, stylized, contents, shot, judged, extractor, styling, config,
                                             on_step)
            record = checkpoint.save(frame, record)
            carry = config.temporal.carry_frames
            if prep.index < carry and (prep.index % TRUST_EVERY == 0 or prep.index == carry - 1):
                checkpoint.save_trust(prep.index, shot.trust)  # a resume carries again from the last one kept
            shot.remember(record)
            records.append(record)
            stylized[prep.index] = frame
            stylized.pop(prep.index - keep, None)
            report(record, total, False)
    if not records:
        raise ValueError(f"expected frames in {os.fspath(plan.input)!r} within the range, got none that decode")
    return records


def _paint_frame(prep: FramePrep, stylized: dict[int, np.ndarray], contents: dict[int, np.ndarray], shot: Shot,
                 judged: tuple[int, int], extractor, styling: Styling, config: RunConfig, on_step
                 ) -> tuple[FrameRecord, np.ndarray]:
    """One frame of the first pass, from its start; a cold start is then settled as later frames will be. In a
    chunk (``carry_frames``), the frames before its first painted one are carried (their start is their result),
    and that first one is painted again from the carried paint with the cold budget, then settled."""
    started = time.perf_counter()
    content = to_tensor(prep.content, styling.device)
    target = target_of(content, config)
    warm = styling.catch_up(first_pass_start(prep, stylized, contents, target, shot, judged, config, styling),
                            prep.index, passes=config.temporal.passes)
    carry = config.temporal.carry_frames
    if warm is not None and prep.index <= carry and 1 in prep.flows:
        _carry_trust(shot, prep, warm)
    if warm is not None and prep.index < carry:
        frame = carried(content, warm, styling, config, prep.index)
        return FrameRecord(prep.index, prep.pts, prep.duration, 0, 0, 0.0, {}, round(time.perf_counter() - started, 3),
                           prep.cut and prep.index > 0, shot.start, prep.reliable_fraction,
                           prep.histogram_correlation), frame
    repaint = warm is not None and prep.index == carry > 0
    if repaint:  # held where the carry is still the shot's first painting, free where it smeared
        hold = shot.trust if shot.trust is not None else torch.ones_like(warm.init[:, :1])
        start = repaint_start(warm.init, config, TemporalTerm(warm.init.clone(), hold.to(warm.init)))
    else:
        start = warm or cold_start(target, config, tolerance=0.0)
    if warm is None or repaint:  # a cold start does not lag behind its mix: it is painted toward its own
        styling = replace(styling, lead=0)
    frame, result = paint_from(content, start, styling, extractor, config, index=prep.index, on_step=on_step)
    iterations, evaluations = result.iterations, result.evaluations
    if (warm is None or repaint) and config.temporal.enabled:  # a shot's first frame: settle it as later frames will be
        frame, result = paint_from(content, settle_start(frame, target, config), styling, extractor, config,
                                   index=prep.index, on_step=on_step)
        iterations, evaluations = iterations + result.iterations, evaluations + result.evaluations
    return FrameRecord(prep.index, prep.pts, prep.duration, iterations, evaluations, result.loss, result.terms,
                       round(time.perf_counter() - started, 3), prep.cut and prep.index > 0, shot.start,
                       prep.reliable_fraction, prep.histogram_correlation, tuple(result.levels),
                       warp_error=warp_error(prep, stylized, frame)), frame


def _resume_carry(checkpoint: Checkpoint, finished: list[FrameRecord], carry: int
                  ) -> tuple[list[FrameRecord], torch.Tensor | None]:
    """The finished frames a chunk resumes after, and its trust map there: within the carry, the frames after the
    last trust map kept are carried again (a kill between a frame and its map)."""
    if not carry or not 0 < len(finished) <= carry:
        return finished, None
    saved = checkpoint.load_trust()
    index, trust = saved if saved is not None else (0, None)  # after frame 0, the shot's painting: all of it
    if index != len(finished) - 1:
        finished = finished[:index + 1]
        checkpoint.keep_only(finished)
    return finished, trust


def _carry_trust(shot: Shot, prep: FramePrep, warm: Start) -> None:
    """Carry the trust map one frame: warped along the flow, times where this step's warp is reliable (the warm
    start's closest term, uncovered pixels left out)."""
    flow_bwd = prep.flows[1][0].cpu()
    reliable = warm.temporal[0].weight.cpu() if warm.temporal else torch.zeros_like(flow_bwd[:, :1])
    before = shot.trust if shot.trust is not None else torch.ones_like(reliable)
    shot.trust = (warp(before, flow_bwd) * reliable).clamp(0, 1)


def _keep(checkpoint: Checkpoint, prep: FramePrep) -> None:
    """What later passes read again: the frame's input, its flow back to the previous frame, and the previous
    frame's flow ahead into it (written before the frame is painted, so a finished frame always has them)."""
    checkpoint.save_input(prep.index, prep.content)
    if 1 in prep.flows:
        checkpoint.save_motion(prep.index, "back", *prep.flows[1])
    if prep.ahead_of_previous is not None:
        checkpoint.save_motion(prep.index - 1, "ahead", *prep.ahead_of_previous)


def warp_error(prep: FramePrep, stylized: dict[int, np.ndarray], frame: np.ndarray) -> float | None:
    """The frame's warping error against the previous result, by the flow it was warm-started with."""
    if 1 not in prep.flows or prep.index - 1 not in stylized:
        return None
    flow, weight = prep.flows[1]
    current, previous = to_tensor(frame), to_tensor(stylized[prep.index - 1])
    difference = (current - warp(previous, flow)).pow(2).mean(1, keepdim=True)
    return round(float((difference * weight).sum() / weight.sum().clamp_min(1.0)), 8)

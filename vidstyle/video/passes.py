"""Later passes over a clip: Ruder et al.'s multi-pass algorithm (2016, ``artistic_video_multiPass.lua``).

After the forward pass, passes run in alternating directions (pass 2 from the last frame back to the first,
pass 3 forward again, ...). In pass ``p`` a frame ``t`` starts from a blend of its own result of pass ``p - 1``
and the neighbour it now follows (painted just before it in this pass), warped into it::

    init = (1 - b c) x_t^(p-1) + b c warp(x_n^(p))        (c: reliability of t towards n, b: --blend-weight)

and is held by the temporal term to both neighbours where their flow is reliable: the one it follows (this
pass) and the one it precedes (the last pass). A pixel that an object uncovered going forwards was hidden in
the previous frame, so the forward pass could only guess it; in a backward pass it is reliable towards the
next frame, which saw it, and takes its paint from there. Every frame of a shot moves together, pass after
pass, so a patch the forward pass painted poorly and then held (the temporal term keeps later frames to it)
can still be repainted in all of them.

Departures from Ruder: the first pass is our forward pass, warm-started and already temporally consistent, so
the later passes need a fraction of Ruder's 15 passes of 100 iterations, and the temporal term acts from the
first later pass on by default (``--temporal-from-pass``; Ruder's 9 suits his passes from noise).
Nothing is blended or held across a scene cut.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..config import RunConfig
from ..core.objective import TemporalTerm
from ..core.tensors import luminance, to_tensor
from ..motion.warp import warp
from ..paint.paint import paint_from, target_of
from ..paint.start import Budget, Start
from ..paint.style import Styling
from .checkpoint import Checkpoint, next_visits
from .paintover import edited_record
from .record import FrameRecord
from .temporal import guard_size, stop_rule

Report = Callable[[FrameRecord, int | None, bool], None]


@dataclass(frozen=True)
class Neighbour:
    """A neighbouring frame as this frame sees it: its stylized result warped into this frame, and where that warp
    is reliable ``(1, 1, H, W)``."""

    warped: torch.Tensor
    reliable: torch.Tensor


def direction(pass_index: int) -> int:
    """+1 for a pass that runs forwards (odd), -1 for one that runs backwards (even)."""
    return 1 if pass_index % 2 else -1


def visits(count: int, passes: int) -> list[tuple[int, int]]:
    """Every ``(pass, frame)`` in the order they are painted: the first pass forwards, then alternating."""
    order = []
    for pass_index in range(1, passes + 1):
        frames = range(count) if direction(pass_index) == 1 else range(count - 1, -1, -1)
        order += [(pass_index, frame) for frame in frames]
    return order


def neighbour(checkpoint: Checkpoint, frame: int, other: int, pass_index: int) -> Neighbour | None:
    """Frame ``other`` (``frame`` ± 1, of pass ``pass_index``) warped into ``frame``, or None across a cut or the
    clip's end (the first pass kept no flow there)."""
    found = checkpoint.load_motion(frame, "ahead" if other > frame else "back")
    if found is None:
        return None
    flow, reliable = found
    image = warp(to_tensor(checkpoint.load(other, pass_index)), flow, "lanczos").clamp(0, 1)
    return Neighbour(image, reliable)


def later_start(previous: np.ndarray, followed: Neighbour | None, preceded: Neighbour | None, target: torch.Tensor,
                pass_index: int, config: RunConfig, style_level: float | None) -> Start:
    """Where a frame of a later pass starts: its last result blended with the neighbour it follows, warped (Ruder's
    multi-pass init), held to both neighbours once the temporal term has joined (``temporal_from_pass``)."""
    temporal = config.temporal
    init = to_tensor(previous)
    if followed is not None:
        share = temporal.blend_weight * followed.reliable
        init = (1 - share) * init + share * followed.warped
    init = init.to(target.device)
    grey = config.style.preserve_colors
    terms = []
    if pass_index >= temporal.temporal_from_pass:
        for seen in (followed, preceded):
            if seen is not None:
                image = seen.warped.to(target.device)
                terms.append(TemporalTerm(luminance(image) if grey else image, seen.reliable.to(target.device)))
    # torch's short first step, not the first pass's sized one (WARM_FIRST_STEP): a later pass starts at the blend
    # it should keep, and with the sized step its error rose 2-9% on the ground-truth clips (BENCHMARKS.md, passes).
    budget = Budget(1, temporal.pass_iterations, temporal.pass_iterations, temporal.tolerance, residual=True,
                    may_stop=stop_rule(style_level, config), stop_level=0)
    return Start(luminance(init) if grey else init.clone(), budget, terms)


def later_passes(checkpoint: Checkpoint, records: list[FrameRecord], extractor, styling: Styling, config: RunConfig,
                 report: Report, on_step, edits: dict[int, np.ndarray] | None = None) -> list[FrameRecord]:
    """Paint passes 2 .. ``config.temporal.passes`` after the first pass's ``records`` (resuming after the finished
    visits among them); returns every visit's record, in order. A frame in ``edits`` is kept as given in every pass,
    so the frames before it follow it too; so are a chunk's carried frames (``carry_frames``: not its own)."""
    edits = edits or {}
    first = [r for r in records if r.pass_index == 1]
    count = len(first)
    done = {(r.pass_index, r.frame): r for r in records}
    judged = guard_size(*checkpoint.load(0).shape[:2], config)
    styles: dict[int, list[tuple[int, float]]] = {}  # each shot's (frame, style loss) at its coarsest size
    for record in first:
        styles.setdefault(record.shot_start, []).extend(
            (record.frame, level.terms["style"]) for level in record.levels if tuple(level.size) == judged)
    if styling.timeline is not None:
        styling.timeline.note_cuts(r.frame for r in first if r.cut)
    out = list(records)
    for pass_index, frame in visits(count, config.temporal.passes):
        if (pass_index, frame) in done:
            if pass_index > 1:
                report(done[pass_index, frame], count, True)
            continue
        if (pass_index, frame) not in next_visits(out):
            raise RuntimeError(f"pass {pass_index} frame {frame} out of order")  # a bug, not bad input
        shot = first[frame].shot_start
        comparable = styling.comparable(styles.get(shot, []), frame)
        level = float(np.median(comparable)) if comparable else None
        if frame in edits or frame < config.temporal.carry_frames:  # kept as given: an edit, a chunk's carry
            source = first[frame]
            record = edited_record(frame, source.pts, source.duration, source.cut, source.shot_start,
                                   source.reliable, source.histogram_correlation, pass_index)
            image = edits[frame] if frame in edits else checkpoint.load(frame)
        else:
            record, image = _paint_visit(checkpoint, first, frame, pass_index, extractor, styling, config, level,
                                         on_step)
        out.append(checkpoint.save(image, record))
        report(out[-1], count, False)
    return out


def _paint_visit(checkpoint: Checkpoint, first: list[FrameRecord], frame: int, pass_index: int, extractor,
                 styling: Styling, config: RunConfig, style_level: float | None, on_step
                 ) -> tuple[FrameRecord, np.ndarray]:
    started = time.perf_counter()
    step = direction(pass_index)
    count = len(first)
    content = to_tensor(checkpoint.load_input(frame), styling.device)
    target = target_of(content, config)

    def seen(other: int, of_pass: int) -> Neighbour | None:
        # none past the clip's ends, nor across a switch of the mix (a hold key): painted for the other mix, as
        # across a cut
        if not 0 <= other < count or styling.switch_between(frame, other):
            return None
        return neighbour(checkpoint, frame, other, of_pass)

    followed, preceded = seen(frame - step, pass_index), seen(frame + step, pass_index - 1)
    start = styling.catch_up(later_start(checkpoint.load(frame, pass_index - 1), followed, preceded, target,
                                         pass_index, config, style_level), frame, pass_index,
                             config.temporal.passes)
    image, result = paint_from(content, start, styling, extractor, config, index=frame, on_step=on_step)
    source = first[frame]
    return FrameRecord(frame, source.pts, source.duration, result.iterations, result.evaluations, result.loss,
                       result.terms, round(time.perf_counter() - started, 3), source.cut, source.shot_start,
                       source.reliable, source.histogram_correlation, tuple(result.levels),
                       pass_index=pass_index), image

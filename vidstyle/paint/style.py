"""What an image is painted with, at any pyramid size: whole-image Gram targets, or guided regions."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import torch

from ..core.objective import TemporalTerm
from ..core.styles import StyleEntry
from ..core.targets import StyleTargets
from ..media.sizes import resize
from ..regions.guides import even_regions, frame_regions
from .keys import Timeline, mix_identity
from .start import Budget


RAMP_WINDOW = 4  # frames: within a ramp between style keys, a frame's style is judged against this near a past
# A frame whose mix changed within CATCH_UP_FRAMES frames gets CATCH_UP x its budget. After a key most of it goes
# unused: the frame stops early (its loss improves slowly, held by the temporal term to paint made for the old mix).
# A window of 6 frames changed nothing. Forbidding the early stop made the ramp far worse while L-BFGS diverged on
# long runs (the clamp's steps, core/optimize.py); since that fix it changes nothing either (style 1.136x against
# 1.141x a constant mix's, 1.201x against 1.203x; BENCHMARKS.md, style keys): the temporal term, not the budget,
# holds the lag.
CATCH_UP = 3
CATCH_UP_FRAMES = 3
# With later passes to come (--passes 2 or more), a catching-up frame is also held less to its neighbours (its
# temporal terms x CATCH_UP_HOLD, every pass), and in a later pass, which holds it to both neighbours, it catches up
# when the mix of a frame on either side differs: a ramp's first frame too, and the frames after the key. On clip
# (b) with a key halfway, --passes 2: the style loss 1.105x a constant mix's (worst frame 1.217x) with the full
# hold, 1.009x (1.056x) at 0.25; 0.5 gave 1.052x (1.116x), the weaker hold in the later passes only 1.066x (1.128x).
# The warping error stays below one pass's (BENCHMARKS.md, style keys). One pass keeps the full hold: without a
# later pass to settle it the weaker hold costs warping error for little style (the same section's side runs).
CATCH_UP_HOLD = 0.25
# With later passes to come, the first pass paints a key's frame (where a ramp ends or a switch lands) again from its
# warm start as a coarse-to-fine repaint: KEY_REPAINT_HALF iterations at half size, then KEY_REPAINT_FULL at full
# size, each level starting from the warm start plus the coarser level's change (residual), held at
# KEY_REPAINT_HOLD (a quarter of CATCH_UP_HOLD). The half-size level lets the layout move toward the key's
# painting, which 3x the later frames' budget at full size does not: a still camera's tail after a ramp stayed at
# 1.13-1.14x a constant mix's style loss. The later pass then carries the key's painting to the frames before it.
# Side runs on four clips (--passes 2, a ramp over 8 frames): the worst frame's style 1.056 -> 1.032x, 1.138 ->
# 1.084x (the real clip), 1.040 -> 1.037x and 1.143 -> 1.092x, for 5-15% more warping error; three levels (a
# quarter-size one too) moved the layout too far on the ground-truth clip (1.121x), and with them CATCH_UP_HOLD
# kept the real clip at 1.126x. One pass keeps no repaint: nothing after it smooths the jump at the key
# (BENCHMARKS.md, style keys).
KEY_REPAINT_HALF = 50
KEY_REPAINT_FULL = 75
KEY_REPAINT_HOLD = CATCH_UP_HOLD / 4


@dataclass
class Styling:
    """Style inputs of an image (a still, or frame ``index`` of a clip) at any size.

    ``specs`` has one entry per region (or one for the whole image: with ``even_mix``, a mix is asked of every
    part of the image, parts built once per size for the whole clip); ``load_masks(index)`` returns the
    image's masks, one per region, when ``masked``. A frame's masks are decoded once, and its regions
    built once per size, however many pyramid levels and the final composite ask for them. With a
    ``timeline`` (style keys) the first spec is the timeline's mix at the frame.
    """

    targets: StyleTargets
    specs: Sequence[tuple[StyleEntry, ...]]
    background: tuple[StyleEntry, ...] | None
    masked: bool
    load_masks: Callable[[int], list[np.ndarray]]
    layers: tuple[str, ...]
    device: torch.device
    timeline: Timeline | None = None
    lead: int = 0  # within a ramp, paint toward the mix this many frames ahead (Timeline.aimed)
    _cached: tuple[int, list, dict] | None = field(default=None, repr=False)
    _parts: dict = field(default_factory=dict, repr=False)

    def at(self, index: int, size: tuple[int, int]):
        """``(style for the Objective, union mask (1, 1, h, w) to composite with, or None)`` at ``size``."""
        specs = self.specs_at(index)
        targets = [self.targets.get(spec, size) for spec in specs]
        if not self.masked:
            if self.targets.config.style.even_mix and len(specs[0]) > 1:
                key = (mix_identity(specs[0]), size)
                if key not in self._parts:
                    if len(self._parts) >= self.targets.MIXES_KEPT:
                        self._parts.pop(next(iter(self._parts)))
                    self._parts[key] = even_regions(targets[0], size, self.layers, self.device)
                return self._parts[key], None
            return targets[0], None
        if self._cached is None or self._cached[0] != index:
            self._cached = (index, self.load_masks(index), {})
        _, masks, built = self._cached
        key = (mix_identity(specs[0]), size)  # a copy with another lead shares this cache: the mix is in the key
        if key not in built:
            background = self.targets.get(self.background, size) if self.background else None
            built[key] = frame_regions(targets, [resize(m, *size) for m in masks], background, self.layers,
                                       self.device)
        return built[key]

    def specs_at(self, index: int) -> list[tuple[StyleEntry, ...]]:
        """Each region's mix at image ``index`` (the first one from the timeline, when there are keys, ``lead``
        frames ahead within a ramp)."""
        if self.timeline is None:
            return list(self.specs)
        return [self.timeline.aimed(index, self.lead), *self.specs[1:]]

    def mix_at(self, index: int) -> tuple:
        """What identifies the mix of image ``index`` (frames with the same one have the same style targets)."""
        return mix_identity(self.specs_at(index)[0])

    def ramping(self, index: int) -> bool:
        """Whether the mix moves from frame to frame around ``index`` (within a ramp between style keys)."""
        return self.timeline is not None and self.timeline.ramping(index)

    def comparable(self, history: Sequence[tuple[int, float]], index: int) -> list[float]:
        """The values of ``history`` (``(frame, value)`` of a shot's frames) painted toward the same targets as
        frame ``index``: all of them without keys; with keys, the frames of the same mix, or within a ramp the
        frames at most ``RAMP_WINDOW`` away (its target moves, so only near frames aimed at nearly the same)."""
        if self.timeline is None:
            return [value for _, value in history]
        if self.ramping(index):
            return [value for frame, value in history if abs(frame - index) <= RAMP_WINDOW]
        mix = self.mix_at(index)
        return [value for frame, value in history if self.mix_at(frame) == mix]

    def catching_up(self, index: int, both_sides: bool = False) -> bool:
        """Whether the mix of frame ``index`` differs from one of the :data:`CATCH_UP_FRAMES` frames before it (or,
        ``both_sides``, after it too: a later pass holds a frame to both neighbours): its start, painted toward
        other targets, lags behind, so it gets a larger budget (:func:`catch_up`)."""
        if self.timeline is None:
            return False
        mix = self.mix_at(index)
        near = [index - d for d in range(1, CATCH_UP_FRAMES + 1) if index - d >= 0]
        if both_sides:
            near += [index + d for d in range(1, CATCH_UP_FRAMES + 1)]
        return any(self.mix_at(frame) != mix for frame in near)

    def at_key(self, index: int) -> bool:
        """Whether frame ``index`` is the first at a key's mix after the mix moved: where a ramp ends or a switch
        lands (not a ramp's step, nor a key that starts the next ramp)."""
        if self.timeline is None or index <= 0 or self.timeline.ramping(index):
            return False
        return mix_identity(self.timeline.mix_at(index)) != mix_identity(self.timeline.mix_at(index - 1))

    def switch_between(self, a: int, b: int) -> bool:
        """Whether the mix switches (a hold key, no ramp to it) between neighbouring frames ``a`` and ``b``: a later
        pass neither starts from nor holds a frame to a neighbour painted for the other mix."""
        low, high = min(a, b), max(a, b)
        return self.at_key(high) and not self.timeline.ramping(low)

    def catch_up(self, start, index: int, pass_index: int = 1, passes: int = 1):
        """``start`` with :data:`CATCH_UP` x its iterations when frame ``index`` is catching up with a moved mix,
        and with later passes in the run (``passes`` > 1) its temporal terms x :data:`CATCH_UP_HOLD`; in such a
        run the first pass repaints a key's frame coarse to fine (:data:`KEY_REPAINT_HALF`)."""
        if start is not None and passes > 1 and pass_index == 1 and self.at_key(index):
            return replace(start, budget=Budget(2, KEY_REPAINT_HALF, KEY_REPAINT_FULL, 0.0, residual=True),
                           temporal=[TemporalTerm(t.warped, t.weight * KEY_REPAINT_HOLD) for t in start.temporal])
        if start is None or not self.catching_up(index, both_sides=pass_index > 1):
            return start
        budget = replace(start.budget, iterations=start.budget.iterations * CATCH_UP,
                         fine_iterations=start.budget.fine_iterations * CATCH_UP)
        temporal = start.temporal if passes == 1 else [TemporalTerm(t.warped, t.weight * CATCH_UP_HOLD)
                                                       for t in start.temporal]
        return replace(start, budget=budget, temporal=temporal)

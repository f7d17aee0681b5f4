"""Per-frame temporal inputs for video: flows, reliability, cuts, warm start and temporal terms.

Flows depend only on the input frames, so :func:`prepare_frames` computes
them in a background thread while the previous frame is being optimised.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch

from ..config import RunConfig, TemporalConfig
from ..core.objective import TemporalTerm
from ..core.device import side_thread
from ..core.optimize import WARM_FIRST_STEP, pyramid_sizes
from ..core.tensors import luminance, to_tensor
from ..media.decode import Frame
from ..media.sizes import resize
from ..paint.start import Budget, Start
from ..motion.cuts import explained_fraction, histogram_correlation
from ..motion.estimate import resize_flow, resize_weights, to_grey
from ..motion.longterm import closest_first
from ..motion.reliability import FlowPair, checked_pair
from ..motion.warp import warp
from ..motion.pairs import PairStore
from ..motion.uncover import fill_uncovered, uncovered


@dataclass
class FramePrep:
    """One input frame at processing size, with what its optimisation needs from the past."""

    index: int
    content: np.ndarray  # uint8 (H, W, 3) RGB
    pts: int = 0  # source timestamp and duration, in the stream's time base
    duration: int = 1
    cut: bool = False  # first frame of a new shot (index 0 included)
    reliable_fraction: float | None = None  # of the short-term pair, reliable and matching (the cut cue)
    histogram_correlation: float | None = None
    # offset j -> (flow_bwd t -> t-j, reliability of frame t w.r.t. t-j), both (1, *, H, W)
    flows: dict[int, tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)
    # (flow of frame t-1 into this frame, on t-1's grid; frame t-1's reliability w.r.t. this frame): what a pass
    # running backwards warps with (prepare_frames' ``both_ways``; None across a cut or with a caller's flow)
    ahead_of_previous: tuple[torch.Tensor, torch.Tensor] | None = None
    # the pixels the short-term warm start fills (motion/uncover.py), found ahead, off the optimisation's thread
    uncovered: np.ndarray | None = None


def detect_cut(reliable_fraction: float, hist_corr: float, config: TemporalConfig) -> bool:
    """A hard cut: the flow explains too little of the frame, or the colour distribution jumps."""
    return reliable_fraction < config.cut_reliable_fraction or hist_corr < config.cut_histogram_correlation


def temporal_offsets(config: TemporalConfig) -> list[int]:
    """Offsets in use, closest first; 1 is always there (warm start and cut detection need it)."""
    return sorted(set(config.long_term) | {1}) if config.enabled else []


# (grey frame t, grey frame t-j, t, t-j) -> (flow_bwd, reliability), ``(1, *, H, W)`` at the greys' size, or the
# pair's flows both ways (a FlowPair)
FlowFunction = Callable[[np.ndarray, np.ndarray, int, int], "tuple[torch.Tensor, torch.Tensor] | FlowPair"]


def estimated_flow(config: TemporalConfig) -> FlowFunction:
    """The configured estimator and reliability check, both ways."""
    return lambda grey, earlier, _t, _s: checked_pair(grey, earlier, config.flow, config.reliability)


def prepare_frames(
    frames: Iterable[Frame],
    config: TemporalConfig,
    *,
    skip_before: int = 0,
    known_cuts: Mapping[int, bool] | None = None,
    size: tuple[int, int] | None = None,
    flow_size: tuple[int, int] | None = None,
    flow: FlowFunction | None = None,
    both_ways: bool = False,
    carried: int = 0,
    pairs: PairStore | None = None,
    uncover: bool = False,
) -> Iterator[FramePrep]:
    """Attach flows, reliability and cut flags to frames, keeping only the grey frames the offsets need.

    Frames are resized to ``size`` (processing) and, for the flow, to ``flow_size``; both default to
    the frames' own size. ``flow`` replaces the estimator (a caller's own flow, or the exact flow of a
    generated clip when measuring); what it returns is resized to the processing size. Frames before
    ``skip_before`` are finished already: they get no flow, and their cut flags come from
    ``known_cuts``. Nothing is warped across a cut. With ``both_ways`` each frame also carries the previous
    frame's flow into it (``ahead_of_previous``), for passes that run backwards. The first ``carried`` frames
    (a chunk's carry: moved along, not painted) get only their short-term flow, read from ``pairs`` where it
    keeps them (video/pairs.py); a ``pairs`` store that is ``writing`` keeps every short-term pair computed.
    With ``uncover`` each frame also gets the pixels its warm start fills (``uncovered``), found here, in the
    prefetch thread, rather than on the optimisation's.
    """
    known_cuts = known_cuts or {}
    estimate = flow or estimated_flow(config)
    ahead: list = []  # the forward half of the last short-term pair, at the processing size

    def flow_at(grey: np.ndarray, earlier: np.ndarray, t: int, s: int, size: tuple[int, int]):
        found = estimate(grey, earlier, t, s)
        bwd, mask = (found.backward, found.backward_reliable) if isinstance(found, FlowPair) else found
        if both_ways and s == t - 1:
            ahead[:] = [(resize_flow(found.forward, size), resize_weights(found.forward_reliable, size))
                        if isinstance(found, FlowPair) else None]
        return (resize_flow(bwd, size), resize_weights(mask, size)), explained_fraction(grey, earlier, bwd, mask)

    offsets = temporal_offsets(config)
    keep = max(offsets, default=1)
    greys: dict[int, np.ndarray] = {}
    previous: np.ndarray | None = None
    shot_start = 0
    for index, frame in enumerate(frames):
        content = frame.image if size is None else resize(frame.image, *size)
        grey = to_grey(content if flow_size is None else resize(frame.image, *flow_size))
        prep = FramePrep(index, content, frame.pts, frame.duration, cut=index == 0)
        if index < skip_before:
            prep.cut = index == 0 or bool(known_cuts.get(index))
        elif offsets and previous is not None:
            prep.histogram_correlation = histogram_correlation(content, previous)
            kept = pairs.load(index) if pairs is not None and not pairs.writing and index < carried else None
            if kept is None:
                kept = flow_at(grey, greys[index - 1], index, index - 1, content.shape[:2])
                if pairs is not None and pairs.writing:
                    pairs.save(index, *kept[0], kept[1])
            else:
                ahead.clear()  # a kept pair has no forward half (a carried frame is never painted by a pass)
            (bwd, mask), prep.reliable_fraction = kept
            prep.cut = detect_cut(prep.reliable_fraction, prep.histogram_correlation, config)
            if not prep.cut:
                prep.flows[1] = (bwd, mask)
                if uncover:
                    prep.uncovered = uncovered(content, previous, bwd, mask, config.uncover_margin)
                prep.ahead_of_previous = ahead[0] if ahead else None
                for j in offsets[1:] if index >= carried else []:
                    if index - j >= shot_start:
                        prep.flows[j] = flow_at(grey, greys[index - j], index, index - j, content.shape[:2])[0]
        if prep.cut:
            shot_start = index
        greys[index] = grey
        greys.pop(index - keep, None)
        previous = content
        yield prep


class Prefetch:
    """Iterate ``items`` in a background thread, ``depth`` ahead: decode and flow leave the critical path.

    Use it as a context manager: leaving the block (normally, by an error, a
    Ctrl-C or SIGTERM) stops the worker and waits for it, so no thread is
    still inside OpenCV when the interpreter exits.
    """

    def __init__(self, items: Iterator[FramePrep], depth: int = 2) -> None:
        self._items = items
        self._buffer: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = object()
        self._worker = threading.Thread(target=self._produce, name="vidstyle-prefetch", daemon=True)

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._buffer.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _produce(self) -> None:
        try:
            with side_thread():
                self._produce_all()
        except BaseException as exc:  # handed to the consumer, which re-raises it
            self._put(exc)
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()  # release the decoder in the thread that used it

    def _produce_all(self) -> None:
        for item in self._items:
            if not self._put(item):
                return
        self._put(self._done)

    def __enter__(self) -> Prefetch:
        self._worker.start()
        return self

    def __iter__(self) -> Iterator[FramePrep]:
        while True:
            item = self._buffer.get()
            if item is self._done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._worker.join()


def stop_rule(style_level: float | None, config: RunConfig) -> Callable[[dict], bool] | None:
    """``may_stop`` for a warm frame: early stopping waits until the frame's style loss is within
    ``style_guard`` of its shot's median so far (a frame that quits early in a bad state is a visible flash)."""
    guard = config.temporal.style_guard
    if not style_level or guard <= 0:
        return None
    limit = guard * style_level
    return lambda terms: terms["style"] <= limit


def guard_size(height: int, width: int, config: RunConfig) -> tuple[int, int]:
    """The size at which a later frame's early stop is judged: its coarsest pyramid level."""
    return pyramid_sizes(height, width, config.temporal.scales)[0]


def warm_start(prep: FramePrep, stylized: Mapping[int, np.ndarray], target: torch.Tensor, shot_start: int,
               config: RunConfig, style_level: float | None = None,
               contents: Mapping[int, np.ndarray] | None = None) -> Start | None:
    """Ruder's ``prevWarped`` start of a later frame, with its temporal terms (closest-first long-term weights)
    and the later frames' budget; None when no earlier frame of the shot is at hand (then it is a cold start).

    ``stylized`` maps earlier frame indices to their stylized ``uint8`` frames. The init is the closest
    earlier frame warped, unreliable pixels included (as Ruder et al.): pixels that start from the raw
    content need many iterations to look painted, and a frame that stops before would speckle (measured
    in BENCHMARKS.md, stability). The budget is the later frames' (by default a few full-size steps); a
    frame may stop early only once it is as stylized as its shot (``style_level``: the shot's median style
    loss at its coarsest level). With ``later_scales`` 2 a full-size level refines the warped detail after
    the half-size one (residual). With colour preservation the warped frames are compared by luminance.
    Given the earlier frames' ``contents`` (inputs at processing size), the pixels a moving object uncovers
    start from the paint around them instead (``fill_uncovered``; motion/uncover.py).
    """
    grey = config.style.preserve_colors
    warped, masks = [], []
    for j in sorted(prep.flows):
        if prep.index - j < shot_start or prep.index - j not in stylized:
            continue
        flow_bwd, mask = prep.flows[j]
        # Lanczos (on the CPU, where the frames and flows are): every warp resamples the paint, and the loss
        # compounds over a shot (sharpness of later frames 0.46-0.80 of the first's with bilinear; under a moving
        # camera 0.77-0.91 bicubic, 0.89-1.01 Lanczos; BENCHMARKS.md, stability).
        earlier = to_tensor(stylized[prep.index - j])
        image = warp(earlier, flow_bwd.cpu(), "lanczos").clamp(0, 1)
        if not warped and config.temporal.fill_uncovered and contents and prep.index - j in contents:
            hole = prep.uncovered if j == 1 and prep.uncovered is not None else \
                uncovered(prep.content, contents[prep.index - j], flow_bwd, mask,
                          config.temporal.uncover_margin)
            image, mask = _uncover(image, hole, flow_bwd.cpu(), mask.cpu())
        image = image.to(target.device)
        warped.append(luminance(image) if grey else image)
        masks.append(mask.to(target.device))
    if not warped:
        return None
    temporal = config.temporal
    budget = Budget(temporal.scales, temporal.iterations, temporal.fine_iterations, temporal.tolerance,
                    residual=True, may_stop=stop_rule(style_level, config), stop_level=0, first_step=WARM_FIRST_STEP)
    return Start(warped[0].clone(), budget, [TemporalTerm(w, c) for w, c in zip(warped, closest_first(masks))])


def _uncover(image: torch.Tensor, hole: np.ndarray, flow_bwd: torch.Tensor, mask: torch.Tensor
             ) -> tuple[torch.Tensor, torch.Tensor]:
    """The warped start with the ``hole`` pixels filled, and the mask without them (their warp is no target)."""
    if not hole.any():
        return image, mask
    keep = torch.from_numpy(~hole).to(mask.dtype)[None, None]
    return fill_uncovered(image, flow_bwd, hole), mask * keep


def settle_start(frame: np.ndarray, target: torch.Tensor, config: RunConfig) -> Start:
    """A shot's first frame once more, from its cold result, the way every later frame is optimised: the later
    frames' levels and budget, held by a temporal term to the cold result itself (every pixel reliable).

    A cold start ends at the full-size optimum; a later frame, held by the temporal term and on a short
    budget, settles the style elsewhere. Without this pass the shot's first warm frame jumps to that
    equilibrium, a visible flash (the largest frame-to-frame change of the clip; BENCHMARKS.md, stability);
    with it the jump happens inside the first frame, at the price of one later frame's time per shot.
    """
    image = to_tensor(frame, target.device)
    image = luminance(image) if config.style.preserve_colors else image
    temporal = config.temporal
    budget = Budget(temporal.scales, temporal.iterations, temporal.fine_iterations, temporal.tolerance,
                    residual=True, stop_level=0, first_step=WARM_FIRST_STEP)
    return Start(image.clone(), budget, [TemporalTerm(image, torch.ones_like(image[:, :1]))])

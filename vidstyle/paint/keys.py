"""Style keys: a mix of styles that changes over a clip's time.

A key is ``TIME=STYLES``: at ``TIME`` (seconds, ``4s``, or a frame, ``96f``) the mix is ``STYLES``. The clip's
``styles`` are the mix at its start. Between two keys each style's weight moves in a straight line, so each
layer's target Gram (the weighted sum of the styles' Grams) moves smoothly too. ``TIME:hold=STYLES`` holds the
mix before it instead, and changes to ``STYLES`` at once at ``TIME``. A scene cut inside a ramp ends the ramp:
from the cut on, the shot has the mix the ramp was heading to (a ramp never runs across two shots).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise

from ..config import SettingError
from ..core.styles import StyleEntry, parse_style_spec
from ..media.decode import Position, parse_position

HOLD = ":hold"
Mix = tuple[StyleEntry, ...]


@dataclass(frozen=True)
class StyleKey:
    """A key as the user wrote it, parsed: where, which mix, and how the mix before it gets there."""

    at: Position
    styles: Mix
    hold: bool = False
    text: str = ""

    def __str__(self) -> str:
        return self.text

    @property
    def when(self) -> str:
        """The key's time as written (``4s``, ``96f:hold``)."""
        return self.text.partition("=")[0].strip()


def key_time(text: str) -> tuple[Position, bool, str]:
    """A key's ``TIME`` (and whether it holds) and its ``STYLES`` text, the styles not yet resolved."""
    when, sep, styles = str(text).partition("=")
    if not sep or not when.strip() or not styles.strip():
        raise ValueError(f"expected TIME=STYLES like 4s=picasso, 96f=matisse:0.5,leger:0.5 or 4s:hold=picasso, "
                         f"got {text!r}")
    when = when.strip()
    hold = when.lower().endswith(HOLD)
    if hold:
        when = when[:-len(HOLD)]
    try:
        return parse_position(when), hold, styles
    except ValueError:
        raise ValueError(f"expected a time like 4s, 2.5 or 96f before '=' in {text!r}, got {when!r}") from None


def parse_style_key(text: str) -> StyleKey:
    """``"4s=picasso"``, ``"96f=matisse:0.5,leger:0.5"`` or ``"4s:hold=picasso"`` -> :class:`StyleKey`."""
    at, hold, styles = key_time(text)
    return StyleKey(at, parse_style_spec(styles), hold, str(text).strip())


def key_frame(at: Position, fps: Fraction) -> int:
    """The frame index (in the range) a key's time falls on: the first frame at or after it."""
    if at.frame is not None:
        return at.frame
    frame = at.seconds * fps
    return int(frame) if frame == int(frame) else int(frame) + 1


def resolve_keys(keys: Sequence[StyleKey], fps: Fraction, frames: int | None, key: str = "style_key"
                 ) -> list[tuple[int, StyleKey]]:
    """Keys by frame in the clip, checked: none past its ``frames`` (when known), no two on one frame. Errors name
    each key by its time as written."""
    placed = sorted(((key_frame(k.at, fps), k) for k in keys), key=lambda p: p[0])
    for frame, style_key in placed:
        if frames is not None and frame >= frames:
            raise SettingError(key, f"the key at {style_key.when} falls on frame {frame}, past the clip's end "
                                    f"({frames} frames, {float(frames / fps):.2f} s)")
    for (a, first), (b, second) in pairwise(placed):
        if a == b:
            raise SettingError(key, f"the keys at {first.when} and {second.when} fall on the same frame {a}")
    return placed


def blend(a: Mix, b: Mix, t: float) -> Mix:
    """The mix ``t`` of the way from ``a`` to ``b``: each style's weight in a straight line (one entry per file)."""
    if t <= 0:
        return a
    if t >= 1:
        return b
    weights: dict = {}
    sources: dict = {}
    for entries, share in ((a, 1 - t), (b, t)):
        for entry in entries:
            weights[entry.path] = weights.get(entry.path, 0.0) + share * entry.weight
            sources.setdefault(entry.path, entry.source)
    return tuple(StyleEntry(sources[p], p, w) for p, w in weights.items() if w > 0)


@dataclass
class Timeline:
    """The mix of every frame of a range: ``base`` from frame ``base_frame`` on (the clip's start: below 0 when
    the range starts later), then the ``keys`` by frame (in the range's numbering). ``cuts`` are the shots'
    first frames seen so far (a ramp ends at one); a frame only looks back at cuts, so every pass agrees."""

    base: Mix
    keys: list[tuple[int, StyleKey]]
    base_frame: int = 0
    cuts: set[int] = field(default_factory=set)

    def __post_init__(self) -> None:
        points = [(self.base_frame, self.base, False)] + [(f, k.styles, k.hold) for f, k in self.keys]
        if len(points) > 1 and points[1][0] <= self.base_frame:  # a key at the clip's start is the start's mix
            points.pop(0)
        self._points = points
        self._mixes: dict[int, Mix] = {}  # by frame; a new cut clears it (a frame's mix depends on the cuts before)

    def note_cuts(self, frames: Iterable[int]) -> None:
        new = {f for f in frames if f > 0} - self.cuts
        if new:
            self.cuts.update(new)
            self._mixes.clear()

    def segment(self, frame: int) -> int:
        """Which stretch between keys ``frame`` is in (0: before the first key after the start)."""
        return max(0, sum(1 for start, _, _ in self._points if start <= frame) - 1)

    def ramping(self, frame: int) -> bool:
        """Whether the mix is moving at ``frame`` (within a ramp between two keys, no cut since its start)."""
        index = self.segment(frame)
        if index + 1 >= len(self._points):
            return False
        start, _, _ = self._points[index]
        _, _, hold = self._points[index + 1]
        return not hold and not any(start < c <= frame for c in self.cuts)

    def aimed(self, frame: int, lead: int) -> Mix:
        """The mix ``lead`` frames after ``frame`` within its ramp, never past the key the ramp ends at: what a frame
        is painted toward so that, lagging behind a moving target, it shows about its own mix. Outside a ramp (a
        hold, after the last key, after a cut that ended the ramp) the frame's own mix."""
        if lead <= 0 or not self.ramping(frame):
            return self.mix_at(frame)
        end = self._points[self.segment(frame) + 1][0]
        return self.mix_at(min(frame + lead, end))

    def mix_at(self, frame: int) -> Mix:
        """The mix of ``frame`` (asked for every pyramid level and by the guards: computed once per frame)."""
        if frame not in self._mixes:
            self._mixes[frame] = self._mix(frame)
        return self._mixes[frame]

    def _mix(self, frame: int) -> Mix:
        index = self.segment(frame)
        start, mix, _ = self._points[index]
        if index + 1 >= len(self._points):
            return mix
        end, following, hold = self._points[index + 1]
        if hold:
            return mix
        if any(start < c <= frame for c in self.cuts):
            return following
        return blend(mix, following, (frame - start) / (end - start))


def mix_identity(mix: Mix) -> tuple:
    return tuple((entry.path, entry.weight) for entry in mix)

"""Decoding: upright RGB frames with their source timestamps, colour converted by the stream's own tags.

Ranges are found by timestamp: ``--start`` seeks (to the keyframe before it,
then decodes forward), ``--end`` stops decoding; a position given in frames
("75f") is turned into a timestamp by reading packet headers, not by decoding.
"""

from __future__ import annotations

import heapq
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import Interpolation

from ..config import SettingError
from .errors import MediaError
from .probe import MATRICES, RANGE_FULL, RANGE_LIMITED, VideoInfo, probe

REORDER_WINDOW = 32  # packets arrive in decode order; presentation order is at most this far off
# swscale's defaults round with a bias and interpolate chroma coarsely: one level off, twice per round trip.
ACCURATE = Interpolation.BICUBIC | Interpolation.ACCURATE_RND | Interpolation.FULL_CHR_H_INT


@dataclass(frozen=True)
class Position:
    """A point in a clip as the user wrote it: a frame index or a time in seconds."""

    frame: int | None = None
    seconds: Fraction | None = None

    def __str__(self) -> str:
        return f"{self.frame}f" if self.frame is not None else f"{float(self.seconds):g}s"


def parse_position(text: str) -> Position:
    """``"12f"`` is frame 12; ``"2.5"`` or ``"2.5s"`` is 2.5 seconds."""
    value = text.strip().lower()
    try:
        if value.endswith("f"):
            position = Position(frame=int(value[:-1]))
            if position.frame < 0:
                raise ValueError
            return position
        seconds = Fraction(value[:-1] if value.endswith("s") else value)
    except (ValueError, ZeroDivisionError):
        raise ValueError(f"expected a position like 2.5, 2.5s or 75f, got {text!r}") from None
    if seconds < 0:
        raise ValueError(f"expected a position >= 0, got {text!r}")
    return Position(seconds=seconds)


def not_after(a: Position, b: Position) -> bool:
    """``a <= b`` when both are in the same unit (mixed units are checked once decoded)."""
    if a.frame is not None and b.frame is not None:
        return a.frame <= b.frame
    if a.seconds is not None and b.seconds is not None:
        return a.seconds <= b.seconds
    return False


def check_order(start: Position | None, end: Position | None) -> None:
    """Refuse an ``end`` at or before ``start`` (when both are in one unit; mixed units are checked once decoded)."""
    if start is not None and end is not None and not_after(end, start):
        raise SettingError("start", f"expected `start` before `end`, got {str(start)!r} and {str(end)!r}")


def check_range(path: Path | str, start: Position | None, end: Position | None, info: VideoInfo) -> None:
    """Refuse a range out of order, or one in which no frame of ``path`` decodes, before any work."""
    check_order(start, end)
    if next(read_frames(path, start, end, info), None) is None:
        raise ValueError(f"expected frames in {os.fspath(path)!r} within the range, got none that decode")


@dataclass(frozen=True)
class Frame:
    """One decoded frame: ``image`` is ``uint8 (H, W, 3)`` RGB, upright."""

    index: int  # position in the decoded range, from 0
    pts: int  # source timestamp, in the stream's time base
    duration: int  # ticks until the next frame (the stream's nominal duration for the last one)
    image: np.ndarray


def _open(path: Path) -> tuple[av.container.InputContainer, av.VideoStream]:
    try:
        container = av.open(os.fspath(path))
    except av.FFmpegError:
        raise ValueError(f"expected a video file, got {os.fspath(path)!r} (not a video or corrupt)") from None
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"  # frame threads: decoding leaves the critical path's cores mostly free
    return container, stream


def frame_pts(info: VideoInfo, index: int) -> int | None:
    """Timestamp of the ``index``-th frame in presentation order, from packet headers (None: past the end)."""
    container, stream = _open(info.path)
    heap: list[int] = []
    seen = 0
    try:
        for packet in container.demux(stream):
            if packet.pts is None or packet.size == 0:
                continue
            heapq.heappush(heap, packet.pts)
            seen += 1
            if seen > index + REORDER_WINDOW:
                break
    finally:
        container.close()
    if len(heap) <= index:
        return None
    return heapq.nsmallest(index + 1, heap)[-1]


def count_frames(info: VideoInfo, start: Position | None = None, end: Position | None = None) -> int:
    """Frames in ``[start, end)`` counted from packet headers, without decoding (fast even for long files)."""
    return len(range_stamps(info, start, end))


def range_stamps(info: VideoInfo, start: Position | None = None, end: Position | None = None) -> list[int]:
    """The timestamps of the frames in ``[start, end)``, in presentation order, from packet headers (no decoding)."""
    first, last = position_pts(info, start), position_pts(info, end)
    if start is not None and first is None:
        return []
    container, stream = _open(info.path)
    try:
        return sorted(p.pts for p in container.demux(stream) if p.pts is not None and p.size
                      and (first is None or p.pts >= first) and (last is None or p.pts < last))
    finally:
        container.close()


def position_pts(info: VideoInfo, position: Position | None) -> int | None:
    """A position as a source timestamp (None: the clip's end, or before its start for no position)."""
    if position is None:
        return None
    if position.frame is not None:
        return frame_pts(info, position.frame)
    return info.start_pts + int(position.seconds / info.time_base)


def _matrix(info: VideoInfo, frame: av.VideoFrame) -> int:
    """The YUV->RGB matrix: the stream's tag; untagged, what players assume (BT.709 for HD, BT.601 for SD)."""
    if frame.colorspace in MATRICES:
        return int(frame.colorspace)
    if info.colour.tagged:
        return info.colour.matrix
    return 1 if max(frame.width, frame.height) >= 1280 or min(frame.width, frame.height) >= 720 else 5


def to_rgb(info: VideoInfo, frame: av.VideoFrame) -> np.ndarray:
    """A decoded frame as upright ``uint8 (H, W, 3)`` RGB, converted with its own matrix and range."""
    full = frame.color_range == RANGE_FULL or frame.format.name.startswith("yuvj")
    image = frame.to_ndarray(format="rgb24", src_colorspace=_matrix(info, frame),
                             src_color_range=RANGE_FULL if full else RANGE_LIMITED, dst_color_range=RANGE_FULL,
                             interpolation=ACCURATE)
    return np.ascontiguousarray(np.rot90(image, info.rotation // 90)) if info.rotation else image


def nominal_duration(info: VideoInfo) -> int:
    """One frame's duration at the stream's nominal rate, in its ticks: what :func:`read_frames` gives a range's last
    frame (no next frame is decoded to time it)."""
    return max(1, round(1 / (info.fps * info.time_base)))


def read_frames(path: Path | str, start: Position | None = None, end: Position | None = None,
                info: VideoInfo | None = None) -> Iterator[Frame]:
    """Stream the frames ``start <= t < end`` (never the whole clip in memory; never decoded past ``end``)."""
    info = info or probe(path)
    first = position_pts(info, start) if start is not None else None
    if start is not None and first is None:
        return  # starts past the end: no frames
    last = position_pts(info, end)
    container, stream = _open(info.path)
    nominal = nominal_duration(info)
    try:
        if first is not None and first > info.start_pts:
            container.seek(first, stream=stream, backward=True)
        index, pending = 0, None
        for frame in container.decode(stream):
            pts = frame.pts if frame.pts is not None else (pending[0] + nominal if pending else info.start_pts)
            if first is not None and pts < first:
                continue
            if last is not None and pts >= last:
                break
            if pending is not None:  # a frame's duration is known once the next one arrives
                yield Frame(index, pending[0], pts - pending[0], pending[1])
                index += 1
            pending = (pts, to_rgb(info, frame))
        if pending is not None:
            yield Frame(index, pending[0], nominal, pending[1])
    except av.FFmpegError as exc:
        raise MediaError(f"could not decode {os.fspath(info.path)!r}: {exc}") from None
    finally:
        container.close()


def iter_frames(path: Path | str, start: Position | None = None, end: Position | None = None,
                info: VideoInfo | None = None) -> Iterator[np.ndarray]:
    """Just the images of :func:`read_frames`."""
    return (frame.image for frame in read_frames(path, start, end, info))

"""Container facts from PyAV (FFmpeg's libraries): size, rotation, exact rates, timestamps, colour tags, audio.

Nothing here parses ffmpeg's human-readable output.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from .errors import MediaError

# FFmpeg's colour enums (libavutil/pixfmt.h), the values PyAV reports.
MATRICES = {1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020nc", 10: "bt2020c"}
PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 9: "bt2020"}
TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear", 13: "iec61966-2-1",
             14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
RANGE_LIMITED, RANGE_FULL = 1, 2


@dataclass(frozen=True)
class Colour:
    """Colour tags of a stream (FFmpeg enum values; 2 or 0 = unspecified)."""

    matrix: int = 2
    primaries: int = 2
    transfer: int = 2
    range: int = 0

    @property
    def tagged(self) -> bool:
        return self.matrix in MATRICES

    def describe(self) -> str:
        full = {RANGE_FULL: "full", RANGE_LIMITED: "limited"}.get(self.range, "unspecified")
        return f"matrix {MATRICES.get(self.matrix, 'unspecified')}, {full} range"


@dataclass(frozen=True)
class AudioStream:
    index: int
    codec: str
    channels: int
    sample_rate: int


@dataclass(frozen=True)
class VideoInfo:
    """What a player needs to know of a video file, read without decoding it."""

    path: Path
    width: int  # as displayed: after rotation
    height: int
    rotation: int  # degrees counter-clockwise to turn decoded frames upright: 0, 90, 180 or 270
    fps: Fraction  # the stream's (average) frame rate, exact
    time_base: Fraction  # seconds per pts tick
    start_pts: int  # pts of the first frame (the stream's start time)
    container_start: Fraction  # seconds: what ffmpeg's -ss counts from
    duration: Fraction | None  # seconds, when the container says
    claimed_frames: int | None  # the container's frame count, when it states one (a hint, not always right)
    colour: Colour
    audio: tuple[AudioStream, ...]

    @property
    def has_audio(self) -> bool:
        return bool(self.audio)

    def estimated_frames(self) -> int | None:
        """Frame count the container implies (exact count comes from decoding)."""
        if self.claimed_frames:
            return self.claimed_frames
        if self.duration is not None:
            return max(1, round(self.duration * self.fps))
        return None


def _rotation(stream) -> int:
    """The display matrix's rotation, read from the first decoded frame (PyAV applies none)."""
    for frame in stream.container.decode(stream):
        return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    return 0


def probe(path: Path | str) -> VideoInfo:
    """Read a video's facts; a file that is not a video gets one clear ``ValueError``."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"video {os.fspath(path)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"video {os.fspath(path)!r} is a directory: expected a video file")
    try:
        container = av.open(os.fspath(path))
    except av.FFmpegError:
        raise ValueError(f"expected a video file, got {os.fspath(path)!r} (not a video or corrupt)") from None
    try:
        if not container.streams.video:
            raise ValueError(f"expected a video stream in {os.fspath(path)!r}, got none")
        stream = container.streams.video[0]
        context = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or not context.width or not context.height:
            raise ValueError(f"expected a video with frames and a frame rate, got none in {os.fspath(path)!r}")
        time_base = Fraction(stream.time_base)
        duration = (Fraction(stream.duration) * time_base if stream.duration
                    else Fraction(container.duration, av.time_base) if container.duration else None)
        colour = Colour(int(context.colorspace), int(context.color_primaries), int(context.color_trc),
                        int(context.color_range))
        audio = tuple(AudioStream(a.index, a.codec_context.name, a.codec_context.channels, a.codec_context.sample_rate)
                      for a in container.streams.audio)
        try:
            rotation = _rotation(stream)
        except av.FFmpegError:
            raise ValueError(f"expected a decodable video, got {os.fspath(path)!r} (its frames do not decode)") from None
        width, height = (context.height, context.width) if rotation in (90, 270) else (context.width, context.height)
        start = Fraction(container.start_time or 0, av.time_base)
        return VideoInfo(path, width, height, rotation, Fraction(rate), time_base, stream.start_time or 0, start,
                         duration, stream.frames or None, colour, audio)
    except av.FFmpegError as exc:
        raise MediaError(f"could not read {os.fspath(path)!r}: {exc}") from None
    finally:
        container.close()

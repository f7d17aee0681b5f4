"""Encoding: H.264 yuv420p MP4 with exact timestamps and colour tags (PyAV), audio muxed by ffmpeg.

* Containers: MP4 (.mp4, .m4v) is written as encoded; MOV and Matroska (.mov, .mkv) get the same H.264 stream
  remuxed; WebM is that stream re-encoded by ffmpeg to VP9 (constant quality) with Opus audio; an animated GIF
  (.gif) gets a palette of its own (ffmpeg's palettegen), no audio.

* Colour: RGB -> YUV with the matrix the output is tagged with (the source's
  own when it has one of the usual ones, BT.709 otherwise), limited range;
  matrix, primaries, transfer and range are written into the stream.
* Time: a source whose frames sit on its nominal grid (within 1 ms, e.g. a
  Matroska file's millisecond rounding) is written at its exact rational rate;
  anything else (phones record variable frame rate) keeps every source timestamp.
* Audio: the source's stream over the same span, stream-copied, or re-encoded
  to AAC when MP4 cannot hold it.
* Repeatable: the same frames give the same H.264 stream (:func:`x264_params`), so a resumed render's file equals
  an uninterrupted one's.
"""

from __future__ import annotations

import functools
import importlib
import logging
import os
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .errors import MediaError
from .decode import ACCURATE
from ..config import VideoConfig
from .probe import PRIMARIES, RANGE_FULL, RANGE_LIMITED, TRANSFERS, Colour, VideoInfo
from .sizes import resize

log = logging.getLogger(__name__)
# The outputs a clip may be written to, and ffmpeg's muxer for each.
VIDEO_OUTPUTS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".webm": "webm", ".gif": "gif"}
VP9_CRF = 31  # libvpx-vp9's constant quality for WebM (0-63; 31 is its documented 1080p starting point)
BT709 = Colour(matrix=1, primaries=1, transfer=1, range=RANGE_LIMITED)
OUTPUT_MATRICES = (1, 5, 6, 9)  # bt709, bt470bg, smpte170m, bt2020nc: what players handle everywhere


def x264_params() -> dict[str, str]:
    """Options that make libx264's output depend on its input only.

    On a CPU with AVX-512 the x264 that PyAV ships takes code paths whose output varies from one encode of the
    same frames to the next (B-frames with mb-tree; measured on a Zen 4: up to 7 different streams in 20 encodes,
    decoded frames up to 30 levels apart), so a resumed render would not equal an uninterrupted one, nor a run
    the one before. With its CPU features capped at AVX2 (which every AVX-512 CPU has, with FMA3, BMI2 and
    LZCNT) 60 encodes out of 60 were the same, as fast. Elsewhere x264 detects the CPU itself.
    """
    return {"x264-params": "asm=AVX2,LZCNT"} if _has_avx512() else {}


@functools.cache
def _has_avx512() -> bool:
    """Whether x264 would take its AVX-512 paths here (it needs F, CD, BW, DQ and VL)."""
    features = None
    for module in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):  # numpy's own detection (2.x, 1.x)
        try:
            features = importlib.import_module(module).__cpu_features__
            break
        except (ImportError, AttributeError):
            continue
    if isinstance(features, dict) and "AVX512_SKX" in features:
        return bool(features["AVX512_SKX"])  # F, CD, BW, DQ and VL
    try:
        flags = next(line for line in Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("flags"))
    except (OSError, StopIteration):
        return False
    return all(f" {flag}" in flags for flag in ("avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"))


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def output_colour(source: Colour | None) -> Colour:
    """The output's tags: the source's (limited range) when its matrix is a common one, else BT.709."""
    if source is None or source.matrix not in OUTPUT_MATRICES:
        return BT709
    primaries = source.primaries if source.primaries in PRIMARIES else BT709.primaries
    transfer = source.transfer if source.transfer in TRANSFERS else BT709.transfer
    return Colour(source.matrix, primaries, transfer, RANGE_LIMITED)


@dataclass(frozen=True)
class Timing:
    """Output timestamps ``pts`` (from 0) in ``time_base`` seconds per tick, and the nominal ``rate``."""

    pts: tuple[int, ...]
    time_base: Fraction
    rate: Fraction
    end: int  # the end of the last frame, in ticks: the video's duration

    @property
    def duration(self) -> Fraction:
        return self.end * self.time_base

    @classmethod
    def from_source(cls, pts: Sequence[int], durations: Sequence[int], time_base: Fraction, rate: Fraction) -> Timing:
        """Constant rate when every frame sits within 1 ms of ``start + k / rate``, else the source's own times."""
        if not pts:
            raise ValueError("expected at least one frame to encode, got none")
        start = pts[0]
        seconds = [(p - start) * time_base for p in pts]
        tolerance = max(Fraction(1, 1000), time_base)
        if all(abs(t - Fraction(k) / rate) <= tolerance for k, t in enumerate(seconds)):
            return cls(tuple(range(len(pts))), 1 / rate, rate, len(pts))
        relative = tuple(p - start for p in pts)
        return cls(relative, time_base, rate, relative[-1] + max(1, durations[-1]))


def _yuv(image: np.ndarray, colour: Colour) -> av.VideoFrame:
    frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
    return frame.reformat(format="yuv420p", dst_colorspace=colour.matrix, src_color_range=RANGE_FULL,
                          dst_color_range=RANGE_LIMITED, interpolation=ACCURATE)


def write_video_stream(images: Iterable[np.ndarray], timing: Timing, target: Path, *, size: tuple[int, int],
                       colour: Colour = BT709, crf: int = 18, preset: str = "medium") -> None:
    """Encode RGB ``images`` (resized to ``size`` = (width, height), both even) to an MP4 at ``target``."""
    width, height = size
    if width % 2 or height % 2:
        raise ValueError(f"expected an even output size for yuv420p, got {width}x{height}")
    container = av.open(os.fspath(target), mode="w", format="mp4", options={"movflags": "+faststart"})
    try:
        stream = container.add_stream("libx264", rate=timing.rate)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = timing.time_base
        stream.codec_context.time_base = timing.time_base
        stream.options = {"crf": str(crf), "preset": preset, **x264_params()}
        context = stream.codec_context
        context.colorspace, context.color_range = colour.matrix, colour.range
        context.color_primaries, context.color_trc = colour.primaries, colour.transfer
        count = 0
        for image, pts in zip(images, timing.pts):
            frame = _yuv(resize(image, height, width), colour)
            frame.pts, frame.time_base = pts, timing.time_base
            container.mux(stream.encode(frame))
            count += 1
        if count != len(timing.pts):
            raise ValueError(f"expected {len(timing.pts)} frames to encode, got {count}")
        container.mux(stream.encode(None))
    except av.FFmpegError as exc:
        raise MediaError(f"could not encode {os.fspath(target)!r}: {exc}") from None
    finally:
        container.close()


@dataclass(frozen=True)
class AudioCut:
    """The source's audio from ``start`` seconds (counted as ffmpeg's -ss counts) for ``duration`` seconds."""

    source: Path
    start: Fraction
    duration: Fraction


def remux(video: Path, audio: AudioCut | None, target: Path, muxer: str = "mp4") -> None:
    """``video``'s H.264 stream plus the cut of the source's first audio stream, into ``target`` with ffmpeg's
    ``muxer`` (:data:`VIDEO_OUTPUTS`): the video stream copied (re-encoded to VP9 for WebM, to a GIF with its own
    palette), the audio copied where the container holds it, else re-encoded (AAC; Opus in WebM; none in a GIF)."""
    base = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-i", os.fspath(video)]
    if audio is not None and muxer != "gif":
        base += ["-ss", f"{float(audio.start):.6f}", "-t", f"{float(audio.duration):.6f}", "-i",
                 os.fspath(audio.source), "-map", "0:v:0", "-map", "1:a:0"]
        # No -shortest: it can drop the last video frame when AAC audio ends a few ms early.
        attempts = ([["-c:a", "libopus", "-b:a", "160k"]] if muxer == "webm"
                    else [["-c:a", "copy"], ["-c:a", "aac", "-b:a", "192k"]])
    else:
        base += [] if muxer == "gif" else ["-map", "0:v:0"]  # a GIF's filter graph names its own output
        attempts = [["-an"]]
    if muxer == "webm":
        base += ["-c:v", "libvpx-vp9", "-crf", str(VP9_CRF), "-b:v", "0", "-row-mt", "1", "-pix_fmt", "yuv420p"]
    elif muxer == "gif":
        base += ["-filter_complex", "[0:v]split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer",
                 "-loop", "0"]
    else:
        base += ["-c:v", "copy"]
    tail = ["-movflags", "+faststart"] if muxer in ("mp4", "mov") else []
    error = ""
    for codec in attempts:
        result = subprocess.run(base + codec + tail + ["-f", muxer, os.fspath(target)], capture_output=True, text=True)
        if result.returncode == 0:
            return
        error = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        log.info("ffmpeg could not write %s with %s: %s", muxer, codec, error)
    if audio is not None and muxer != "gif":
        raise MediaError(f"ffmpeg could not add the audio of {os.fspath(audio.source)!r}: {error}")
    raise MediaError(f"ffmpeg could not write {os.fspath(target)!r}: {error}")


def encode_video(images: Iterable[np.ndarray], timing: Timing, output: Path, *, size: tuple[int, int],
                 colour: Colour = BT709, crf: int = 18, preset: str = "medium", audio: AudioCut | None = None,
                 scratch: Path | None = None) -> None:
    """Write the final video atomically (its container from the suffix, :data:`VIDEO_OUTPUTS`): it appears under
    ``output`` only when complete.

    Work files go to ``scratch`` (a run's work directory; default: beside the
    output) under fixed names, so an encode killed midway leaves nothing that
    the next run does not overwrite or remove.
    """
    output = Path(output)
    muxer = VIDEO_OUTPUTS.get(output.suffix.lower())
    if muxer is None:
        raise ValueError(f"expected a video output ending in {', '.join(VIDEO_OUTPUTS)}, got {os.fspath(output)!r}")
    folder = Path(scratch) if scratch is not None else output.parent
    stream, muxed = folder / f".{output.name}.video.part.mp4", folder / f".{output.name}.part{output.suffix}"
    as_written = audio is None and muxer == "mp4"  # else the stream goes through ffmpeg once more
    try:
        write_video_stream(images, timing, stream, size=size, colour=colour, crf=crf, preset=preset)
        if not as_written:
            remux(stream, audio, muxed, muxer)
        os.replace(stream if as_written else muxed, output)
    finally:
        stream.unlink(missing_ok=True)
        muxed.unlink(missing_ok=True)


def encode_stylized(images: Iterable[np.ndarray], stamps: Sequence[tuple[int, int]], source: Path, info: VideoInfo,
                    output: Path, *, size: tuple[int, int], settings: VideoConfig, scratch: Path) -> None:
    """Encode a clip's stylized frames with the source's timing, colour tags and (if asked) audio.

    ``stamps`` are the frames' ``(pts, duration)`` in order, in the source's time base: the output keeps
    the source's timestamps, and the audio is cut to the span of the frames that were stylized.
    """
    timing = Timing.from_source([pts for pts, _ in stamps], [duration for _, duration in stamps], info.time_base,
                                info.fps)
    audio = None
    if settings.audio and info.has_audio:
        audio = AudioCut(Path(source), stamps[0][0] * info.time_base - info.container_start, timing.duration)
    encode_video(images, timing, Path(output), size=size, colour=output_colour(info.colour), crf=settings.crf,
                 preset=settings.preset, audio=audio, scratch=scratch)

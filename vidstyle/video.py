"""Media I/O: stills and videos, decode, probe, encode with audio, atomic output.

The only module that converts between OpenCV's BGR and the RGB used
everywhere else. No torch.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

# Keep OpenCV's FFmpeg backend quiet: bad input gets our one-line error, not libav noise.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

log = logging.getLogger(__name__)



class MediaError(RuntimeError):
    """ffmpeg or OpenCV could not do what was asked with a media file."""


IMAGE_WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def _decode(path: Path | str, flag: int) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image {os.fspath(path)!r} does not exist")
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, flag) if data.size else None
    if image is None:
        raise ValueError(f"expected a decodable image, got {os.fspath(path)!r} (not an image or corrupt)")
    return image


def read_image(path: Path | str) -> np.ndarray:
    """Decode an image file to ``uint8 (H, W, 3)`` RGB (alpha dropped, grey expanded)."""
    return cv2.cvtColor(_decode(path, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def read_grey(path: Path | str) -> np.ndarray:
    """Decode an image file to ``uint8 (H, W)`` grey levels (for masks)."""
    return _decode(path, cv2.IMREAD_GRAYSCALE)


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_image(path: Path | str, image: np.ndarray) -> None:
    """Write ``uint8 (H, W, 3)`` RGB (or ``(H, W)`` grey) atomically; format from the suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_WRITE_SUFFIXES:
        raise ValueError(f"expected an output image ending in {', '.join(IMAGE_WRITE_SUFFIXES)}, got {os.fspath(path)!r}")
    bgr = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    ok, data = cv2.imencode(suffix, bgr)
    if not ok:
        raise ValueError(f"could not encode an image as {suffix}")
    with atomic_path(path) as tmp:
        data.tofile(tmp)


def ensure_not_input(output: Path, *inputs: Path) -> None:
    """Refuse to write over any input file."""
    for source in inputs:
        if output.exists() and source.exists() and os.path.samefile(output, source):
            raise ValueError(f"refusing to overwrite the input {os.fspath(source)!r}: choose another -o")
        if output.resolve() == source.resolve():
            raise ValueError(f"refusing to overwrite the input {os.fspath(source)!r}: choose another -o")


# --------------------------------------------------------------------------- video


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: Fraction
    claimed_frames: int  # CAP_PROP_FRAME_COUNT: a hint, often wrong
    has_audio: bool


def probe(path: Path | str) -> VideoInfo:
    """Size, exact frame rate, claimed frame count and whether an audio stream exists."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"video {os.fspath(path)!r} does not exist")
    capture = cv2.VideoCapture(os.fspath(path))
    try:
        if not capture.isOpened():
            raise ValueError(f"expected a video OpenCV can decode, got {os.fspath(path)!r}")
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps_float = capture.get(cv2.CAP_PROP_FPS)
        claimed = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()
    if width <= 0 or height <= 0:
        raise ValueError(f"expected a video with frames, got {os.fspath(path)!r} with size {width}x{height}")
    if not fps_float or fps_float <= 0:
        raise ValueError(f"expected a video with a frame rate, got none for {os.fspath(path)!r}")
    # OpenCV reports the container's rate as a double (30000/1001 -> 29.97002997...);
    # a denominator up to 1001 recovers the exact rational rate.
    fps = Fraction(fps_float).limit_denominator(1001)
    return VideoInfo(width, height, fps, claimed, has_audio_stream(path))


def has_audio_stream(path: Path) -> bool:
    """Whether ``ffmpeg -i`` lists an audio stream."""
    result = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", os.fspath(path)], capture_output=True, text=True)
    return bool(re.search(r"Stream #\S+.*: Audio:", result.stderr))


def iter_frames(path: Path | str, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
    """Stream ``uint8 (H, W, 3)`` RGB frames ``start <= i < end`` (decoded, never the whole clip in memory).

    Frames are counted by decoding, never from ``CAP_PROP_FRAME_COUNT``.
    """
    capture = cv2.VideoCapture(os.fspath(path))
    if not capture.isOpened():
        raise ValueError(f"expected a video OpenCV can decode, got {os.fspath(path)!r}")
    try:
        index = 0
        while end is None or index < end:
            ok, frame = capture.read()
            if not ok:
                break
            if index >= start:
                yield cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            index += 1
    finally:
        capture.release()


def count_frames(path: Path | str) -> int:
    """Frames that actually decode (grab only, no colour conversion)."""
    capture = cv2.VideoCapture(os.fspath(path))
    if not capture.isOpened():
        raise ValueError(f"expected a video OpenCV can decode, got {os.fspath(path)!r}")
    count = 0
    try:
        while capture.grab():
            count += 1
    finally:
        capture.release()
    return count


def _audio_attempts(base: list[str], video_opts: list[str], output: Path, audio_source: Path | None,
                    audio_start: float, audio_duration: float | None) -> list[list[str]]:
    """ffmpeg command lines to try in order: audio stream-copied, then re-encoded to AAC."""
    if audio_source is None:
        return [base + video_opts + ["-f", "mp4", os.fspath(output)]]
    audio_in = ["-ss", f"{audio_start:.6f}"]
    if audio_duration is not None:
        audio_in += ["-t", f"{audio_duration:.6f}"]
    audio_in += ["-i", os.fspath(audio_source)]
    # No -shortest: it can drop the last video frame when AAC audio ends a few ms early.
    with_audio = base + audio_in + video_opts + ["-map", "1:a:0?"]
    return [
        with_audio + ["-c:a", "copy", "-f", "mp4", os.fspath(output)],
        with_audio + ["-c:a", "aac", "-b:a", "192k", "-f", "mp4", os.fspath(output)],
    ]


def _run_first_that_works(attempts: list[list[str]], output: Path) -> None:
    errors: list[str] = []
    for command in attempts:
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode == 0:
            return
        errors = result.stderr.strip().splitlines()[-1:] or ["unknown error"]
        log.info("ffmpeg attempt failed: %s", errors)
    raise MediaError(f"ffmpeg could not write {output}: {errors[0] if errors else ''}")


def encode_frames(
    frame_pattern: str,
    output: Path,
    fps: Fraction,
    *,
    audio_source: Path | None = None,
    audio_start: float = 0.0,
    audio_duration: float | None = None,
    size: tuple[int, int] | None = None,
    crf: int = 18,
) -> None:
    """Encode numbered PNGs (``frame_pattern`` like ``dir/%06d.png``) to H.264 yuv420p MP4, atomically.

    The source's audio is stream-copied when the MP4 container accepts it,
    re-encoded to AAC otherwise. ``size`` (width, height) rescales the frames
    (bicubic); odd sizes are then padded to even.
    """
    rate = f"{fps.numerator}/{fps.denominator}"
    scale = f"scale={size[0]}:{size[1]}:flags=bicubic," if size else ""
    with atomic_path(Path(output)) as tmp:
        base = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-framerate", rate, "-start_number", "0",
                "-i", frame_pattern]
        video_opts = ["-map", "0:v:0", "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p",
                      "-vf", scale + "pad=ceil(iw/2)*2:ceil(ih/2)*2", "-r", rate, "-movflags", "+faststart"]
        _run_first_that_works(_audio_attempts(base, video_opts, tmp, audio_source, audio_start, audio_duration), output)


def parse_position(text: str, fps: Fraction) -> int:
    """A position as a frame index: ``"12f"`` is frame 12; ``"2.5"`` or ``"2.5s"`` is 2.5 seconds."""
    value = text.strip().lower()
    try:
        if value.endswith("f"):
            frames = int(value[:-1])
        else:
            seconds = float(value[:-1] if value.endswith("s") else value)
            if not np.isfinite(seconds):
                raise ValueError
            frames = round(seconds * fps)
    except ValueError:
        raise ValueError(f"expected a position like 2.5, 2.5s or 75f, got {text!r}") from None
    if frames < 0:
        raise ValueError(f"expected a position >= 0, got {text!r}")
    return frames

"""Real-world video in, faithful video out: colour, variable frame rate, rotation, odd sizes, seeking.

Clips are generated here with ffmpeg (colour tags, rotation) or PyAV (exact
irregular timestamps, audio); stylization is a pass-through (style and TV
weights 0, so the content start is already optimal) on the stand-in encoder.
"""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.cli import app
from vidstyle.media.decode import Position, read_frames
from vidstyle.media.encode import Timing, ffmpeg_exe, write_video_stream
from vidstyle.media.probe import probe

from ..conftest import plain, textured

PATCHES = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200], [230, 200, 60], [128, 128, 128], [20, 120, 220]],
                   np.uint8)


def patch_frame(width: int = 192, height: int = 64) -> np.ndarray:
    image = np.zeros((height, width, 3), np.uint8)
    step = width // len(PATCHES)
    for i, colour in enumerate(PATCHES):
        image[:, i * step:(i + 1) * step] = colour
    return image


def patch_error(image: np.ndarray) -> int:
    """Largest RGB error at the patches' centres (chroma subsampling blurs only their edges)."""
    step = image.shape[1] // len(PATCHES)
    centres = image[image.shape[0] // 2, step // 2::step][: len(PATCHES)]
    return int(np.abs(centres.astype(int) - PATCHES).max())


def ffmpeg_clip(path: Path, frames: list[np.ndarray], fps: int, *options: str, before: tuple[str, ...] = ()) -> Path:
    height, width = frames[0].shape[:2]
    command = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s",
               f"{width}x{height}", "-r", str(fps), "-i", "-", *options, os.fspath(path)]
    subprocess.run(command, input=b"".join(f.tobytes() for f in frames), check=True)
    if before:
        moved = path.with_name(f"tagged-{path.name}")
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *before, "-i", os.fspath(path),
                        "-c", "copy", os.fspath(moved)], check=True)
        return moved
    return path


def pyav_clip(path: Path, frames: list[np.ndarray], pts_ms: list[int], audio_seconds: float | None = None) -> Path:
    """Frames at exactly these millisecond timestamps (variable rate), with a sine tone of this length."""
    out = av.open(os.fspath(path), "w")
    video = out.add_stream("libx264", rate=30)
    video.width, video.height, video.pix_fmt = frames[0].shape[1], frames[0].shape[0], "yuv420p"
    video.time_base = video.codec_context.time_base = Fraction(1, 1000)
    audio = out.add_stream("aac", rate=44100, layout="mono") if audio_seconds else None
    for image, pts in zip(frames, pts_ms):
        frame = av.VideoFrame.from_ndarray(image, format="rgb24")
        frame.pts, frame.time_base = pts, Fraction(1, 1000)
        out.mux(video.encode(frame))
    out.mux(video.encode(None))
    if audio is not None:
        count = int(audio_seconds * 44100)
        tone = (0.2 * np.sin(2 * np.pi * 440 * np.arange(count) / 44100)).astype(np.float32)[None]
        size = audio.codec_context.frame_size or 1024
        for start in range(0, count, size):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(tone[:, start:start + size]), format="fltp",
                                               layout="mono")
            frame.sample_rate, frame.pts = 44100, start
            out.mux(audio.encode(frame))
        out.mux(audio.encode(None))
    out.close()
    return path


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(float) @ np.array([0.299, 0.587, 0.114])


def passthrough(clip: Path, out: Path, weights: str, *extra: str) -> None:
    """`vidstyle video` with nothing to optimise: every frame stays its content."""
    result = CliRunner().invoke(app, [
        "video", str(clip), "-o", str(out), "-s", "swirl", "--no-temporal", "--style-weight", "0", "--tv-weight", "0",
        "--max-size", "0", "--first-iterations", "1", "--scales", "1", "--weights", weights, "--precision", "fp32",
        "--device", "cpu", *extra])
    assert result.exit_code == 0, plain(result.output)


def test_probe_reads_exact_rate_size_audio_and_tags(tmp_path):
    clip = pyav_clip(tmp_path / "a.mp4", [textured(48, 64)] * 3, [0, 33, 67], audio_seconds=0.1)
    info = probe(clip)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.has_audio and info.audio[0].codec == "aac"
    assert isinstance(info.fps, Fraction) and info.time_base > 0


@pytest.mark.parametrize("source, tags, expected_matrix", [
    ("bt709 limited", ["-vf", "scale=out_color_matrix=bt709:out_range=tv", "-pix_fmt", "yuv420p", "-colorspace",
                       "bt709", "-color_primaries", "bt709", "-color_trc", "bt709", "-color_range", "tv"], 1),
    ("bt601 full", ["-vf", "scale=out_color_matrix=bt601:out_range=pc", "-pix_fmt", "yuvj420p", "-colorspace",
                    "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m", "-color_range", "pc"], 6),
])
def test_colour_patches_survive_a_pass_through(tmp_path, tiny_weights, source, tags, expected_matrix):
    clip = ffmpeg_clip(tmp_path / "patches.mp4", [patch_frame()] * 3, 10, "-c:v", "libx264", "-crf", "0", *tags)
    decoded = next(read_frames(clip)).image
    assert patch_error(decoded) <= 3, f"{source}: decoding"
    out = tmp_path / "out.mp4"
    passthrough(clip, out, tiny_weights)
    info = probe(out)
    assert info.colour.matrix == expected_matrix and info.colour.range == 1  # the source's matrix, limited range
    assert all(patch_error(frame.image) <= 3 for frame in read_frames(out)), source


def test_untagged_hd_is_read_as_bt709(tmp_path):
    clip = ffmpeg_clip(tmp_path / "hd.mp4", [patch_frame(1284, 720)], 10, "-vf",
                       "scale=out_color_matrix=bt709:out_range=tv", "-c:v", "libx264", "-crf", "0", "-pix_fmt",
                       "yuv420p", "-bsf:v", "h264_metadata=matrix_coefficients=2:colour_primaries=2:"
                       "transfer_characteristics=2")
    assert not probe(clip).colour.tagged
    assert patch_error(next(read_frames(clip)).image) <= 3  # a BT.601 reading is off by about 27 levels


def test_variable_frame_rate_keeps_every_timestamp_and_the_audio_length(tmp_path, tiny_weights):
    stamps = [0, 40, 140, 170, 250, 300, 420, 460, 520, 610]
    frames = [textured(48, 64, seed=i) for i in range(len(stamps))]
    clip = pyav_clip(tmp_path / "vfr.mp4", frames, stamps, audio_seconds=0.66)
    out = tmp_path / "out.mp4"
    passthrough(clip, out, tiny_weights)
    info = probe(out)
    times = [float(f.pts * info.time_base) for f in read_frames(out)]
    assert len(times) == len(stamps)
    assert max(abs(t - s / 1000) for t, s in zip(times, stamps)) <= 0.001
    container = av.open(os.fspath(out))
    try:
        audio, video = container.streams.audio[0], container.streams.video[0]
        audio_seconds = float(audio.duration * audio.time_base)
        video_seconds = float(video.duration * video.time_base)
    finally:
        container.close()
    assert abs(audio_seconds - video_seconds) <= 1 / 30  # within one frame


def test_positions_in_seconds_use_timestamps_on_a_variable_rate_clip(tmp_path):
    stamps = [0, 40, 140, 170, 250, 300, 420, 460]
    clip = pyav_clip(tmp_path / "vfr.mp4", [textured(32, 32, seed=i) for i in range(8)], stamps)
    info = probe(clip)
    got = [round(float(f.pts * info.time_base) * 1000) for f in read_frames(clip, Position(seconds=Fraction(15, 100)),
                                                                             Position(seconds=Fraction(43, 100)))]
    assert got == [170, 250, 300, 420]


def test_a_rotated_clip_comes_out_upright(tmp_path, tiny_weights):
    coded = [textured(48, 80, seed=i) for i in range(3)]
    clip = ffmpeg_clip(tmp_path / "plain.mp4", coded, 10, "-c:v", "libx264", "-crf", "0", "-pix_fmt", "yuv444p",
                       before=("-display_rotation", "90"))
    info = probe(clip)
    assert info.rotation == 90 and (info.width, info.height) == (48, 80)
    out = tmp_path / "out.mp4"
    passthrough(clip, out, tiny_weights)
    result = [f.image for f in read_frames(out)]
    assert probe(out).rotation == 0 and result[0].shape == (80, 48, 3)
    for frame, source in zip(result, coded):  # compared in luma: 4:2:0 output halves the chroma resolution
        assert np.abs(luma(frame) - luma(np.rot90(source, 1))).mean() < 3  # counter-clockwise, as the matrix says
        assert np.abs(luma(frame) - luma(np.rot90(source, -1))).mean() > 15  # not the other way round


def test_an_odd_sized_clip_has_no_black_border(tmp_path, tiny_weights):
    frames = [(textured(77, 101, seed=i) * 0.7 + 50).astype(np.uint8) for i in range(3)]  # nothing near black
    clip = ffmpeg_clip(tmp_path / "odd.mp4", frames, 10, "-c:v", "libx264", "-crf", "0", "-pix_fmt", "yuv444p")
    out = tmp_path / "out.mp4"
    passthrough(clip, out, tiny_weights)
    info = probe(out)
    assert (info.width, info.height) == (100, 76)
    import cv2

    for frame, source in zip(read_frames(out), frames):
        got, expected = luma(frame.image), luma(cv2.resize(source, (100, 76), interpolation=cv2.INTER_AREA))
        for edge in (np.s_[0], np.s_[-1], np.s_[:, 0], np.s_[:, -1]):
            assert np.abs(got[edge] - expected[edge]).mean() < 4
        assert got.min() > 30  # no black padding line


def test_start_seeks_to_the_same_frames_a_full_decode_gives(tmp_path):
    frames = [textured(32, 48, seed=i) for i in range(40)]
    clip = ffmpeg_clip(tmp_path / "gop.mp4", frames, 25, "-c:v", "libx264", "-g", "6", "-bf", "2", "-pix_fmt",
                       "yuv420p")
    everything = list(read_frames(clip))
    assert len(everything) == 40
    part = list(read_frames(clip, Position(frame=23), Position(frame=31)))
    assert [f.pts for f in part] == [f.pts for f in everything[23:31]]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(part, everything[23:31]))
    assert [f.index for f in part] == list(range(8))


@pytest.fixture
def locked_folder(tmp_path):
    """A folder nobody may write into: read-only permissions, or immutable where the tests run as root."""
    folder = tmp_path / "locked"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.skip("running as root on a filesystem without immutable folders: nothing is read-only to root")
    yield folder
    subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_an_unwritable_output_folder_is_refused_before_any_work(tmp_path, locked_folder, tiny_weights):
    clip = ffmpeg_clip(tmp_path / "in.mp4", [textured(32, 32)] * 2, 10, "-c:v", "libx264", "-pix_fmt", "yuv420p")
    result = CliRunner().invoke(app, ["video", str(clip), "-s", "swirl", "-o", str(locked_folder / "out.mp4"),
                                      "--weights", tiny_weights, "--device", "cpu"])
    lines = plain(result.output).strip().splitlines()
    assert result.exit_code == 1 and len(lines) == 1, lines
    assert "cannot write to the folder" in lines[0] and str(locked_folder) in lines[0]
    assert not list(locked_folder.iterdir()) and not (tmp_path / "out.mp4.vidstyle-work").exists()


@pytest.mark.parametrize("suffix, codec, audio_codec, tolerance", [
    (".mov", "h264", "aac", 4), (".mkv", "h264", "aac", 4), (".webm", "vp9", "opus", 6), (".gif", "gif", None, 9)])
def test_every_output_container_keeps_the_frames_their_times_and_the_audio_it_can_hold(tmp_path, tiny_weights, suffix,
                                                                                     codec, audio_codec, tolerance):
    stamps = [0, 100, 200, 300, 400, 500]
    frames = [(textured(48, 64, seed=i) * 0.7 + 40).astype(np.uint8) for i in range(len(stamps))]
    clip = pyav_clip(tmp_path / "in.mp4", frames, stamps, audio_seconds=0.6)
    out = tmp_path / f"out{suffix}"
    passthrough(clip, out, tiny_weights)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["in.mp4", out.name]  # no part files left
    container = av.open(os.fspath(out))
    try:
        assert container.streams.video[0].codec_context.name == codec
        assert [s.codec_context.name for s in container.streams.audio] == ([audio_codec] if audio_codec else [])
    finally:
        container.close()
    info = probe(out)
    decoded = list(read_frames(out))
    assert len(decoded) == len(stamps)
    assert max(abs(float(f.pts * info.time_base) - s / 1000) for f, s in zip(decoded, stamps)) <= 0.011
    for frame, source in zip(decoded, frames):
        assert np.abs(luma(frame.image) - luma(source)).mean() < tolerance


def test_an_output_of_another_kind_is_refused_before_any_work(tmp_path, tiny_weights):
    clip = pyav_clip(tmp_path / "in.mp4", [textured(32, 32, seed=i) for i in range(2)], [0, 100])
    result = CliRunner().invoke(app, ["video", str(clip), "-o", str(tmp_path / "out.avi"), "-s", "swirl",
                                      "--weights", tiny_weights, "--device", "cpu"])
    assert result.exit_code == 1
    assert "expected an output ending in .mp4, .m4v, .mov, .mkv, .webm, .gif" in plain(result.output)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def _encode_bytes(frames: list[np.ndarray], target: Path) -> bytes:
    timing = Timing(tuple(range(len(frames))), Fraction(1, 10), Fraction(10), len(frames))
    write_video_stream(frames, timing, target, size=(frames[0].shape[1], frames[0].shape[0]))
    return target.read_bytes()


def test_the_same_frames_encode_to_the_same_stream(tmp_path):
    """The encode depends on the frames only, so a resumed render equals an uninterrupted one. (x264's AVX-512 code
    varied between encodes of the same frames: ``x264_params`` caps it at AVX2 where the CPU has AVX-512.)"""
    rng = np.random.default_rng(0)
    base = textured(96, 160, seed=3)
    frames = [np.clip(np.roll(base, 3 * k, axis=1).astype(int) + rng.integers(-6, 7, base.shape), 0, 255)
              .astype(np.uint8) for k in range(24)]
    streams = {_encode_bytes(frames, tmp_path / f"{k}.mp4") for k in range(12)}
    assert len(streams) == 1

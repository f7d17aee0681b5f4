import json
import os
import signal
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from vidstyle.config import RunConfig, TemporalConfig, VideoConfig
from vidstyle.metrics import warping_error
from vidstyle.pipeline import stylize_video, work_dir_for
from vidstyle.video import count_frames, parse_position, probe, read_image

from .conftest import shared_file, translating_clip

ROOT = Path(__file__).resolve().parents[1]
FAST = RunConfig(temporal=TemporalConfig(first_iterations=6, iterations=3, tolerance=0.0))


def test_round_trip_keeps_count_size_fps_and_audio(make_clip, tmp_path):
    clip = make_clip(translating_clip(6, 48, 64), fps=Fraction(30000, 1001))
    out = tmp_path / "out.mp4"
    result = stylize_video(clip, out, "mosaic", config=FAST, video=VideoConfig(max_size=40), device="cpu")
    src, dst = probe(clip), probe(out)
    assert count_frames(out) == 6 == result.frames
    assert (dst.width, dst.height) == (src.width, src.height) == (64, 48)
    assert dst.fps == Fraction(30000, 1001) and dst.has_audio
    assert not work_dir_for(out).exists()  # removed after a successful encode


def test_no_audio_processing_size_and_odd_dimensions(make_clip, tmp_path):
    clip = make_clip(translating_clip(3, 48, 64))
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "mosaic", config=FAST, device="cpu",
                  video=VideoConfig(max_size=45, output_size="processing", audio=False, keep_frames=True))
    info = probe(out)
    assert (info.width, info.height) == (46, 34) and not info.has_audio  # 45x34 padded to even
    assert read_image(work_dir_for(out) / "frames" / "000000.png").shape == (34, 45, 3)


def test_frame_range(make_clip, tmp_path):
    clip = make_clip(translating_clip(8, 48, 64))
    result = stylize_video(clip, tmp_path / "out.mp4", "mosaic", config=FAST, start="2f", end="0.5",
                           video=VideoConfig(max_size=32), device="cpu")
    assert result.frames == 4 and count_frames(tmp_path / "out.mp4") == 4


def test_parse_position():
    assert parse_position("75f", Fraction(30)) == 75
    assert parse_position("2.5", Fraction(30)) == 75
    assert parse_position("2.5s", Fraction(30000, 1001)) == 75
    for bad in ("x", "-1f", "1.5f", "nan"):
        with pytest.raises(ValueError, match="expected a position"):
            parse_position(bad, Fraction(30))


@pytest.mark.slow
def test_again_mkv_keeps_77_frames_at_30_fps(tmp_path):
    source = shared_file("videos", "again.mkv")
    assert probe(source).claimed_frames == 78  # the container is wrong ...
    config = RunConfig(temporal=TemporalConfig(first_iterations=2, iterations=1))
    out = tmp_path / "again.mp4"
    result = stylize_video(source, out, "swirl", config=config, video=VideoConfig(max_size=32), device="cpu")
    info = probe(out)
    assert result.frames == 77 and count_frames(out) == 77  # ... 77 decode
    assert info.fps == Fraction(30) and (info.width, info.height) == (640, 480)


def test_changed_settings_are_refused_unless_restart(make_clip, tmp_path):
    clip = make_clip(translating_clip(3, 48, 64), audio=False)
    out = tmp_path / "out.mp4"
    keep = VideoConfig(max_size=32, keep_frames=True)
    stylize_video(clip, out, "mosaic", config=FAST, video=keep, device="cpu")
    changed = RunConfig(temporal=TemporalConfig(first_iterations=6, iterations=3, tolerance=0.0, temporal_weight=5.0))
    with pytest.raises(ValueError, match="different settings.*--restart"):
        stylize_video(clip, out, "mosaic", config=changed, video=keep, device="cpu")
    result = stylize_video(clip, out, "mosaic", config=changed, video=keep, restart=True, device="cpu")
    assert result.resumed_frames == 0
    again = stylize_video(clip, out, "mosaic", config=changed, video=keep, device="cpu")
    assert again.resumed_frames == 3  # all finished frames reused


def _video_command(clip: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", "video", str(clip), "-s", "mosaic", "-o", str(out), "--max-size", "48",
            "--first-iterations", "12", "-i", "12", "--tolerance", "0", "--keep-frames", "--device", "cpu", *extra]


def test_a_killed_run_resumes_to_the_same_video(make_clip, tmp_path):
    clip = make_clip(translating_clip(8, 48, 64, dx=1.5), audio=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reference = tmp_path / "reference.mp4"
    subprocess.run(_video_command(clip, reference), check=True, env=env, capture_output=True)

    out = tmp_path / "out.mp4"
    log = work_dir_for(out) / "log.jsonl"
    process = subprocess.Popen(_video_command(clip, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(log.read_text().splitlines())
    assert 3 <= done < 8, "the run should have been killed midway"
    stamps = {p.name: p.stat().st_mtime_ns for p in (work_dir_for(out) / "frames").glob("*.png")}

    finished = subprocess.run(_video_command(clip, out), env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{done} resumed" in finished.stdout or f"{len(stamps)} resumed" in finished.stdout
    for name, stamp in stamps.items():
        if int(name[:6]) < done:
            assert (work_dir_for(out) / "frames" / name).stat().st_mtime_ns == stamp, f"{name} was recomputed"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["frame"] for e in entries] == list(range(8))
    for i in range(8):
        a = read_image(work_dir_for(reference) / "frames" / f"{i:06d}.png")
        b = read_image(work_dir_for(out) / "frames" / f"{i:06d}.png")
        assert np.array_equal(a, b), f"frame {i} differs from the uninterrupted run"
    assert count_frames(out) == 8


def test_temporal_run_is_more_stable_than_per_frame(make_clip, tmp_path):
    clip = make_clip(translating_clip(8, 48, 64, dx=1.5, seed=3), audio=False)
    budget = TemporalConfig(first_iterations=25, iterations=25, tolerance=0.0)
    video = VideoConfig(max_size=None)
    temporal, per_frame = tmp_path / "t.mp4", tmp_path / "p.mp4"
    stylize_video(clip, temporal, "swirl", config=RunConfig(temporal=budget), video=video, device="cpu")
    off = RunConfig(temporal=TemporalConfig(enabled=False, first_iterations=25))
    stylize_video(clip, per_frame, "swirl", config=off, video=video, device="cpu")
    e_t, e_p = warping_error(clip, temporal), warping_error(clip, per_frame)
    assert e_t.output < 0.5 * e_p.output


def test_metrics_of_a_video_against_itself_and_a_still_output(make_clip, tmp_path):
    frames = translating_clip(5, 48, 64, dx=2.0)
    clip = make_clip(frames, audio=False)
    same = warping_error(clip, clip)
    assert same.ratio == pytest.approx(1.0) and same.frames == 5 and same.input > 0
    still = make_clip([np.full_like(frames[0], 120)] * 5, name="still.mp4", audio=False)
    assert warping_error(clip, still).output < 1e-6


def test_bad_inputs(tmp_path, make_clip):
    clip = make_clip(translating_clip(2, 48, 64), audio=False)
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    with pytest.raises(ValueError, match="expected a video OpenCV can decode"):
        stylize_video(not_video, tmp_path / "o.mp4", "mosaic", config=FAST, device="cpu")
    with pytest.raises(ValueError, match="expected an output file ending in .mp4"):
        stylize_video(clip, tmp_path / "o.avi", "mosaic", config=FAST, device="cpu")
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        stylize_video(clip, clip, "mosaic", config=FAST, device="cpu")
    with pytest.raises(ValueError, match="expected --start before --end"):
        stylize_video(clip, tmp_path / "o.mp4", "mosaic", config=FAST, start="5f", device="cpu")

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from vidstyle.config import RunConfig, TemporalConfig, VideoConfig
from vidstyle.media.decode import Position, iter_frames, parse_position
from vidstyle.media.probe import probe
from vidstyle.media.images import read_image
from vidstyle.video.checkpoint import work_dir_for
from vidstyle.video.metrics import warping_error
from vidstyle.video.pipeline import stylize_video

from ..conftest import ROOT, shared_file, translating_clip


def count(path) -> int:
    return sum(1 for _ in iter_frames(path))


def test_round_trip_keeps_count_size_fps_and_audio(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(6, 48, 64), fps=Fraction(30000, 1001))
    out = tmp_path / "out.mp4"
    reports = []
    result = stylize_video(clip, out, "mosaic", config=tiny, video=VideoConfig(max_size=40), device="cpu",
                           on_frame=reports.append)
    src, dst = probe(clip), probe(out)
    assert count(out) == 6 == result.frames
    assert (dst.width, dst.height) == (src.width, src.height) == (64, 48)
    assert dst.fps == Fraction(30000, 1001) and dst.has_audio
    assert [r.index for r in reports] == list(range(6)) and reports[-1].total == 6
    assert not work_dir_for(out).exists()  # removed after a successful encode


def test_no_audio_processing_size_and_even_sides(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(3, 48, 64))
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "mosaic", config=tiny, device="cpu",
                  video=VideoConfig(max_size=45, output_size="processing", audio=False, keep_frames=True))
    info = probe(out)
    assert (info.width, info.height) == (44, 34) and not info.has_audio  # 45x34 -> even, no padding
    assert read_image(work_dir_for(out) / "frames" / "000000.png").shape == (34, 44, 3)


def test_frame_range(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(8, 48, 64))
    result = stylize_video(clip, tmp_path / "out.mp4", "mosaic", config=tiny, start="2f", end="0.5",
                           video=VideoConfig(max_size=32), device="cpu")
    assert result.frames == 4 and count(tmp_path / "out.mp4") == 4
    frames = list(iter_frames(clip))
    assert result.log[0].pts > 0  # the range starts at frame 2's own timestamp
    assert len(frames) == 8


def test_parse_position():
    assert parse_position("75f") == Position(frame=75)
    assert parse_position("2.5") == Position(seconds=Fraction(5, 2))
    assert parse_position("1001/30000s") == Position(seconds=Fraction(1001, 30000))
    for bad in ("x", "-1f", "1.5f", "nan", "-2", "inf"):
        with pytest.raises(ValueError, match="expected a position"):
            parse_position(bad)


@pytest.mark.slow
def test_again_mkv_keeps_77_frames_at_30_fps(tmp_path, tiny):
    source = shared_file("videos", "again.mkv")
    assert probe(source).estimated_frames() == 78  # the container implies 78 ...
    config = replace(tiny, optim=replace(tiny.optim, iterations=1), temporal=replace(tiny.temporal, iterations=1))
    out = tmp_path / "again.mp4"
    reports = []
    result = stylize_video(source, out, "swirl", config=config, video=VideoConfig(max_size=32), device="cpu",
                           on_frame=reports.append)
    info = probe(out)
    assert result.frames == 77 and count(out) == 77  # ... 77 decode
    assert reports[0].total == 78 and reports[-1].total == 77  # the estimate, then the truth
    assert info.fps == Fraction(30) and (info.width, info.height) == (640, 480)


def test_changed_settings_are_refused_unless_restart(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(3, 48, 64), audio=False)
    out = tmp_path / "out.mp4"
    keep = VideoConfig(max_size=32, keep_frames=True)
    stylize_video(clip, out, "mosaic", config=tiny, video=keep, device="cpu")
    changed = replace(tiny, temporal=replace(tiny.temporal, temporal_weight=5.0))
    with pytest.raises(ValueError, match="different settings.*`restart`"):
        stylize_video(clip, out, "mosaic", config=changed, video=keep, device="cpu")
    result = stylize_video(clip, out, "mosaic", config=changed, video=keep, restart=True, device="cpu")
    assert result.resumed_frames == 0
    again = stylize_video(clip, out, "mosaic", config=changed, video=keep, device="cpu")
    assert again.resumed_frames == 3  # all finished frames reused


def test_a_work_folder_without_finished_frames_never_blocks(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(3, 48, 64), audio=False)
    out = tmp_path / "out.mp4"
    work = work_dir_for(out)
    (work / "frames").mkdir(parents=True)
    (work / "manifest.json").write_text(json.dumps({"version": 2, "digest": "from another run"}))
    (work / "encode.part.mp4").write_bytes(b"half an encode")
    result = stylize_video(clip, out, "mosaic", config=tiny, video=VideoConfig(max_size=32), device="cpu")
    assert result.frames == 3 and not work.exists()


def _video_command(clip: Path, out: Path, weights: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", "video", str(clip), "-s", "mosaic", "-o", str(out), "--max-size", "48",
            "--first-iterations", "12", "--iterations", "12", "--tolerance", "0", "--keep-frames", "--device", "cpu",
            "--weights", weights, "--threads", "1", *extra]


def test_a_killed_run_resumes_to_the_same_video(make_clip, tmp_path, tiny_weights):
    clip = make_clip(translating_clip(8, 48, 64, dx=1.5), audio=False)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "out.mp4"
    log = work_dir_for(out) / "log.jsonl"
    process = subprocess.Popen(_video_command(clip, out, tiny_weights, "--first-iterations", "60", "--iterations", "60"),
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and (not log.exists() or len(log.read_text().splitlines()) < 3):
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(log.read_text().splitlines())
    assert 3 <= done < 8, "the run should have been killed midway"
    stamps = {p.name: p.stat().st_mtime_ns for p in (work_dir_for(out) / "frames").glob("*.png")}

    finished = subprocess.run(_video_command(clip, out, tiny_weights, "--first-iterations", "60", "--iterations", "60"),
                              env=env, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert f"{done} resumed" in finished.stdout or f"{len(stamps)} resumed" in finished.stdout
    for name, stamp in stamps.items():
        if int(name[:6]) < done:
            assert (work_dir_for(out) / "frames" / name).stat().st_mtime_ns == stamp, f"{name} was recomputed"
    entries = [json.loads(line) for line in log.read_text().splitlines()]
    assert [e["frame"] for e in entries] == list(range(8))
    uninterrupted = tmp_path / "uninterrupted.mp4"
    subprocess.run(_video_command(clip, uninterrupted, tiny_weights, "--first-iterations", "60", "--iterations", "60"),
                   check=True, env=env, capture_output=True)
    for i in range(8):
        a = read_image(work_dir_for(uninterrupted) / "frames" / f"{i:06d}.png")
        b = read_image(work_dir_for(out) / "frames" / f"{i:06d}.png")
        assert np.array_equal(a, b), f"frame {i} differs from the uninterrupted run"
    assert count(out) == 8


@pytest.mark.slow
def test_temporal_run_is_more_stable_than_per_frame(make_clip, tmp_path):
    clip = make_clip(translating_clip(8, 48, 64, dx=1.5, seed=3), audio=False)
    budget = TemporalConfig(iterations=25, tolerance=0.0)
    video = VideoConfig(max_size=None)
    temporal, per_frame = tmp_path / "t.mp4", tmp_path / "p.mp4"
    config = RunConfig(optim=RunConfig().optim.__class__(iterations=25), temporal=budget)
    stylize_video(clip, temporal, "swirl", config=config, video=video, device="cpu")
    stylize_video(clip, per_frame, "swirl", config=replace(config, temporal=replace(budget, enabled=False)),
                  video=video, device="cpu")
    e_t, e_p = warping_error(clip, temporal), warping_error(clip, per_frame)
    assert e_t.output < 0.5 * e_p.output


def test_bad_inputs(tmp_path, make_clip, tiny):
    clip = make_clip(translating_clip(2, 48, 64), audio=False)
    not_video = tmp_path / "notes.mp4"
    not_video.write_text("hello")
    with pytest.raises(ValueError, match="expected a video file"):
        stylize_video(not_video, tmp_path / "o.mp4", "mosaic", config=tiny, device="cpu")
    with pytest.raises(ValueError, match="expected an output ending in .mp4"):
        stylize_video(clip, tmp_path / "o.avi", "mosaic", config=tiny, device="cpu")
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        stylize_video(clip, clip, "mosaic", config=tiny, device="cpu")
    with pytest.raises(ValueError, match="start: expected `start` before `end`"):
        stylize_video(clip, tmp_path / "o.mp4", "mosaic", config=tiny, start="5f", end="2f", device="cpu")
    with pytest.raises(ValueError, match="got none that decode"):
        stylize_video(clip, tmp_path / "o.mp4", "mosaic", config=tiny, start="5f", device="cpu")
    assert not (tmp_path / "o.mp4").exists() and not work_dir_for(tmp_path / "o.mp4").exists()


def test_a_shots_first_frame_is_settled_the_way_its_later_frames_are_painted(make_clip, tmp_path, tiny):
    shot = translating_clip(3, 96, 128)
    clip = make_clip(shot + [255 - f for f in translating_clip(3, 96, 128, seed=7)])
    video = VideoConfig(max_size=128)
    result = stylize_video(clip, tmp_path / "out.mp4", "mosaic", config=tiny, video=video, device="cpu")
    cold = stylize_video(clip, tmp_path / "cold.mp4", "mosaic", device="cpu", video=video,
                         config=replace(tiny, temporal=replace(tiny.temporal, enabled=False)))
    assert [r.shot_start for r in result.log] == [0, 0, 0, 3, 3, 3]
    for first in (0, 3):
        record = result.log[first]
        # The cold start, then one later frame's pass (held to the cold result by a temporal term).
        assert record.evaluations == cold.log[first].evaluations + result.log[first + 1].evaluations
        assert record.terms["temporal"] >= 0 and "temporal" not in cold.log[first].terms
        assert [level.size for level in record.levels] == [level.size for level in result.log[first + 1].levels]


def test_a_preview_shows_the_frame_the_render_paints(make_clip, tmp_path, tiny):
    from vidstyle.media.sheet import CAPTION, MARGIN
    from vidstyle.video.plan import plan_video
    from vidstyle.video.preview import preview_video

    clip = make_clip(translating_clip(2, 160, 208))  # 160 px high: the sheet's tile size, so tiles are not scaled
    video = VideoConfig(max_size=208, keep_frames=True)
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "mosaic", config=tiny, video=video, device="cpu")
    rendered = read_image(work_dir_for(out) / "frames" / "000000.png")
    plan = plan_video(clip, None, "mosaic", video=video, config=tiny)
    sheet = preview_video(plan, 1, config=tiny, device=torch.device("cpu"), indices=[0])
    top = MARGIN + 160 + CAPTION + MARGIN  # below the source row
    assert np.array_equal(sheet[top:top + 160, MARGIN:MARGIN + 208], rendered)  # cold start, then settled

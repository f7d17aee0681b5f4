"""Painted-over frames: the edit is kept as given, the frames after it (and before it, with a second pass) follow
it, a rerun redoes only from the edited frame, and a bad edit is one line before any work."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from vidstyle.config import SettingError, VideoConfig
from vidstyle.job import Job
from vidstyle.media.images import read_image, write_image
from vidstyle.video.checkpoint import work_dir_for
from vidstyle.video.paintover import parse_paint_over
from vidstyle.video.pipeline import stylize_video

from ..conftest import translating_clip

SQUARE = (slice(14, 34), slice(20, 44))


def redness(image: np.ndarray) -> float:
    patch = image[SQUARE].astype(np.float32)
    return float((patch[..., 0] - (patch[..., 1] + patch[..., 2]) / 2).mean())


def frames(out, count: int, folder: str = "frames") -> list[np.ndarray]:
    return [read_image(work_dir_for(out) / folder / f"{i:06d}.png") for i in range(count)]


def test_an_edit_is_read_as_frame_equals_image():
    assert parse_paint_over("48=fixed.png").frame == 48 and parse_paint_over(" 7f = a b.png").path.name == "a b.png"
    for bad in ("fixed.png", "x=fixed.png", "4=", "-1=a.png"):
        with pytest.raises(ValueError, match="FRAME=IMAGE"):
            parse_paint_over(bad)


def test_a_painted_over_frame_is_kept_and_the_frames_after_it_follow_it(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(6, 48, 64, dx=1.0), audio=False)
    video = VideoConfig(max_size=None, keep_frames=True)
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "swirl", config=tiny, video=video, device="cpu")
    plain = frames(out, 6)
    edit = plain[2].copy()
    edit[SQUARE] = (230, 20, 20)  # the artist paints a red block over frame 2
    write_image(tmp_path / "edit.png", edit)
    seen = []
    stylize_video(clip, out, "swirl", config=tiny, video=video, device="cpu", paint_over=[f"2={tmp_path / 'edit.png'}"],
                  on_frame=seen.append)
    assert [r.resumed for r in seen] == [True, True, False, False, False, False]  # only from the edit on
    edited = frames(out, 6)
    assert all(np.array_equal(a, b) for a, b in zip(plain[:2], edited[:2]))
    assert np.array_equal(edited[2], edit)  # kept as given
    for later in (3, 4, 5):  # the frames after it carry the red block; the run without it has none
        assert redness(edited[later]) > redness(plain[later]) + 60, later
    seen.clear()
    stylize_video(clip, out, "swirl", config=tiny, video=video, device="cpu", paint_over=[f"2={tmp_path / 'edit.png'}"],
                  on_frame=seen.append)
    assert all(r.resumed for r in seen)  # the same edit again: nothing to redo
    seen.clear()
    stylize_video(clip, out, "swirl", config=tiny, video=video, device="cpu", on_frame=seen.append)
    assert [r.resumed for r in seen] == [True, True, False, False, False, False]  # the edit removed: redone from it
    assert all(np.array_equal(a, b) for a, b in zip(plain, frames(out, 6)))


def test_with_a_second_pass_the_frames_before_an_edit_follow_it_too(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(5, 48, 64, dx=1.0), audio=False)
    config = dataclasses.replace(tiny, temporal=dataclasses.replace(tiny.temporal, passes=2, pass_iterations=3))
    video = VideoConfig(max_size=None, keep_frames=True)
    plain_out, edited_out = tmp_path / "plain.mp4", tmp_path / "edited.mp4"
    stylize_video(clip, plain_out, "swirl", config=config, video=video, device="cpu")
    edit = frames(plain_out, 5)[3].copy()
    edit[SQUARE] = (230, 20, 20)
    write_image(tmp_path / "edit.png", edit)
    stylize_video(clip, edited_out, "swirl", config=config, video=video, device="cpu",
                  paint_over=[f"3={tmp_path / 'edit.png'}"])
    plain, edited = frames(plain_out, 5, "pass2"), frames(edited_out, 5, "pass2")
    assert np.array_equal(edited[3], edit)
    assert redness(edited[2]) > redness(plain[2]) + 30  # the frame before it, in the backward pass
    assert redness(edited[4]) > redness(plain[4]) + 30


def test_a_bad_edit_is_one_line_before_any_work(make_clip, tmp_path, tiny):
    clip = make_clip(translating_clip(4, 48, 64), audio=False)
    write_image(tmp_path / "square.png", np.zeros((40, 40, 3), np.uint8))
    write_image(tmp_path / "wide.png", np.zeros((96, 128, 3), np.uint8))  # twice the size, the same aspect: fine
    cases = [(f"9={tmp_path / 'wide.png'}", "frame 9 is past the range's end \\(4 frames, 0-3\\)"),
             (f"1={tmp_path / 'none.png'}", "does not exist"),
             (f"1={tmp_path / 'square.png'}", "is 40x40: expected the frame's shape \\(64x48"),
             ("one=x.png", "FRAME=IMAGE")]
    for edit, words in cases:
        with pytest.raises(SettingError, match=words):
            stylize_video(clip, tmp_path / "o.mp4", "swirl", config=tiny, device="cpu", paint_over=[edit],
                          video=VideoConfig(max_size=None))
    assert not work_dir_for(tmp_path / "o.mp4").exists()
    job = Job.from_values({"input": clip, "output": tmp_path / "o.mp4", "styles": "swirl",
                           "paint_over": ["2=wide.png"]}, folder=tmp_path)
    assert job.paint_over == (f"2={tmp_path / 'wide.png'}",) and "--paint-over" in job.to_argv()

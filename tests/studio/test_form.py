"""The page without a browser: its controls by name, where each message goes, what a click or a scrub shows,
warnings about a region before any render, and a render reopened from the queue."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from vidstyle.config import SettingError
from vidstyle.media.images import read_image
from vidstyle.studio import picking, views
from vidstyle.studio.form import CONTROLS, controls_of, read_box, request_from_controls, said
from vidstyle.studio.library import Library, Refused
from vidstyle.studio.session import Request, in_words
from vidstyle.studio.work import Studio

from ..conftest import ROOT, textured, translating_clip


@pytest.fixture
def library(tmp_path, make_clip) -> Library:
    clips = tmp_path / "clips"
    clips.mkdir()
    os.replace(make_clip(translating_clip(6, 48, 64), audio=False), clips / "walk.mp4")
    # A blue disc on a textured wall: an object GrabCut can find.
    frames = []
    for t in range(6):
        frame = textured(48, 64, seed=5)
        cv2.circle(frame, (20 + 3 * t, 24), 10, (30, 60, 220), -1)
        frames.append(frame)
    os.replace(make_clip(frames, name="disc.mp4", audio=False), clips / "disc.mp4")
    os.replace(make_clip([np.full((48, 64, 3), 128, np.uint8)] * 3, name="wall.mp4", audio=False), clips / "wall.mp4")
    return Library([clips], tmp_path / "out")


def test_the_form_is_read_and_written_by_control_name():
    request = Request("walk.mp4", (("vangogh", 0.6), ("picasso", 0.4)), style_weight=20.0, preserve_colors=True,
                      even_mix=False, size=96, first_iterations=40, iterations=6, passes=3, end=5, region="GrabCut box",
                      box=(3, 4, 20, 10), keyframe=2, background=(("leger", 0.5),),
                      style_keys=("3f=leger", "1s:hold=vangogh"), paint_over=("2=/tmp/edit.png",))
    controls = controls_of(request)
    assert set(controls) == set(CONTROLS)
    assert request_from_controls(controls) == request
    assert request_from_controls(controls_of(Request("walk.mp4"))) == Request("walk.mp4")


@pytest.mark.parametrize("typed, words", [
    ("abc", "GrabCut box: expected a click x,y or a box x,y,w,h in source pixels, got 'abc'"),
    ("1,2,3", "got '1,2,3'"),
])
def test_a_box_that_does_not_read_as_numbers_is_a_message_in_the_users_words(typed, words):
    with pytest.raises(Refused) as refused:
        read_box(typed)
    assert words in in_words(refused.value) and said(refused.value, "render").panel == "region"
    assert read_box(" 4, 5 ") == (4, 5) and read_box("") is None


def test_a_message_goes_beside_the_control_it_is_about():
    assert said(SettingError("styles", "all weights are zero"), "render").panel == "styles"
    assert said(SettingError("max_size", "too large"), "render").panel == "settings"
    assert said(SettingError("grabcut", "outside"), "render").panel == "region"
    assert said(Refused("no render 'x'"), "render").panel == "render"
    text = said(SettingError("style_weight", "expected a value >= 0, got -1.0"), "render").text
    assert text == "Style strength: expected a value >= 0, got -1.0"


def test_style_keys_are_added_at_the_shown_frame_and_reach_the_job_resolved(library):
    request = Request("walk.mp4", (("vangogh", 0.6), ("leger", 0.4)), size=64, style_keys=("4f=leger",))
    keys, message = views.add_key(library, request, 2)
    assert keys == ("2f=vangogh:0.6,leger:0.4", "4f=leger") and message.panel == "styles"
    assert views.add_key(library, replace(request, style_keys=keys), 2)[0] == keys  # a key on that frame is replaced
    unpicked = views.add_key(library, Request("walk.mp4", (("vangogh", 0.0),)), 2)
    assert unpicked[0] == () and "pick a style" in unpicked[1].text
    job = replace(request, style_keys=keys).job(library)
    assert job.style_key == ("2f=vangogh:0.6,leger:0.4", "4f=leger:1") and "--style-key 4f=leger:1" in job.command_line()
    studio = Studio(library, "cpu", start=False)
    for keys, words in ((("9f=leger",), "Style keys: the key at 9f falls on frame 9, past the clip's end (6"),
                        (("leger",), "Style keys: expected a key like 48f=picasso")):
        started = views.start_render(studio, replace(request, style_keys=keys))
        assert started.render_id is None and started.said.panel == "styles" and words in started.said.text, started


def test_the_keys_and_painted_over_frames_are_marks_under_the_scrubber(library):
    request = Request("walk.mp4", (("vangogh", 1.0),), style_keys=("4f=leger", "0.25s:hold=vangogh"),
                      paint_over=("1=/x/edit.png",))
    bar = views.timeline(library, request)  # walk.mp4: 6 frames at 12 fps, so frame 5 is the bar's end
    assert 'title="4f: leger" style="position:absolute;left:80.00%' in bar
    assert 'title="0.25s:hold: vangogh" style="position:absolute;left:60.00%' in bar
    assert 'title="frame 1 painted over" style="position:absolute;left:20.00%' in bar
    assert views.timeline(library, Request("walk.mp4", (("vangogh", 1.0),))) == ""


def test_a_frame_painted_over_in_the_editor_reaches_the_job_and_renders_to_the_same_output(library):
    studio = Studio(library, "cpu", start=False)
    image, message = views.result_frame(studio, None, 2)
    assert image is None and message.panel == "render" and "render the clip first" in message.text
    frame = np.full((48, 64, 3), 90, np.uint8)
    with pytest.raises(Refused, match="paint on it first"):
        picking.save_edit(library, {"background": frame, "layers": [], "composite": frame}, 2)
    stroke = np.zeros((48, 64, 4), np.uint8)
    stroke[10:20, 10:30] = (255, 0, 0, 255)
    painted = frame.copy()
    painted[10:20, 10:30] = (255, 0, 0)
    path = picking.save_edit(library, {"background": frame, "layers": [stroke], "composite": painted}, 2)
    assert np.array_equal(read_image(path), painted) and library.out in Path(path).parents
    request = Request("walk.mp4", (("vangogh", 1.0),), size=64)
    edited = replace(request, paint_over=views.add_edit(request, 2, path))
    assert edited.paint_over == (f"2={path}",)
    job, plain = edited.job(library), request.job(library)
    assert job.paint_over == (f"2={Path(path).resolve()}",) and job.video.keep_frames
    assert job.output == plain.output  # the same render, so the work folder it keeps is reused from the edit on
    with pytest.raises(Refused, match="only into its output folder"):
        replace(request, paint_over=("2=/etc/hosts",)).job(library)


def test_a_refused_render_says_so_beside_the_styles_and_queues_nothing(library):
    studio = Studio(library, "cpu", start=False)
    started = views.start_render(studio, Request("walk.mp4", (("vangogh", 0.0),), size=64))
    assert started.render_id is None and started.said.panel == "styles" and "every weight is 0" in started.said.text
    assert studio.status()["renders"] == []


def test_a_scrubbed_frame_carries_its_number_and_differs_from_its_neighbour(library):
    request = Request("walk.mp4", (("vangogh", 1.0),))
    three, four = picking.show(library, request, 3), picking.show(library, request, 4)
    assert three.caption == "frame 3 of 0-5" and four.caption == "frame 4 of 0-5"
    assert not np.array_equal(three.picture, four.picture)
    plain = library.frame("walk.mp4", 3, picking.FRAME_SIDE)
    corner = (slice(-12, None), slice(0, 40))  # the stamped number, white on black
    assert np.abs(three.picture[corner].astype(int) - plain[corner]).mean() > 20


def test_clicks_pick_the_object_only_when_grabcut_is_chosen_and_are_drawn(library):
    shown_width = picking.show(library, Request("disc.mp4"), 0).picture.shape[1]
    scale = shown_width / 64  # the page shows the frame at 640 px; clicks come in its pixels
    person = Request("disc.mp4", (("vangogh", 1.0),), region="person")
    unchanged, note = picking.click(library, person, 20 * scale, 24 * scale, 0)
    assert unchanged == person and "choose “GrabCut box”" in note.text  # the region is the user's to change

    grabcut = Request("disc.mp4", (("vangogh", 1.0),), region="GrabCut box", size=64)
    clicked, note = picking.click(library, grabcut, 20 * scale, 24 * scale, 0)
    assert note is None and clicked.box == (20, 24) and clicked.keyframe == 0
    boxed, _ = picking.click(library, clicked, 34 * scale, 38 * scale, 0)
    assert boxed.box == (20, 24, 14, 14)
    shown = picking.show(library, clicked, 0)
    assert shown.warning is None  # the disc is found
    before = library.frame("disc.mp4", 0, picking.FRAME_SIDE)

    def magenta(image: np.ndarray) -> int:  # the colour the click is drawn in
        return int(((image[..., 0] > 220) & (image[..., 1] < 30) & (image[..., 2] > 170)).sum())

    assert magenta(shown.picture) > magenta(before) + 30


def test_an_empty_grabcut_box_is_a_warning_in_the_numbers_typed(library):
    bare = Request("wall.mp4", (("vangogh", 1.0),), region="GrabCut box", box=(30, 20, 4, 4), size=64)
    warning = picking.show(library, bare, 0).warning
    assert warning is not None and warning.level == "warning"
    assert "GrabCut box 30,20,4,4 found no object on frame 0" in warning.text
    elsewhere = picking.show(library, bare, 2)
    assert elsewhere.warning is None and "picked on frame 0" in elsewhere.caption


def test_a_person_region_on_a_clip_without_a_person_is_a_warning(library):
    import shutil

    shutil.copy(ROOT / "samples" / "clip.mp4", library.roots[0] / "sample.mp4")  # mountains, no one in them
    for region, words in (("background", "no person found on frame 2: all of it is background"),
                          ("person", "no person found on frame 2: nothing would be styled")):
        shown = picking.show(library, Request("sample.mp4", (("vangogh", 1.0),), region=region, size=64), 2)
        assert shown.warning is not None and words in shown.warning.text


def test_an_upload_that_does_not_open_is_named_as_the_user_named_it(library, tmp_path):
    cache = tmp_path / "gradio" / "0123abcd"
    cache.mkdir(parents=True)
    broken = cache / "holiday.mp4"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(300))
    path, message = views.take_upload(library, {"path": os.fspath(broken), "orig_name": "holiday.mp4"})
    assert path is None and message.panel == "source" and message.text.startswith("Clip: holiday.mp4 does not open")
    assert os.fspath(cache) not in message.text and "gradio" not in message.text


def test_a_render_is_reopened_with_the_form_it_was_started_from(library):
    studio = Studio(library, "cpu", start=False)
    request = Request("disc.mp4", (("vangogh", 0.7), ("leger", 0.3)), size=64, region="GrabCut box", box=(20, 24),
                      keyframe=0, end=3)
    started = views.start_render(studio, request)
    assert started.render_id and "vidstyle video" in started.command
    render, reopened = views.reopen(studio, None)
    assert render.id == started.render_id and reopened == request
    assert views.reopen(studio, started.render_id)[1] == request
    restarted = Studio(library, "cpu", start=False)  # the queue file keeps the form too
    assert views.reopen(restarted, started.render_id)[1] == request


def test_a_key_moves_to_the_shown_frame_keeping_its_mix_and_hold_and_is_removed(library):
    request = Request("walk.mp4", (("vangogh", 1.0),), style_keys=("1f=leger", "0.25s:hold=matisse:0.5,leger:0.5"))
    assert views.key_on_frame(library, "walk.mp4", request.style_keys, 3) == "0.25s:hold=matisse:0.5,leger:0.5"
    assert views.key_on_frame(library, "walk.mp4", request.style_keys, 2) is None
    keys, message = views.move_key(library, request, "0.25s:hold=matisse:0.5,leger:0.5", 0)
    assert keys == ("0f:hold=matisse:0.5,leger:0.5", "1f=leger") and "moved to frame 0" in message.text
    onto, _ = views.move_key(library, request, "0.25s:hold=matisse:0.5,leger:0.5", 1)  # onto a key: replaces it
    assert onto == ("1f:hold=matisse:0.5,leger:0.5",)
    unchosen, message = views.move_key(library, request, None, 4)
    assert unchosen == request.style_keys and "choose a key" in message.text
    kept, message = views.remove_key(request, "1f=leger")
    assert kept == ("0.25s:hold=matisse:0.5,leger:0.5",) and "removed" in message.text
    job = replace(request, style_keys=keys).job(library)
    assert "--style-key 0f:hold=matisse:0.5,leger:0.5" in job.command_line()

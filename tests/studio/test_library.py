"""The studio's folders and requests, without a page: what it may read and write, and the jobs it builds."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from vidstyle.config import SettingError
from vidstyle.media.images import write_image
from vidstyle.studio.library import Library, Refused
from vidstyle.studio.session import Request, in_words

from ..conftest import translating_clip


@pytest.fixture
def folders(tmp_path, make_clip):
    """A clip folder the studio is given, an output folder, and a clip and a file outside both."""
    clips, out, outside = tmp_path / "clips", tmp_path / "out", tmp_path / "outside"
    clips.mkdir()
    outside.mkdir()
    clip = make_clip(translating_clip(6, 48, 64), audio=False)
    os.replace(clip, clips / "walk.mp4")
    (clips / "notes.txt").write_text("not a clip")
    secret = outside / "secret.mp4"
    secret.write_bytes((clips / "walk.mp4").read_bytes())
    (clips / "link.mp4").symlink_to(secret)
    return clips, out, secret


def test_the_library_lists_and_opens_only_media_inside_its_folders(folders):
    clips, out, secret = folders
    library = Library([clips], out)
    assert library.media() == [os.fspath(clips / "walk.mp4")]  # not the text file, not the link leading out
    assert library.resolve("walk.mp4") == (clips / "walk.mp4").resolve()
    assert library.resolve(os.fspath(clips / "walk.mp4")) == (clips / "walk.mp4").resolve()
    refused = {
        "../outside/secret.mp4": "not a file in the folders",
        os.fspath(secret): "not a file in the folders",
        "link.mp4": "not a file in the folders",
        "notes.txt": "not a video or an image",
        "": "choose a clip",
        "missing.mp4": "not a file in the folders",
    }
    for name, words in refused.items():
        with pytest.raises(Refused, match=words):
            library.resolve(name)


def test_facts_and_a_frame_found_by_seeking(folders):
    clips, out, _ = folders
    library = Library([clips], out)
    facts = library.facts("walk.mp4")
    assert (facts.kind, facts.width, facts.height, facts.frames, facts.audio) == ("video", 64, 48, 6, False)
    assert "64x48" in facts.describe() and "6 frames" in facts.describe()
    first, fourth = library.frame("walk.mp4", 0, None), library.frame("walk.mp4", 3, None)
    assert first.shape == (48, 64, 3) and not np.array_equal(first, fourth)
    with pytest.raises(Refused, match="no frame 60"):
        library.frame("walk.mp4", 60)


def test_uploads_are_checked_sized_and_kept_in_the_output_folder(folders, tmp_path):
    clips, out, _ = folders
    library = Library([clips], out, max_upload=20_000)
    picture = tmp_path / "my photo!.png"
    write_image(picture, np.full((32, 40, 3), 120, np.uint8))
    kept = library.accept_upload(picture)
    assert kept.parent == library.uploads and kept.name == "my_photo_.png" and library.resolve(kept.name) == kept
    big = tmp_path / "big.png"
    write_image(big, np.random.default_rng(0).integers(0, 255, (200, 200, 3), dtype=np.uint8))
    broken, text = tmp_path / "broken.mp4", tmp_path / "notes.txt"
    broken.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(300))
    text.write_text("hello")
    for path, words in ((big, "at most 20 KiB"), (broken, "does not open"), (text, "expected a video or an image")):
        with pytest.raises(Refused, match=words):
            library.accept_upload(path)
    assert sorted(p.name for p in library.uploads.iterdir()) == ["my_photo_.png"]


def test_styles_are_library_names_or_uploaded_paintings(folders, tmp_path):
    clips, out, secret = folders
    library = Library([clips], out)
    assert library.style("vangogh") == "vangogh"
    painting = tmp_path / "mine.jpg"
    write_image(painting, np.full((40, 40, 3), 200, np.uint8))
    uploaded = library.accept_upload(painting, painting=True)
    assert library.style(os.fspath(uploaded)) == os.fspath(uploaded) and library.style("mine.jpg") == os.fspath(uploaded)
    assert any(name == os.fspath(uploaded) for name, _, _ in library.styles())
    for name in ("nosuch", os.fspath(secret), "../../outside/secret.mp4"):
        with pytest.raises(Refused, match="no style"):
            library.style(name)
    with pytest.raises(Refused, match="writes only into"):
        library.writable(secret)


def test_a_request_builds_the_job_the_command_line_would(folders):
    clips, out, _ = folders
    library = Library([clips], out)
    request = Request("walk.mp4", (("vangogh", 0.6), ("picasso", 0.4)), size=96, region="background",
                      first_iterations=20, iterations=5, end=4)
    job = request.job(library)
    assert job.values()["styles"] == "vangogh:0.6,picasso:0.4"
    assert job.values()["segment"] == "person" and job.values()["invert_mask"] is True
    assert Path(job.output).parent == library.out and Path(job.output).suffix == ".mp4"
    assert request.job(library).output == job.output  # the same settings render to the same file (and resume)
    assert Request(**{**request.to_dict(), "size": 128}).job(library).output != job.output
    line = job.command_line()
    assert line.startswith("vidstyle video ") and "vangogh:0.6,picasso:0.4" in line and "--invert-mask" in line
    assert job.to_toml().startswith('[clips."walk.mp4"]')
    assert Request.from_dict(request.to_dict()) == request
    assert Request.from_dict(json.loads(json.dumps(request.to_dict()))) == request  # as the queue file keeps it
    assert "--even-mix" not in line
    even = Request(**{**request.to_dict(), "region": "none", "even_mix": True}).job(library)
    assert even.values()["even_mix"] is True and "--even-mix" in even.command_line() and even.output != job.output


def test_passes_chosen_in_the_studio_reach_the_job_and_one_pass_keeps_the_file_it_had(folders):
    clips, out, _ = folders
    library = Library([clips], out)
    one = Request("walk.mp4", (("vangogh", 1.0),), size=96, end=4)
    three = Request(**{**one.to_dict(), "passes": 3})
    assert "passes" not in one.job(library).values()  # the default, as before the studio had the control
    assert three.job(library).values()["passes"] == 3 and "--passes 3" in three.job(library).command_line()
    assert three.job(library).output != one.job(library).output
    assert Request.from_dict(json.loads(json.dumps(three.to_dict()))) == three
    assert Request.from_keys("walk.mp4", "vangogh", max_size=96, end=4, passes=3) == three
    with pytest.raises(SettingError, match="passes: expected a value >= 1"):
        Request(**{**one.to_dict(), "passes": 0}).job(library)


def test_the_api_keys_describe_the_same_request_as_the_page():
    page = Request("walk.mp4", (("vangogh", 0.6), ("picasso", 0.4)), size=96, region="GrabCut box", box=(30, 20),
                   keyframe=3, background=(("leger", 1.0),), end=4, iterations=5)
    keyed = Request.from_keys("walk.mp4", "vangogh:0.6,picasso:0.4", max_size=96, grabcut="30,20", mask_keyframe=3,
                              background_style="leger", end=4, iterations=5)
    assert keyed == page
    assert Request.from_keys("walk.mp4", "vangogh", segment="person", invert_mask=True).region == "background"
    with pytest.raises(Refused, match="expected one of segment, grabcut or mask"):
        Request.from_keys("walk.mp4", "vangogh", segment="person", grabcut="1,2")


@pytest.mark.parametrize("changes, words", [
    ({"region": "sky"}, "Region: expected one of"),
    ({"region": "brushed mask"}, "Brushed mask: paint the region"),
    ({"region": "brushed mask", "mask": "/etc/hostname"}, "writes only into"),
    ({"region": "GrabCut box"}, "GrabCut box: click the object"),
    ({"styles": (("nosuch", 1.0),)}, "Styles: no style 'nosuch'"),
    ({"styles": (("vangogh", 0.0), ("leger", 0.0))}, "Styles: every weight is 0: give at least one style a weight"),
    ({"styles": ()}, "Styles: pick a style first"),
])
def test_bad_requests_are_refused_with_the_pages_words(folders, changes, words):
    clips, out, _ = folders
    library = Library([clips], out)
    request = Request("walk.mp4", (("vangogh", 1.0),), size=96)
    with pytest.raises(ValueError) as refused:
        Request(**{**request.to_dict(), **changes}).job(library)
    assert re.search(words, in_words(refused.value)), in_words(refused.value)

"""The studio's named API endpoints, driven headless with gradio_client: bad inputs get a clear message, the
server stays up, and nothing is written outside the output folder."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest

from vidstyle.media.images import write_image

from ..conftest import translating_clip

# The page's request fields, in the order the endpoints take them (app.request_inputs).
REQUEST = {"source": "walk.mp4", "style_1": "vangogh", "weight_1": 1.0, "style_2": None, "weight_2": 0.0,
           "style_3": None, "weight_3": 0.0, "strength": 10, "keep": False, "size": 64, "first": 5, "later": 3,
           "region": "none", "mask": "", "box": "", "frame": 0, "background": None, "background_weight": 1.0,
           "end": 0, "even": False}


def snapshot(folder: Path, skip: Path) -> dict[str, float]:
    """Every file under ``folder`` but ``skip``'s, with its modification time."""
    return {os.fspath(p): p.stat().st_mtime for p in folder.rglob("*")
            if p.is_file() and skip not in p.parents}


@pytest.fixture
def setup(tmp_path, make_clip, served, tiny_weights):
    clips, out, outside = tmp_path / "clips", tmp_path / "out", tmp_path / "outside"
    clips.mkdir()
    outside.mkdir()
    os.replace(make_clip(translating_clip(6, 48, 64), audio=False), clips / "walk.mp4")
    (outside / "secret.mp4").write_bytes((clips / "walk.mp4").read_bytes())
    (clips / "link.mp4").symlink_to(outside / "secret.mp4")
    (outside / "notes.txt").write_text("not a clip")
    write_image(outside / "big.png", np.random.default_rng(0).integers(0, 255, (700, 700, 3), dtype=np.uint8))
    (outside / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(5000))
    (outside / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (outside / "cut.mp4").write_bytes((clips / "walk.mp4").read_bytes()[:1500])
    url, studio = served([clips], out, max_upload=1 << 20, weights=tiny_weights)
    from gradio_client import Client

    return Client(url, verbose=False, download_files=False), url, studio, clips, out, outside


def request(**changes):
    return list({**REQUEST, **changes}.values())


def test_bad_inputs_get_a_clear_message_and_the_server_goes_on(setup, tmp_path):
    client, url, studio, clips, out, outside = setup
    from gradio_client import handle_file

    before = snapshot(tmp_path, out)
    cases = [
        ("/render", request(source="../outside/secret.mp4"), "not a file in the folders"),
        ("/render", request(source=os.fspath(outside / "secret.mp4")), "not a file in the folders"),
        ("/render", request(source="link.mp4"), "not a file in the folders"),
        ("/render", request(source="/etc/passwd"), "not a file in the folders"),
        ("/render", request(source=""), "choose a clip"),
        ("/render", request(weight_1=0.0), "weight"),
        ("/render", request(style_1="nosuch"), "no style 'nosuch'"),
        ("/render", request(style_1=os.fspath(outside / "big.png")), "no style"),
        ("/render", request(region="sky"), "'sky'"),  # Gradio refuses a value that is not a choice
        ("/render", request(region="brushed mask"), "paint the region"),
        ("/render", request(region="brushed mask", mask=os.fspath(outside / "big.png")), "writes only into"),
        ("/render", request(region="GrabCut box", box="3,4,5"), "click the object"),
        ("/render", request(size=5000), "maximum value 1024"),
        ("/render", request(first=0), "minimum value 1"),
        ("/preview", request(frame=99) + [99], "no frame 99"),
        ("/upload", [handle_file(os.fspath(outside / "broken.mp4"))], "does not open"),
        ("/upload", [handle_file(os.fspath(outside / "cut.mp4"))], "does not open"),
        ("/upload", [handle_file(os.fspath(outside / "notes.txt"))], "expected a video or an image"),
        ("/upload", [handle_file(os.fspath(outside / "big.png"))], "at most 1 MiB"),
        ("/upload_painting", [handle_file(os.fspath(outside / "broken.mp4"))], "invalid file type"),
        ("/upload_painting", [handle_file(os.fspath(outside / "broken.png"))], "does not open"),
        ("/pause", ["no-such-id"], "no render 'no-such-id'"),
        ("/cancel_preview", ["no-such-id"], "no preview 'no-such-id'"),
        ("/status", ["no-such-id"], "no render or preview"),
        ("/frame", ["walk.mp4", 500], "no frame 500"),
        ("/brush", [{"background": None, "layers": [], "composite": None}], "paint the region"),
    ]
    said = []
    for endpoint, args, words in cases:
        try:
            text = json.dumps(client.predict(*args, api_name=endpoint))
        except Exception as exc:  # an error Gradio raised for the page (gr.Error): its message  # noqa: BLE001
            text = str(exc)
        said.append((endpoint, words, text))
        assert words.lower() in text.lower(), (endpoint, args, text)
        assert "Traceback" not in text
    assert len(cases) >= 15
    # Still up, nothing queued or rendered by a refused request, nothing written outside the output folder.
    assert json.loads(client.predict("", api_name="/status"))["renders"] == []
    assert snapshot(tmp_path, out) == before
    assert not [p for p in out.glob("*.mp4")]


def test_the_file_route_serves_nothing_outside_the_output_folder(setup):
    client, url, studio, clips, out, outside = setup
    for path in ("/etc/passwd", os.fspath(clips / "walk.mp4"), os.fspath(outside / "secret.mp4"),
                 os.fspath(out / ".." / "outside" / "secret.mp4")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=5)
        assert refused.value.code in (403, 404), path


def test_a_double_click_does_not_start_two_renders(setup):
    client, url, studio, clips, out, outside = setup
    first = client.predict(*request(end=2), api_name="/render")
    second = client.predict(*request(end=2), api_name="/render")
    assert first[0] and second[0] == first[0] and "already" in second[1]
    assert len(json.loads(client.predict("", api_name="/status"))["renders"]) == 1
    assert "vidstyle video" in first[2] and first[3].startswith('[clips."walk.mp4"]')

"""The studio's named API endpoints, driven headless with gradio_client by keyword (the job's keys): bad inputs get
a clear message, the server stays up, and nothing is written outside the output folder."""

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

# A render's keys, as a script passes them (the job's keys).
REQUEST = {"input": "walk.mp4", "styles": "vangogh", "max_size": 64, "first_iterations": 5, "iterations": 3}


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
    return {**REQUEST, **changes}


def call(client, endpoint: str, **kwargs) -> str:
    """The endpoint's answer, or the message of the error it raised, as text."""
    try:
        return json.dumps(client.predict(**kwargs, api_name=endpoint), default=str)
    except Exception as exc:  # an error Gradio raised for the caller (gr.Error): its message  # noqa: BLE001
        return str(exc)


def test_every_endpoint_takes_the_jobs_keys_by_name(setup):
    client, url, studio, clips, out, outside = setup
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(endpoints) == {"/media", "/styles", "/facts", "/frame", "/upload", "/upload_painting", "/masks",
                              "/preview", "/render", "/status", "/pause", "/resume", "/cancel", "/cancel_preview"}
    names = [p["parameter_name"] for p in endpoints["/render"]["parameters"]]
    assert names == ["input", "styles", "style_weight", "preserve_colors", "even_mix", "max_size", "first_iterations",
                     "iterations", "end", "segment", "invert_mask", "grabcut", "mask", "mask_keyframe",
                     "background_style", "style_key", "paint_over", "passes"]
    from vidstyle.job import iter_keys

    assert set(names) <= set(iter_keys())  # every one a key of vidstyle.Job
    assert not [p for e in endpoints.values() for p in e["parameters"] if p["parameter_name"].startswith("param_")]
    defaults = {p["parameter_name"]: p["parameter_default"] for p in endpoints["/render"]["parameters"]}
    from vidstyle.config import LossConfig, OptimConfig, TemporalConfig

    assert (defaults["style_weight"], defaults["first_iterations"], defaults["iterations"], defaults["passes"]) == (
        LossConfig.style_weight, OptimConfig.iterations, TemporalConfig.iterations, TemporalConfig.passes)


def test_bad_inputs_get_a_clear_message_and_the_server_goes_on(setup, tmp_path):
    client, url, studio, clips, out, outside = setup
    from gradio_client import handle_file

    before = snapshot(tmp_path, out)
    cases = [
        ("/render", request(input="../outside/secret.mp4"), "input: '../outside/secret.mp4' is not a file in the folders"),
        ("/render", request(input=os.fspath(outside / "secret.mp4")), "not a file in the folders"),
        ("/render", request(input="link.mp4"), "not a file in the folders"),
        ("/render", request(input="/etc/passwd"), "not a file in the folders"),
        ("/render", request(input=""), "choose a clip"),
        ("/render", request(styles="vangogh:0"), "styles: every weight is 0"),
        ("/render", request(styles="nosuch"), "no style 'nosuch'"),
        ("/render", request(styles=os.fspath(outside / "big.png")), "no style"),
        ("/render", request(segment="sky"), "segments 'person'"),
        ("/render", request(mask=os.fspath(outside / "big.png")), "writes only into"),
        ("/render", request(grabcut="3,4,5"), "grabcut: expected x,y,w,h (a box) or x,y (a click)"),
        ("/render", request(grabcut="abc"), "got 'abc'"),
        ("/render", request(grabcut="60,40,30,30"), "inside the 64x48 frame, got 60,40,30,30"),
        ("/render", request(max_size=20000), "max_size: expected a value >= 16 and <= 16384"),
        ("/render", request(max_size=8), "max_size"),
        ("/render", request(first_iterations=0), "first_iterations: expected a value >= 1"),
        ("/preview", request(frames=[99]), "no frame 99"),
        ("/upload", {"file": handle_file(os.fspath(outside / "broken.mp4"))}, "broken.mp4 does not open"),
        ("/upload", {"file": handle_file(os.fspath(outside / "cut.mp4"))}, "does not open"),
        ("/upload", {"file": handle_file(os.fspath(outside / "notes.txt"))}, "expected a video or an image"),
        ("/upload", {"file": handle_file(os.fspath(outside / "big.png"))}, "at most 1 MiB"),
        ("/upload_painting", {"file": handle_file(os.fspath(outside / "broken.mp4"))}, "expected an image"),
        ("/upload_painting", {"file": handle_file(os.fspath(outside / "broken.png"))}, "does not open"),
        ("/pause", {"render_id": "no-such-id"}, "no render 'no-such-id'"),
        ("/cancel_preview", {"preview_id": "no-such-id"}, "no preview 'no-such-id'"),
        ("/status", {"id": "no-such-id"}, "no render or preview"),
        ("/frame", {"input": "walk.mp4", "frame": 500}, "frame: walk.mp4 has no frame 500"),
        ("/facts", {"input": "../outside/secret.mp4"}, "not a file in the folders"),
    ]
    for endpoint, kwargs, words in cases:
        text = call(client, endpoint, **kwargs)
        assert words.lower() in text.lower(), (endpoint, kwargs, text)
        assert "Traceback" not in text and os.fspath(out / ".studio" / "cache") not in text
    # Still up, nothing queued or rendered by a refused request, nothing written outside the output folder.
    assert client.predict(api_name="/status")["renders"] == []
    assert snapshot(tmp_path, out) == before
    assert not [p for p in out.glob("*.mp4")]


def test_uploads_join_the_choices(setup, tmp_path):
    client, url, studio, clips, out, outside = setup
    from gradio_client import handle_file

    painting = tmp_path / "mine.png"
    write_image(painting, np.random.default_rng(1).integers(0, 255, (40, 40, 3), dtype=np.uint8))
    name = client.predict(file=handle_file(os.fspath(painting)), api_name="/upload_painting")
    assert name == "mine.png" and any(s.endswith("mine.png") for s in client.predict(api_name="/styles"))
    clip = tmp_path / "extra.mp4"
    clip.write_bytes((clips / "walk.mp4").read_bytes())
    added = client.predict(file=handle_file(os.fspath(clip)), api_name="/upload")
    assert added == "extra.mp4" and any(m.endswith("extra.mp4") for m in client.predict(api_name="/media"))
    assert client.predict(input="extra.mp4", api_name="/facts")["frames"] == 6
    frame = client.predict(input="extra.mp4", frame=2, api_name="/frame")
    assert Path(frame["path"]).is_file() and Path(frame["path"]).resolve().is_relative_to(out.resolve())


def test_the_file_route_serves_nothing_outside_the_output_folder(setup):
    client, url, studio, clips, out, outside = setup
    for path in ("/etc/passwd", os.fspath(clips / "walk.mp4"), os.fspath(outside / "secret.mp4"),
                 os.fspath(out / ".." / "outside" / "secret.mp4")):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=5)
        assert refused.value.code in (403, 404), path


def test_a_double_click_does_not_start_two_renders(setup):
    client, url, studio, clips, out, outside = setup
    first = client.predict(**request(end=2), api_name="/render")
    second = client.predict(**request(end=2), api_name="/render")
    assert first["render_id"] and second["render_id"] == first["render_id"] and "already" in second["said"]
    assert len(client.predict(api_name="/status")["renders"]) == 1
    assert "vidstyle video" in first["command"] and first["toml"].startswith('[clips."walk.mp4"]')

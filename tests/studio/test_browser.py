"""The studio in a real headless Chromium (Debian's ``chromium``, driven by Playwright; never ``playwright
install``): mix two styles on the background of the sample clip, preview a frame, render, play and download.

Every request the page makes must go to the loopback address. A screenshot is saved at each step (into
``$STUDIO_SCREENSHOTS`` when set, else the test's folder).
"""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path
from urllib.parse import urlparse

import pytest

from vidstyle.media.decode import iter_frames
from vidstyle.media.probe import probe

from ..conftest import ROOT
from .conftest import free_port, studio_process, wait_until_up

CHROMIUM = "/usr/bin/chromium"
SAMPLE = ROOT / "samples" / "clip.mp4"
LOCAL = {"127.0.0.1", "localhost", "::1", "[::1]"}

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not Path(CHROMIUM).is_file(), reason="needs Debian's chromium (apt-get install "
                                                                        "chromium)")]


def set_number(page, elem_id: str, value) -> None:
    """A slider or number field: type the value into its number box and leave it."""
    box = page.locator(f"#{elem_id} input[type=number]").first
    box.fill(str(value))
    box.press("Enter")
    box.blur()


def choose(page, elem_id: str, value: str) -> None:
    """A dropdown: type the choice and pick it from the list."""
    field = page.locator(f"#{elem_id} input").first
    field.click()
    field.fill(value)
    page.locator("ul[role=listbox] li", has_text=value).first.click()


def test_the_studio_mixes_styles_on_the_background_previews_renders_and_downloads(tmp_path):
    pytest.importorskip("gradio")
    playwright = pytest.importorskip("playwright.sync_api")
    shots = Path(os.environ.get("STUDIO_SCREENSHOTS") or tmp_path / "screens")
    shots.mkdir(parents=True, exist_ok=True)
    out, port = tmp_path / "out", free_port()
    url = f"http://127.0.0.1:{port}/"
    server = studio_process([SAMPLE], out, port)
    outside: list[str] = []
    try:
        wait_until_up(url, server)
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-default-apps"])
            page = browser.new_page(viewport={"width": 1400, "height": 1800}, accept_downloads=True)

            def watch(route):
                parsed = urlparse(route.request.url)
                if parsed.scheme in ("data", "blob") or parsed.hostname in LOCAL:
                    route.continue_()
                else:
                    outside.append(route.request.url)
                    route.abort()

            page.route("**/*", watch)
            page.goto(url)
            page.locator("#facts").get_by_text("24 frames").wait_for(timeout=60_000)
            page.screenshot(path=shots / "1-opened.png", full_page=True)

            choose(page, "style-1", "vangogh")
            set_number(page, "weight-1", 0.6)
            choose(page, "style-2", "picasso")
            set_number(page, "weight-2", 0.4)
            page.locator("#region").get_by_label("background", exact=True).check()
            set_number(page, "size", 64)
            set_number(page, "first-its", 5)
            set_number(page, "later-its", 3)
            page.screenshot(path=shots / "2-chosen.png", full_page=True)

            page.locator("#preview-frame").click()
            page.locator("#preview-status").get_by_text("done").wait_for(timeout=60_000)
            page.locator("#preview-image img").wait_for(timeout=10_000)
            page.screenshot(path=shots / "3-previewed.png", full_page=True)

            page.locator("#render").click()
            page.locator("#render-status").get_by_text("frame 24/24").wait_for(timeout=120_000)
            command = page.locator("#command").inner_text()
            assert "vidstyle video" in command and "vangogh:0.6,picasso:0.4" in command and "--invert-mask" in command
            page.wait_for_function("() => { const v = document.querySelector('#result video');"
                                   " return v && v.readyState === 4; }", timeout=60_000)
            page.screenshot(path=shots / "4-rendered.png", full_page=True)

            with page.expect_download(timeout=30_000) as downloading:
                page.locator("#download a").first.click()
            saved = tmp_path / "downloaded.mp4"
            downloading.value.save_as(saved)
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert not outside, outside
    info = probe(saved)
    assert info.has_audio and sum(1 for _ in iter_frames(saved)) == 24
    if os.environ.get("STUDIO_SCREENSHOTS"):
        shutil.copy(saved, shots / "rendered.mp4")

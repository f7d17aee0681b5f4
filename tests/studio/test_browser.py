"""The studio in a real headless Chromium (Debian's ``chromium``, driven by Playwright; never ``playwright
install``), as a newcomer uses it on the sample clip: scrub by typing a frame and with the arrow keys, a refused
setting whose message stays in view, a GrabCut pick that finds nothing (a warning before any render), then mix two
styles, add a style key, move it and remove it, preview, render, reload mid-render, reopen the render from its row,
play and download, then paint over a frame of the result and render again.

Every request the page makes must go to the loopback address. A screenshot is saved at each step (into
``$STUDIO_SCREENSHOTS`` when set, else the test's folder).
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import pytest

from vidstyle.media.decode import iter_frames
from vidstyle.media.images import read_image
from vidstyle.media.probe import probe
from vidstyle.media.sizes import resize
from vidstyle.video.checkpoint import work_dir_for

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


def scrub(page, frame: int) -> None:
    """Type a frame into the scrubber and wait until the sample clip's frame is shown."""
    set_number(page, "frame", frame)
    page.get_by_text(f"Source: frame {frame} of 0-23").wait_for(timeout=30_000)


KEYS = "document.querySelector('#style_keys textarea').value"
CHOSEN = "document.querySelector('#chosen-key input').value"


def key_lands(page, frame: int, button: str, mix: str) -> None:
    """Scrub to ``frame`` and click ``button``: the only key is then ``mix`` at that frame, as typed, as a mark
    under the scrubber, and chosen in the Key list."""
    scrub(page, frame)
    page.locator(f"#{button}").click()
    page.wait_for_function(f"() => {KEYS} === '{frame}f={mix}'", timeout=30_000)
    page.locator(f"#timeline-bar [title='{frame}f: {mix}']").wait_for(timeout=30_000)
    page.wait_for_function(f"() => {CHOSEN} === '{frame}f={mix}'", timeout=30_000)


def picture_label(page) -> str:
    return page.locator("#frame-image").inner_text()


def click_picture(page, fx: float, fy: float) -> None:
    """A click on the shown frame at a fraction of its width and height."""
    image = page.locator("#frame-image img").first
    box = image.bounding_box()
    page.mouse.click(box["x"] + fx * box["width"], box["y"] + fy * box["height"])


def editor_view(page) -> np.ndarray:
    """What the paint-over editor's canvas shows now, as pixels."""
    import cv2

    png = page.locator("#paint-over-editor canvas").first.screenshot()
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR).astype(np.int16)


def wait_for_view(page, before: np.ndarray, what: str, seconds: float = 30) -> np.ndarray:
    """The editor's canvas once it shows something else than ``before`` and holds still (two looks alike)."""
    deadline = time.time() + seconds
    last = None
    while time.time() < deadline:
        view = editor_view(page)
        moved = view.shape != before.shape or np.abs(view - before).max() > 40
        if moved and last is not None and last.shape == view.shape and np.abs(view - last).max() <= 8:
            return view
        last = view if moved else None
        page.wait_for_timeout(250)
    raise AssertionError(f"the editor never showed {what} within {seconds} s")


def stroke(page) -> None:
    """A brush stroke across the middle of the editor's canvas."""
    box = page.locator("#paint-over-editor canvas").first.bounding_box()
    page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.down()
    for step in range(20):
        page.mouse.move(box["x"] + (0.3 + 0.02 * step) * box["width"], box["y"] + 0.5 * box["height"])
    page.mouse.up()


def test_a_newcomer_scrubs_is_told_what_is_wrong_picks_a_region_renders_reloads_and_downloads(tmp_path):
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
            page.get_by_text("Source: frame 0 of 0-23").wait_for(timeout=30_000)
            page.screenshot(path=shots / "1-opened.png", full_page=True)

            # Scrub: a number typed and Enter, then the arrow keys, each change the picture and its number.
            scrub(page, 7)
            slider = page.locator("#frame input[type=range]").first
            slider.focus()
            slider.press("ArrowRight")
            slider.press("ArrowRight")
            page.get_by_text("Source: frame 9 of 0-23").wait_for(timeout=30_000)
            page.screenshot(path=shots / "2-scrubbed.png", full_page=True)

            # A refused setting: every weight at 0. The message sits beside the styles and is still there 5 s later,
            # through five status refreshes.
            set_number(page, "size", 64)
            set_number(page, "first_iterations", 5)
            set_number(page, "iterations", 3)
            set_number(page, "weight_1", 0)
            page.locator("#render").click()
            message = page.locator("#styles-message")
            message.get_by_text("every weight is 0").wait_for(timeout=30_000)
            page.wait_for_timeout(5_000)
            assert message.get_by_text("every weight is 0").is_visible()
            assert "not started: Styles: every weight is 0" in page.locator("#render-message").inner_text()
            page.screenshot(path=shots / "3-refused-and-still-shown.png", full_page=True)

            # A GrabCut pick that finds nothing: two corners a few pixels apart. A warning, before any render.
            page.locator("#region").get_by_label("GrabCut box", exact=True).check()
            scrub(page, 0)
            click_picture(page, 0.50, 0.20)
            page.wait_for_function("() => document.querySelector('#box textarea, #box input').value.split(',')"
                                   ".length === 2", timeout=30_000)
            click_picture(page, 0.505, 0.205)
            page.locator("#region-warning").get_by_text("found no object on frame 0").wait_for(timeout=30_000)
            page.screenshot(path=shots / "4-empty-grabcut-warning.png", full_page=True)

            # Mix two styles on the whole frame, preview, render.
            page.locator("#region").get_by_label("none", exact=True).check()
            set_number(page, "weight_1", 0.6)
            message.get_by_text("every weight is 0").wait_for(state="detached", timeout=30_000)
            choose(page, "style_2", "picasso")
            set_number(page, "weight_2", 0.4)

            # A key of that mix at frame 6, chosen by scrubbing onto its mark, moved to frame 10, then removed.
            key_lands(page, 6, "add-key", "vangogh:0.6,picasso:0.4")
            key_lands(page, 10, "move-key", "vangogh:0.6,picasso:0.4")
            page.screenshot(path=shots / "5-key-moved.png", full_page=True)
            page.locator("#remove-key").click()
            page.wait_for_function(f"() => {KEYS} === ''", timeout=30_000)
            scrub(page, 0)

            page.locator("#preview-frame").click()
            page.locator("#preview-status").get_by_text("done").wait_for(timeout=90_000)
            page.locator("#preview-image img").wait_for(timeout=10_000)
            page.locator("#before-after img").nth(1).wait_for(timeout=30_000)  # this frame's source and preview
            page.screenshot(path=shots / "6-previewed.png", full_page=True)

            page.locator("#render").click()
            page.locator("#render-status").get_by_text("running").wait_for(timeout=60_000)
            command = page.locator("#command").inner_text()
            assert "vidstyle video" in command and "vangogh:0.6,picasso:0.4" in command and "--max-size 64" in command

            # A reload mid-render: the same settings, the same command, and the render still watched.
            page.reload()
            page.locator("#facts").get_by_text("24 frames").wait_for(timeout=60_000)
            page.wait_for_function("() => document.querySelector('#weight_2 input[type=number]').value === '0.4'",
                                   timeout=30_000)
            assert page.locator("#size input[type=number]").first.input_value() == "64"
            assert page.locator("#style_2 input").first.input_value() == "picasso"
            assert "vangogh:0.6,picasso:0.4" in page.locator("#command").inner_text()
            page.screenshot(path=shots / "7-reloaded-mid-render.png", full_page=True)

            page.locator("#render-status").get_by_text("frame 24/24").wait_for(timeout=180_000)
            page.wait_for_function("() => { const v = document.querySelector('#result video');"
                                   " return v && v.readyState === 4; }", timeout=60_000)
            page.screenshot(path=shots / "8-rendered.png", full_page=True)

            # A row of the Renders table reopens that render's settings after the form was changed.
            set_number(page, "size", 128)
            page.locator("#queue [role=gridcell]", has_text="clip.mp4").first.click()
            page.wait_for_function("() => document.querySelector('#size input[type=number]').value === '64'",
                                   timeout=30_000)
            page.screenshot(path=shots / "9-reopened-from-its-row.png", full_page=True)

            with page.expect_download(timeout=30_000) as downloading:
                page.locator("#download a").first.click()
            saved = tmp_path / "downloaded.mp4"
            downloading.value.save_as(saved)

            # Paint over frame 12 of the result in the editor and render again: frame 12 is the painting.
            scrub(page, 12)
            page.locator("#paint-over-panel").click()
            empty = editor_view(page)
            page.locator("#open-result-frame").click()
            page.locator("#render-message").get_by_text("frame 12 of the render").wait_for(timeout=30_000)
            # The frame arrives in the canvas after the message: paint once it is shown, and again if a stroke does
            # not show (as a user would), then use it.
            shown = wait_for_view(page, empty, "the rendered frame in the editor")
            for _ in range(3):
                stroke(page)
                try:
                    wait_for_view(page, shown, "the stroke on the frame", seconds=10)
                    break
                except AssertionError:
                    continue
            page.screenshot(path=shots / "10-painted-over.png", full_page=True)
            page.locator("#use-paint-over").click()
            page.wait_for_function("() => document.querySelector('#paint_over textarea').value.startsWith('12=')"
                                   " || document.querySelector('#render-message').innerText.includes('first')",
                                   timeout=30_000)
            assert page.locator("#paint_over textarea").input_value().startswith("12="), \
                page.locator("#render-message").inner_text()
            edit = page.locator("#paint_over textarea").input_value().partition("=")[2]
            page.locator("#render").click()
            page.wait_for_function("() => document.querySelector('#command').innerText.includes('--paint-over 12=')",
                                   timeout=30_000)
            page.wait_for_function("() => [...document.querySelectorAll('#queue [role=gridcell]')]"
                                   ".filter(c => c.innerText.trim() === 'done').length === 2", timeout=180_000)
            page.screenshot(path=shots / "11-painted-over-and-rendered-again.png", full_page=True)
            command = page.locator("#command").inner_text()
            browser.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert not outside, outside
    info = probe(saved)
    assert info.has_audio and sum(1 for _ in iter_frames(saved)) == 24
    output = Path(command.split(" -o ")[1].split()[0])
    kept = read_image(work_dir_for(output) / "frames" / "000012.png")
    assert np.array_equal(kept, resize(read_image(edit), *kept.shape[:2]))  # the frame is the painting
    assert not np.array_equal(kept, read_image(work_dir_for(output) / "frames" / "000011.png"))
    if os.environ.get("STUDIO_SCREENSHOTS"):
        shutil.copy(saved, shots / "rendered.mp4")

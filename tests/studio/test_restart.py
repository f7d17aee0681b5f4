"""A render belongs to the server, not the tab: killed mid-render, the studio resumes it at its next start, and
the result equals an uninterrupted run of the command line the page showed."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from vidstyle.media.decode import iter_frames

from ..conftest import ROOT, translating_clip
from .conftest import free_port, studio_process, wait_until_up
from .test_api import request


def status(client, render_id: str) -> dict:
    return json.loads(client.predict(render_id, api_name="/status"))


@pytest.mark.slow
def test_a_killed_server_resumes_the_render_and_its_output_equals_an_uninterrupted_run(tmp_path, make_clip,
                                                                                        tiny_weights):
    pytest.importorskip("gradio")
    from gradio_client import Client

    clips, out = tmp_path / "clips", tmp_path / "out"
    clips.mkdir()
    os.replace(make_clip(translating_clip(16, 48, 64, dx=1.0), audio=True), clips / "walk.mp4")
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    server = studio_process([clips], out, port, "--weights", tiny_weights)
    try:
        wait_until_up(url, server)
        client = Client(url, verbose=False, download_files=False)
        render_id, said, command, _ = client.predict(*request(size=64, first=20, later=20), api_name="/render")
        assert render_id, said
        deadline = time.time() + 120
        while status(client, render_id)["frame"] < 4 and time.time() < deadline:
            time.sleep(0.05)
        assert status(client, render_id)["status"] == "running"
    finally:
        os.killpg(server.pid, signal.SIGKILL)  # no clean shutdown: the queue file says "running"
        server.wait()
    output = out / shlex.split(command)[shlex.split(command).index("-o") + 1]
    assert not output.exists()

    server = studio_process([clips], out, port, "--weights", tiny_weights)
    try:
        wait_until_up(url, server)
        client = Client(url, verbose=False, download_files=False)
        deadline = time.time() + 180
        while status(client, render_id)["status"] != "done" and time.time() < deadline:
            time.sleep(0.2)
        view = status(client, render_id)
        assert view["status"] == "done", view
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    assert view["frame"] == 16 and output.is_file()

    # The command line the page showed, run to another file: the same frames.
    argv = shlex.split(command)
    reference = tmp_path / "reference.mp4"
    argv[argv.index("-o") + 1] = os.fspath(reference)
    finished = subprocess.run([sys.executable, "-m", "vidstyle", *argv[1:], "--device", "cpu"],
                              env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True,
                              cwd=out)
    assert finished.returncode == 0, finished.stderr
    resumed, uninterrupted = list(iter_frames(output)), list(iter_frames(reference))
    assert len(resumed) == len(uninterrupted) == 16
    for a, b in zip(resumed, uninterrupted):
        assert np.array_equal(a, b)

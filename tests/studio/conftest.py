"""A studio served on a free loopback port, in this process or in a child (for kills and restarts)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from ..conftest import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(url: str, process: subprocess.Popen | None = None, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the studio exited: {process.stderr.read() if process.stderr else ''}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the studio did not answer at {url}")


def studio_process(paths: list[Path], out: Path, port: int, *extra: str) -> subprocess.Popen:
    """``vidstyle studio`` in a child process (its own session, so a kill takes its threads with it)."""
    command = [sys.executable, "-m", "vidstyle", "studio", *map(os.fspath, paths), "--out", os.fspath(out),
               "--port", str(port), "--device", "cpu", *extra]
    return subprocess.Popen(command, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


@pytest.fixture
def served(tmp_path):
    """Start the studio in this process on the folders given: ``(url, studio)``; closed after the test."""
    pytest.importorskip("gradio")
    from vidstyle.studio.app import serve

    started = []

    def serve_on(roots: list[Path], out: Path, **options):
        port = free_port()
        page, studio = serve(roots, out, port=port, block=False, device="cpu", **options)
        started.append((page, studio))
        url = f"http://127.0.0.1:{port}/"
        wait_until_up(url)
        return url, studio

    yield serve_on
    for page, studio in started:
        studio.close()
        page.close()

"""Signals and kills: a clean stop at any point, finished frames kept, nothing left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vidstyle.media.decode import iter_frames
from vidstyle.video.checkpoint import work_dir_for

from ..conftest import ROOT, translating_clip

ENV = {**os.environ, "PYTHONPATH": str(ROOT)}


def command(clip: Path, out: Path, weights: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "vidstyle", "video", str(clip), "-s", "mosaic", "-o", str(out), "--device", "cpu",
            "--weights", weights, "--max-size", "0", *extra]


def wait_for(condition, seconds: float = 120) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline and not condition():
        time.sleep(0.01)
    assert condition(), "timed out"


@pytest.mark.slow
@pytest.mark.parametrize("sig, code, word", [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")])
def test_a_signal_stops_the_run_and_its_threads_cleanly(make_clip, tmp_path, tiny_weights, sig, code, word):
    clip = make_clip(translating_clip(8, 96, 128, dx=1.0), audio=False)
    out = tmp_path / "out.mp4"
    log = work_dir_for(out) / "log.jsonl"
    # Long-term offsets keep the prefetch thread computing flows while the main thread optimises.
    # Later frames of about a second each: the signal lands mid-run, however late this process polls (one CI run
    # with 0.4 s frames finished all 12 before its signal arrived).
    args = command(clip, out, tiny_weights, "--long-term", "1,2,3,4", "--first-iterations", "30", "--iterations", "100",
                   "--tolerance", "0")
    # A run started from a background job inherits SIGINT ignored (and Python then keeps it so): give the run
    # the default disposition, as a terminal's foreground job has.
    process = subprocess.Popen(args, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    wait_for(lambda: log.exists() and len(log.read_text().splitlines()) >= 2)
    assert process.poll() is None, "the run ended before the signal could be sent"
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    lines = [line for line in stderr.splitlines() if line.strip() and not line.lstrip().startswith(("out", "frame",
                                                                                                   "clip"))]
    assert lines and lines[-1].startswith(f"error: {word}") and "finished frames are kept" in lines[-1]
    assert "Traceback" not in stderr and "terminate called" not in stderr
    kept = len(log.read_text().splitlines())
    assert kept >= 2 and not out.exists()
    if sig != signal.SIGINT:
        return  # the resume after a stop is the same either way: run once (SIGINT), to keep the suite short
    resumed = subprocess.run(args, env=ENV, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{kept} resumed" in resumed.stdout and sum(1 for _ in iter_frames(out)) == 8


@pytest.mark.slow
def test_a_kill_during_the_encode_leaves_nothing_after_the_rerun(make_clip, tmp_path, tiny_weights):
    clip = make_clip(translating_clip(90, 144, 192, dx=1.0), audio=True)
    out = tmp_path / "out.mp4"
    work = work_dir_for(out)
    # A slow encode from finished frames: every frame is resumed, the run goes straight to encoding.
    args = command(clip, out, tiny_weights, "--no-temporal", "--first-iterations", "1", "--scales", "1",
                   "--keep-frames", "--preset", "veryslow", "--crf", "0")
    subprocess.run(args, env=ENV, check=True, capture_output=True)
    out.unlink()
    # Python's fault handler: if the run ever hangs, SIGABRT makes it print every thread's stack to stderr.
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "w") as sink:
        process = subprocess.Popen(args, env={**ENV, "PYTHONFAULTHANDLER": "1"}, stdout=subprocess.DEVNULL,
                                   stderr=sink)
    try:
        # the encode's own part file (the log's atomic rewrite at the start leaves a ".part" name for a moment too)
        wait_for(lambda: any(".video.part" in p.name for p in work.iterdir()) or process.poll() is not None, 300)
    except AssertionError:
        process.send_signal(signal.SIGABRT)
        process.wait()
        pytest.fail(f"the resumed run neither encoded nor ended: {stderr.read_text()[-4000:]}")
    process.send_signal(signal.SIGKILL)
    process.wait()
    if out.exists():
        pytest.fail("the encode finished before the kill: make it slower")
    assert any(".video.part" in p.name for p in work.iterdir())  # what a kill leaves: a part file, not an output

    finished = subprocess.run(args, env=ENV, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    assert sum(1 for _ in iter_frames(out)) == 90
    leftovers = [p for p in tmp_path.rglob("*") if ".part" in p.name]
    assert not leftovers, leftovers

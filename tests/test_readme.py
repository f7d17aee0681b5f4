"""Every command of the README's code blocks, run as written through the installed script (with tiny sizes added
where a command takes them), on material shaped as the README's names say: a photo and a clip with a person in
them (frames of ``../shared/data/videos/again.mkv``), masks of the photo's aspect, a jobs.toml from the README's
own table. The few lines that cannot run here are listed in :data:`NOT_HERE` with the reason."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from .conftest import ROOT, shared_file, textured

README = ROOT / "README.md"
SCRIPT = Path(sys.executable).parent / "vidstyle"
# Lines that cannot run on a test machine, by a piece of their text, and why.
NOT_HERE = {
    "python3 -m venv": "the set-up lines make a fresh environment: CI runs exactly that install (.ci/run)",
    "pip install": "installs: CI's environment is the README's install",
    "smp-hub/": "downloads a checkpoint from the Hugging Face hub (tests never download)",
    "--engine ray --address auto": "joins a running Ray cluster (tests/batch/test_ray.py starts a local one)",
}
# Sizes added to each command that takes them, so the whole README runs in minutes.
TINY = {
    "image": ["--size", "96", "-i", "4", "--fine-iterations", "2"],  # GrabCut and the person model need ~100 px
    "video": ["--max-size", "32", "--first-iterations", "4", "--fine-iterations", "2", "--iterations", "2",
              "--flow-size", "0"],
    "batch": ["--max-size", "32", "--first-iterations", "4", "--fine-iterations", "2", "--iterations", "2",
              "--flow-size", "0"],
    "mask": ["--max-size", "96"],
    "metrics": ["--max-size", "64", "--frames", "6"],
}


def blocks(language: str) -> list[str]:
    text = README.read_text()
    return [re.sub(r"(?m)^" + m.group(1), "", m.group(3))
            for m in re.finditer(r"(?ms)^( *)```(\w+)\n(.*?)^\1```", text) if m.group(2) == language]


def command_lines() -> list[str]:
    """Every command line of the bash blocks, comments dropped."""
    lines = []
    for block in blocks("bash"):
        for line in block.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line:
                lines.append(line)
    return lines


def person_frames(count: int, height: int, width: int, start: int = 0) -> list[np.ndarray]:
    from vidstyle.media.decode import iter_frames
    from vidstyle.media.sizes import resize

    frames = [f for i, f in enumerate(iter_frames(shared_file("videos", "again.mkv"))) if start <= i < start + count]
    return [resize(f, height, width) for f in frames]


def material(folder: Path) -> None:
    """The files the README's commands name, made small."""
    from samples.make import write_clip
    from vidstyle.media.images import write_image

    folder.mkdir(parents=True, exist_ok=True)
    import cv2

    signer = person_frames(77, 480, 640)
    # 640x480 with the signer half size inside the README's GrabCut box 120,80,200,260, the wall around it.
    small = cv2.resize(signer[0], (320, 240), interpolation=cv2.INTER_AREA)
    write_image(folder / "photo.jpg", cv2.copyMakeBorder(small, 90, 150, 70, 250, cv2.BORDER_REPLICATE))
    cutout = np.zeros(small.shape[:2], np.uint8)  # the signer's photo, the wall around an ellipse transparent
    cv2.ellipse(cutout, (160, 120), (110, 115), 0, 0, 360, 255, -1)
    write_image(folder / "cutout.png", small, cutout)
    # 16 frames at 6 fps: 2.67 s, long enough for the README's --start 2.5 (every other frame of the signer)
    write_clip(folder / "in.mp4", [f[::4, ::4] for f in signer[:32:2]], Fraction(6), with_audio=True)
    write_image(folder / "fixed.png", textured(120, 160, seed=3))  # a painted-over frame of in.mp4's shape
    for name in ("my_style.jpg", "my_picasso.jpg"):
        write_image(folder / name, textured(96, 96, seed=len(name)))
    half = np.zeros((120, 160), np.uint8)
    half[:50] = 255  # the top: a "sky"
    write_image(folder / "sky.png", half)
    person = np.zeros((120, 160), np.uint8)
    person[20:110, 40:120] = 255
    write_image(folder / "person.png", person)
    write_image(folder / "first.png", person)
    moving = [np.roll(np.repeat(person[..., None], 3, axis=2), 4 * t, axis=1) for t in range(16)]
    write_clip(folder / "masks.mp4", moving, Fraction(6), with_audio=False)
    for sub in ("clips", "extra", "masks"):
        (folder / sub).mkdir(exist_ok=True)
    write_clip(folder / "clips" / "intro.mp4", [f[::4, ::4] for f in signer[:20]], Fraction(30), with_audio=True)
    write_clip(folder / "clips" / "street.mp4", [f[::4, ::4] for f in signer[40:52]], Fraction(30), with_audio=False)
    write_image(folder / "masks" / "street.png", person)
    write_clip(folder / "extra" / "other.mov", [f[::4, ::4] for f in signer[52:58]], Fraction(30), with_audio=False)
    wall = [np.roll(textured(120, 160, seed=9), 3 * t, axis=1) for t in range(6)]
    write_clip(folder / "long.mp4", [f[::4, ::4] for f in signer[:6]] + wall, Fraction(12), with_audio=True)
    (folder / "jobs.toml").write_text(blocks("toml")[0])


def tiny(argv: list[str]) -> list[str]:
    if argv[0] == "styles" or argv[0] == "studio":
        return argv
    return [*argv, *TINY[argv[0]]]


def core_pins() -> list:
    """Two ``preexec_fn``: each keeps a process on a core of its own (its torch then takes one thread, as on a
    one-core machine), so two processes at once do not spin against each other; ``None`` twice with fewer cores."""
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if len(cores) < 2:
        return [None, None]
    return [lambda cpu=cpu: os.sched_setaffinity(0, {cpu}) for cpu in cores[:2]]


def run_line(line: str, cwd: Path, pin=None) -> subprocess.CompletedProcess:
    """One README line through the installed script (globs expanded as a shell would; ``VAR=value`` prefixes kept),
    ``pin`` run in the child first (:func:`core_pins`)."""
    words = shlex.split(line)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    while "=" in words[0] and not words[0].startswith("-"):
        key, value = words.pop(0).split("=", 1)
        env[key] = value
    assert words[0] == "vidstyle", line
    argv = []
    for word in words[1:]:
        argv += sorted(str(p.relative_to(cwd)) for p in cwd.glob(word)) if "*" in word else [word]
    return subprocess.run([os.fspath(SCRIPT), *tiny(argv)], cwd=cwd, capture_output=True, text=True, env=env,
                          timeout=600, preexec_fn=pin)


@pytest.mark.slow
def test_every_command_of_the_readme_runs_as_written(tmp_path):
    if not SCRIPT.is_file():
        pytest.fail(f"the console script {SCRIPT} is missing: install the package (pip install -e .)")
    folder = tmp_path / "work"
    material(folder)
    runnable, skipped = [], []
    for line in command_lines():
        reason = next((why for text, why in NOT_HERE.items() if text in line), None)
        if "&&" in line:  # the set-up lines: the install is CI's; what follows it runs here
            line = line.split("&&")[-1].strip()
            reason = None if line.startswith("vidstyle") else reason
        if reason or not line.startswith(("vidstyle", "HF_HUB")):
            skipped.append((line, reason or "not a vidstyle command"))
            continue
        if line.startswith("vidstyle studio"):
            continue  # served and driven with the README's API block below
        cwd = ROOT if "samples/" in line else folder
        if cwd == ROOT:  # the sample command writes beside the repo's files: into the test's folder instead
            line = line.replace("-o out.mp4", f"-o {folder / 'sample-out.mp4'}")
        runnable.append((line, cwd))
    # Two lanes at once, each in the README's order and on a core of its own where there are two: the stills (each
    # writes its own picture from photo.jpg), the batches (their own folders) and the sample, then the rest (styles,
    # clips, masks and metrics: later lines read what earlier ones wrote).
    pins = core_pins()
    first = [r for r in runnable if r[0].startswith(("vidstyle image ", "vidstyle batch ")) or r[1] == ROOT]
    lanes = [first, [r for r in runnable if r not in first]]

    def run_lane(lane: int) -> list[tuple[str, subprocess.CompletedProcess]]:
        return [(line, run_line(line, cwd, pins[lane])) for line, cwd in lanes[lane]]

    with ThreadPoolExecutor(2) as pool:
        results = [done for lane in pool.map(run_lane, range(2)) for done in lane]
    for line, done in results:
        assert done.returncode == 0 and "Traceback" not in done.stderr, (line, done.stderr[-2000:])
    assert len(results) >= 30, results
    assert all(reason for _, reason in skipped), skipped
    for written in ("painted.png", "compare.png", "out.mp4", "keyed.mp4", "art.mp4", "metrics.png",
                    "styled/intro.mp4", "styled/street.mp4", "styled/other.mp4", "chunked/long.mp4"):
        assert (folder / written).exists(), written
    assert sorted((folder / "masks").glob("*.png")), "vidstyle mask wrote no masks"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_the_readme_python_blocks_run_as_written(tmp_path):
    """The library block on small inputs (48x64 frames, its size 512 made 32), and the studio's API block against
    the README's own ``vidstyle studio samples/`` (the sample clip, real VGG19)."""
    pytest.importorskip("gradio_client")
    from samples.make import write_clip
    from vidstyle.media.images import write_image

    library_block, studio_block = blocks("python")
    signer = person_frames(3, 48, 64, start=30)  # small: the block runs the default iterations
    write_image(tmp_path / "photo.jpg", signer[0])
    write_clip(tmp_path / "in.mp4", signer, Fraction(12), with_audio=True)
    # The two blocks at once, each on a core of its own where there are two (each torch then takes one thread).
    pins = core_pins()
    code = library_block.replace("size=512", "size=32")
    logs = [open(tmp_path / name, "w+") for name in ("library.out", "library.err")]  # no pipe to fill meanwhile
    library = subprocess.Popen([sys.executable, "-c", code], cwd=tmp_path, stdout=logs[0], stderr=logs[1],
                               text=True, preexec_fn=pins[0])

    (tmp_path / "samples").symlink_to(ROOT / "samples")
    port = free_port()
    served = shlex.split(next(line for line in command_lines() if line.startswith("vidstyle studio")))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    server = subprocess.Popen([os.fspath(SCRIPT), *served[1:], "--port", str(port), "--device", "cpu"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                              start_new_session=True, preexec_fn=pins[1])
    try:
        deadline = time.time() + 120
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except OSError:
                assert time.time() < deadline and server.poll() is None, server.stderr.read()
                time.sleep(0.3)
        code = studio_block.replace("http://127.0.0.1:7860/", f"http://127.0.0.1:{port}/")
        done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=900)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        library.wait(timeout=900)
        for log in logs:
            log.seek(0)
        library_out, library_err = (log.read() for log in logs)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "vidstyle video" in done.stdout and "done" in done.stdout.splitlines()[-1], done.stdout
    assert Path(done.stdout.split()[-1]).is_file()
    assert library.returncode == 0, library_err[-3000:]
    assert "vidstyle video in.mp4 -o out.mp4" in library_out and (tmp_path / "out.mp4").is_file()

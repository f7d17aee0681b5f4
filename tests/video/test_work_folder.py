"""A damaged or shared work folder costs at most the damaged frames: one run per folder, hashed frames, full disks."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from vidstyle.config import VideoConfig
from vidstyle.media.decode import iter_frames
from vidstyle.media.images import read_image, write_image
from vidstyle.video import checkpoint as checkpoint_module
from vidstyle.video import pipeline as pipeline_module
from vidstyle.video.checkpoint import BusyError, Checkpoint, DiskFullError, work_dir_for
from vidstyle.video.pipeline import stylize_video

from ..conftest import ROOT, plain, translating_clip

KEEP = VideoConfig(max_size=None, keep_frames=True, audio=False)


def frames_of(out: Path, count: int = 6) -> list[np.ndarray]:
    return [read_image(work_dir_for(out) / "frames" / f"{i:06d}.png") for i in range(count)]


@pytest.fixture
def clip(make_clip):
    return make_clip(translating_clip(6, 32, 48, dx=1.5), audio=False)


@pytest.fixture
def reference(clip, tmp_path, tiny) -> list[np.ndarray]:
    """The frames of an uninterrupted run."""
    out = tmp_path / "reference.mp4"
    stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    return frames_of(out)


def test_a_second_run_on_the_same_output_is_refused_at_once(clip, tmp_path, tiny_weights):
    out = tmp_path / "same.mp4"
    command = [sys.executable, "-m", "vidstyle", "video", str(clip), "-s", "mosaic", "-o", str(out), "--device", "cpu",
               "--weights", tiny_weights, "--max-size", "0", "--no-audio", "--keep-frames", "--precision", "fp32",
               "--first-iterations", "600", "--fine-iterations", "2", "--iterations", "3", "--later-fine-iterations", "2",
               "--tolerance", "0", "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    first = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lock = work_dir_for(out) / "lock"
    deadline = time.time() + 60
    while time.time() < deadline and not (lock.is_file() and lock.read_text().startswith("pid")):
        time.sleep(0.01)
    first.send_signal(signal.SIGSTOP)  # frozen while it holds the folder, however fast this machine paints
    try:
        assert first.poll() is None, "the first run should still be working"
        started = time.time()
        second = subprocess.run(command, env=env, capture_output=True, text=True)
    finally:
        first.send_signal(signal.SIGCONT)
    assert second.returncode == 1 and time.time() - started < 30
    message = plain(second.stderr).strip()
    assert len(message.splitlines()) == 1 and f"pid {first.pid}, started " in message
    assert "another vidstyle run" in message and str(out) in message
    _, stderr = first.communicate(timeout=300)
    assert first.returncode == 0, stderr
    single = tmp_path / "single.mp4"
    subprocess.run(command[:8] + [str(single)] + command[9:], env=env, check=True, capture_output=True)
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), frames_of(single)))
    assert sum(1 for _ in iter_frames(out)) == 6


def test_the_lock_is_held_in_process_and_released_after(tmp_path):
    folder = tmp_path / "x.mp4.vidstyle-work"
    with Checkpoint(folder, "d", "x.mp4") as first:
        first.open(restart=False)
        with pytest.raises(BusyError, match=rf"another vidstyle run \(pid {os.getpid()}, started .*\) is working "
                                            r"on x\.mp4"):
            Checkpoint(folder, "d", "x.mp4").open(restart=False)
        with pytest.raises(BusyError):  # --restart does not take a folder away from its run either
            Checkpoint(folder, "d", "x.mp4").open(restart=True)
    with Checkpoint(folder, "d", "x.mp4") as again:  # released with the first run
        assert again.open(restart=False) == []


@pytest.mark.parametrize("damage", ["truncated", "wrong size"])
def test_a_damaged_frame_is_recomputed_with_those_after_it(clip, tmp_path, tiny, reference, damage, monkeypatch,
                                                             caplog):
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    out.unlink()  # as if killed before the encode
    frames = work_dir_for(out) / "frames"
    stamps = {i: (frames / f"{i:06d}.png").stat().st_mtime_ns for i in range(6)}
    bad = frames / "000003.png"
    if damage == "truncated":
        bad.write_bytes(bad.read_bytes()[:100])
    else:
        write_image(bad, np.zeros((8, 8, 3), np.uint8))
    damaged_bytes = bad.read_bytes()
    decoded: list[bytes] = []
    real_read = checkpoint_module.read_image

    def spy(path):
        decoded.append(Path(path).read_bytes())
        return real_read(path)

    monkeypatch.setattr(checkpoint_module, "read_image", spy)
    with caplog.at_level("WARNING"):
        result = stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    assert result.resumed_frames == 3 and result.frames == 6
    assert any("frame 3" in r.getMessage() and "damaged" in r.getMessage() and "recomputing" in r.getMessage()
               for r in caplog.records)
    assert damaged_bytes not in decoded, "the damaged file was decoded as a frame"
    assert all((frames / f"{i:06d}.png").stat().st_mtime_ns == stamps[i] for i in range(3))
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), reference))


def test_a_damaged_mask_pass_is_redone(clip, tmp_path, tiny, caplog):
    mask = np.zeros((32, 48), np.uint8)
    mask[:, :24] = 255
    write_image(tmp_path / "mask.png", mask)
    out = tmp_path / "masked.mp4"
    from vidstyle.regions.sources import MaskSource

    source = MaskSource(path=tmp_path / "mask.png")
    stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu", mask=source)
    first = frames_of(out)
    out.unlink()
    masks = work_dir_for(out) / "masks" / "0"
    (masks / "000002.png").write_bytes(b"not a png")
    with caplog.at_level("WARNING"):
        stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu", mask=source)
    assert any("masks of region 0" in r.getMessage() for r in caplog.records)
    assert read_image(masks / "000002.png").shape[:2] == (32, 48)
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), first))


def _full_disk_at(monkeypatch, name: str) -> None:
    real = checkpoint_module.atomic_path

    def atomic(path):
        if Path(path).name == name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(path)

    monkeypatch.setattr(checkpoint_module, "atomic_path", atomic)


def test_a_full_disk_stops_a_frame_write_cleanly_and_the_run_resumes(clip, tmp_path, tiny, reference, monkeypatch):
    out = tmp_path / "out.mp4"
    with monkeypatch.context() as patch:
        _full_disk_at(patch, "000004.png")
        with pytest.raises(DiskFullError, match="no space left on the device while writing .*000004.png: free some"):
            stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    frames = work_dir_for(out) / "frames"
    assert sorted(p.name for p in frames.iterdir()) == [f"{i:06d}.png" for i in range(4)]
    assert not out.exists()
    result = stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    assert result.resumed_frames == 4 and result.frames == 6
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), reference))


def test_the_atomic_writes_a_killed_run_left_are_removed_when_the_run_resumes(clip, tmp_path, tiny, reference):
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    out.unlink()  # as if the run were killed before its encode, in the middle of rewriting its log and a frame
    work = work_dir_for(out)
    stale = [work / ".log.k2x9a1.part.jsonl", work / "frames" / ".000004.q81zz0.part.png"]
    for path in stale:
        path.write_bytes(b"half a file")
    stylize_video(clip, out, "mosaic", config=tiny, video=KEEP, device="cpu")
    assert not any(path.exists() for path in stale) and not list(work.rglob("*.part*"))
    assert sum(1 for _ in iter_frames(out)) == 6
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), reference))


def test_a_full_disk_during_the_encode_loses_nothing(clip, tmp_path, tiny, reference, monkeypatch):
    from typer.testing import CliRunner

    from vidstyle.cli import app

    out = tmp_path / "out.mp4"

    def full(*args, **kwargs):
        (work_dir_for(out) / "encode.part.mp4").write_bytes(b"half a video")
        raise OSError(errno.ENOSPC, "No space left on device")

    args = ["video", str(clip), "-s", "mosaic", "-o", str(out), "--device", "cpu", "--weights",
            tiny.features.weights, "--max-size", "0", "--no-audio", "--keep-frames", "--precision", "fp32",
            "--first-iterations", "4", "--fine-iterations", "2", "--iterations", "3", "--later-fine-iterations", "2",
            "--tolerance", "0"]
    with monkeypatch.context() as patch:
        patch.setattr(pipeline_module, "encode_stylized", full)
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert (f"error: no space left on the device while writing {out}: free some space and run the same command "
            "again (finished frames are kept)") in plain(result.output).replace("\n", " ").replace("  ", " ")
    assert "Traceback" not in result.output
    assert not out.exists() and len(list((work_dir_for(out) / "frames").glob("*.png"))) == 6
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and "6 resumed" in plain(again.output), plain(again.output)
    assert sum(1 for _ in iter_frames(out)) == 6
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(out), reference))


def test_batch_reports_a_clip_another_run_holds_as_busy_and_goes_on(make_clip, tmp_path, tiny_weights):
    from typer.testing import CliRunner

    from vidstyle.cli import app

    clips = tmp_path / "clips"
    clips.mkdir()
    for name in ("a", "b"):
        make_clip(translating_clip(3, 32, 48), name=f"clips/{name}.mp4", audio=False)
    out = tmp_path / "out"
    with Checkpoint(work_dir_for(out / "a.mp4"), "another run", str(out / "a.mp4")) as held:
        held.open(restart=False)
        result = CliRunner().invoke(app, ["batch", str(clips), "--out", str(out), "-s", "mosaic", "--device", "cpu",
                                          "--weights", tiny_weights, "--first-iterations", "2", "--iterations", "1",
                                          "--max-size", "0"])
    text = plain(result.output)
    assert result.exit_code == 0, text
    assert "1 done, 0 skipped, 1 busy (another run is on them), 0 failed" in text
    import json

    report = {Path(r["input"]).name: r for r in json.loads((out / "batch-report.json").read_text())}
    assert report["a.mp4"]["status"] == "busy" and f"pid {os.getpid()}" in report["a.mp4"]["reason"]
    assert report["b.mp4"]["status"] == "done" and (out / "b.mp4").is_file() and not (out / "a.mp4").exists()

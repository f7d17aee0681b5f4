"""Bad and awkward inputs across every command: a clean, accurate answer before any work.

Each case asserts the exit code, one line of output with no traceback, the user's text shown exactly as
typed (brackets included), every input byte-identical afterwards, and nothing under the output's name.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.cli import app
from vidstyle.media.images import write_image

from .conftest import plain, textured, translating_clip


@dataclass(frozen=True)
class Case:
    name: str
    args: list[str]  # {d} is the folder with the inputs, {w} the stand-in weights
    code: int
    message: str  # must appear in the output, exactly
    output: str = "out.png"  # relative to {d}: must not exist afterwards


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from samples.make import write_clip

    folder = tmp_path_factory.mktemp("inputs")
    write_image(folder / "photo.png", textured(48, 64, seed=1))
    mask = np.zeros((48, 64), np.uint8)
    mask[:, :32] = 255
    write_image(folder / "mask.png", mask)
    write_image(folder / "tall.png", np.full((64, 16), 255, np.uint8))
    write_image(folder / "empty_mask.png", np.zeros((48, 64), np.uint8))
    write_clip(folder / "clip.mp4", translating_clip(2, 48, 64), Fraction(12), with_audio=False)
    (folder / "notes.mp4").write_text("not a video")
    (folder / "nothing.mp4").write_bytes(b"")
    (folder / "notes.png").write_text("not an image")
    (folder / "a folder").mkdir()
    (folder / "blocker").write_text("a file where a folder is expected")
    (folder / "jobs_typo.toml").write_text('[defaults]\nstlyes = "swirl"\n')
    (folder / "jobs_range.toml").write_text('[clips."clip.mp4"]\nmax_size = -5\n')
    (folder / "jobs_empty_name.toml").write_text('[clips.""]\nstyles = "swirl"\n')
    (folder / "jobs_broken.toml").write_text("styles = \n")
    return folder


CASES = [
    # image
    Case("missing content", ["image", "{d}/none.jpg", "-s", "swirl", "-o", "{d}/out.png"], 1, "none.jpg' does not exist"),
    Case("content in brackets", ["image", "{d}/[draft] photo.png", "-s", "swirl", "-o", "{d}/out.png"], 1,
         "[draft] photo.png' does not exist"),
    Case("content is a folder", ["image", "{d}/a folder", "-s", "swirl", "-o", "{d}/out.png"], 1,
         "a folder' is a directory"),
    Case("content is not an image", ["image", "{d}/notes.png", "-s", "swirl", "-o", "{d}/out.png"], 1,
         "expected a decodable image"),
    Case("empty content path", ["image", "", "-s", "swirl", "-o", "{d}/out.png"], 2, "expected a path, got an empty one"),
    Case("output is the input", ["image", "{d}/photo.png", "-s", "swirl", "-o", "{d}/photo.png"], 1,
         "refusing to overwrite the input", "none"),
    Case("output is a folder", ["image", "{d}/photo.png", "-s", "swirl", "-o", "{d}/a folder"], 1, "is a directory",
         "none"),
    Case("output type unknown", ["image", "{d}/photo.png", "-s", "swirl", "-o", "{d}/out.gif"], 1,
         "expected an output ending in .png", "out.gif"),
    Case("output under a file", ["image", "{d}/photo.png", "-s", "swirl", "-o", "{d}/blocker/out.png"], 1,
         "blocker' is a file", "blocker/out.png"),
    Case("no styles", ["image", "{d}/photo.png", "-o", "{d}/out.png"], 1, "expected --styles or at least one --region"),
    Case("near-miss style", ["image", "{d}/photo.png", "-s", "swirrl", "-o", "{d}/out.png"], 1,
         "unknown style 'swirrl' (did you mean 'swirl'?)"),
    Case("markup in a style", ["image", "{d}/photo.png", "-s", "x[/b]", "-o", "{d}/out.png"], 1,
         "style image 'x[/b]' does not exist"),
    Case("negative weight", ["image", "{d}/photo.png", "-s", "swirl:-1", "-o", "{d}/out.png"], 1,
         "expected a weight >= 0, got -1"),
    Case("nan weight", ["image", "{d}/photo.png", "-s", "swirl:nan", "-o", "{d}/out.png"], 1, "expected a finite weight"),
    Case("zero weights", ["image", "{d}/photo.png", "-s", "swirl:0,mosaic:0", "-o", "{d}/out.png"], 1,
         "expected at least one weight > 0"),
    Case("absurd size", ["image", "{d}/photo.png", "-s", "swirl", "--size", "100000", "-o", "{d}/out.png"], 1,
         "--size: expected a value >= 16 and <= 16384"),
    Case("size beyond memory", ["image", "{d}/photo.png", "-s", "swirl", "--size", "12000", "-o", "{d}/out.png"], 1,
         "needs about"),
    Case("size below the network", ["image", "{d}/photo.png", "-s", "swirl", "--size", "20", "-o", "{d}/out.png"], 1,
         "expected an image of at least 16x16 px"),
    Case("infinite weight", ["image", "{d}/photo.png", "-s", "swirl", "--style-weight", "inf", "-o", "{d}/out.png"], 1,
         "--style-weight: expected a finite number"),
    Case("negative tv", ["image", "{d}/photo.png", "-s", "swirl", "--tv-weight", "-1", "-o", "{d}/out.png"], 1,
         "--tv-weight: expected a value >= 0"),
    Case("zero iterations", ["image", "{d}/photo.png", "-s", "swirl", "-i", "0", "-o", "{d}/out.png"], 1,
         "--iterations: expected a value >= 1"),
    Case("unknown optimizer", ["image", "{d}/photo.png", "-s", "swirl", "--optimizer", "sgd", "-o", "{d}/out.png"], 2,
         "'sgd' is not one of"),
    Case("near-miss device", ["image", "{d}/photo.png", "-s", "swirl", "--device", "cuad", "-o", "{d}/out.png"], 1,
         "unknown device 'cuad' (did you mean 'cuda'?)"),
    Case("missing init", ["image", "{d}/photo.png", "-s", "swirl", "--init", "{d}/start.png", "-o", "{d}/out.png"], 1,
         "start.png' does not exist"),
    Case("missing weights", ["image", "{d}/photo.png", "-s", "swirl", "--weights", "{d}/vgg.pth", "-o", "{d}/out.png"],
         1, "expected 'embedded', 'torchvision' or a weights file"),
    Case("missing mask", ["image", "{d}/photo.png", "-s", "swirl", "--mask", "{d}/[sky] mask.png", "-o",
                          "{d}/out.png"], 1, "mask '{d}/[sky] mask.png' does not exist"),
    Case("mask of another aspect", ["image", "{d}/photo.png", "-s", "swirl", "--mask", "{d}/tall.png", "-o",
                                    "{d}/out.png"], 1, "expected the same aspect ratio"),
    Case("empty mask", ["image", "{d}/photo.png", "-s", "swirl", "--mask", "{d}/empty_mask.png", "-o", "{d}/out.png"],
         1, "is empty"),
    Case("bad rectangle", ["image", "{d}/photo.png", "-s", "swirl", "--grabcut", "1,2,3", "-o", "{d}/out.png"], 1,
         "--grabcut: expected x,y,w,h"),
    Case("two mask sources", ["image", "{d}/photo.png", "-s", "swirl", "--mask", "{d}/mask.png", "--grabcut",
                              "1,2,3,4", "-o", "{d}/out.png"], 1, "--mask: expected one of --mask, --grabcut or --segment"),
    Case("classes alone", ["image", "{d}/photo.png", "-s", "swirl", "--classes", "sky", "-o", "{d}/out.png"], 1,
         "expected --classes together with --segment"),
    Case("region without a mask", ["image", "{d}/photo.png", "--region", "swirl", "-o", "{d}/out.png"], 1,
         "--region: expected MASK=SPEC"),
    Case("background alone", ["image", "{d}/photo.png", "-s", "swirl", "--background-style", "mosaic", "-o",
                              "{d}/out.png"], 1, "expected --background-style together with a mask"),
    # video
    Case("missing clip in brackets", ["video", "{d}/[1080p] holiday.mp4", "-s", "swirl", "-o", "{d}/out.mp4"], 1,
         "[1080p] holiday.mp4' does not exist", "out.mp4"),
    Case("not a video", ["video", "{d}/notes.mp4", "-s", "swirl", "-o", "{d}/out.mp4"], 1, "expected a video file",
         "out.mp4"),
    Case("empty video file", ["video", "{d}/nothing.mp4", "-s", "swirl", "-o", "{d}/out.mp4"], 1,
         "expected a video file", "out.mp4"),
    Case("video is a folder", ["video", "{d}/a folder", "-s", "swirl", "-o", "{d}/out.mp4"], 1, "is a directory",
         "out.mp4"),
    Case("video output type", ["video", "{d}/clip.mp4", "-s", "swirl", "-o", "{d}/out.avi"], 1,
         "expected an output ending in .mp4", "out.avi"),
    Case("video output is a folder", ["video", "{d}/clip.mp4", "-s", "swirl", "-o", "{d}/a folder"], 1,
         "is a directory", "none"),
    Case("video over its input", ["video", "{d}/clip.mp4", "-s", "swirl", "-o", "{d}/clip.mp4"], 1,
         "refusing to overwrite the input", "none"),
    Case("bad start", ["video", "{d}/clip.mp4", "-s", "swirl", "--start", "abc", "-o", "{d}/out.mp4"], 1,
         "expected a position like 2.5, 2.5s or 75f", "out.mp4"),
    Case("start after end", ["video", "{d}/clip.mp4", "-s", "swirl", "--start", "5f", "--end", "2f", "-o",
                             "{d}/out.mp4"], 1, "expected --start before --end", "out.mp4"),
    Case("range past the end", ["video", "{d}/clip.mp4", "-s", "swirl", "--start", "50f", "-o", "{d}/out.mp4",
                                "--weights", "{w}"], 1, "got none that decode", "out.mp4"),
    Case("zero offset", ["video", "{d}/clip.mp4", "-s", "swirl", "--long-term", "0,5", "-o", "{d}/out.mp4"], 1,
         "--long-term: expected a value >= 1", "out.mp4"),
    Case("infinite temporal weight", ["video", "{d}/clip.mp4", "-s", "swirl", "--temporal-weight", "inf", "-o",
                                      "{d}/out.mp4"], 1, "--temporal-weight: expected a finite number", "out.mp4"),
    Case("tiny max size", ["video", "{d}/clip.mp4", "-s", "swirl", "--max-size", "8", "-o", "{d}/out.mp4"], 1,
         "--max-size: expected a value >= 16", "out.mp4"),
    Case("crf out of range", ["video", "{d}/clip.mp4", "-s", "swirl", "--crf", "60", "-o", "{d}/out.mp4"], 1,
         "--crf: expected a value >= 0 and <= 51", "out.mp4"),
    Case("unknown preset", ["video", "{d}/clip.mp4", "-s", "swirl", "--preset", "warp", "-o", "{d}/out.mp4"], 2,
         "'warp' is not one of", "out.mp4"),
    Case("log into a folder", ["video", "{d}/clip.mp4", "-s", "swirl", "--log", "{d}/a folder", "-o", "{d}/out.mp4"],
         1, "is a directory", "out.mp4"),
    Case("keyframe alone", ["video", "{d}/clip.mp4", "-s", "swirl", "--mask-keyframe", "3", "-o", "{d}/out.mp4"], 1,
         "expected --mask-keyframe together with --mask or --grabcut", "out.mp4"),
    Case("video mask of another aspect", ["video", "{d}/clip.mp4", "-s", "swirl", "--mask", "{d}/tall.png", "-o",
                                          "{d}/out.mp4"], 1, "expected the same aspect ratio", "out.mp4"),
    # mask, metrics, styles
    Case("mask without a source", ["mask", "{d}/photo.png", "-o", "{d}/masks"], 1,
         "expected --mask, --grabcut or --segment", "masks"),
    Case("mask output is a file", ["mask", "{d}/photo.png", "--grabcut", "2,2,20,20", "-o", "{d}/blocker"], 1,
         "is a file: expected a folder", "none"),
    Case("metrics of a missing output", ["metrics", "{d}/clip.mp4", "{d}/[take 2].mp4"], 1,
         "[take 2].mp4' does not exist", "none"),
    Case("metrics at a tiny size", ["metrics", "{d}/clip.mp4", "{d}/clip.mp4", "--max-size", "8"], 1,
         "--max-size: expected 0 or a value >= 16", "none"),
    Case("style name with a path", ["styles", "add", "my/style", "{d}/photo.png"], 1, "expected a style name",
         "none"),
    Case("style image missing", ["styles", "add", "mine", "{d}/[old] style.png"], 1,
         "[old] style.png' does not exist", "none"),
    Case("style image is a folder", ["styles", "add", "mine", "{d}/a folder"], 1, "is a directory", "none"),
    # batch
    Case("batch inputs match nothing", ["batch", "{d}/*.mkv", "--out", "{d}/styled", "-s", "swirl"], 1,
         "matches no file", "styled"),
    Case("batch out is a file", ["batch", "{d}/clip.mp4", "--out", "{d}/blocker", "-s", "swirl"], 1,
         "is a file: expected a folder", "none"),
    Case("batch -o is a file (-o as in every command)", ["batch", "{d}/clip.mp4", "-o", "{d}/blocker", "-s", "swirl"], 1,
         "is a file: expected a folder", "none"),
    Case("batch without styles", ["batch", "{d}/clip.mp4", "--out", "{d}/styled"], 1, "--styles: expected --styles or at least one --region", "styled"),
    Case("jobs file missing", ["batch", "{d}/clip.mp4", "--out", "{d}/styled", "-s", "swirl", "--jobs",
                               "{d}/jobs.toml"], 1, "jobs file '{d}/jobs.toml' does not exist", "styled"),
    Case("jobs key near miss", ["batch", "{d}/clip.mp4", "--out", "{d}/styled", "--jobs", "{d}/jobs_typo.toml"], 1,
         "unknown key 'stlyes' (did you mean 'styles'?)", "styled"),
    Case("jobs value out of range", ["batch", "{d}/clip.mp4", "--out", "{d}/styled", "-s", "swirl", "--jobs",
                                     "{d}/jobs_range.toml"], 1, "key 'max_size': expected a value >= 16", "styled"),
    Case("jobs empty clip name", ["batch", "{d}/clip.mp4", "--out", "{d}/styled", "-s", "swirl", "--jobs",
                                  "{d}/jobs_empty_name.toml"], 1, "has an empty clip name", "styled"),
    Case("jobs not TOML", ["batch", "{d}/clip.mp4", "--out", "{d}/styled", "-s", "swirl", "--jobs",
                           "{d}/jobs_broken.toml"], 1, "not valid TOML", "styled"),
]


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_table_is_large_enough():
    assert len(CASES) >= 40 and len({c.name for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gets_one_clean_line(case, inputs, tiny_weights):
    before = digest(inputs)
    args = [a.replace("{d}", str(inputs)).replace("{w}", tiny_weights) for a in case.args]
    result = CliRunner().invoke(app, args)
    text = plain(result.output).strip()
    lines = text.splitlines()
    assert result.exit_code == case.code, text
    assert len(lines) == 1 and lines[0].startswith("error: "), text
    assert case.message.replace("{d}", str(inputs)) in lines[0], text
    assert "Traceback" not in text
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert digest(inputs) == before, "an input changed"
    if case.output != "none":
        target = inputs / case.output
        assert not target.exists() and not target.with_name(target.name + ".vidstyle-work").exists()


def test_awkward_but_valid_names_work_and_are_shown_as_typed(inputs, tmp_path, tiny_weights):
    import shutil

    clip = tmp_path / "[draft] clip, v2.mp4"
    shutil.copy(inputs / "clip.mp4", clip)
    style = tmp_path / "my,style.png"
    shutil.copy(inputs / "photo.png", style)
    out = tmp_path / "100%_done [final].mp4"
    result = CliRunner().invoke(app, ["video", str(clip), "-s", f"{style}:0.5,swirl:0.5", "-o", str(out),
                                      "--first-iterations", "2", "--iterations", "1", "--weights", tiny_weights, "--device",
                                      "cpu"])
    assert result.exit_code == 0, plain(result.output)
    assert f"wrote {out} (2 frames" in plain(result.output)
    assert out.is_file() and not list(tmp_path.glob("*.vidstyle-work")) and not list(tmp_path.glob(".*part*"))

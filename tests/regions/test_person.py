"""The built-in person segmentation (MediaPipe Selfie Segmentation, run offline by OpenCV)."""

import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.cli import app
from vidstyle.media.decode import read_frames
from vidstyle.media.images import read_image
from vidstyle.regions.person import PersonSegmenter
from vidstyle.video.checkpoint import work_dir_for

from ..conftest import plain, shared_file


@pytest.fixture(scope="module")
def segmenter():
    return PersonSegmenter()


def test_it_finds_the_signing_person(segmenter):
    clip = shared_file("videos", "again.mkv")
    frames = [f.image for f in read_frames(clip) if f.index in (0, 13, 26, 39)]
    for mask in segmenter(frames):
        h, w = mask.shape
        assert mask.shape == (480, 640) and mask.dtype == np.float32
        assert mask[h // 2, w // 2] > 0.5  # the person, in the middle
        assert mask[: h // 10, : w // 10].max() < 0.1 and mask[: h // 10, -w // 10:].max() < 0.1  # the wall above


def test_a_street_without_people_is_empty(segmenter):
    photo = read_image(shared_file("content", "tubingen.jpg"))
    assert segmenter([photo])[0].mean() < 0.05


def test_the_model_follows_the_frame_aspect(segmenter):
    assert segmenter._model_for(1920, 1080)[0] == (256, 144)
    assert segmenter._model_for(1080, 1920)[0] == (256, 256)  # portrait: the square model
    assert segmenter._model_for(512, 512)[0] == (256, 256)


@pytest.mark.slow
def test_inverted_person_mask_keeps_the_person_untouched(tmp_path, tiny_weights):
    clip = shared_file("videos", "again.mkv")
    out = tmp_path / "background.mp4"
    result = CliRunner().invoke(app, ["video", str(clip), "-o", str(out), "-s", "vangogh", "--segment", "person",
                                      "--invert-mask", "--end", "8f", "--max-size", "160", "--first-iterations", "8",
                                      "--iterations", "4", "--keep-frames", "--weights", tiny_weights, "--device", "cpu"])
    assert result.exit_code == 0, plain(result.output)
    work = work_dir_for(out)
    from vidstyle.media.sizes import resize

    sources = [resize(f.image, 120, 160) for f in read_frames(clip) if f.index < 8]
    for t, source in enumerate(sources):
        styled = read_image(work / "frames" / f"{t:06d}.png")
        mask = read_image(work / "masks" / "0" / f"{t:06d}.png")[..., 0] / 255.0  # after inversion
        person = mask < 0.05
        assert person.mean() > 0.1  # the person is a good part of the frame
        assert np.abs(styled[person].astype(int) - source[person]).max() <= 1
        assert np.abs(styled[mask > 0.95].astype(int) - source[mask > 0.95]).mean() > 3  # the background changed

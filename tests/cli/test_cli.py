import json

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.cli import app
from vidstyle.media.decode import iter_frames
from vidstyle.media.images import read_image, write_image

from ..conftest import plain, textured, translating_clip

runner = CliRunner()


def test_image_writes_output_and_steps(tmp_path, content_path, style_image_path, tiny_weights):
    out = tmp_path / "out.png"
    result = runner.invoke(app, ["image", str(content_path), "--styles", f"{style_image_path}", "-o", str(out),
                                 "--size", "32", "--iterations", "4", "--save-every", "2", "--device", "cpu",
                                 "--weights", tiny_weights])
    assert result.exit_code == 0, plain(result.output)
    assert read_image(out).shape == (24, 32, 3)
    assert sorted(p.name for p in (tmp_path / "out_steps").iterdir()) == ["00002.png", "00004.png"]


def test_a_cutout_keeps_its_transparency_and_can_be_its_own_mask(tmp_path, content_path, style_image_path,
                                                                   tiny_weights):
    from vidstyle.media.images import read_alpha

    content = read_image(content_path)
    alpha = np.zeros(content.shape[:2], np.uint8)
    alpha[content.shape[0] // 4:, : content.shape[1] // 2] = 255
    cutout = tmp_path / "cutout.png"
    write_image(cutout, content, alpha)
    common = ["--styles", str(style_image_path), "--size", "32", "--iterations", "3", "--device", "cpu",
              "--weights", tiny_weights]
    for name, extra in (("plain.png", []), ("masked.png", ["--mask", str(cutout)]), ("flat.jpg", [])):
        result = runner.invoke(app, ["image", str(cutout), "-o", str(tmp_path / name), *common, *extra])
        assert result.exit_code == 0, plain(result.output)
        assert ("its transparency kept" in result.output) == name.endswith(".png")
    expected = cv2.resize(alpha, (32, 24), interpolation=cv2.INTER_AREA)
    assert np.array_equal(read_alpha(tmp_path / "plain.png"), expected)
    assert read_alpha(tmp_path / "flat.jpg") is None
    # as a mask, the cutout's alpha is the region: outside it the content is kept as it was
    masked = read_image(tmp_path / "masked.png").astype(int)
    plain_result = read_image(tmp_path / "plain.png").astype(int)
    small = cv2.resize(content, (32, 24), interpolation=cv2.INTER_AREA).astype(int)
    outside = expected == 0
    assert np.abs(masked[outside] - small[outside]).mean() < 2 < np.abs(plain_result[outside] - small[outside]).mean()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--styles", "swirl:-1"], "expected a weight >= 0"),
        (["--styles", "nosuchstyle"], "unknown style 'nosuchstyle'"),
        (["--styles", "swirl", "--weights", "/nope.pth"], "expected 'embedded', 'torchvision' or a weights file"),
        (["--styles", "swirl", "--init", "/nope.png"], "does not exist"),
        (["--styles", "swirl", "--size", "20"], "expected an image of at least 16x16 px for layer relu5_1, got 20x15"),
        (["--styles", "swirl", "--size", "100000"], "--size: expected a value >= 16 and <= 16384"),
        (["--styles", "swirl", "--size", "9000"], "needs about"),
        (["--styles", "swirl", "--style-weight", "inf"], "--style-weight: expected a finite number"),
        (["--styles", "swirl", "--device", "gpu"], "unknown device 'gpu'"),
    ],
)
def test_user_errors_are_one_line_and_exit_1(tmp_path, content_path, args, message, tiny_weights):
    extra = [] if "--weights" in args else ["--weights", tiny_weights]
    result = runner.invoke(app, ["image", str(content_path), "-o", str(tmp_path / "o.png"), "--size", "32",
                                 "--iterations", "1", *args, *extra])
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    text = plain(result.output).strip()
    assert message in text and "Traceback" not in text and len(text.splitlines()) == 1, text
    assert not (tmp_path / "o.png").exists()


def test_missing_content_and_input_overwrite(tmp_path, content_path):
    result = runner.invoke(app, ["image", str(tmp_path / "none.jpg"), "-s", "swirl", "-o", str(tmp_path / "o.png")])
    assert result.exit_code == 1 and "does not exist" in plain(result.output)
    before = content_path.read_bytes()
    result = runner.invoke(app, ["image", str(content_path), "-s", "swirl", "-o", str(content_path)])
    assert result.exit_code == 1 and "refusing to overwrite the input" in plain(result.output)
    assert content_path.read_bytes() == before


def test_a_clip_given_to_image_and_a_still_given_to_video_name_the_other_command(tmp_path, content_path,
                                                                                 make_clip):
    """Each command judged the output by the input's kind: ``image clip.mp4 -o out.png`` asked for an .mp4 output,
    ``video photo.png -o out.mp4`` for an image one. Now the line names the command that takes the input."""
    clip = make_clip(translating_clip(2, 32, 48), audio=False)
    for argv, command in ((["image", str(clip), "-o", str(tmp_path / "o.png")], "`vidstyle video`"),
                          (["video", str(content_path), "-o", str(tmp_path / "o.mp4")], "`vidstyle image`")):
        result = runner.invoke(app, [*argv, "-s", "swirl"])
        text = plain(result.output).strip()
        assert result.exit_code == 1 and command in text and len(text.splitlines()) == 1, text
        assert "expected an output ending" not in text
    assert not list(tmp_path.glob("o.*"))


def test_usage_errors_are_one_line_and_exit_2(content_path):
    result = runner.invoke(app, ["image", str(content_path), "-s", "swirl", "-o", "x.png", "--optimizer", "sgd"])
    text = plain(result.output).strip()
    assert result.exit_code == 2 and len(text.splitlines()) == 1 and "--optimizer" in text, text


def test_styles_list_and_add(tmp_path, style_image_path):
    result = runner.invoke(app, ["styles", "add", "tiles", str(style_image_path)])
    assert result.exit_code == 0, plain(result.output)
    result = runner.invoke(app, ["styles", "add", "tiles", str(style_image_path)])
    assert result.exit_code == 1 and "use --force" in plain(result.output)
    listing = json.loads(runner.invoke(app, ["styles", "list", "--json"]).output)
    assert {"tiles", "swirl"} <= {s["name"] for s in listing}


def fake_stylize(seen: dict):
    def stylize_plan(plan, **kwargs):
        seen.update(kwargs, plan=plan)
        return plan.image

    return stylize_plan


def test_options_reach_the_config(monkeypatch, tmp_path, content_path):
    seen = {}
    monkeypatch.setattr("vidstyle.image.pipeline.stylize_plan", fake_stylize(seen))
    result = runner.invoke(app, ["image", str(content_path), "-s", "swirl:2,mosaic:1", "-o", str(tmp_path / "o.png"),
                                 "--size", "100", "--style-weight", "3.5", "--tv-weight", "0", "--optimizer", "adam",
                                 "--pooling", "avg", "--preserve-colors", "--style-scale", "0.5", "-i", "7",
                                 "--style-layers", "relu1_1,relu3_1", "--device", "cpu"])
    assert result.exit_code == 0, plain(result.output)
    config = seen["config"]
    assert seen["plan"].image.shape == (75, 100, 3) and config.loss.style_weight == 3.5 and config.loss.tv_weight == 0
    assert config.optim.optimizer == "adam" and config.optim.iterations == 7
    assert config.features.pooling == "avg" and config.style.preserve_colors and config.style.style_scale == 0.5
    assert config.loss.style_layers == ("relu1_1", "relu3_1")
    assert [round(e.weight, 3) for e in seen["plan"].specs[0]] == [0.667, 0.333]


def test_mask_options_reach_the_library(monkeypatch, tmp_path, content_path):
    seen = {}
    monkeypatch.setattr("vidstyle.image.pipeline.stylize_plan", fake_stylize(seen))
    left = np.zeros((48, 64), np.uint8)
    left[:, :32] = 255
    write_image(tmp_path / "left.png", left)
    write_image(tmp_path / "right.png", 255 - left)
    result = runner.invoke(app, ["image", str(content_path), "-o", str(tmp_path / "o.png"), "--size", "0", "--region",
                                 f"{tmp_path / 'left.png'}=swirl:0.7,mosaic:0.3", "--region",
                                 f"{tmp_path / 'right.png'}=shards", "--background-style", "pointillist",
                                 "--feather", "4", "--invert-mask"])
    assert result.exit_code == 0, plain(result.output)
    plan = seen["plan"]
    assert [[round(e.weight, 2) for e in spec] for spec in plan.specs] == [[0.7, 0.3], [1.0]]
    assert plan.background[0].source == "pointillist"
    inverted_left = plan.masks[0]  # --invert-mask: the left mask now covers the right half, feathered
    assert inverted_left[:, -1].min() == 1 and inverted_left[:, 0].max() == 0 and 0 < inverted_left[24, 32] < 1


@pytest.mark.parametrize(
    "args, message",
    [
        (["--region", "nomask"], "--region: expected MASK=SPEC"),
        ([], "expected --styles or at least one --region MASK=SPEC"),
        (["-s", "swirl", "--mask", "/nope.png"], "does not exist"),
    ],
)
def test_mask_errors_are_one_line(tmp_path, content_path, args, message):
    result = runner.invoke(app, ["image", str(content_path), "-o", str(tmp_path / "o.png"), "--size", "32", "-i", "1",
                                 *args])
    assert result.exit_code == 1 and message in plain(result.output), plain(result.output)


def test_video_command_with_a_keyframe_mask_and_log(tmp_path, make_clip, tiny_weights):
    clip = make_clip(translating_clip(3, 48, 64), audio=False)
    mask = np.zeros((48, 64), np.uint8)
    mask[10:30, 10:40] = 255
    write_image(tmp_path / "m.png", mask)
    out, log = tmp_path / "out.mp4", tmp_path / "log.jsonl"
    result = runner.invoke(app, ["video", str(clip), "-s", "swirl", "-o", str(out), "--mask", str(tmp_path / "m.png"),
                                 "--mask-keyframe", "0", "--first-iterations", "3", "--iterations", "2", "--log", str(log),
                                 "--device", "cpu", "--weights", tiny_weights])
    assert result.exit_code == 0, plain(result.output)
    assert sum(1 for _ in iter_frames(out)) == 3 and len(log.read_text().splitlines()) == 3
    assert "scene cuts at frames: none" in plain(result.output)


@pytest.mark.parametrize(
    "args, message",
    [
        (["-s", "swirl", "--mask", "/nope.png"], "mask '/nope.png' does not exist"),
        (["-s", "swirl", "--grabcut", "1,2,3"], "--grabcut: expected x,y,w,h"),
        (["-s", "swirl", "--mask", "x.png", "--grabcut", "1,2,3,4"], "--mask: expected one of --mask, --grabcut or --segment"),
        (["-s", "swirl", "--long-term", "0,5"], "--long-term: expected a value >= 1 and <= 1000, got 0"),
        (["-s", "swirl", "--start", "abc"], "expected a position like 2.5, 2.5s or 75f"),
        (["--mask", "x.png"], "does not exist"),
        (["-s", "swirl", "--temporal-weight", "inf"], "--temporal-weight: expected a finite number"),
        (["-s", "swirl", "--max-size", "8"], "--max-size: expected a value >= 16"),
    ],
)
def test_video_user_errors(tmp_path, make_clip, args, message):
    clip = make_clip(translating_clip(2, 48, 64), audio=False)
    result = runner.invoke(app, ["video", str(clip), "-o", str(tmp_path / "o.mp4"), "--first-iterations", "1", *args])
    assert result.exit_code == 1 and message in plain(result.output), plain(result.output)
    assert not (tmp_path / "o.mp4").exists() and not (tmp_path / "o.mp4.vidstyle-work").exists()


def test_metrics_command_json(tmp_path, make_clip):
    frames = translating_clip(3, 48, 64)
    clip = make_clip(frames, audio=False)
    inverted = make_clip([255 - f for f in frames], name="inverted.mp4", audio=False)
    result = runner.invoke(app, ["metrics", str(clip), str(inverted), "--json"])
    assert result.exit_code == 0, plain(result.output)
    data = json.loads(result.output)
    assert data["frames"] == 3 and data["input"] > 0 and 0.5 < data["ratio"] < 2
    text = runner.invoke(app, ["metrics", str(clip), str(inverted), "--flow", "dis"])
    assert text.exit_code == 0 and "measured at 64x48 with dis flow and the 'ruder' reliability check" in plain(
        text.output), plain(text.output)


def test_mask_command_writes_masks_and_preview(tmp_path, content_path):
    result = runner.invoke(app, ["mask", str(content_path), "-o", str(tmp_path / "masks"), "--grabcut", "8,8,30,20"])
    assert result.exit_code == 0, plain(result.output)
    assert (tmp_path / "masks" / "000000.png").is_file() and (tmp_path / "masks" / "preview.png").is_file()


def test_the_mission_command_runs(tmp_path, make_clip, tiny_weights):
    clip = make_clip(translating_clip(3, 48, 64), audio=True)
    out = tmp_path / "out.mp4"
    result = runner.invoke(app, ["video", str(clip), "--styles", "vangogh:0.6,picasso:0.4", "-o", str(out),
                                 "--first-iterations", "3", "--iterations", "2", "--weights", tiny_weights, "--device", "cpu"])
    assert result.exit_code == 0, plain(result.output)
    assert sum(1 for _ in iter_frames(out)) == 3


def test_previews_are_contact_sheets(tmp_path, make_clip, content_path, tiny_weights):
    clip = make_clip(translating_clip(9, 48, 64), audio=False)
    result = runner.invoke(app, ["video", str(clip), "-s", "vangogh", "-o", str(tmp_path / "out.mp4"), "--preview",
                                 "3", "--first-iterations", "3", "--weights", tiny_weights, "--device", "cpu"])
    assert result.exit_code == 0, plain(result.output)
    sheet = read_image(tmp_path / "out.preview.png")
    assert not (tmp_path / "out.mp4").exists() and not (tmp_path / "out.mp4.vidstyle-work").exists()
    assert sheet.shape[1] > 3 * sheet.shape[0] / 2 * 0.9  # three columns over two rows of 4:3 tiles
    result = runner.invoke(app, ["image", str(content_path), "-s", "vangogh", "-s", "matisse:0.5,leger:0.5",
                                 "--preview", "--size", "64", "-i", "3", "-o", str(tmp_path / "sheet.png"),
                                 "--weights", tiny_weights, "--device", "cpu"])
    assert result.exit_code == 0, plain(result.output)
    wide = read_image(tmp_path / "sheet.png")
    assert wide.shape[1] > 3 * wide.shape[0]  # source and two results in one row
    refused = runner.invoke(app, ["image", str(content_path), "-s", "vangogh", "-s", "matisse", "-o",
                                  str(tmp_path / "two.png")])
    assert refused.exit_code == 1 and "add --preview" in plain(refused.output)


def test_mask_command_exports_a_ranges_masks_as_the_run_of_that_range_uses_them(tmp_path, make_clip, tiny_weights):
    """``--start/--end`` number the masks from the range's first frame, and the keyframe counts from it, as in a run."""
    clip = make_clip(translating_clip(7, 48, 64, dx=2.0), audio=False)
    drawn = np.zeros((48, 64), np.uint8)
    drawn[12:36, 16:40] = 255
    write_image(tmp_path / "drawn.png", drawn)
    region = ["--mask", str(tmp_path / "drawn.png"), "--mask-keyframe", "1", "--start", "2f", "--end", "6f"]
    result = runner.invoke(app, ["mask", str(clip), "-o", str(tmp_path / "masks"), *region])
    assert result.exit_code == 0 and "wrote 4 mask(s)" in plain(result.output), plain(result.output)
    run = runner.invoke(app, ["video", str(clip), "-s", "swirl", "-o", str(tmp_path / "out.mp4"), "--keep-frames",
                              "--first-iterations", "1", "--iterations", "1", "--weights", tiny_weights, "--device",
                              "cpu", *region])
    assert run.exit_code == 0, plain(run.output)
    used = sorted((tmp_path / "out.mp4.vidstyle-work" / "masks" / "0").glob("*.png"))
    exported = sorted((tmp_path / "masks").glob("0*.png"))
    assert len(used) == len(exported) == 4
    assert all(np.array_equal(read_image(a), read_image(b)) for a, b in zip(used, exported))
    assert not np.array_equal(read_image(exported[0]), read_image(exported[3]))  # the region moves with the clip
    refused = runner.invoke(app, ["mask", str(tmp_path / "drawn.png"), "-o", str(tmp_path / "m2"), "--grabcut",
                                  "8,8,30,20", "--start", "1f"])
    assert refused.exit_code == 1 and "expected a video for a range" in plain(refused.output), plain(refused.output)


def test_metrics_of_a_range_compares_it_with_the_inputs_frames_from_its_start(tmp_path, make_clip):
    """An output rendered with ``--start`` begins later in the input: ``metrics --start`` lines the two up."""
    base = textured(48, 96, seed=5)
    frames = [np.ascontiguousarray(base[:, x:x + 64]) for x in (0, 1, 5, 6, 11, 12, 18, 19)]  # steps of 1, then 4-6
    clip = make_clip(frames, audio=False)
    tail = make_clip(frames[3:], name="tail.mp4", audio=False)  # stands in for a render of the range from 3f
    aligned = runner.invoke(app, ["metrics", str(clip), str(tail), "--flow", "dis", "--start", "3f", "--json"])
    shifted = runner.invoke(app, ["metrics", str(clip), str(tail), "--flow", "dis", "--json"])
    assert aligned.exit_code == shifted.exit_code == 0, plain(aligned.output + shifted.output)
    aligned, shifted = json.loads(aligned.output), json.loads(shifted.output)
    assert aligned["frames"] == shifted["frames"] == 5
    assert aligned["ratio"] < 2 and shifted["ratio"] > 20  # the same frames encoded twice; against frames 3 apart
    bad = runner.invoke(app, ["metrics", str(clip), str(tail), "--start", "later"])
    assert bad.exit_code == 1 and "--start: expected a position" in plain(bad.output), plain(bad.output)

import json

import cv2
import numpy as np
import pytest

from vidstyle.config import RunConfig, TemporalConfig, VideoConfig
from vidstyle.masktrack import MaskSource, clip_masks, grabcut, hysteresis, raw_masks
from vidstyle.pipeline import stylize_video, work_dir_for
from vidstyle.video import read_image, write_image

from .conftest import translating_clip

H, W = 64, 96


def square_mask(t: int, dx: float) -> np.ndarray:
    """The true mask of a square fixed in the scene, seen by a camera moving dx px per frame."""
    mask = np.zeros((H, W), np.float32)
    x0 = 30 - dx * t
    mask[20:44, max(0, int(round(x0))):max(0, int(round(x0 + 24)))] = 1
    return mask


def iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a >= 0.5, b >= 0.5
    return float((a & b).sum() / max((a | b).sum(), 1))


def test_keyframe_propagation_tracks_a_moving_region(tmp_path):
    frames = translating_clip(20, H, W, dx=1.0, seed=2)
    write_image(tmp_path / "key.png", (square_mask(0, 1.0) * 255).astype(np.uint8))
    source = MaskSource(path=tmp_path / "key.png", keyframe=0)
    masks = list(clip_masks(source, lambda: iter(frames), 20, H, W))
    scores = [iou(m, square_mask(t, 1.0)) for t, m in enumerate(masks)]
    assert len(masks) == 20 and min(scores) >= 0.95, scores


def test_keyframe_in_the_middle_propagates_both_ways(tmp_path):
    frames = translating_clip(10, H, W, dx=1.0, seed=2)
    write_image(tmp_path / "key.png", (square_mask(5, 1.0) * 255).astype(np.uint8))
    masks = list(clip_masks(MaskSource(path=tmp_path / "key.png", keyframe=5), lambda: iter(frames), 10, H, W))
    assert min(iou(m, square_mask(t, 1.0)) for t, m in enumerate(masks)) >= 0.95


def test_mask_folder_needs_one_image_per_frame(tmp_path):
    frames = translating_clip(4, H, W)
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(3):
        write_image(folder / f"{t:03d}.png", (square_mask(t, 0) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="has 3 images: expected one per frame"):
        list(clip_masks(MaskSource(path=folder), lambda: iter(frames), 4, H, W))


def test_smoothing_damps_flicker(tmp_path):
    frames = translating_clip(6, H, W, dx=0.0)
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(6):  # the region blinks on and off in half of the frame
        mask = square_mask(0, 0)
        if t % 2:
            mask[:, 48:] = 1
        write_image(folder / f"{t:03d}.png", (mask * 255).astype(np.uint8))
    raw = list(clip_masks(MaskSource(path=folder, smoothing=0.0), lambda: iter(frames), 6, H, W))
    smooth = list(clip_masks(MaskSource(path=folder, smoothing=0.5), lambda: iter(frames), 6, H, W))
    jump = lambda ms: np.mean([np.abs(a - b).mean() for a, b in zip(ms, ms[1:])])  # noqa: E731
    assert jump(smooth) < 0.6 * jump(raw)


def test_empty_track_and_grabcut_errors(tmp_path):
    frames = translating_clip(2, H, W)
    write_image(tmp_path / "empty.png", np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match="is empty"):
        list(clip_masks(MaskSource(path=tmp_path / "empty.png"), lambda: iter(frames), 2, H, W))
    with pytest.raises(ValueError, match="expected --grabcut x,y,w,h inside"):
        grabcut(frames[0], (90, 0, 20, 20))


def test_grabcut_finds_an_object_in_a_rectangle():
    frame = np.full((H, W, 3), 200, np.uint8)
    cv2.circle(frame, (48, 32), 14, (20, 60, 200), -1)
    mask = grabcut(frame, (28, 12, 40, 40))
    truth = np.zeros((H, W), np.uint8)
    cv2.circle(truth, (48, 32), 14, 1, -1)
    assert iou(mask, truth.astype(np.float32)) > 0.8


def test_hysteresis_keeps_only_regions_with_a_strong_core():
    mask = np.zeros((20, 20), np.float32)
    mask[2:8, 2:8] = 0.4
    mask[4, 4] = 0.9  # a weak region with a strong core: kept
    mask[12:18, 12:18] = 0.4  # weak everywhere: dropped
    out = hysteresis(mask)
    assert out[2:8, 2:8].min() == 1 and out[12:18, 12:18].max() == 0


def test_masked_video_keeps_the_outside_of_every_frame(make_clip, tmp_path):
    frames = translating_clip(4, H, W, dx=1.0, seed=1)
    clip = make_clip(frames, audio=False)
    write_image(tmp_path / "key.png", (square_mask(0, 1.0) * 255).astype(np.uint8))
    out = tmp_path / "out.mp4"
    config = RunConfig(temporal=TemporalConfig(first_iterations=8, iterations=4))
    stylize_video(clip, out, "swirl", mask=MaskSource(path=tmp_path / "key.png", keyframe=0), config=config,
                  video=VideoConfig(max_size=None, keep_frames=True), device="cpu")
    work = work_dir_for(out)
    decoded = [read_image(p) for p in sorted((work / "frames").glob("*.png"))]
    from vidstyle.video import iter_frames

    for t, (styled, source) in enumerate(zip(decoded, iter_frames(clip))):
        mask = read_image(work / "masks" / "0" / f"{t:06d}.png")[..., 0]
        outside = mask == 0
        assert outside.mean() > 0.5
        assert np.abs(styled[outside].astype(int) - source[outside]).max() <= 1
        assert np.abs(styled[mask == 255].astype(int) - source[mask == 255]).mean() > 3


def test_smp_model_from_a_local_directory(tmp_path):
    smp = pytest.importorskip("segmentation_models_pytorch")
    from vidstyle.segment import Segmenter

    model = smp.Unet("resnet18", encoder_weights=None, classes=3, encoder_depth=3, decoder_channels=(16, 8, 8))
    model.save_pretrained(str(tmp_path / "model"))
    (tmp_path / "model" / "labels.json").write_text(json.dumps(["sky", "building", "person"]))
    segmenter = Segmenter(str(tmp_path / "model"), ["sky", "person"])
    masks = segmenter([np.zeros((40, 60, 3), np.uint8), np.full((40, 60, 3), 200, np.uint8)])
    assert [m.shape for m in masks] == [(40, 60), (40, 60)]
    assert all(0 <= m.min() and m.max() <= 1 for m in masks)
    with pytest.raises(ValueError, match="unknown class 'tree'.*expected one of sky, building, person"):
        Segmenter(str(tmp_path / "model"), ["tree"])
    # the same path through the clip mask code users run
    frames = translating_clip(3, 40, 64)
    source = MaskSource(segment=str(tmp_path / "model"), classes=("sky", "building", "person"))
    track = list(raw_masks(source, lambda: iter(frames), 3, 40, 64, segmenter=Segmenter(source.segment, source.classes)))
    assert len(track) == 3 and np.allclose(track[0], 1.0, atol=1e-4)  # all classes: probabilities sum to 1
    with pytest.raises(ValueError, match="covers the whole frame"):
        list(clip_masks(source, lambda: iter(frames), 3, 40, 64, segmenter=Segmenter(source.segment, source.classes)))


def test_smp_offline_hub_id_is_one_clear_error(monkeypatch):
    from vidstyle.segment import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="cannot load segmentation model 'someone/no-such-model'"):
        load_model("someone/no-such-model")


def test_smp_hub_unreachable_fails_at_once(monkeypatch):
    from vidstyle import segment

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(segment, "_hub_reachable", lambda host="huggingface.co": False)
    with pytest.raises(ValueError, match="hub is unreachable"):
        segment.load_model("someone/no-such-model")

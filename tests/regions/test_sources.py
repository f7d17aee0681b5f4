import cv2
import numpy as np
import pytest

from vidstyle.config import MaskConfig, VideoConfig
from vidstyle.media.decode import iter_frames
from vidstyle.media.images import read_image, write_image
from vidstyle.regions.sources import MaskSource, clip_masks
from vidstyle.regions.track import grabcut, hysteresis
from vidstyle.video.checkpoint import work_dir_for
from vidstyle.video.pipeline import stylize_video

from ..conftest import translating_clip

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
    masks = list(clip_masks(source, lambda: iter(frames), H, W))
    scores = [iou(m, square_mask(t, 1.0)) for t, m in enumerate(masks)]
    assert len(masks) == 20 and min(scores) >= 0.95, scores


def test_keyframe_in_the_middle_propagates_both_ways(tmp_path):
    frames = translating_clip(10, H, W, dx=1.0, seed=2)
    write_image(tmp_path / "key.png", (square_mask(5, 1.0) * 255).astype(np.uint8))
    masks = list(clip_masks(MaskSource(path=tmp_path / "key.png", keyframe=5), lambda: iter(frames), H, W))
    assert min(iou(m, square_mask(t, 1.0)) for t, m in enumerate(masks)) >= 0.95


def test_mask_folder_needs_one_image_per_frame(tmp_path):
    frames = translating_clip(4, H, W)
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(3):
        write_image(folder / f"{t:03d}.png", (square_mask(t, 0) * 255).astype(np.uint8))
    with pytest.raises(ValueError, match="has 3 masks: expected one per frame"):
        list(clip_masks(MaskSource(path=folder), lambda: iter(frames), H, W))


def test_smoothing_damps_flicker(tmp_path):
    frames = translating_clip(6, H, W, dx=0.0)
    folder = tmp_path / "masks"
    folder.mkdir()
    for t in range(6):  # the region blinks on and off in half of the frame
        mask = square_mask(0, 0)
        if t % 2:
            mask[:, 48:] = 1
        write_image(folder / f"{t:03d}.png", (mask * 255).astype(np.uint8))
    raw = list(clip_masks(MaskSource(path=folder, options=MaskConfig(smoothing=0.0)), lambda: iter(frames), H, W))
    smooth = list(clip_masks(MaskSource(path=folder, options=MaskConfig(smoothing=0.5)), lambda: iter(frames), H, W))
    jump = lambda ms: np.mean([np.abs(a - b).mean() for a, b in zip(ms, ms[1:])])  # noqa: E731
    assert jump(smooth) < 0.6 * jump(raw)


def test_empty_track_and_grabcut_errors(tmp_path):
    frames = translating_clip(2, H, W)
    write_image(tmp_path / "empty.png", np.zeros((H, W), np.uint8))
    with pytest.raises(ValueError, match="is empty"):
        list(clip_masks(MaskSource(path=tmp_path / "empty.png"), lambda: iter(frames), H, W))
    with pytest.raises(ValueError, match="grabcut: expected x,y,w,h inside"):
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


def test_masked_video_keeps_the_outside_of_every_frame(make_clip, tmp_path, tiny):
    frames = translating_clip(4, H, W, dx=1.0, seed=1)
    clip = make_clip(frames, audio=False)
    write_image(tmp_path / "key.png", (square_mask(0, 1.0) * 255).astype(np.uint8))
    out = tmp_path / "out.mp4"
    stylize_video(clip, out, "swirl", mask=MaskSource(path=tmp_path / "key.png", keyframe=0), config=tiny,
                  video=VideoConfig(max_size=None, keep_frames=True), device="cpu")
    work = work_dir_for(out)
    decoded = [read_image(p) for p in sorted((work / "frames").glob("*.png"))]
    for t, (styled, source) in enumerate(zip(decoded, iter_frames(clip))):
        mask = read_image(work / "masks" / "0" / f"{t:06d}.png")[..., 0]
        outside = mask == 0
        assert outside.mean() > 0.5
        assert np.abs(styled[outside].astype(int) - source[outside]).max() <= 1
        assert np.abs(styled[mask == 255].astype(int) - source[mask == 255]).mean() > 3

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
    with pytest.raises(ValueError, match="grabcut: expected a box x,y,w,h inside the 96x64 frame, got 90,0,20,20"):
        grabcut(frames[0], (90, 0, 20, 20))
    with pytest.raises(ValueError, match="grabcut: expected a click x,y inside the 96x64 frame, got 96,3"):
        grabcut(frames[0], (96, 3))


def test_a_prompt_outside_the_frame_is_named_in_the_numbers_typed_not_the_processing_size():
    """A 640x480 source processed at 64x48: the error quotes the source pixels the user gave."""
    source = MaskSource(grabcut=(600, 400, 100, 100))
    with pytest.raises(ValueError, match="inside the 640x480 frame, got 600,400,100,100"):
        source.at_scale((480, 640), (48, 64))
    scaled = MaskSource(grabcut=(100, 50, 200, 300)).at_scale((480, 640), (48, 64))
    assert scaled.grabcut == (10, 5, 20, 30) and scaled.describe() == "GrabCut box 100,50,200,300"
    assert MaskSource(grabcut=(639, 479)).at_scale((480, 640), (48, 64)).grabcut == (63, 47)


def test_an_empty_grabcut_mask_is_refused_in_the_users_words():
    frames = [np.full((H, W, 3), 120, np.uint8)] * 2  # nothing to cut out
    source = MaskSource(grabcut=(10, 10, 4, 4), typed=(100, 100, 40, 40))
    with pytest.raises(ValueError, match="GrabCut box 100,100,40,40 is empty .*: expected the box around the object"):
        list(clip_masks(source, lambda: iter(frames), H, W))


def test_a_single_click_selects_the_object_under_it():
    frame = np.full((H, W, 3), 200, np.uint8)
    cv2.circle(frame, (60, 30), 14, (20, 60, 200), -1)
    truth = np.zeros((H, W), np.uint8)
    cv2.circle(truth, (60, 30), 14, 1, -1)
    assert iou(grabcut(frame, (60, 30)), truth.astype(np.float32)) > 0.8
    flat = np.full((H, W, 3), 120, np.uint8)  # no object at all: the clicked spot is still selected
    assert grabcut(flat, (10, 10))[10, 10] == 1


def moving_disc(frames: int, dx: float) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """A blue disc crossing a still textured scene: frames and its exact masks (the uncovered scene behind it)."""
    from ..conftest import textured

    scene = textured(H, W, seed=4)
    clip, masks = [], []
    for t in range(frames):
        frame, mask = scene.copy(), np.zeros((H, W), np.uint8)
        centre = (int(round(24 + dx * t)), 32)
        cv2.circle(frame, centre, 13, (30, 60, 220), -1)
        cv2.circle(mask, centre, 13, 1, -1)
        clip.append(frame)
        masks.append(mask.astype(np.float32))
    return clip, masks


def test_a_region_picked_on_one_frame_follows_its_object_without_a_trail():
    """A backward warp fetches the disc's mask into the scene it uncovers (a trail); carried forward and re-fitted,
    the region stays on the disc."""
    from vidstyle.motion.estimate import compute_flow, flow_to_tensor, to_grey
    from vidstyle.motion.warp import warp
    from vidstyle.regions.masks import mask_tensor

    frames, truth = moving_disc(12, 3.0)
    followed = list(clip_masks(MaskSource(grabcut=(4, 12, 42, 42)), lambda: iter(frames), H, W))
    assert min(iou(m, t) for m, t in zip(followed, truth)) > 0.85
    warped = [truth[0]]
    for t in range(1, len(frames)):  # the former propagation, for the comparison
        bwd = flow_to_tensor(compute_flow(to_grey(frames[t]), to_grey(frames[t - 1])))
        warped.append(hysteresis(warp(mask_tensor(warped[-1]), bwd)[0, 0].numpy()))
    assert iou(followed[-1], truth[-1]) > iou(warped[-1], truth[-1]) + 0.1


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

"""Reliability: Ruder's test on known motion, occlusions and borders, and the regions check on flat surfaces."""

import cv2
import numpy as np
import pytest
import torch

from vidstyle.motion.estimate import to_grey
from vidstyle.motion.reliability import flow_pair, reliability

from ..conftest import translating_clip


def test_reliability_is_all_ones_for_zero_flow():
    zero = torch.zeros(1, 2, 12, 12)
    assert torch.equal(reliability(zero, zero), torch.ones(1, 1, 12, 12))



def test_reliability_marks_the_band_that_enters_the_frame():
    frames = translating_clip(2, 96, 128, dx=4.0)  # new content enters at the right edge
    _, mask = flow_pair(to_grey(frames[1]), to_grey(frames[0]))
    mask = mask[0, 0]
    assert mask[:, -4:].mean() == 0  # these pixels have no source in frame t-1
    assert mask[8:-8, 8:-12].mean() > 0.95



def test_reliability_flags_disocclusion_and_motion_boundaries():
    h, w = 40, 40
    bwd = torch.zeros(1, 2, h, w)
    fwd = torch.zeros(1, 2, h, w)
    bwd[:, 0, :, 20:] = 5.0  # right half moved; forward flow does not agree
    mask = reliability(bwd, fwd)[0, 0]
    assert mask[:, 21:30].mean() == 0  # forward-backward disagreement
    assert mask[:, :19].mean() == 1
    consistent = reliability(bwd, -bwd)[0, 0]  # the right half moves, consistently both ways
    assert consistent[:, 19].mean() == 0  # motion boundary
    assert consistent[:, 21:34].mean() == 1 and consistent[:, :18].mean() == 1
    assert consistent[:, 36:].mean() == 0  # p + flow leaves the frame



def test_the_regions_check_trusts_a_still_flat_road_that_ruders_rejects():
    from samples.make import render_road

    frames, cars = render_road(6)
    for t in range(1, 6):
        grey, earlier = to_grey(frames[t]), to_grey(frames[t - 1])
        _, ruder = flow_pair(grey, earlier, check="ruder")
        bwd, regions = flow_pair(grey, earlier, check="regions")
        road = ~cars[t]
        assert regions[0, 0].numpy()[road].mean() >= 0.9 > ruder[0, 0].numpy()[road].mean() + 0.2
        assert np.abs(bwd[0].numpy()[:, road]).mean() < 0.05  # the road does not move



def marked_road(count: int, shift: float, height: int = 120, width: int = 200, seed: int = 4):
    """A flat, noisy road with sparse specks under a camera moving ``shift`` px per frame to the right, and a
    textured object the camera follows (still on screen): frames, and the object's mask."""
    rng = np.random.default_rng(seed)
    world = np.full((height, width + int(shift * count) + 20, 3), 100.0)
    for _ in range(world.shape[0] * world.shape[1] // 1200):
        x, y = int(rng.integers(0, world.shape[1])), int(rng.integers(0, height))
        tone = float(rng.choice([-30.0, 30.0]))
        world[max(0, y - 1):y + 2, max(0, x - 1):x + 2] += tone
    thing = translating_clip(1, 40, 60)[0].astype(np.float64)
    frames = []
    for t in range(count):
        matrix = np.float32([[1, 0, -shift * t], [0, 1, 0]])
        view = cv2.warpAffine(world, matrix, (width, height), flags=cv2.INTER_CUBIC)
        view[40:80, 70:130] = thing
        frames.append(np.clip(view + rng.normal(0, 2.0, view.shape), 0, 255).astype(np.uint8))
    thing_mask = np.zeros((height, width), bool)
    thing_mask[34:86, 64:136] = True
    return frames, thing_mask



def test_a_flat_road_moves_with_its_marks_under_a_moving_camera():
    frames, thing = marked_road(2, shift=3.0)
    bwd, mask = flow_pair(to_grey(frames[1]), to_grey(frames[0]), check="regions")
    road = ~thing
    road[:, -8:] = False  # no source in the previous frame
    flow = bwd[0].numpy()
    assert np.abs(flow[0][road] - 3.0).mean() < 0.3 and np.abs(flow[1][road]).mean() < 0.3  # the camera's motion
    assert np.abs(flow[:, 45:75, 80:120]).mean() < 0.3  # the followed object stays
    assert mask[0, 0].numpy()[road].mean() > 0.9
    raw, _ = flow_pair(to_grey(frames[1]), to_grey(frames[0]), check="ruder")
    assert np.abs(raw[0, 0].numpy()[road] - 3.0).mean() > 0.6  # the estimator alone misses it between the specks



def test_the_regions_check_keeps_real_motion():
    frames = translating_clip(3, 96, 128, dx=3.0)  # textured: DIS is right, nothing is flat
    bwd, mask = flow_pair(to_grey(frames[2]), to_grey(frames[1]), check="regions")
    inner = bwd[0, :, 12:-12, 12:-12].numpy()
    assert np.abs(inner[0] - 3.0).mean() < 0.5 and mask[0, 0, 8:-8, 8:-12].mean() > 0.95



def test_unknown_check():
    image = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="expected a reliability check"):
        flow_pair(image, image, check="deepflow")

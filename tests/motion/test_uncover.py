import cv2
import numpy as np
import pytest
import torch

from vidstyle.motion.warp import warp
from vidstyle.motion.uncover import fill_uncovered, mismatched, uncovered, with_margin

H, W, SHIFT = 48, 64, 4
BLOCK = slice(20, 40)  # the object's columns in the earlier frame; it moves SHIFT px right


def _scene() -> tuple[np.ndarray, np.ndarray, torch.Tensor]:
    """A still grey-blue road, a yellow object moving right: the earlier and the current frame, and the
    current frame's backward flow (the road 0, the object -SHIFT)."""
    rng = np.random.default_rng(3)
    road = (np.array([90, 100, 120]) + rng.normal(0, 3, (H, W, 3))).clip(0, 255).astype(np.uint8)
    earlier, current = road.copy(), road.copy()
    earlier[10:38, BLOCK] = (230, 200, 40)
    current[10:38, BLOCK.start + SHIFT:BLOCK.stop + SHIFT] = (230, 200, 40)
    flow = torch.zeros(1, 2, H, W)
    flow[0, 0, 10:38, BLOCK.start + SHIFT:BLOCK.stop + SHIFT] = -SHIFT
    return earlier, current, flow


def test_the_band_an_object_uncovers_is_where_the_warp_fetches_the_object():
    earlier, current, flow = _scene()
    wrong = mismatched(current, earlier, flow)
    band = np.zeros((H, W), bool)
    band[12:36, BLOCK.start + 1:BLOCK.start + SHIFT - 1] = True
    assert wrong[band].all()
    assert not wrong[:, :BLOCK.start - 3].any() and not wrong[:, BLOCK.stop + SHIFT + 3:].any()
    assert not wrong[14:34, BLOCK.start + SHIFT + 3:BLOCK.stop + SHIFT - 3].any()  # the object itself matches


def test_the_uncovered_band_takes_the_road_paint_not_the_object_paint():
    earlier, current, flow = _scene()
    paint = np.zeros((H, W, 3), np.float32)
    paint[:] = (0.15, 0.25, 0.7)  # the road painted blue
    paint[10:38, BLOCK] = (0.95, 0.85, 0.1)  # the object painted yellow
    start = warp(torch.from_numpy(paint).permute(2, 0, 1)[None], flow)
    hole = np.zeros((H, W), bool)
    hole[10:38, BLOCK.start:BLOCK.start + SHIFT] = True
    assert start[0, 2, 20, BLOCK.start + 1] < 0.2  # the plain warp put the object's yellow there
    filled = fill_uncovered(start, flow, hole)
    band = filled[0, :, 10:38, BLOCK.start:BLOCK.start + SHIFT]
    blue = torch.tensor([0.15, 0.25, 0.7]).view(3, 1, 1)
    assert (band - blue).abs().max() < 0.03
    # a fill from every neighbour mixes the object's yellow in
    paint8 = (start[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    plain = cv2.inpaint(paint8, hole.astype(np.uint8), 3, cv2.INPAINT_TELEA)[10:38, BLOCK.start:BLOCK.start + SHIFT]
    assert np.abs(plain / 255.0 - np.array([0.15, 0.25, 0.7])).max() > 0.1
    outside = torch.from_numpy(~hole)
    assert torch.equal(filled[0][:, outside], start[0][:, outside])


def _band() -> np.ndarray:
    hole = np.zeros((H, W), bool)
    hole[10:38, BLOCK.start:BLOCK.start + SHIFT] = True
    return hole


def test_the_margin_takes_the_surface_beside_the_band_not_the_object():
    earlier, current, flow = _scene()
    hole = _band()
    grown = with_margin(hole, flow, 2)
    assert grown[20, BLOCK.start - 2:BLOCK.start].all()  # the still road beside the band
    assert not grown[20, :BLOCK.start - 2].any()
    assert not grown[10:38, BLOCK.start + SHIFT:].any()  # the object, which moves otherwise
    assert grown[9, BLOCK.start + SHIFT] and not grown[7, BLOCK.start]  # the road above, within 2 px
    assert np.array_equal(with_margin(hole, flow, 0), hole)
    reliable = torch.ones(1, 1, H, W)
    reliable[0, 0, 10:38, BLOCK.start:BLOCK.start + SHIFT] = 0
    found = uncovered(current, earlier, flow, reliable)
    assert found.any() and np.array_equal(uncovered(current, earlier, flow, reliable, margin=2),
                                          with_margin(found, flow, 2))


def test_new_ground_with_nothing_moving_otherwise_near_it_takes_no_margin():
    flow = torch.full((1, 2, H, W), 3.0)  # a camera pan: the whole frame moves alike
    hole = np.zeros((H, W), bool)
    hole[:, -3:] = True  # the ground entering at the frame's edge
    assert np.array_equal(with_margin(hole, flow, 2), hole)


def test_a_hole_on_the_leading_edge_takes_no_margin():
    """A flow error where the object covers the road (its leading edge) has no halo carried out of it."""
    _, _, flow = _scene()
    ahead = np.zeros((H, W), bool)
    ahead[10:38, BLOCK.stop + SHIFT:BLOCK.stop + SHIFT + 2] = True  # the road just ahead of the object
    assert np.array_equal(with_margin(ahead, flow, 2), ahead)
    assert with_margin(_band(), flow, 2).sum() > _band().sum()  # the trailing band, in the same flow, grows


def test_a_halo_beside_the_band_is_filled_from_the_surface_beyond_it_not_carried_into_the_band():
    """The object's paint bleeds onto the road beside its edge; once the object has moved on, that halo would be
    the band's fill (a trail of the object's colours). With the margin it is filled from the road beyond."""
    _, _, flow = _scene()
    blue, pale = (0.15, 0.25, 0.7), (0.85, 0.8, 0.5)
    paint = np.zeros((H, W, 3), np.float32)
    paint[:] = blue
    paint[10:38, BLOCK.start - 2:BLOCK.start] = pale  # the halo the object left beside its trailing edge
    paint[10:38, BLOCK] = (0.95, 0.85, 0.1)
    start = warp(torch.from_numpy(paint).permute(2, 0, 1)[None], flow)
    hole = _band()
    plain = fill_uncovered(start, flow, hole)
    assert (plain[0, :, 12:36, BLOCK.start] - torch.tensor(blue).view(3, 1)).abs().max() > 0.1  # the halo's colour
    filled = fill_uncovered(start, flow, with_margin(hole, flow, 2))
    swept = filled[0, :, 12:36, BLOCK.start - 2:BLOCK.start + SHIFT]
    assert (swept - torch.tensor(blue).view(3, 1, 1)).abs().max() < 0.03


def test_nothing_to_fill_and_bad_shapes():
    start = torch.rand(1, 3, 8, 8)
    assert fill_uncovered(start, torch.zeros(1, 2, 8, 8), np.zeros((8, 8), bool)) is start
    with pytest.raises(ValueError, match="expected one RGB image"):
        fill_uncovered(start, torch.zeros(1, 2, 8, 9), np.ones((8, 8), bool))

"""Warping: zero flow is the identity, integer shifts are rolls, and Lanczos carries paint through many warps."""

import cv2
import numpy as np
import torch

from vidstyle.core.tensors import to_tensor
from vidstyle.motion.estimate import compute_flow, flow_to_tensor, to_grey
from vidstyle.motion.warp import warp

from ..conftest import translating_clip


def test_zero_flow_warps_to_identity():
    image = torch.rand(1, 3, 10, 12)
    assert torch.allclose(warp(image, torch.zeros(1, 2, 10, 12)), image, atol=1e-6)



def test_the_sampling_grid_is_the_flow_added_to_each_pixel_in_grid_samples_coordinates():
    from vidstyle.motion.warp import inside_frame, sampling_grid

    flow = torch.randn(2, 2, 5, 7) * 3
    ys, xs = torch.meshgrid(torch.arange(5.0), torch.arange(7.0), indexing="ij")
    expected = torch.stack([(xs + flow[:, 0]) * (2.0 / 6) - 1.0, (ys + flow[:, 1]) * (2.0 / 4) - 1.0], dim=-1)
    assert torch.equal(sampling_grid(flow), expected)
    assert torch.equal(sampling_grid(flow), expected)  # the cached positions are not changed by a use
    inside = ((xs + flow[:, 0]).clamp(0, 6) == xs + flow[:, 0]) & ((ys + flow[:, 1]).clamp(0, 4) == ys + flow[:, 1])
    assert torch.equal(inside_frame(flow), inside.unsqueeze(1).float())


def test_integer_shift_equals_a_roll_away_from_borders():
    image = torch.rand(1, 3, 16, 20)
    flow = torch.zeros(1, 2, 16, 20)
    flow[:, 0] = 3  # out(p) = image(p + 3 in x)
    flow[:, 1] = -2
    shifted = warp(image, flow)
    rolled = torch.roll(image, shifts=(2, -3), dims=(2, 3))
    assert torch.allclose(shifted[..., 2:, :-3], rolled[..., 2:, :-3], atol=1e-5)



def test_warp_matches_the_shifted_frame():
    frames = translating_clip(2, 96, 128, dx=2.0)
    bwd = flow_to_tensor(compute_flow(to_grey(frames[1]), to_grey(frames[0])))
    warped = warp(to_tensor(frames[0]), bwd)
    error = (warped - to_tensor(frames[1])).abs()[..., 8:-8, 8:-8].mean()
    assert error < 0.01



def test_bicubic_warps_keep_the_detail_that_repeated_bilinear_warps_blur():
    rng = np.random.default_rng(0)
    paint = to_tensor(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8))  # detail down to one pixel
    half = torch.zeros(1, 2, 48, 48)
    half[:, 0] = 0.5  # half a pixel to the right, then back: the paint carried over frames

    def detail(mode: str) -> float:
        image = paint
        for _ in range(4):
            image = warp(warp(image, half, mode), -half, mode).clamp(0, 1)
        inner = image[..., 8:-8, 8:-8] - image[..., 8:-8, 8:-8].mean()
        return float(inner.pow(2).mean())

    original = float((paint[..., 8:-8, 8:-8] - paint[..., 8:-8, 8:-8].mean()).pow(2).mean())
    assert detail("bilinear") < 0.5 * original
    assert detail("bicubic") > 1.3 * detail("bilinear")



def test_lanczos_warps_carry_paint_through_many_frames_most_faithfully():
    rng = np.random.default_rng(1)
    paint = to_tensor(cv2.GaussianBlur(rng.integers(0, 256, (48, 48, 3), dtype=np.uint8), (0, 0), 1.0))
    step = torch.zeros(1, 2, 48, 48)
    step[:, 0], step[:, 1] = 0.4, 0.2  # a sub-pixel motion, then back: the paint carried over eight frames

    def error(mode: str) -> float:
        image = paint
        for _ in range(4):
            image = warp(warp(image, step, mode), -step, mode).clamp(0, 1)
        return float((image - paint)[..., 8:-8, 8:-8].pow(2).mean().sqrt())

    assert error("lanczos") < 0.5 * error("bicubic") < 0.5 * error("bilinear")
    whole = torch.zeros(2, 2, 48, 48)
    whole[:, 0], whole[:, 1] = 2, -1  # whole pixels: an exact copy, for a batch, one channel or three
    grey = paint.mean(1, keepdim=True).expand(2, 1, 48, 48)
    assert torch.equal(warp(grey, whole, "lanczos")[..., 4:-4, 4:-4], grey[..., 3:-5, 6:-2])

import cv2
import numpy as np
import pytest
import torch

from vidstyle.core.tensors import to_tensor
from vidstyle.motion.flow import closest_first, compute_flow, flow_pair, flow_to_tensor, reliability, to_grey, warp

from ..conftest import translating_clip


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_of_a_known_translation_is_within_half_a_pixel(method):
    frames = translating_clip(2, 96, 128, dx=3.0, dy=-1.0)
    bwd = compute_flow(to_grey(frames[1]), to_grey(frames[0]), method)  # t -> t-1: +camera motion
    inner = bwd[12:-12, 12:-12]
    assert np.abs(inner[..., 0] - 3.0).mean() < 0.5 and np.abs(inner[..., 1] + 1.0).mean() < 0.5
    assert np.percentile(np.abs(inner - [3.0, -1.0]).max(-1), 95) < 0.5


def test_zero_flow_warps_to_identity():
    image = torch.rand(1, 3, 10, 12)
    assert torch.allclose(warp(image, torch.zeros(1, 2, 10, 12)), image, atol=1e-6)


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


def test_closest_first_weights_do_not_double_count():
    near = torch.tensor([[[[1.0, 1.0, 0.0, 0.0]]]])
    far = torch.tensor([[[[1.0, 0.0, 1.0, 0.0]]]])
    w_near, w_far = closest_first([near, far])
    assert torch.equal(w_near, near)
    assert torch.equal(w_far, torch.tensor([[[[0.0, 0.0, 1.0, 0.0]]]]))


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


def test_flow_computed_large_is_returned_at_the_processing_size():
    frames = translating_clip(2, 96, 128, dx=4.0)
    bwd, mask = flow_pair(to_grey(frames[1]), to_grey(frames[0]), size=(48, 64))
    assert bwd.shape == (1, 2, 48, 64) and mask.shape == (1, 1, 48, 64)
    assert np.abs(bwd[0, 0, 6:-6, 6:-6].numpy() - 2.0).mean() < 0.3  # vectors scaled to the smaller grid
    assert 0 <= float(mask.min()) and float(mask.max()) <= 1


def test_the_regions_check_keeps_real_motion():
    frames = translating_clip(3, 96, 128, dx=3.0)  # textured: DIS is right, nothing is flat
    bwd, mask = flow_pair(to_grey(frames[2]), to_grey(frames[1]), check="regions")
    inner = bwd[0, :, 12:-12, 12:-12].numpy()
    assert np.abs(inner[0] - 3.0).mean() < 0.5 and mask[0, 0, 8:-8, 8:-12].mean() > 0.95


def test_unknown_check():
    image = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="expected a reliability check"):
        flow_pair(image, image, check="deepflow")


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

"""The warping error measures temporal instability; each check could fail if the measure were wrong."""

import numpy as np
import pytest

from vidstyle.video.metrics import warping_error

from ..conftest import translating_clip


@pytest.fixture
def moving(make_clip):
    frames = translating_clip(6, 48, 64, dx=2.0)
    return frames, make_clip(frames, name="in.mp4", audio=False)


def test_an_output_that_moves_with_the_input_is_as_stable_as_the_input(moving, make_clip):
    frames, clip = moving
    inverted = make_clip([255 - f for f in frames], name="inverted.mp4", audio=False)  # same motion, new colours
    result = warping_error(clip, inverted)
    assert result.frames == 6 and result.input > 0
    assert 0.5 < result.ratio < 2.0


def test_flicker_raises_the_error_by_orders_of_magnitude(moving, make_clip):
    frames, clip = moving
    rng = np.random.default_rng(0)
    flicker = [np.clip(f.astype(int) + (40 if i % 2 else -40) + rng.integers(-20, 20, f.shape), 0, 255)
               .astype(np.uint8) for i, f in enumerate(frames)]
    result = warping_error(clip, make_clip(flicker, name="flicker.mp4", audio=False))
    assert result.ratio > 20


def test_a_frozen_output_is_judged_by_the_input_motion(moving, make_clip):
    frames, clip = moving
    frozen = make_clip([frames[0]] * len(frames), name="frozen.mp4", audio=False)
    # It does not follow the flow: warping frame t-1 by the input's motion no longer predicts frame t.
    assert warping_error(clip, frozen).ratio > 3
    still = make_clip([np.full_like(frames[0], 120)] * len(frames), name="flat.mp4", audio=False)
    assert warping_error(clip, still).output < 1e-6  # a flat image is the same however it is warped


def test_too_few_frames(make_clip):
    clip = make_clip(translating_clip(1, 32, 32), audio=False)
    with pytest.raises(ValueError, match="at least 2 common frames"):
        warping_error(clip, clip)


def test_a_flash_shows_as_a_spike_in_the_per_frame_figures(moving, make_clip, tmp_path):
    frames, clip = moving
    flash = [f if i != 3 else np.clip(f.astype(int) + 60, 0, 255).astype(np.uint8) for i, f in enumerate(frames)]
    result = warping_error(clip, make_clip(flash, name="flash.mp4", audio=False))
    errors = [r["output"] for r in result.per_frame]
    assert [r["frame"] for r in result.per_frame] == [1, 2, 3, 4, 5] and all(0 < r["reliable"] <= 1
                                                                             for r in result.per_frame)
    assert np.argmax(errors) in (2, 3) and max(errors) > 20 * min(errors)  # frames 3 and 4 see the flash
    from vidstyle.video.metrics import plot_per_frame

    plot_per_frame(result, tmp_path / "plot.png", [{"frame": i, "terms": {"style": 0.1}} for i in range(6)])
    from vidstyle.media.images import read_image

    assert read_image(tmp_path / "plot.png").shape[0] > 200


def test_the_flow_free_check_sees_paint_that_moves_where_the_input_is_still(make_clip):
    rng = np.random.default_rng(1)
    scene = translating_clip(1, 48, 64)[0]
    still = [np.clip(scene.astype(int) + rng.integers(-2, 3, scene.shape), 0, 255).astype(np.uint8) for _ in range(5)]
    clip = make_clip(still, name="still.mp4", audio=False)
    steady = warping_error(clip, make_clip([255 - f for f in still], name="steady.mp4", audio=False))
    swimming = [np.roll(255 - f, i, axis=1) for i, f in enumerate(still)]  # the paint slides; the input does not
    swims = warping_error(clip, make_clip(swimming, name="swim.mp4", audio=False))
    assert steady.still_output is not None and steady.still_output < 3 * steady.still_input + 1
    assert swims.still_output > 5 * steady.still_output
    assert (steady.flow, steady.reliability, steady.size) == ("deepflow", "ruder", (64, 48))


def test_the_flow_free_check_is_skipped_when_the_camera_moves(moving):
    _, clip = moving
    result = warping_error(clip, clip, flow="dis", reliability="regions")
    assert result.still_output is None and all(r["still"] is None for r in result.per_frame)

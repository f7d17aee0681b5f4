import cv2
import numpy as np
import pytest

from vidstyle.motion.correct import correct_flow

H, W, SHIFT = 64, 96, 4
ROWS, COLS = slice(16, 48), slice(30, 60)  # the object in the earlier frame; it moves SHIFT px right


def _texture(seed: int, shape: tuple[int, int]) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.uniform(0, 255, shape).astype(np.float32), (0, 0), 0.7)


def _scene(background: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A textured object moving SHIFT px right over a still ``background``: the earlier and the current grey
    frame, and the exact backward (current -> earlier) and forward (earlier -> current) flows."""
    thing = _texture(7, (ROWS.stop - ROWS.start, COLS.stop - COLS.start))
    moved = slice(COLS.start + SHIFT, COLS.stop + SHIFT)
    earlier, current = background.copy(), background.copy()
    earlier[ROWS, COLS], current[ROWS, moved] = thing, thing
    backward, forward = np.zeros((H, W, 2), np.float32), np.zeros((H, W, 2), np.float32)
    backward[ROWS, moved, 0], forward[ROWS, COLS, 0] = -SHIFT, SHIFT
    return np.clip(earlier, 0, 255).astype(np.uint8), np.clip(current, 0, 255).astype(np.uint8), backward, forward


def test_motion_bled_across_an_object_edge_is_put_right():
    """The estimator gives the still background beside the object the object's motion, and the object's rim the
    background's (both directions alike, so Ruder's check passes them): each takes its neighbours' motion back."""
    earlier, current, truth, forward = _scene(_texture(1, (H, W)))
    flow = truth.copy()
    leading = (ROWS, slice(COLS.stop + SHIFT, COLS.stop + SHIFT + 5))  # still background ahead of the object
    rim = (ROWS, slice(COLS.start + SHIFT, COLS.start + SHIFT + 5))  # the object's trailing rim
    flow[leading + (0,)] = -SHIFT
    flow[rim + (0,)] = 0.0
    out = correct_flow(flow, current, earlier, forward, np.ones((H, W), bool))
    error = np.linalg.norm(out - truth, axis=-1)
    assert (error[leading] < 0.1).mean() > 0.85 and (error[rim] < 0.1).mean() > 0.85  # before: all SHIFT off
    untouched = np.ones((H, W), bool)
    untouched[ROWS.start - 4:ROWS.stop + 4, COLS.start - 4:COLS.stop + SHIFT + 9] = False
    assert np.array_equal(out[untouched], flow[untouched])  # what matched keeps its flow


def test_an_uncovered_pixel_does_not_borrow_a_motion_the_other_flow_refutes():
    """On a flat background, the road the object uncovers "matches" the road further back under the object's
    motion. Where the flow failed Ruder's check, that candidate must pass it too, and it does not."""
    rng = np.random.default_rng(2)
    earlier, current, truth, forward = _scene(100 + rng.normal(0, 1.0, (H, W)).astype(np.float32))
    band = (ROWS, slice(COLS.start, COLS.start + SHIFT))  # hidden in the earlier frame
    flow = truth.copy()
    flow[band + (0,)] = 0.0  # standing still fetches the object: a mismatch
    failed = np.ones((H, W), bool)
    failed[band] = False
    kept = correct_flow(flow, current, earlier, forward, failed)
    assert np.array_equal(kept[band], flow[band])
    trusting = correct_flow(flow, current, earlier, forward, np.ones((H, W), bool))
    assert (trusting[band][..., 0] == -SHIFT).mean() > 0.5  # without the test it would take the object's motion


def test_bad_shapes():
    frame = np.zeros((8, 8), np.uint8)
    with pytest.raises(ValueError, match="one size"):
        correct_flow(np.zeros((8, 9, 2), np.float32), frame, frame, np.zeros((8, 8, 2), np.float32),
                     np.ones((8, 8), bool))

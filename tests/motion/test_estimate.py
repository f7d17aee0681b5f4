"""Flow estimation: a known translation is recovered; a flow computed large comes back at the processing size."""

import numpy as np
import pytest

from vidstyle.motion.estimate import compute_flow, to_grey
from vidstyle.motion.reliability import flow_pair

from ..conftest import translating_clip


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_flow_of_a_known_translation_is_within_half_a_pixel(method):
    frames = translating_clip(2, 96, 128, dx=3.0, dy=-1.0)
    bwd = compute_flow(to_grey(frames[1]), to_grey(frames[0]), method)  # t -> t-1: +camera motion
    inner = bwd[12:-12, 12:-12]
    assert np.abs(inner[..., 0] - 3.0).mean() < 0.5 and np.abs(inner[..., 1] + 1.0).mean() < 0.5
    assert np.percentile(np.abs(inner - [3.0, -1.0]).max(-1), 95) < 0.5



def test_flow_computed_large_is_returned_at_the_processing_size():
    frames = translating_clip(2, 96, 128, dx=4.0)
    bwd, mask = flow_pair(to_grey(frames[1]), to_grey(frames[0]), size=(48, 64))
    assert bwd.shape == (1, 2, 48, 64) and mask.shape == (1, 1, 48, 64)
    assert np.abs(bwd[0, 0, 6:-6, 6:-6].numpy() - 2.0).mean() < 0.3  # vectors scaled to the smaller grid
    assert 0 <= float(mask.min()) and float(mask.max()) <= 1

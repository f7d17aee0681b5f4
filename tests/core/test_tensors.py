import numpy as np
import pytest
import torch

from vidstyle.core.tensors import combine_luminance, rgb_to_yiq, to_tensor, to_uint8, yiq_to_rgb
from vidstyle.media.sizes import even_size, fit_long_side, processing_size


def test_tensor_round_trip_is_exact():
    array = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = to_tensor(array)
    assert tensor.shape == (1, 3, 5, 7) and tensor.is_contiguous()
    assert np.array_equal(to_uint8(tensor), array)


def test_bad_arrays_are_refused():
    with pytest.raises(ValueError, match=r"expected a uint8 array of shape \(H, W, 3\)"):
        to_tensor(np.zeros((4, 4), np.uint8))


def test_fit_long_side():
    assert fit_long_side(360, 640, 192) == (108, 192)
    assert fit_long_side(480, 640, None) == (480, 640)


def test_video_sizes_are_even_and_never_upscaled():
    assert even_size(77, 101) == (76, 100)
    assert processing_size(77, 101, 512) == (76, 100)  # no upscale, even
    assert processing_size(360, 640, 191) == (106, 190)  # 107.4 x 191 -> even
    assert processing_size(1080, 1920, None) == (1080, 1920)


def test_yiq_round_trip_and_luminance_combination():
    content, stylized = torch.rand(1, 3, 6, 6), torch.rand(1, 3, 6, 6)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(content)), content, atol=1e-5)
    combined = rgb_to_yiq(combine_luminance(stylized * 0.5 + 0.25, content * 0.5 + 0.25))
    assert torch.allclose(combined[:, 1:], rgb_to_yiq(content * 0.5 + 0.25)[:, 1:], atol=1e-4)
    assert torch.allclose(combined[:, :1], rgb_to_yiq(stylized * 0.5 + 0.25)[:, :1], atol=1e-4)

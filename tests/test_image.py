import dataclasses

import numpy as np

from vidstyle import RunConfig, stylize_image
from vidstyle.config import OptimConfig, StyleConfig
from vidstyle.imaging import rgb_to_yiq, to_tensor

FAST = RunConfig(optim=OptimConfig(iterations=8))


def test_stylize_image_returns_the_requested_size(content_image, style_image_path):
    reports = []
    result = stylize_image(content_image, str(style_image_path), size=40, config=FAST, device="cpu",
                           callback=reports.append)
    assert result.dtype == np.uint8 and result.shape == (30, 40, 3)
    assert len(reports) == 8 and reports[-1].loss < reports[0].loss
    assert not np.array_equal(result, content_image[:30, :40])


def test_preserve_colors_keeps_the_content_chroma(content_image, style_image_path):
    config = dataclasses.replace(FAST, style=StyleConfig(preserve_colors=True))
    result = stylize_image(content_image, str(style_image_path), size=None, config=config, device="cpu")
    iq_out = rgb_to_yiq(to_tensor(result))[:, 1:]
    iq_in = rgb_to_yiq(to_tensor(content_image))[:, 1:]
    plain = rgb_to_yiq(to_tensor(stylize_image(content_image, str(style_image_path), size=None, config=FAST,
                                                device="cpu")))[:, 1:]
    assert (iq_out - iq_in).abs().mean() < 0.02  # rounding and clipping only
    assert (plain - iq_in).abs().mean() > 2 * (iq_out - iq_in).abs().mean()


def test_seeded_noise_init_is_reproducible(content_image, style_image_path):
    config = dataclasses.replace(FAST, optim=OptimConfig(iterations=3, init="noise", seed=5))
    a = stylize_image(content_image, str(style_image_path), size=32, config=config, device="cpu")
    b = stylize_image(content_image, str(style_image_path), size=32, config=config, device="cpu")
    assert np.array_equal(a, b)

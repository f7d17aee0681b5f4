import dataclasses

import numpy as np
import pytest

from vidstyle import stylize_image
from vidstyle.config import OptimConfig, StyleConfig
from vidstyle.core.tensors import rgb_to_yiq, to_tensor
from vidstyle.media.sizes import resize


def test_stylize_image_returns_the_requested_size_and_lowers_the_loss(content_image, style_image_path, tiny):
    reports = []
    result = stylize_image(content_image, str(style_image_path), size=96, config=tiny, device="cpu",
                           callback=reports.append)
    assert result.dtype == np.uint8 and result.shape == (72, 96, 3)
    assert len(reports) == tiny.optim.iterations + tiny.optim.fine_iterations  # two levels fit: coarse, then fine
    assert reports[-1].loss < reports[tiny.optim.iterations].loss  # the full-size level improves on its start
    start = resize(content_image, 72, 96)  # what the optimisation started from
    assert np.abs(result.astype(int) - start).mean() > 0.5


def test_preserve_colors_keeps_the_content_chroma(content_image, style_image_path, tiny):
    config = dataclasses.replace(tiny, style=StyleConfig(preserve_colors=True), optim=OptimConfig(iterations=20))
    result = stylize_image(content_image, str(style_image_path), size=None, config=config, device="cpu")
    iq_out = rgb_to_yiq(to_tensor(result))[:, 1:]
    iq_in = rgb_to_yiq(to_tensor(content_image))[:, 1:]
    plain = dataclasses.replace(config, style=StyleConfig(preserve_colors=False))
    iq_plain = rgb_to_yiq(to_tensor(stylize_image(content_image, str(style_image_path), size=None, config=plain,
                                                  device="cpu")))[:, 1:]
    assert (iq_out - iq_in).abs().mean() < 0.02  # rounding and clipping only
    assert (iq_plain - iq_in).abs().mean() > 2 * (iq_out - iq_in).abs().mean()


def test_seeded_noise_init_is_reproducible(content_image, style_image_path, tiny):
    config = dataclasses.replace(tiny, optim=OptimConfig(iterations=3, init="noise", seed=5))
    a = stylize_image(content_image, str(style_image_path), size=32, config=config, device="cpu")
    b = stylize_image(content_image, str(style_image_path), size=32, config=config, device="cpu")
    other = dataclasses.replace(config, optim=OptimConfig(iterations=3, init="noise", seed=6))
    c = stylize_image(content_image, str(style_image_path), size=32, config=other, device="cpu")
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_a_missing_init_image_is_refused_before_any_work(content_image, tiny, tmp_path):
    config = dataclasses.replace(tiny, optim=OptimConfig(init=str(tmp_path / "nope.png")))
    with pytest.raises(ValueError, match="init: init image .*nope.png' does not exist"):
        stylize_image(content_image, "swirl", size=32, config=config, device="cpu")

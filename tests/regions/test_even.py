"""An even mix (``--even-mix``): every part of the image is asked for the whole mix of styles."""

import os
from pathlib import Path

import numpy as np
import torch

from dataclasses import replace

from vidstyle import stylize_image
from vidstyle.config import StyleConfig
from vidstyle.core.features import VGGFeatures
from vidstyle.core.objective import Objective
from vidstyle.core.targets import mixed_gram_targets
from vidstyle.core.tensors import to_tensor
from vidstyle.core.weights import load_weights
from vidstyle.regions.guides import even_regions, part_weights

from ..conftest import textured

LAYERS = ("relu1_1", "relu2_1", "relu3_1")
SAMPLE = Path(__file__).resolve().parents[2] / "samples" / "clip.mp4"


def test_parts_cover_the_image_once_and_follow_its_shape():
    for height, width, grid in [(144, 256, (2, 3)), (256, 144, (3, 2)), (200, 200, (3, 2))]:
        parts = part_weights(height, width)
        assert len(parts) == grid[0] * grid[1]
        assert np.allclose(sum(parts), 1.0, atol=1e-5)
        centres = sorted({(int(np.argmax(p.max(1))), int(np.argmax(p.max(0)))) for p in parts})
        assert len(centres) == len(parts)  # each part peaks somewhere else
    wide = part_weights(144, 256)
    assert wide[0][0, 0] == 1.0 and wide[0][-1, -1] == 0.0  # a corner's part, nothing of it far away


def test_an_even_mix_rejects_the_split_that_a_whole_image_mix_accepts(tiny, tiny_weights):
    """Half the image in one texture and half in the other has the mixed Gram of the two, so the whole-image
    term cannot tell it from a fine interleaving of both; the even term can."""
    extractor = VGGFeatures(load_weights(tiny_weights), LAYERS)
    a, b = textured(16, 16, seed=1), 255 - textured(16, 16, seed=7)[:, ::-1] // 2
    targets = mixed_gram_targets(extractor, [to_tensor(np.tile(a, (6, 6, 1))), to_tensor(np.tile(b, (6, 6, 1)))],
                                 [0.5, 0.5], LAYERS)
    split = np.concatenate([np.tile(a, (6, 3, 1)), np.tile(b, (6, 3, 1))], axis=1)  # 96 x 96, left | right
    interleaved = np.tile(np.concatenate([a, b], axis=1), (6, 3, 1))
    loss = replace(tiny.loss, style_layers=LAYERS, content_layers=("relu3_1",))

    def style_term(style, image: np.ndarray) -> float:
        tensor = to_tensor(image)
        return float(Objective(extractor, loss, style, tensor)(tensor)[1]["style"])

    parts = even_regions(targets, (96, 96), LAYERS, torch.device("cpu"))
    whole_split, whole_interleaved = style_term(targets, split), style_term(targets, interleaved)
    even_split, even_interleaved = style_term(parts, split), style_term(parts, interleaved)
    assert whole_split < 2 * whole_interleaved + 0.01
    assert even_split > 4 * even_interleaved and even_split > 0.05


def test_even_mix_reaches_the_objective_of_a_mix_only(tiny, monkeypatch):
    seen = []
    original = Objective.__init__

    def spy(self, extractor, loss, style, content, **kwargs):
        seen.append(style)
        original(self, extractor, loss, style, content, **kwargs)

    monkeypatch.setattr(Objective, "__init__", spy)
    config = replace(tiny, style=StyleConfig(even_mix=True))
    content = textured(48, 64, seed=3)
    stylize_image(content, "swirl:0.5,mosaic:0.5", size=None, config=config, device="cpu")
    assert seen and all(isinstance(style, list) and len(style) == 6 for style in seen)
    seen.clear()
    stylize_image(content, "swirl", size=None, config=config, device="cpu")  # one style: nothing to mix
    assert seen and all(not isinstance(style, list) for style in seen)


def test_even_mix_with_a_mask_is_refused_naming_the_key(tiny, tmp_path):
    import pytest

    import vidstyle
    from vidstyle.config import SettingError

    config = replace(tiny, style=StyleConfig(even_mix=True))
    content = textured(48, 64, seed=3)
    mask = np.zeros((48, 64), np.float32)
    mask[:, :32] = 1
    with pytest.raises(SettingError, match="whole-image mix") as caught:
        stylize_image(content, "swirl:0.5,mosaic:0.5", size=None, mask=mask, config=config, device="cpu")
    assert caught.value.key == "even_mix"
    with pytest.raises(SettingError, match="even_mix"):
        vidstyle.Job.from_values({"input": os.fspath(SAMPLE), "output": os.fspath(tmp_path / "out.mp4"),
                                  "styles": "swirl:0.5,mosaic:0.5", "segment": "person", "even_mix": True}).check()

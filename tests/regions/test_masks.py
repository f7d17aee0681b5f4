import numpy as np
import pytest
import torch

from dataclasses import replace

from vidstyle import RunConfig, stylize_image
from vidstyle.config import MaskConfig, OptimConfig
from vidstyle.core.features import VGGFeatures
from vidstyle.core.losses import masked_gram, relative_error
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import mixed_gram_targets
from vidstyle.core.tensors import to_tensor
from vidstyle.core.weights import load_embedded, load_weights
from vidstyle.media.images import read_image, write_image
from vidstyle.regions.masks import check_coverage, fit_mask, layer_guides, layer_size, shape_mask

from ..conftest import textured

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONFIG = RunConfig(optim=OptimConfig(iterations=60))


@pytest.fixture(scope="module")
def extractor():
    return VGGFeatures(load_embedded(), LAYERS + ("relu4_2",))


def region_style_loss(extractor, image: np.ndarray, mask: np.ndarray, style: str) -> float:
    """Relative Gram error of ``image`` inside ``mask`` against ``style`` (same preparation as a run)."""
    content = to_tensor(image)
    (entry,) = parse_style_spec(style)
    style_image = to_tensor(read_image(entry.path))
    side = max(content.shape[-2:])
    style_image = torch.nn.functional.interpolate(style_image, size=(side, side), mode="area")
    targets = mixed_gram_targets(extractor, [style_image], [1.0], LAYERS)
    guides = layer_guides(torch.from_numpy(mask)[None, None], LAYERS, erode=True)
    features = extractor(content)
    errors = [relative_error(masked_gram(features[n], guides[n]), targets[n]) for n in LAYERS]
    return float(torch.stack(errors).mean())


@pytest.mark.slow
def test_masked_run_keeps_the_outside_and_styles_the_inside(extractor):
    content = textured(64, 64, seed=2)
    mask = np.zeros((64, 64), np.float32)
    mask[:, :32] = 1.0
    masked = stylize_image(content, "swirl", size=None, mask=mask, config=CONFIG, device="cpu")
    outside = mask == 0
    assert np.abs(masked[outside].astype(int) - content[outside]).max() <= 1
    assert np.abs(masked[~outside].astype(int) - content[~outside]).mean() > 5
    full = stylize_image(content, "swirl", size=None, config=CONFIG, device="cpu")
    masked_loss = region_style_loss(extractor, masked, mask, "swirl")
    full_loss = region_style_loss(extractor, full, mask, "swirl")
    untouched = region_style_loss(extractor, content, mask, "swirl")
    assert masked_loss < 0.5 * untouched
    assert masked_loss <= 1.2 * full_loss


def test_masked_gram_does_not_depend_on_region_area(tiny_weights):
    extractor = VGGFeatures(load_weights(tiny_weights), ["relu2_1"])
    tile = textured(24, 24, seed=5)
    texture = to_tensor(np.tile(tile, (4, 4, 1)))  # a stationary texture
    features = extractor(texture)
    small = torch.zeros(1, 1, 96, 96)
    small[..., 24:72, 24:72] = 1  # a quarter of the image
    large = torch.ones(1, 1, 96, 96)
    g_small = layer_guides(small, ["relu2_1"], erode=False)["relu2_1"]
    g_large = layer_guides(large, ["relu2_1"], erode=False)["relu2_1"]
    a = masked_gram(features["relu2_1"], g_small)
    b = masked_gram(features["relu2_1"], g_large)
    assert relative_error(a, b) < 0.02
    # an unnormalised (summed) Gram would differ by the area ratio, about 4x
    assert g_large.pow(2).sum() / g_small.pow(2).sum() > 3.5


@pytest.mark.slow
def test_two_regions_move_toward_their_own_styles(extractor):
    content = textured(64, 64, seed=4)
    left = np.zeros((64, 64), np.float32)
    left[:, :32] = 1
    right = 1 - left
    result = stylize_image(content, None, size=None, config=CONFIG, device="cpu",
                           regions=[(left, "swirl"), (right, "mosaic")])
    assert region_style_loss(extractor, result, left, "swirl") < region_style_loss(extractor, result, left, "mosaic")
    assert region_style_loss(extractor, result, right, "mosaic") < region_style_loss(extractor, result, right, "swirl")


def test_background_style_styles_the_rest(tmp_path, tiny):
    content = textured(48, 48, seed=6)
    mask = np.zeros((48, 48), np.float32)
    mask[:24] = 1
    config = replace(tiny, optim=OptimConfig(iterations=10))
    result = stylize_image(content, "swirl", size=None, mask=mask, background_style="mosaic", config=config,
                           device="cpu")
    assert np.abs(result[30:].astype(int) - content[30:]).mean() > 3  # no longer the content


def test_mask_files_resize_invert_and_feather(tmp_path, tiny):
    grey = np.zeros((30, 40), np.uint8)
    grey[:, :20] = 255
    path = tmp_path / "m.png"
    write_image(path, grey)
    content = textured(60, 80, seed=1)
    result = stylize_image(content, "swirl", size=None, mask=path, mask_options=MaskConfig(invert=True),
                           config=tiny, device="cpu")
    assert np.array_equal(result[:, :38], content[:, :38])  # inverted: the left half stays
    assert np.abs(result[:, 42:].astype(int) - content[:, 42:]).mean() > 1  # the right half was optimised
    feathered = shape_mask(fit_mask(grey.astype(np.float32) / 255, 60, 80), feather=6)
    assert 0 < feathered[30, 40] < 1 and feathered[30, 5] == 1 and feathered[30, 75] == 0


def test_mask_errors():
    with pytest.raises(ValueError, match="expected the same aspect ratio"):
        fit_mask(np.zeros((10, 10), np.float32), 20, 40)
    with pytest.raises(ValueError, match="is empty"):
        check_coverage(np.zeros((8, 8), np.float32))
    with pytest.raises(ValueError, match="covers the whole frame"):
        check_coverage(np.ones((8, 8), np.float32))


def test_layer_size_matches_the_network(tiny_weights):
    extractor = VGGFeatures(load_weights(tiny_weights), LAYERS)
    out = extractor(torch.rand(1, 3, 75, 101))
    for name in LAYERS:
        assert tuple(out[name].shape[-2:]) == layer_size(name, 75, 101)

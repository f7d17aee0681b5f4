import pytest
import torch

from vidstyle.core.losses import content_loss, gram, masked_gram, relative_error, style_loss, temporal_loss, tv_loss


def test_gram_is_symmetric_psd_and_per_position():
    features = torch.randn(2, 5, 7, 6)
    g = gram(features)
    assert g.shape == (2, 5, 5)
    assert torch.allclose(g, g.transpose(1, 2))
    assert torch.linalg.eigvalsh(g).min() > -1e-5
    flat = features[0].reshape(5, -1)
    assert torch.allclose(g[0], flat @ flat.T / 42, atol=1e-5)


def test_gram_is_size_independent_for_a_tiled_texture():
    tile = torch.randn(1, 4, 5, 5)
    assert torch.allclose(gram(tile), gram(tile.repeat(1, 1, 3, 2)), atol=1e-5)


def test_gram_gradcheck():
    features = torch.randn(1, 3, 4, 4, dtype=torch.double, requires_grad=True)
    assert torch.autograd.gradcheck(lambda f: gram(f).double(), (features,))


def test_masked_gram_with_full_guide_is_the_gram():
    features = torch.randn(1, 4, 6, 6)
    assert torch.allclose(masked_gram(features, torch.ones(1, 1, 6, 6)), gram(features), atol=1e-5)


def test_masked_gram_uses_only_the_region():
    features = torch.randn(1, 3, 8, 8)
    guide = torch.zeros(1, 1, 8, 8)
    guide[..., :4, :] = 1
    assert torch.allclose(masked_gram(features, guide), gram(features[..., :4, :]), atol=1e-5)


def test_masked_gram_rejects_a_guide_of_the_wrong_size():
    with pytest.raises(ValueError, match="expected a guide of shape"):
        masked_gram(torch.randn(1, 3, 8, 8), torch.ones(1, 1, 4, 4))


def test_content_loss_of_an_image_with_itself_is_zero_and_relative():
    f = {"relu4_2": torch.rand(1, 8, 4, 4)}
    assert content_loss(f, f) == 0
    doubled = {"relu4_2": 2 * f["relu4_2"]}
    assert torch.isclose(content_loss(doubled, f), torch.tensor(1.0))  # ||2t - t||^2 / ||t||^2


def test_relative_error_is_scale_free():
    a, b = torch.rand(1, 3, 3), torch.rand(1, 3, 3)
    assert torch.isclose(relative_error(a, b), relative_error(100 * a, 100 * b))


def test_style_loss_averages_layers():
    t = {"a": torch.eye(3)[None], "b": torch.eye(3)[None]}
    g = {"a": torch.eye(3)[None], "b": 2 * torch.eye(3)[None]}
    assert torch.isclose(style_loss(g, t), torch.tensor(0.5))


def test_tv_is_zero_for_flat_images_and_positive_for_edges():
    assert tv_loss(torch.full((1, 3, 8, 8), 0.3)) == 0
    image = torch.zeros(1, 3, 8, 8)
    image[..., 4:] = 1
    assert torch.isclose(tv_loss(image), torch.tensor(1 / 7))


def test_temporal_loss_counts_only_reliable_pixels():
    image, warped = torch.zeros(1, 3, 4, 4), torch.ones(1, 3, 4, 4)
    weight = torch.zeros(1, 1, 4, 4)
    assert temporal_loss(image, warped, weight) == 0
    weight[..., :2, :] = 1
    assert torch.isclose(temporal_loss(image, warped, weight), torch.tensor(0.5))


def test_sparse_masked_gram_equals_the_dense_form():
    from vidstyle.core.losses import sparse_masked_gram
    from vidstyle.core.objective import _support

    features = torch.randn(1, 6, 9, 7)
    guide = torch.rand(1, 1, 9, 7) * (torch.rand(1, 1, 9, 7) > 0.6)
    assert torch.allclose(sparse_masked_gram(features, *_support(guide)), masked_gram(features, guide), atol=1e-5)

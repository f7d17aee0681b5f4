import pytest
import torch

from vidstyle.core.features import LAYER_NAMES, VGGFeatures, check_size, validate_layers
from vidstyle.core.weights import load_embedded


@pytest.fixture(scope="module")
def weights():
    return load_embedded()


def test_layer_names_follow_the_vgg19_convention():
    assert len(LAYER_NAMES) == 16 * 2 + 5
    assert LAYER_NAMES[:5] == ("conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1")
    for name in ("conv4_2", "relu4_2", "relu5_4", "pool5"):
        assert name in LAYER_NAMES


def test_forward_stops_at_the_deepest_requested_layer(weights):
    extractor = VGGFeatures(weights, ["relu2_1", "relu3_1"])
    assert extractor.names[-1] == "relu3_1"
    assert len(extractor.net) == LAYER_NAMES.index("relu3_1") + 1


def test_shapes_and_frozen_weights(weights):
    extractor = VGGFeatures(weights, ["relu1_1", "relu4_1", "conv4_2"])
    out = extractor(torch.rand(2, 3, 64, 48))
    assert out["relu1_1"].shape == (2, 64, 64, 48)
    assert out["relu4_1"].shape == (2, 512, 8, 6)
    assert all(not p.requires_grad for p in extractor.parameters())
    # a conv output keeps its negative values (ReLU is not in place)
    assert (out["conv4_2"] < 0).any()


def test_gradients_flow_to_the_image(weights):
    extractor = VGGFeatures(weights, ["relu3_1"])
    image = torch.rand(1, 3, 32, 32, requires_grad=True)
    extractor(image)["relu3_1"].sum().backward()
    assert image.grad is not None and image.grad.abs().sum() > 0


def test_under_bf16_autocast_the_weights_cast_once_give_what_autocast_gives(weights, monkeypatch):
    """The bf16 copies of the frozen weights (made once, not per evaluation) change no value: the features and the
    image's gradient equal those of autocast casting every weight itself."""
    extractor = VGGFeatures(weights, ["relu1_1", "relu3_1", "conv4_2"])
    image = torch.rand(1, 3, 40, 56)

    def run():
        x = image.clone().requires_grad_()
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = extractor(x)
        sum(f.float().square().mean() for f in out.values()).backward()
        return out, x.grad

    cast_out, cast_grad = run()
    made = extractor._bf16
    cast_out, cast_grad = run()
    assert made is not None and extractor._bf16 is made  # made once
    assert all(weight.dtype == torch.bfloat16 for weight, _ in extractor._bf16[1].values())
    monkeypatch.setattr(VGGFeatures, "_cast_convs", lambda self, device: {})
    plain_out, plain_grad = run()
    assert all(torch.equal(cast_out[name], plain_out[name]) for name in plain_out)
    assert cast_out["relu3_1"].dtype == torch.bfloat16 and torch.equal(cast_grad, plain_grad)
    assert extractor(image)["relu1_1"].dtype == torch.float32  # outside autocast: the fp32 weights


def test_avg_pooling_changes_deep_features(weights):
    image = torch.rand(1, 3, 32, 32)
    a = VGGFeatures(weights, ["relu3_1"], "max")(image)["relu3_1"]
    b = VGGFeatures(weights, ["relu3_1"], "avg")(image)["relu3_1"]
    assert a.shape == b.shape and not torch.allclose(a, b)


@pytest.mark.parametrize("bad", [["relu6_1"], ["conv4_5"], []])
def test_unknown_layers_are_refused(bad):
    with pytest.raises(ValueError, match="expected"):
        validate_layers(bad)


def test_bad_input_shape(weights):
    with pytest.raises(ValueError, match=r"expected an image tensor of shape \(B, 3, H, W\)"):
        VGGFeatures(weights, ["relu1_1"])(torch.rand(1, 1, 8, 8))


def test_too_small_images_are_refused(weights):
    extractor = VGGFeatures(weights, ["relu5_1"])
    with pytest.raises(ValueError, match="at least 16x16 px for layer relu5_1, got 20x8"):
        extractor(torch.rand(1, 3, 8, 20))


def test_a_resized_input_too_small_is_named_by_its_own_size():
    with pytest.raises(ValueError, match=r"got 512x6 \(the input, 400x5, at the processing size\)"):
        check_size(6, 512, ["relu5_1"], source=(5, 400))
    with pytest.raises(ValueError, match=r"got 20x8$"):  # not resized: nothing to add
        check_size(8, 20, ["relu5_1"], source=(8, 20))
    check_size(16, 16, ["relu5_1"], source=(5, 5))  # big enough once resized

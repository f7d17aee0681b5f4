import urllib.error

import pytest
import torch

from vidstyle.core import weights as W
from vidstyle.core.features import VGGFeatures
from vidstyle.core.tensors import to_tensor

from ..conftest import textured


def test_embedded_dequantises_to_vgg19_shapes():
    loaded = W.load_embedded()
    assert loaded.preprocessing == "caffe"
    assert len(loaded.convs) == 16
    expected_out = [64, 64, 128, 128] + [256] * 4 + [512] * 8
    expected_in = [3, 64, 64, 128, 128] + [256] * 3 + [256] + [512] * 7
    for (weight, bias), c_out, c_in in zip(loaded.convs, expected_out, expected_in):
        assert weight.shape == (c_out, c_in, 3, 3) and bias.shape == (c_out,)
        assert weight.dtype == torch.float32


def test_dequantisation_is_a_table_lookup():
    raw = torch.load(W.embedded_path(), map_location="cpu", weights_only=True)
    weight = W.load_embedded().convs[3][0]  # block2_conv2
    indices, table = raw["block2_conv2_W_q"], raw["block2_conv2_W_table"]
    assert torch.equal(weight[5, 7], table[indices[5, 7].long()])
    assert len(torch.unique(weight)) <= 256 and len(torch.unique(weight)) > 100


def test_features_of_a_real_image_are_not_degenerate():
    extractor = VGGFeatures(W.load_embedded(), ["relu1_1", "relu3_1", "relu5_1"])
    image = to_tensor(textured(64, 64, seed=3))
    features = extractor(image)
    for name, f in features.items():
        active = (f > 0).float().mean(dim=(0, 2, 3))
        assert f.std() > 0.1, name
        assert (active > 0).float().mean() > 0.3, f"{name}: most channels dead"
    other = extractor(to_tensor(textured(64, 64, seed=4)))
    assert not torch.allclose(other["relu3_1"], features["relu3_1"])


def _as_torchvision_state(loaded):
    state = {}
    for index, (weight, bias) in zip(W.TORCHVISION_CONV_INDEX, loaded.convs):
        state[f"features.{index}.weight"] = weight.clone()
        state[f"features.{index}.bias"] = bias.clone()
    state["classifier.0.weight"] = torch.zeros(2, 2)  # extra keys are ignored
    return state


def test_state_dict_path_round_trip(tmp_path):
    embedded = W.load_embedded()
    path = tmp_path / "vgg.pth"
    torch.save(_as_torchvision_state(embedded), path)
    loaded = W.load_weights(str(path))
    assert loaded.preprocessing == "imagenet"
    for (a, b), (c, d) in zip(loaded.convs, embedded.convs):
        assert torch.equal(a, c) and torch.equal(b, d)


def test_state_dict_missing_key_is_a_clear_error(tmp_path):
    state = _as_torchvision_state(W.load_embedded())
    del state["features.21.weight"]
    path = tmp_path / "broken.pth"
    torch.save(state, path)
    with pytest.raises(W.WeightsUnavailableError, match="features.21.weight"):
        W.load_weights(str(path))


def test_missing_weights_file_names_the_choices(tmp_path):
    with pytest.raises(FileNotFoundError, match="expected 'embedded', 'torchvision' or a weights file"):
        W.load_weights(str(tmp_path / "nope.pth"))


def test_torchvision_offline_says_where_to_put_the_file(tmp_path, monkeypatch):
    from torchvision.models import VGG19_Weights

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(type(VGG19_Weights.IMAGENET1K_V1), "get_state_dict", offline)
    with pytest.raises(W.WeightsUnavailableError) as info:
        W.load_torchvision()
    assert str(tmp_path / "hub" / "checkpoints" / W.TORCHVISION_FILE) in str(info.value)


def test_torchvision_reads_the_cached_file_without_network(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = W.torchvision_cache_path()
    cached.parent.mkdir(parents=True)
    torch.save(_as_torchvision_state(W.load_embedded()), cached)
    assert W.load_weights("torchvision").preprocessing == "imagenet"

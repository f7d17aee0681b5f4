import re

import pytest
import torch

from vidstyle.core import styles as S
from vidstyle.core.features import VGGFeatures
from vidstyle.core.losses import gram
from vidstyle.core.targets import mixed_gram_targets
from vidstyle.core.weights import load_weights


@pytest.fixture(scope="module")
def two_styles(tmp_path_factory):
    from vidstyle.core.textures import render_mosaic, render_swirl
    from vidstyle.media.images import write_image

    folder = tmp_path_factory.mktemp("styles")
    a, b = folder / "a.png", folder / "b.png"
    write_image(a, render_swirl()[:64, :64])
    write_image(b, render_mosaic()[:64, :64])
    return a, b


def test_weights_default_to_one_and_are_normalised(two_styles):
    a, b = two_styles
    entries = S.parse_style_spec(f"{a}:3,{b}")
    assert [e.weight for e in entries] == [0.75, 0.25]
    assert entries[0].path == a


def test_names_resolve_to_built_ins():
    (entry,) = S.parse_style_spec("swirl")
    assert entry.weight == 1.0 and entry.path.is_file()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("", "got an empty one"),
        ("swirl,,mosaic", "has an empty entry"),
        ("swirl,", "has an empty entry"),
        ("swirl:-0.5", "expected a weight >= 0, got -0.5"),
        ("swirl:abc", "expected a number after ':', got 'abc'"),
        ("swirl:nan", "expected a finite weight"),
        ("swirl:0", "expected at least one weight > 0"),
        ("swirl:0,mosaic:0", "expected at least one weight > 0"),
        ("swirl:1,swirl:1", "listed twice"),
        ("swirrl", "unknown style 'swirrl' (did you mean 'swirl'?)"),
        (":0.5", "expected a name or path before ':'"),
        ("missing.jpg", "does not exist"),
    ],
)
def test_every_spec_error_has_its_own_message(spec, message):
    with pytest.raises((ValueError, FileNotFoundError), match=re.escape(message)):
        S.parse_style_spec(spec)


def test_library_order_env_path_then_user_then_builtin(tmp_path, monkeypatch, two_styles):
    a, b = two_styles
    env_dir = tmp_path / "env"
    env_dir.mkdir()
    (env_dir / "swirl.png").write_bytes(a.read_bytes())
    monkeypatch.setenv("VIDSTYLE_STYLE_PATH", str(env_dir))
    S.add_style("swirl", b)  # user library, shadowed by the env path
    S.add_style("mine", b)
    found = {s.name: s for s in S.list_styles()}
    assert found["swirl"].origin == "VIDSTYLE_STYLE_PATH"
    assert found["mine"].origin == "user"
    assert found["mosaic"].origin == "built-in"
    assert S.resolve_style("swirl") == env_dir / "swirl.png"


def test_add_refuses_to_overwrite_without_force(two_styles):
    a, b = two_styles
    S.add_style("mine", a)
    with pytest.raises(ValueError, match="use `force` to replace it"):
        S.add_style("mine", b)
    target = S.add_style("mine", b, force=True)
    assert target.read_bytes() == b.read_bytes()


def test_add_refuses_an_undecodable_image(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image")
    with pytest.raises(ValueError, match="expected a decodable image"):
        S.add_style("bad", bad)
    assert not S.user_library_dir().joinpath("bad.png").exists()


def _image(path):
    from vidstyle.core.tensors import to_tensor
    from vidstyle.media.images import read_image

    return to_tensor(read_image(path))


def test_mixing_one_to_zero_equals_the_single_style(two_styles, tiny_weights):
    layers = ["relu1_1", "relu2_1", "relu3_1"]
    extractor = VGGFeatures(load_weights(tiny_weights), layers)
    a, b = two_styles
    entries = S.parse_style_spec(f"{a}:1,{b}:0")
    images = [_image(e.path) for e in entries]
    mixed = mixed_gram_targets(extractor, images, [e.weight for e in entries], layers)
    single = mixed_gram_targets(extractor, images[:1], [1.0], layers)
    for name in layers:
        assert torch.equal(mixed[name], single[name])


def test_mixing_half_half_is_the_elementwise_mean(two_styles, tiny_weights):
    layers = ["relu1_1", "relu3_1"]
    extractor = VGGFeatures(load_weights(tiny_weights), layers)
    a, b = two_styles
    entries = S.parse_style_spec(f"{a}:0.5,{b}:0.5")
    images = [_image(e.path) for e in entries]
    mixed = mixed_gram_targets(extractor, images, [e.weight for e in entries], layers)
    for name in layers:
        ga, gb = (gram(extractor(im)[name]) for im in images)
        assert torch.allclose(mixed[name], (ga + gb) / 2, rtol=1e-5, atol=1e-4)
        assert not torch.allclose(ga, gb, rtol=0.05)


def test_a_file_with_a_comma_in_its_name_is_one_entry(tmp_path, two_styles):
    a, _ = two_styles
    odd = tmp_path / "my,style.png"
    odd.write_bytes(a.read_bytes())
    entries = S.parse_style_spec(f"{odd}:3,swirl")
    assert [e.path for e in entries] == [odd, S.resolve_style("swirl")]
    assert [e.weight for e in entries] == [0.75, 0.25]


def test_huge_weights_normalise_like_small_ones():
    big = S.parse_style_spec("swirl:1e308,mosaic:1e308")
    small = S.parse_style_spec("swirl:1,mosaic:1")
    assert [e.weight for e in big] == [e.weight for e in small] == [0.5, 0.5]


def test_the_built_in_paintings_and_the_picasso_stand_in():
    found = {s.name: s for s in S.list_styles()}
    assert {"vangogh", "matisse", "leger", "mondrian", "picasso", "swirl"} <= set(found)
    assert "Vincent van Gogh, The Starry Night (1889)" in found["vangogh"].credit
    assert found["picasso"].path == found["leger"].path and "Cubist stand-in" in found["picasso"].note
    assert all(found[n].path.is_file() for n in ("vangogh", "matisse", "leger", "mondrian"))


def test_a_user_picasso_takes_precedence(two_styles):
    a, _ = two_styles
    builtin = S.resolve_style("picasso")
    S.add_style("picasso", a)
    assert S.resolve_style("picasso") != builtin and S.resolve_style("picasso").read_bytes() == a.read_bytes()


def test_the_mission_mix_is_the_weighted_sum_of_the_two_grams(tiny_weights):
    from vidstyle.config import RunConfig
    from vidstyle.core.targets import StyleTargets

    layers = ("relu1_1", "relu2_1", "relu3_1")
    config = RunConfig(loss=RunConfig().loss.__class__(style_layers=layers))
    extractor = VGGFeatures(load_weights(tiny_weights), layers)
    reference = torch.rand(1, 3, 64, 96)
    targets = StyleTargets(extractor, config, reference)
    size = tuple(reference.shape[-2:])
    mixed = targets.get(S.parse_style_spec("vangogh:0.6,picasso:0.4"), size)
    vangogh = targets.get(S.parse_style_spec("vangogh"), size)
    picasso = targets.get(S.parse_style_spec("picasso"), size)
    for name in layers:
        assert torch.allclose(mixed[name], 0.6 * vangogh[name] + 0.4 * picasso[name], rtol=1e-5, atol=1e-6)
        assert not torch.allclose(vangogh[name], picasso[name], rtol=0.05)


def test_a_long_strip_of_a_painting_keeps_a_short_side_the_deepest_layer_can_use(tmp_path):
    import numpy as np

    from vidstyle.config import StyleConfig
    from vidstyle.core.targets import MIN_STYLE_SIDE, load_style_images
    from vidstyle.media.images import write_image

    write_image(tmp_path / "frieze.png", np.random.default_rng(0).integers(0, 256, (30, 1000, 3), dtype=np.uint8))
    write_image(tmp_path / "plain.png", np.random.default_rng(1).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    entries = S.parse_style_spec(f"{tmp_path / 'frieze.png'}:0.5,{tmp_path / 'plain.png'}:0.5")
    frieze, plain = load_style_images(entries, torch.zeros(1, 3, 96, 128), StyleConfig())
    assert tuple(frieze.shape[-2:]) == (MIN_STYLE_SIDE, round(1000 * MIN_STYLE_SIDE / 30))  # aspect kept
    assert tuple(plain.shape[-2:]) == (96, 128)  # an ordinary painting: scaled to the image's long side, as before

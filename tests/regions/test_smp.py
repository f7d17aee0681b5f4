import json

import numpy as np
import pytest

from vidstyle.regions.sources import MaskSource, clip_masks, raw_masks

from ..conftest import translating_clip


def test_smp_model_from_a_local_directory(tmp_path):
    smp = pytest.importorskip("segmentation_models_pytorch")
    from vidstyle.regions.smp import SmpSegmenter as Segmenter

    model = smp.Unet("resnet18", encoder_weights=None, classes=3, encoder_depth=3, decoder_channels=(16, 8, 8))
    model.save_pretrained(str(tmp_path / "model"))
    (tmp_path / "model" / "labels.json").write_text(json.dumps(["sky", "building", "person"]))
    segmenter = Segmenter(str(tmp_path / "model"), ["sky", "person"])
    masks = segmenter([np.zeros((40, 60, 3), np.uint8), np.full((40, 60, 3), 200, np.uint8)])
    assert [m.shape for m in masks] == [(40, 60), (40, 60)]
    assert all(0 <= m.min() and m.max() <= 1 for m in masks)
    with pytest.raises(ValueError, match="unknown class 'tree'.*expected one of sky, building, person"):
        Segmenter(str(tmp_path / "model"), ["tree"])
    # the same path through the clip mask code users run
    frames = translating_clip(3, 40, 64)
    source = MaskSource(segment=str(tmp_path / "model"), classes=("sky", "building", "person"))
    track = list(raw_masks(source, lambda: iter(frames), 40, 64, segmenter=Segmenter(source.segment, source.classes)))
    assert len(track) == 3 and np.allclose(track[0], 1.0, atol=1e-4)  # all classes: probabilities sum to 1
    with pytest.raises(ValueError, match="covers the whole frame"):
        list(clip_masks(source, lambda: iter(frames), 40, 64, segmenter=Segmenter(source.segment, source.classes)))


def test_smp_offline_hub_id_is_one_clear_error(monkeypatch):
    from vidstyle.regions.smp import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ValueError, match="cannot load segmentation model 'someone/no-such-model'"):
        load_model("someone/no-such-model")


def test_smp_hub_unreachable_fails_at_once(monkeypatch):
    from vidstyle.regions import smp as segment

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(segment, "_hub_reachable", lambda host="huggingface.co": False)
    with pytest.raises(ValueError, match="hub is unreachable"):
        segment.load_model("someone/no-such-model")

"""smp checkpoints: local directories, hub ids from the Hugging Face cache (offline), shipped class lists."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from vidstyle import assets
from vidstyle.regions.sources import MaskSource, clip_masks, raw_masks

from ..conftest import ROOT, translating_clip

smp = pytest.importorskip("segmentation_models_pytorch")
HUB_ID = "smp-hub/segformer-b0-512x512-ade-160k"


def tiny_model(classes: int):
    return smp.Unet("resnet18", encoder_weights=None, classes=classes, encoder_depth=3, decoder_channels=(16, 8, 8))


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    """A Hugging Face cache holding a tiny random 150-class model under an smp-hub ADE20K id."""
    cache = tmp_path_factory.mktemp("hf") / "hub"
    saved = cache.parent / "saved"
    tiny_model(150).save_pretrained(str(saved))
    repo = cache / ("models--" + HUB_ID.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(saved, repo / "snapshots" / commit)
    return cache


def test_a_local_directory_with_its_own_labels(tmp_path):
    from vidstyle.regions.smp import SmpSegmenter

    tiny_model(3).save_pretrained(str(tmp_path / "model"))
    (tmp_path / "model" / "labels.json").write_text(json.dumps(["sky", "building", "person"]))
    segmenter = SmpSegmenter(str(tmp_path / "model"), ["sky", "person"])
    masks = segmenter([np.zeros((40, 60, 3), np.uint8), np.full((40, 60, 3), 200, np.uint8)])
    assert [m.shape for m in masks] == [(40, 60), (40, 60)]
    assert all(0 <= m.min() and m.max() <= 1 for m in masks)
    with pytest.raises(ValueError, match="unknown class 'skyy' \\(did you mean 'sky'\\?\\).*expected one of sky, "
                                         "building, person"):
        SmpSegmenter(str(tmp_path / "model"), ["skyy"])
    frames = translating_clip(3, 40, 64)
    source = MaskSource(segment=str(tmp_path / "model"), classes=("sky", "building", "person"))
    every = SmpSegmenter(source.segment, source.classes)
    track = list(raw_masks(source, lambda: iter(frames), 40, 64, segmenter=every))
    assert len(track) == 3 and np.allclose(track[0], 1.0, atol=1e-4)  # all classes: probabilities sum to 1
    with pytest.raises(ValueError, match="covers the whole frame"):
        list(clip_masks(source, lambda: iter(frames), 40, 64, segmenter=every))


def test_a_hub_id_loads_offline_from_the_cache_with_the_shipped_ade20k_labels(hub_cache, monkeypatch):
    import huggingface_hub.constants

    from vidstyle.regions.smp import SmpSegmenter

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
    segmenter = SmpSegmenter(HUB_ID, ["sky"])
    assert segmenter.indices == [2]  # ADE20K: wall, building, sky, ...
    frame = np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8)
    (mask,) = segmenter([frame])
    import torch

    from segmentation_models_pytorch.encoders._preprocessing import preprocess_input

    x = torch.from_numpy(preprocess_input(frame[None].astype(np.float32) / 255, **segmenter.params)).permute(0, 3, 1, 2)
    with torch.no_grad():
        expected = segmenter.net(x.float()).softmax(1)[0, 2].numpy()
    assert np.allclose(mask, expected, atol=1e-5)


@pytest.mark.slow
def test_the_cli_names_a_cached_hub_model_offline(hub_cache, tmp_path):
    from vidstyle.media.images import write_image

    from ..conftest import textured

    write_image(tmp_path / "photo.png", textured(64, 96))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(hub_cache)}
    every = ",".join(json.loads(assets.path("labels", "ade20k.json").read_text()))
    command = [sys.executable, "-m", "vidstyle", "mask", str(tmp_path / "photo.png"), "-o", str(tmp_path / "masks"),
               "--segment", HUB_ID, "--classes", every, "--mask-smoothing", "0"]
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    # Every one of the 150 shipped ADE20K names resolved, and the model ran offline: its class probabilities
    # sum to 1, so the mask is white everywhere, whatever the random weights say.
    assert result.returncode == 0, result.stderr
    from vidstyle.media.images import read_grey

    assert read_grey(tmp_path / "masks" / "000000.png").min() >= 254
    other = [a if a != HUB_ID else "smp-hub/segformer-b5-640x640-ade-160k" for a in command]
    missing = subprocess.run(other, env=env, capture_output=True, text=True)
    assert missing.returncode == 1
    lines = missing.stderr.strip().splitlines()
    assert len(lines) == 1 and "not in the Hugging Face cache" in lines[0] and "run once online" in lines[0]


def test_an_uncached_id_offline_is_one_clear_error_at_once(monkeypatch, tmp_path):
    import socket
    import time

    import huggingface_hub.constants

    from vidstyle.regions.smp import load_model

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    waits: list[float] = []
    monkeypatch.setattr(time, "sleep", waits.append)  # a retry with back-off would sleep
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: pytest.fail("tried the network offline"))
    with pytest.raises(ValueError, match="cannot load segmentation model 'someone/no-such-model'.*run once online"):
        load_model("someone/no-such-model")
    assert waits == []  # no retries with back-off


def test_unreachable_hub_fails_at_once(monkeypatch, tmp_path):
    import huggingface_hub.constants

    from vidstyle.regions import smp as backend

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(backend.socket, "getaddrinfo", lambda *a, **k: (_ for _ in ()).throw(OSError("no dns")))
    with pytest.raises(ValueError, match="hub is out of reach"):
        backend.load_model("someone/no-such-model")

"""Shared fixtures: tiny images, synthetic clips with known motion, a stand-in encoder, an isolated library."""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from vidstyle.config import FeatureConfig, OptimConfig, RunConfig, TemporalConfig

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
ROOT = Path(__file__).resolve().parents[1]
# Channels of the stand-in encoder's 16 convolutions (VGG19 has 64 ... 512).
TINY_CHANNELS = (8, 8, 12, 12, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16)


@pytest.fixture(scope="session")
def texture_cache(tmp_path_factory) -> Path:
    """Built-in textures rendered once per test session (the cache is keyed by renderer version)."""
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch, texture_cache):
    """Keep the user library out of the real home directory; share the texture cache."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VIDSTYLE_HOME", str(home / "vidstyle"))
    monkeypatch.setenv("VIDSTYLE_CACHE", str(texture_cache))
    monkeypatch.delenv("VIDSTYLE_STYLE_PATH", raising=False)
    torch.manual_seed(0)
    return home


@pytest.fixture(scope="session")
def tiny_weights(tmp_path_factory) -> str:
    """A stand-in for VGG19 in plumbing tests: the same 16 convolutions and layer names with a few channels
    and seeded random weights, saved as a torchvision-layout state dict (``--weights FILE``)."""
    from vidstyle.core.weights import TORCHVISION_CONV_INDEX

    generator = torch.Generator().manual_seed(0)
    state, channels_in = {}, 3
    for index, channels in zip(TORCHVISION_CONV_INDEX, TINY_CHANNELS):
        fan_in = channels_in * 9
        state[f"features.{index}.weight"] = torch.randn(channels, channels_in, 3, 3, generator=generator) * (2 / fan_in) ** 0.5
        state[f"features.{index}.bias"] = torch.full((channels,), 0.01)
        channels_in = channels
    path = tmp_path_factory.mktemp("weights") / "tiny-vgg.pth"
    torch.save(state, path)
    return str(path)


@pytest.fixture
def tiny(tiny_weights) -> RunConfig:
    """A fast run on the stand-in encoder: small budgets, fp32 (plumbing, not quality)."""
    return RunConfig(features=FeatureConfig(weights=tiny_weights), optim=OptimConfig(iterations=4, fine_iterations=2),
                     temporal=TemporalConfig(iterations=3, fine_iterations=2, tolerance=0.0), precision="fp32")


def textured(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A smooth, textured RGB image (uint8) with structure at several scales."""
    rng = np.random.default_rng(seed)
    layers = []
    for cells in (4, 9, 23):
        coarse = rng.random((cells, cells, 3)).astype(np.float32)
        layers.append(cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC))
    image = sum(layers) / len(layers)
    image = (image - image.min()) / (image.max() - image.min())
    return (image * 255).astype(np.uint8)


@pytest.fixture
def content_image() -> np.ndarray:
    return textured(48, 64, seed=1)


@pytest.fixture
def style_image_path(tmp_path) -> Path:
    from vidstyle.core.textures import render_mosaic
    from vidstyle.media.images import write_image

    path = tmp_path / "style.png"
    write_image(path, cv2.resize(render_mosaic(), (96, 96), interpolation=cv2.INTER_AREA))
    return path


@pytest.fixture
def content_path(tmp_path, content_image) -> Path:
    from vidstyle.media.images import write_image

    path = tmp_path / "content.png"
    write_image(path, content_image)
    return path


def shared_file(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"test material {path} is not present")
    return path


def translating_clip(frames: int, height: int, width: int, dx: float = 2.0, dy: float = 0.0, seed: int = 0):
    """Frames of a textured scene whose camera moves by (dx, dy) px per frame: content moves by (-dx, -dy)."""
    margin = int(abs(dx) * frames + abs(dy) * frames) + 8
    scene = textured(height + 2 * margin, width + 2 * margin, seed=seed)
    out = []
    for t in range(frames):
        matrix = np.float32([[1, 0, -(margin + dx * t)], [0, 1, -(margin + dy * t)]])
        out.append(cv2.warpAffine(scene, matrix, (width, height), flags=cv2.INTER_LINEAR))
    return out


@pytest.fixture
def make_clip(tmp_path):
    """Write frames (and optionally a generated audio track) to an H.264 MP4."""
    from samples.make import write_clip

    def make(frames, name="clip.mp4", fps=Fraction(12), audio=True):
        path = tmp_path / name
        write_clip(path, frames, fps, with_audio=audio)
        return path

    return make


def plain(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is present (never required by CI)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


def as_frames(images):
    """Decoded-frame records for arrays (timestamps 0, 1, 2, ... in ticks of one frame)."""
    from vidstyle.media.decode import Frame

    return [Frame(i, i, 1, image) for i, image in enumerate(images)]

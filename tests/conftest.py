"""Shared fixtures: tiny images, synthetic clips with known motion, an isolated style library."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory, monkeypatch):
    """Keep the user library and cache out of the real home directory."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("VIDSTYLE_HOME", str(home / "vidstyle"))
    monkeypatch.setenv("VIDSTYLE_CACHE", str(home / "cache"))
    monkeypatch.delenv("VIDSTYLE_STYLE_PATH", raising=False)
    torch.manual_seed(0)
    return home


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
    from vidstyle.textures import render_mosaic
    from vidstyle.video import write_image

    path = tmp_path / "style.png"
    write_image(path, cv2.resize(render_mosaic(), (96, 96), interpolation=cv2.INTER_AREA))
    return path


@pytest.fixture
def content_path(tmp_path, content_image) -> Path:
    from vidstyle.video import write_image

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
    from fractions import Fraction

    from samples.make import write_clip

    def make(frames, name="clip.mp4", fps=Fraction(12), audio=True):
        path = tmp_path / name
        write_clip(path, frames, fps, with_audio=audio)
        return path

    return make


def pytest_collection_modifyitems(config, items):
    """Tests marked ``gpu`` run only where CUDA is present (never required by CI)."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)

from pathlib import Path

import numpy as np
import pytest

from vidstyle.core import textures
from vidstyle.media.images import read_image

SAMPLES = Path(__file__).resolve().parents[2] / "samples" / "styles"


@pytest.mark.parametrize("name", textures.BUILTIN_NAMES)
def test_builtins_are_deterministic_and_match_the_shipped_samples(name):
    rendered = textures.BUILTINS[name]()
    assert rendered.shape == (textures.SIZE, textures.SIZE, 3) and rendered.dtype == np.uint8
    assert rendered.std() > 20  # a texture, not a flat colour
    shipped = SAMPLES / f"{name}.png"
    assert shipped.is_file(), f"run `python -m samples.make` to regenerate {shipped}"
    assert np.array_equal(read_image(shipped), rendered)


def test_builtin_path_renders_into_the_cache_once():
    path = textures.builtin_path("mosaic")
    stamp = path.stat().st_mtime_ns
    assert textures.builtin_path("mosaic") == path and path.stat().st_mtime_ns == stamp

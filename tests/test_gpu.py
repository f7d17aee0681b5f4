"""Checks that need CUDA; skipped elsewhere (run them on a GPU machine with ``pytest -m gpu``)."""

import numpy as np
import pytest
import torch

from vidstyle import RunConfig, stylize_image, stylize_video
from vidstyle.config import OptimConfig, TemporalConfig, VideoConfig
from vidstyle.core.device import resolve_precision
from vidstyle.media.decode import iter_frames

from .conftest import textured, translating_clip

pytestmark = pytest.mark.gpu


def test_cuda_and_cpu_agree_on_a_short_run():
    content = textured(64, 64, seed=3)
    config = RunConfig(optim=OptimConfig(iterations=5), precision="fp32")
    cpu = stylize_image(content, "swirl", size=None, config=config, device="cpu").astype(int)
    gpu = stylize_image(content, "swirl", size=None, config=config, device="cuda").astype(int)
    assert np.abs(cpu - gpu).mean() < 3


def test_a_video_runs_on_cuda_with_the_automatic_precision(make_clip, tmp_path):
    clip = make_clip(translating_clip(4, 64, 96, dx=1.0), audio=False)
    out = tmp_path / "out.mp4"
    config = RunConfig(optim=OptimConfig(iterations=20), temporal=TemporalConfig(iterations=10))
    result = stylize_video(clip, out, "swirl", config=config, video=VideoConfig(max_size=None), device="cuda")
    frames = list(iter_frames(out))
    assert result.frames == 4 == len(frames) and all(f.std() > 5 for f in frames)
    # Independent of the rule under test: what these GPUs are known to have (native bf16 tensor cores).
    known = {"H200": "bf16", "H100": "bf16", "A100": "bf16", "A10": "bf16", "L4": "bf16", "L40": "bf16",
             "RTX 3090": "bf16", "RTX 4090": "bf16", "V100": "fp32", "T4": "fp32", "P100": "fp32"}
    name = torch.cuda.get_device_name()
    expected = next((p for model, p in known.items() if model in name), None)
    if expected is None:
        pytest.skip(f"no known bf16 capability for {name}")
    assert resolve_precision("auto", torch.device("cuda")) == expected

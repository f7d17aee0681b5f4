"""Checks that need CUDA; skipped elsewhere (run them on a GPU machine with ``pytest -m gpu``)."""

import numpy as np
import pytest
import torch

from vidstyle import RunConfig, stylize_image
from vidstyle.config import OptimConfig
from vidstyle.runtime import resolve_precision

from .conftest import textured

pytestmark = pytest.mark.gpu


def test_cuda_and_cpu_agree_on_a_short_run():
    content = textured(64, 64, seed=3)
    config = RunConfig(optim=OptimConfig(iterations=5), precision="fp32")
    cpu = stylize_image(content, "swirl", size=None, config=config, device="cpu").astype(int)
    gpu = stylize_image(content, "swirl", size=None, config=config, device="cuda").astype(int)
    assert np.abs(cpu - gpu).mean() < 3


def test_auto_precision_on_cuda_is_bf16_when_supported():
    expected = "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    assert resolve_precision("auto", torch.device("cuda")) == expected

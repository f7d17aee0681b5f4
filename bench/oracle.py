"""The floor a perfect flow would give: ``vidstyle video`` fed the exact flow and validity of a generated clip.

Measurement only (``python -P -m bench.oracle CLIP.mp4 TRUTH.npz OUT.mp4 LOG.jsonl SIZE FRAMES FIRST``): the
pipeline runs with its defaults, but every frame pair's flow and reliability come from the ground truth,
resized to the processing size like the estimated ones.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from vidstyle.config import OptimConfig, RunConfig, VideoConfig
from vidstyle.motion.estimate import flow_to_tensor, resize_flow, resize_weights
from vidstyle.video.pipeline import stylize_video


def known_flow(flows: np.ndarray, valid: np.ndarray):
    """A ``FlowFunction`` answering with the exact flow of frame pair (t, t-1)."""

    def flow(grey: np.ndarray, earlier: np.ndarray, t: int, s: int) -> tuple[torch.Tensor, torch.Tensor]:
        if s != t - 1:
            raise ValueError(f"expected the short-term pair only, got ({t}, {s})")
        size = grey.shape[:2]
        weight = torch.from_numpy(valid[t]).float()[None, None]
        return resize_flow(flow_to_tensor(flows[t]), size), resize_weights(weight, size)

    return flow


def main() -> None:
    clip, truth, output, log, size, frames, first, style = sys.argv[1:9]
    data = np.load(truth)
    config = RunConfig(optim=OptimConfig(iterations=int(first)))
    result = stylize_video(Path(clip), Path(output), style, config=config, video=VideoConfig(max_size=int(size)),
                           end=f"{frames}f", restart=True, device=sys.argv[9] if len(sys.argv) > 9 else "cpu",
                           flow=known_flow(data["flows"], data["valid"]))
    Path(log).write_text("".join(record.to_json() + "\n" for record in result.log))


if __name__ == "__main__":
    main()

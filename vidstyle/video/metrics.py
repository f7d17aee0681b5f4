"""Temporal stability: the short-term warping error of a video (Ruder et al. 2016, sec. 7).

``E(V) = mean_t [ sum_p c_t(p) * mean_rgb (V_t(p) - warp(V_{t-1}, b_t)(p))^2 / sum_p c_t(p) ]``

with values in [0, 1], ``b_t`` the backward flow and ``c_t`` the reliability
mask, both computed on the *input* frames, so an output and its input are
measured with the same flow.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from ..config import FlowMethod
from ..core.tensors import to_tensor
from ..media.decode import iter_frames
from ..media.files import check_input
from ..media.probe import probe
from ..media.sizes import fit_long_side, resize
from ..motion.flow import flow_pair, to_grey, warp


@dataclass(frozen=True)
class WarpingError:
    output: float
    input: float
    ratio: float  # output / input
    frames: int

    def to_dict(self) -> dict:
        return asdict(self)


def frame_error(current: torch.Tensor, previous: torch.Tensor, flow_bwd: torch.Tensor, mask: torch.Tensor) -> float:
    """Reliable-pixel mean of the squared RGB difference between a frame and its warped predecessor."""
    diff = (current - warp(previous, flow_bwd)).pow(2).mean(1, keepdim=True)
    return float((diff * mask).sum() / mask.sum().clamp_min(1.0))


def warping_error(
    input_path: Path | str, output_path: Path | str, *, max_size: int | None = None, flow: FlowMethod = "dis",
    max_frames: int | None = None,
) -> WarpingError:
    """Warping error of ``output_path`` and of ``input_path`` over their common frames (both at the input's size)."""
    info = probe(check_input(Path(input_path), "video"))
    out_info = probe(check_input(Path(output_path), "video"))
    height, width = fit_long_side(info.height, info.width, max_size)
    pairs = islice(zip(iter_frames(input_path, info=info), iter_frames(output_path, info=out_info)), max_frames)
    errors_out, errors_in = [], []
    previous: tuple[np.ndarray, torch.Tensor, torch.Tensor] | None = None
    count = 0
    for frame_in, frame_out in pairs:
        frame_in, frame_out = resize(frame_in, height, width), resize(frame_out, height, width)
        grey = to_grey(frame_in)
        tensor_in, tensor_out = to_tensor(frame_in), to_tensor(frame_out)
        if previous is not None:
            grey_prev, prev_in, prev_out = previous
            bwd, mask = flow_pair(grey, grey_prev, flow)
            errors_out.append(frame_error(tensor_out, prev_out, bwd, mask))
            errors_in.append(frame_error(tensor_in, prev_in, bwd, mask))
        previous = (grey, tensor_in, tensor_out)
        count += 1
    if count < 2:
        raise ValueError(f"expected at least 2 common frames, got {count}")
    e_out, e_in = float(np.mean(errors_out)), float(np.mean(errors_in))
    return WarpingError(e_out, e_in, e_out / max(e_in, 1e-12), count)

"""Temporal stability: the short-term warping error of a video (Ruder et al. 2016, sec. 7), and a flow-free check.

``E(V) = mean_t [ sum_p c_t(p) * mean_rgb (V_t(p) - warp(V_{t-1}, b_t)(p))^2 / sum_p c_t(p) ]``

with values in [0, 1], ``b_t`` the backward flow and ``c_t`` the reliability
mask, both computed on the *input* frames, so an output and its input are
measured with the same flow. By default that flow is DeepFlow with Ruder's
published check (Ruder's own ruler), not the flow ``vidstyle video`` warps with:
a method judged by its own flow is flattered wherever that flow is wrong (the
paint moves with the wrong flow, and the same flow then "explains" the move).

The flow-free check: on pixels whose input did not change (a still camera over
a still scene), how much the output changed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import torch

from ..config import FlowMethod, ReliabilityCheck, SettingError
from ..core.tensors import to_tensor
from ..media.decode import Position, iter_frames
from ..media.files import check_input
from ..media.probe import probe
from ..media.sizes import fit_long_side, resize
from ..motion.flat import noise_level, structure
from ..motion.estimate import to_grey
from ..motion.reliability import flow_pair
from ..motion.warp import warp


WINDOW = 7  # px: the neighbourhood over which "the input did not change" is judged
STILL_CAMERA = 0.5  # a frame pair counts when at least this share of its textured pixels did not change


@dataclass(frozen=True)
class WarpingError:
    output: float  # mean over frames 1.. of E(OUT)
    input: float
    ratio: float  # output / input
    frames: int
    flow: str  # the estimator the errors were measured with
    reliability: str  # the check that chose the pixels
    size: tuple[int, int]  # (width, height) measured at
    still_output: float | None  # flow-free: mean |change| of OUT (grey levels) where IN did not change
    still_input: float | None  # the same for IN (its noise); None when no frame pair had a still camera
    per_frame: list[dict] = field(default_factory=list)  # frame, output, input, reliable, still (frames 1..)

    def to_dict(self) -> dict:
        return asdict(self)


def frame_error(current: torch.Tensor, previous: torch.Tensor, flow_bwd: torch.Tensor, mask: torch.Tensor) -> float:
    """Reliable-pixel mean of the squared RGB difference between a frame and its warped predecessor."""
    diff = (current - warp(previous, flow_bwd)).pow(2).mean(1, keepdim=True)
    return float((diff * mask).sum() / mask.sum().clamp_min(1.0))


def unchanged(grey: np.ndarray, earlier: np.ndarray) -> np.ndarray | None:
    """Pixels whose input did not change beyond its noise over a small window, bool ``(H, W)``; None when the
    camera moved (fewer than half of the textured pixels unchanged): then "unchanged" means nothing."""
    noise = 0.5 * (noise_level(grey) + noise_level(earlier))
    change = cv2.blur(np.abs(grey.astype(np.float32) - earlier.astype(np.float32)), (WINDOW, WINDOW))
    still = change < 2.5 * noise + 0.5
    textured, _ = structure(grey, noise)
    if not textured.any() or float(still[textured].mean()) < STILL_CAMERA:
        return None
    return still


def still_change(current: np.ndarray, previous: np.ndarray, still: np.ndarray) -> float:
    """Mean absolute change in grey levels of a ``uint8 (H, W, 3)`` frame pair over the ``still`` pixels."""
    diff = np.abs(current.astype(np.float32) - previous.astype(np.float32)).mean(2)
    return float(diff[still].mean()) if still.any() else 0.0


def warping_error(
    input_path: Path | str, output_path: Path | str, *, max_size: int | None = None, flow: FlowMethod = "deepflow",
    max_frames: int | None = None, reliability: ReliabilityCheck = "ruder", start: Position | None = None,
) -> WarpingError:
    """Warping error of ``output_path`` and of ``input_path`` over their common frames (both at the input's size,
    or its long side ``max_size``), with the flow and check given; and the flow-free still check. ``start``:
    where the output begins in the input (the ``start`` it was rendered with); the input's frames from there.

    Per frame too, so a flash or a swimming region shows as a spike, not only in the mean.
    """
    info = probe(check_input(Path(input_path), "video"))
    out_info = probe(check_input(Path(output_path), "video"))
    height, width = fit_long_side(info.height, info.width, max_size)
    pairs = islice(zip(iter_frames(input_path, start, info=info), iter_frames(output_path, info=out_info)), max_frames)
    rows: list[dict] = []
    previous: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    count = 0
    for frame_in, frame_out in pairs:
        frame_in, frame_out = resize(frame_in, height, width), resize(frame_out, height, width)
        grey = to_grey(frame_in)
        if previous is not None:
            grey_prev, prev_in, prev_out = previous
            bwd, mask = flow_pair(grey, grey_prev, flow, reliability)
            row = {"frame": count, "output": frame_error(to_tensor(frame_out), to_tensor(prev_out), bwd, mask),
                   "input": frame_error(to_tensor(frame_in), to_tensor(prev_in), bwd, mask),
                   "reliable": float(mask.mean()), "still": None}
            still = unchanged(grey, grey_prev)
            if still is not None:
                row["still"] = [still_change(frame_out, prev_out, still), still_change(frame_in, prev_in, still)]
            rows.append(row)
        previous = (grey, frame_in, frame_out)
        count += 1
    if count < 2:
        raise ValueError(f"expected at least 2 common frames, got {count}")
    e_out, e_in = float(np.mean([r["output"] for r in rows])), float(np.mean([r["input"] for r in rows]))
    stills = [r["still"] for r in rows if r["still"] is not None]
    still_out = float(np.mean([s[0] for s in stills])) if stills else None
    still_in = float(np.mean([s[1] for s in stills])) if stills else None
    return WarpingError(e_out, e_in, e_out / max(e_in, 1e-12), count, flow, reliability, (width, height), still_out,
                        still_in, rows)


def plot_per_frame(result: WarpingError, target: Path, log: list[dict] | None = None, title: str = "") -> None:
    """A small PNG: per-frame warping error (OUT and IN), reliable fraction and, from a run's log, style loss."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise SettingError("plot", "needs matplotlib: pip install matplotlib (or 'vidstyle[plot]')") from None
    from ..media.files import atomic_path

    panels = 3 if log else 2
    figure, axes = plt.subplots(panels, 1, figsize=(7, 1.9 * panels), sharex=True, constrained_layout=True)
    frames = [r["frame"] for r in result.per_frame]
    axes[0].semilogy(frames, [r["output"] for r in result.per_frame], label="E(OUT)", color="tab:red")
    axes[0].semilogy(frames, [r["input"] for r in result.per_frame], label="E(IN)", color="tab:gray")
    axes[0].set_ylabel("warping error")
    axes[0].legend(loc="upper right", fontsize=8)
    axes[1].plot(frames, [r["reliable"] for r in result.per_frame], color="tab:blue")
    axes[1].set_ylabel("reliable")
    axes[1].set_ylim(0, 1.02)
    if log:
        axes[2].plot([e["frame"] for e in log], [e["terms"]["style"] for e in log], color="tab:purple", marker=".")
        axes[2].set_ylabel("style loss")
    axes[-1].set_xlabel("frame")
    if title:
        axes[0].set_title(title, fontsize=9)
    with atomic_path(target) as tmp:
        figure.savefig(tmp, format=target.suffix.lstrip(".") or "png", dpi=110)
    plt.close(figure)

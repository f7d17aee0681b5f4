"""Rulers the pipeline did not make: the exact motion of generated clips, DeepFlow with Ruder's check on real ones.

Every measure is taken at the input's size. The flows of a clip's input are computed (or read)
once and used for every output of that clip, so the rows of a table are measured alike. The
pipeline's own kind of flow (DIS, flat regions filled, mismatches corrected, at the processing size) is kept as a
separate column, to show how much a method's own ruler flatters it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

import cv2
import numpy as np
import torch

from vidstyle.core.tensors import to_tensor
from vidstyle.media.decode import iter_frames
from vidstyle.media.sizes import fit_long_side, resize
from vidstyle.motion.estimate import flow_to_tensor, to_grey
from vidstyle.motion.reliability import flow_pair
from vidstyle.video.metrics import frame_error, still_change, unchanged

from .truth import Truth


def frames_of(path: Path, count: int, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    frames = list(islice(iter_frames(path), count))
    return frames if size is None else [resize(f, *size) for f in frames]


def half_row(frames: list[np.ndarray]) -> np.ndarray:
    """Frames side by side at half their size: one row of a strip in BENCHMARKS.md."""
    return np.concatenate([cv2.resize(f, (f.shape[1] // 2, f.shape[0] // 2), interpolation=cv2.INTER_AREA)
                           for f in frames], 1)


@dataclass
class Pair:
    """What one frame pair is measured with: backward flow and the pixels that count, ``(1, *, H, W)``,
    and the pixels of the flow-free check (None: not a still camera there)."""

    flow: torch.Tensor
    weight: torch.Tensor
    still: np.ndarray | None


class Ruler:
    """Warping error of any output of one clip, with fixed pairs; ratios are over the input's own error."""

    def __init__(self, clip: Path, pairs: list[Pair], count: int) -> None:
        self.clip, self.pairs, self.count = clip, pairs, count
        self.inputs = frames_of(clip, count)
        self.input_errors = self._errors(self.inputs)
        # the still-aware variant: flows and the input's errors once per clip; the same as above with no still pair
        self.zeroed_flows = [_still_zero(p) for p in pairs]
        self.zeroes_any = any(p.still is not None for p in pairs)
        self.input_zeroed = self._errors(self.inputs, self.zeroed_flows) if self.zeroes_any else self.input_errors

    def _errors(self, frames: list[np.ndarray], flows: list[torch.Tensor] | None = None) -> list[float]:
        size = self.inputs[0].shape[:2]
        frames = [resize(f, *size) for f in frames]
        flows = flows or [p.flow for p in self.pairs]
        return [frame_error(to_tensor(frames[t]), to_tensor(frames[t - 1]), flow, p.weight)
                for t, p, flow in zip(range(1, len(frames)), self.pairs, flows)]

    def measure(self, output: Path) -> dict:
        return self.measure_frames(frames_of(output, self.count))

    def measure_frames(self, frames: list[np.ndarray]) -> dict:
        """:meth:`measure` of decoded frames (any size: they are resized to the input's)."""
        frames = [resize(f, *self.inputs[0].shape[:2]) for f in frames[:self.count]]
        errors = self._errors(frames)
        zeroed = self._errors(frames, self.zeroed_flows) if self.zeroes_any else errors
        zeroed_input = self.input_zeroed[:len(zeroed)]
        stills = [(still_change(frames[t], frames[t - 1], p.still), still_change(self.inputs[t], self.inputs[t - 1],
                                                                                p.still))
                  for t, p in zip(range(1, len(frames)), self.pairs) if p.still is not None and p.still.any()]
        return {"ratio": float(np.mean(errors) / np.mean(self.input_errors[:len(errors)])),
                "worst": float(max(errors) / statistics.median(errors)),
                "still": float(np.mean([s[0] for s in stills])) if stills else None,
                "still_input": float(np.mean([s[1] for s in stills])) if stills else None,
                "per_frame": errors,
                "ratio_still": float(np.mean(zeroed) / np.mean(zeroed_input)),
                "worst_still": float(max(zeroed) / statistics.median(zeroed))}


def _still_zero(pair: Pair) -> torch.Tensor:
    """The pair's flow with zero motion where the input did not change (the flow-free check; a still camera only).

    DeepFlow can report motion of several pixels on a flat, still wall, and Ruder's check passes it (both
    directions agree): the input is explained either way, but still paint warped by that flow counts as error.
    On ``bottle-detection.mp4`` such pixels held 76-87% of the worst pair's error, where the input changed by 0.3
    grey levels and the output by almost nothing. Where the input shows that nothing moved, this variant of the
    ruler takes it at its word."""
    if pair.still is None:
        return pair.flow
    flow = pair.flow.clone()
    flow[:, :, torch.from_numpy(pair.still)] = 0
    return flow


def truth_ruler(truth: Truth, count: int) -> Ruler:
    pairs = [Pair(flow_to_tensor(truth.flows[t]), torch.from_numpy(truth.valid[t]).float()[None, None],
                  truth.still[t] if truth.still[t].any() else None) for t in range(1, count)]
    return Ruler(truth.path, pairs, count)


def outside_ruler(clip: Path, count: int, work: Path) -> Ruler:
    """DeepFlow and Ruder's check on the input at its size (cached in ``work``), and the flow-free check's
    unchanged pixels where the camera is still."""
    cache = work / f"deepflow-{clip.stem}-{count}.npz"
    frames = frames_of(clip, count)
    greys = [to_grey(f) for f in frames]
    if cache.is_file():
        data = np.load(cache)
        flows, weights = data["flows"], data["weights"]
    else:
        pairs = [flow_pair(greys[t], greys[t - 1], "deepflow", "ruder") for t in range(1, count)]
        flows = np.stack([p[0][0].numpy() for p in pairs])
        weights = np.stack([p[1][0].numpy() for p in pairs])
        np.savez_compressed(cache, flows=flows, weights=weights)
    pairs = [Pair(torch.from_numpy(flows[t - 1])[None], torch.from_numpy(weights[t - 1])[None],
                  unchanged(greys[t], greys[t - 1])) for t in range(1, count)]
    return Ruler(clip, pairs, count)


def own_ratio(clip: Path, output: Path, count: int, long_side: int) -> float:
    """The self-measured figure: the pipeline's kind of flow (DIS with the regions check) at the processing size."""
    height, width = fit_long_side(*frames_of(clip, 1)[0].shape[:2], long_side)
    inputs, outputs = frames_of(clip, count, (height, width)), frames_of(output, count, (height, width))
    errors_in, errors_out = [], []
    for t in range(1, min(len(inputs), len(outputs))):
        flow, weight = flow_pair(to_grey(inputs[t]), to_grey(inputs[t - 1]), "dis", "regions")
        errors_in.append(frame_error(to_tensor(inputs[t]), to_tensor(inputs[t - 1]), flow, weight))
        errors_out.append(frame_error(to_tensor(outputs[t]), to_tensor(outputs[t - 1]), flow, weight))
    return float(np.mean(errors_out) / np.mean(errors_in))


def sharpness(output: Path, count: int, long_side: int) -> float:
    """Detail of the later frames over the first's: the variance of the Laplacian at the processing size, the
    mean over the last third of the clip divided by frame 0's (below 1: later frames blur)."""
    frames = frames_of(output, count)
    height, width = fit_long_side(*frames[0].shape[:2], long_side)
    energy = [float(cv2.Laplacian(to_grey(resize(f, height, width)).astype(np.float32), cv2.CV_32F).var())
              for f in frames]
    tail = energy[len(energy) - max(1, len(energy) // 3):]
    return float(np.mean(tail) / max(energy[0], 1e-9))

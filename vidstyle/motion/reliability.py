"""Which pixels a flow may warp: Ruder et al.'s forward-backward test, and a frame pair's flows in both
directions with our checks before it (flat regions, corrected edges)."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch
import torch.nn.functional as F

from ..config import FlowMethod, ReliabilityCheck
from .correct import consistent, correct_flow
from .estimate import compute_flow, flow_to_tensor, resize_flow, resize_weights
from .flat import fill_flat
from .warp import inside_frame, sample, sampling_grid

RELIABILITY_CHECKS: tuple[str, ...] = typing.get_args(ReliabilityCheck)


def reliability(flow_bwd: torch.Tensor, flow_fwd: torch.Tensor) -> torch.Tensor:
    """Ruder et al. 2016 consistency mask of frame t, ``(B, 1, H, W)`` in {0, 1}.

    ``flow_bwd`` (t -> t-1, on t's grid) is the flow used for warping;
    ``flow_fwd`` (t-1 -> t, on t-1's grid) is sampled along it: w~ = fwd(p + bwd(p)).
    A pixel is unreliable where

    * forward and backward disagree (disocclusion):
      ``|w~ + w^|^2 > 0.01 (|w~|^2 + |w^|^2) + 0.5``;
    * it lies on a motion boundary: ``|grad u~|^2 + |grad v~|^2 > 0.01 |w~|^2 + 0.002``;
    * ``p + w^(p)`` leaves the frame.
    """
    w_hat = flow_bwd
    grid = sampling_grid(flow_bwd)  # once for the warp and the frame's border
    w_tilde = sample(flow_fwd, grid)
    tilde_squared = w_tilde.pow(2).sum(1, keepdim=True)
    disagreement = (w_tilde + w_hat).pow(2).sum(1, keepdim=True)
    agree = consistent(disagreement, tilde_squared + w_hat.pow(2).sum(1, keepdim=True))
    # forward differences, replicated at the last row/column
    dx = F.pad(w_tilde[..., :, 1:] - w_tilde[..., :, :-1], (0, 1, 0, 0), mode="replicate")
    dy = F.pad(w_tilde[..., 1:, :] - w_tilde[..., :-1, :], (0, 0, 0, 1), mode="replicate")
    gradient = dx.pow(2).sum(1, keepdim=True) + dy.pow(2).sum(1, keepdim=True)
    smooth = gradient <= 0.01 * tilde_squared + 0.002
    return (agree & smooth).to(flow_bwd.dtype) * inside_frame(flow_bwd, grid)


@dataclass(frozen=True)
class FlowPair:
    """A frame pair's flows, checked: ``backward`` on the later frame's grid pointing into the earlier one,
    ``forward`` on the earlier frame's grid pointing into the later one, each ``(1, 2, H, W)`` with its
    reliability ``(1, 1, H, W)`` (``backward_reliable``: the later frame's pixels its warp may fetch). The forward
    flow's reliability is worked out when first asked for: only passes that run backwards use it."""

    backward: torch.Tensor
    backward_reliable: torch.Tensor
    forward: torch.Tensor

    @cached_property
    def forward_reliable(self) -> torch.Tensor:
        return reliability(self.forward, self.backward)


def checked_pair(grey: np.ndarray, earlier: np.ndarray, method: FlowMethod = "dis",
                 check: ReliabilityCheck = "regions") -> FlowPair:
    """Both flows of the pair (``earlier``, ``grey``) and their reliability, at the greys' size.

    With ``check="regions"`` (the default) flat regions first get the motion of their marks or border
    (``motion/flat.py``), then pixels whose warp fetches something else try their neighbours' motion
    (``motion/correct.py``): our departures from Ruder. ``"ruder"`` is the published test alone.
    """
    if check not in RELIABILITY_CHECKS:
        raise ValueError(f"expected a reliability check among {', '.join(RELIABILITY_CHECKS)}, got {check!r}")
    bwd_array, fwd_array = compute_flow(grey, earlier, method), compute_flow(earlier, grey, method)
    bwd, fwd = flow_to_tensor(bwd_array), flow_to_tensor(fwd_array)
    if check == "regions":
        bwd_ok, fwd_ok = (reliability(bwd, fwd)[0, 0].numpy() > 0.5), (reliability(fwd, bwd)[0, 0].numpy() > 0.5)
        bwd_array, fwd_array = fill_flat(bwd_array, bwd_ok, grey, earlier), fill_flat(fwd_array, fwd_ok, earlier, grey)
        bwd, fwd = flow_to_tensor(bwd_array), flow_to_tensor(fwd_array)
        bwd_ok, fwd_ok = (reliability(bwd, fwd)[0, 0].numpy() > 0.5), (reliability(fwd, bwd)[0, 0].numpy() > 0.5)
        bwd = flow_to_tensor(correct_flow(bwd_array, grey, earlier, fwd_array, bwd_ok))
        fwd = flow_to_tensor(correct_flow(fwd_array, earlier, grey, bwd_array, fwd_ok))
    return FlowPair(bwd, reliability(bwd, fwd), fwd)


def flow_pair(grey: np.ndarray, earlier: np.ndarray, method: FlowMethod = "dis",
              check: ReliabilityCheck = "regions",
              size: tuple[int, int] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Backward flow of ``grey`` into ``earlier`` and ``grey``'s reliability mask, both ``(1, *, H, W)``
    (:func:`checked_pair`'s backward half).

    Both are computed at the greys' size; with ``size`` they are returned resized to it (the
    vectors scaled, the mask averaged), so the flow can see finer detail than the optimisation.
    """
    pair = checked_pair(grey, earlier, method, check)
    if size is None:
        return pair.backward, pair.backward_reliable
    return resize_flow(pair.backward, size), resize_weights(pair.backward_reliable, size)

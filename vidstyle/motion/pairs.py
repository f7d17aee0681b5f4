"""Flow pairs kept on disk: a frame's backward flow into the frame before and its reliability at the processing
size, with the pair's cut cue, as :func:`~vidstyle.video.temporal.prepare_frames` computes them; read back exactly
(video/pairs.py says who writes and who reads them). A pair that is missing or does not read is None: its reader
estimates it again.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from ..media.files import atomic_path

Pair = tuple[tuple[torch.Tensor, torch.Tensor], float]  # ((flow_bwd, reliability), explained fraction)


class PairStore:
    """The pairs kept in ``folder``. ``first`` is the shot index of the first frame of the frames it is given
    (a chunk's carry: 0; a pairs task: where its range begins); with ``writing`` every pair computed is kept."""

    def __init__(self, folder: Path | str, first: int = 0, writing: bool = False) -> None:
        self.folder, self.first, self.writing = Path(folder), first, writing

    def _path(self, index: int) -> Path:
        return self.folder / f"pair-{self.first + index:07d}.npz"

    def load(self, index: int) -> Pair | None:
        """Frame ``index``'s pair with the frame before, or None where none is kept (or it does not read)."""
        path = self._path(index)
        if not path.is_file():
            return None
        try:
            with np.load(path) as data:
                flow, weight, fraction = data["flow"], data["weight"], float(data["fraction"])
        except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
            return None
        return (torch.from_numpy(flow), torch.from_numpy(weight)), fraction

    def save(self, index: int, flow: torch.Tensor, weight: torch.Tensor, fraction: float) -> None:
        with atomic_path(self._path(index)) as tmp, open(tmp, "wb") as handle:
            np.savez(handle, flow=flow.cpu().numpy(), weight=weight.cpu().numpy(), fraction=np.float64(fraction))

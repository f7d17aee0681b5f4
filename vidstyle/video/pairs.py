"""A chunked shot's short-term flow pairs, estimated once and read by every chunk that carries paint over them.

A chunk's carry (batch/chunks.py) moves the shot's first painting along the flow of every frame before the chunk, so
the last chunk of a long shot would estimate almost all of the shot's flows by itself, one pair after another, while
the other workers wait for the join. Instead the batch first has each chunk estimate the pairs into its own frames,
all chunks at once, and keep them here; a carry then reads them and only warps (BENCHMARKS.md, chunks). What is kept
is exactly what :func:`~vidstyle.video.temporal.prepare_frames` computes for a frame's pair with the one before: the
backward flow and its reliability at the processing size, and the pair's cut cue; so a carry that reads them paints
what it would have painted estimating them itself.

Pairs are named by the frame's index in its shot (a carried chunk's own indices: it decodes from the shot's first
frame). A pair that is missing or unreadable is estimated again by the carry that needs it.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from ..config import RunConfig
from ..media.files import atomic_path
from ..motion.pairs import PairStore
from .plan import VideoPlan
from .temporal import prepare_frames

DONE = "done-{first:07d}"  # a pairs task's mark: every pair of its range is kept


def keep_pairs(plan: VideoPlan, config: RunConfig, folder: Path | str, first: int) -> int:
    """Estimate the pair of every frame of ``plan``'s range after its first with the frame before (the first is
    frame ``first`` of its shot) and keep them in ``folder``; returns how many frames were read. A range whose
    pairs were all kept by an earlier run is not read again."""
    done = Path(folder) / DONE.format(first=first)
    if done.is_file():
        return 0
    store = PairStore(folder, first, writing=True)
    temporal = replace(config.temporal, long_term=(1,))  # what a carry reads: the short-term pair only
    count = 0
    for _ in prepare_frames(plan.source_frames(), temporal, size=(plan.height, plan.width),
                            flow_size=plan.flow_size(config.temporal), pairs=store):
        count += 1
    with atomic_path(done) as tmp:
        tmp.write_text(f"{count}\n")
    return count

"""``--split-shots``: cut a clip at scene cuts into shots that run as separate jobs (parts, joined by
:mod:`vidstyle.batch.parts`)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

from ..config import TemporalConfig
from ..media.decode import parse_position, read_frames
from ..media.probe import probe
from ..media.sizes import processing_size, resize
from ..video.temporal import prepare_frames
from .parts import Part, position


def detect_shots(path: Path, *, start: str | None = None, end: str | None = None, max_size: int | None = 512,
                 temporal: TemporalConfig = TemporalConfig()) -> list[Part]:
    """The clip's shots between hard cuts, found by the video pipeline's own detector."""
    info = probe(path)
    height, width = processing_size(info.height, info.width, max_size)
    first, last = (parse_position(start) if start else None), (parse_position(end) if end else None)
    stamps: list[int] = []  # only timestamps are kept: the clip streams

    def small():
        for frame in read_frames(path, first, last, info):
            stamps.append(frame.pts)
            yield replace(frame, image=resize(frame.image, height, width))

    detector = replace(temporal, enabled=True, long_term=(1,))
    cuts = [p.index for p in prepare_frames(small(), detector) if p.cut and p.index > 0]
    if not stamps:
        raise ValueError(f"expected frames in {os.fspath(path)!r} within the range, got none that decode")
    bounds = [0, *cuts]
    ends = [position(info, stamps[c]) for c in cuts] + [end]
    stops = [*cuts, None]
    return [Part(position(info, stamps[a]), e, shot=k, offset=a, stop=z)
            for k, (a, e, z) in enumerate(zip(bounds, ends, stops))]

"""The per-frame log: one :class:`FrameRecord` per finished frame, a JSON line in ``log.jsonl``."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

from ..core.optimize import Level


@dataclass(frozen=True)
class FrameRecord:
    """What a finished frame was: where it sits in the source, how its optimisation went, its PNG's hash."""

    frame: int  # index in the range, from 0
    pts: int  # source timestamp and duration, in the stream's time base
    duration: int
    iterations: int
    evaluations: int
    loss: float
    terms: dict[str, float]
    seconds: float
    cut: bool  # a new shot began here (not frame 0)
    shot_start: int
    reliable: float | None  # of the short-term pair: reliable and matching (the cut cue)
    histogram_correlation: float | None
    levels: tuple[Level, ...] = ()
    sha256: str = ""  # of the frame's PNG in the work folder
    # Short-term warping error of the result against the previous result, with the pipeline's own flow and
    # reliability: a progress signal (a flash shows as a spike), not a measure of stability (see metrics).
    warp_error: float | None = None
    pass_index: int = 1  # which pass over the clip painted it (1: the forward pass)

    @property
    def timing(self) -> tuple[int, int]:
        return self.pts, self.duration

    def to_json(self) -> str:
        data = asdict(self)
        data["levels"] = [{"size": list(level.size), "iterations": level.iterations, "terms": level.terms}
                          for level in self.levels]
        return json.dumps(data)

    @classmethod
    def from_json(cls, line: str) -> FrameRecord:
        """Read a log line back (raises ``ValueError`` on a torn or foreign one)."""
        data: dict[str, Any] = json.loads(line)
        try:
            levels = tuple(Level(tuple(level["size"]), level["iterations"], level["terms"])
                           for level in data.pop("levels", ()))
            return cls(**data, levels=levels)
        except (TypeError, KeyError) as exc:
            raise ValueError(f"not a frame record: {exc}") from None

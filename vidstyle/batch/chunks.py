"""``chunk_frames``: one long shot cut into chunks that run at once (Ray tasks, or local processes), then joined.

Ruder's method is sequential (each frame starts from the last), so a shot is cut into chunks of about
``chunk_frames`` frames, each painted by its own forward pass (and its own later passes) from a cold start. Two
chunks painted that way disagree where they meet: the earlier one's paint has travelled with the scene for a whole
chunk, the later one's is fresh. So each chunk after the first starts ``chunk_overlap`` frames early and paints the
last frames of the chunk before it again; by its own first frame it has settled into the clip's motion, and the
join crossfades the two paintings over the shared frames (:func:`~vidstyle.batch.parts.crossfade`), spreading the
difference over the overlap instead of one frame pair. BENCHMARKS.md (chunks) measures the seam against the rest of
the clip by the outside rulers, and the candidates this was chosen over.

With ``chunk_carry`` (the default) a chunk paints the shot's first frame and carries that painting along the flow to
its own start (video/forward.py), so the two sides of a seam share most of their paint; the carry is the chunked
shot's sequential part (the last chunk carries almost all of it). A carry with its flow at half the processing size
was measured and rejected (commit 5d80f62, ``python -m bench --only chunks``): 51 ms a carried frame at 512 px
instead of about 150-220, but less paint shared: brushwork mid-overlap 0.56 of the unchunked run's on clip (b)
(0.86 with the full flow, 0.54 with cold starts), worst seam pairs 1.48 and 1.41 times the median pair (1.41 and
1.32), and the projected 32-worker time still 1/13.8 of one worker's, not 1/16.
"""

from __future__ import annotations

from ..media.decode import parse_position, range_stamps
from ..media.probe import VideoInfo
from .parts import Part, position


def chunk_bounds(frames: int, size: int) -> list[int]:
    """Where chunks of about ``size`` frames begin in ``frames`` frames, and the end: equal chunks, as many as
    ``frames / size`` rounded (at least one)."""
    count = max(1, round(frames / size))
    return [round(k * frames / count) for k in range(count + 1)]


def plan_chunks(info: VideoInfo, part: Part, size: int, overlap: int, carry: bool = True) -> list[Part]:
    """``part`` (a shot, or a whole clip's range) as chunks of about ``size`` frames, each after the first beginning
    ``overlap`` frames early (at most the frames the chunk before owns); ``[part]`` when it is one chunk. With
    ``carry`` each chunk's range begins at the part's first frame, and the frames before its own start are carried
    (``skip``)."""
    stamps = range_stamps(info, parse_position(part.start) if part.start else None,
                          parse_position(part.end) if part.end else None)
    bounds = chunk_bounds(len(stamps), size)
    if len(bounds) <= 2:
        return [part]
    chunks = []
    for k, (first, end) in enumerate(zip(bounds, bounds[1:])):
        lead = 0 if k == 0 else min(overlap, first - bounds[k - 1])
        skip = first - lead if carry else 0
        start = part.start if k == 0 or carry else position(info, stamps[first - lead])
        chunks.append(Part(start, position(info, stamps[end]) if end < len(stamps) else part.end, lead,
                           part.shot, k, part.offset + first - lead - skip, skip,
                           part.offset + end if end < len(stamps) else part.stop))
    return chunks

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

The carry's flows are estimated once, not by every chunk: before the chunks paint, each chunk's frames get their
flow pairs (:func:`plan_pairs`, all at once), kept for the carries that pass over them (video/pairs.py), so a carry
only reads and warps.
"""

from __future__ import annotations

import os
from dataclasses import replace

from ..media.decode import parse_position, range_stamps
from ..media.probe import VideoInfo, probe
from .parts import Part, pairs_dir, parts_dir, position
from .tasks import Task


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


def plan_pairs(info: VideoInfo, chunks: list[Part]) -> list[Part]:
    """The ranges whose flow pairs a shot's carried ``chunks`` read, one per chunk that owns such frames: each
    begins a frame before the chunk's own first (its first pair is with that frame) and ends where the chunk's own
    frames end or where no carry reads further. Their ``offset`` is their first frame's index in the clip's range,
    ``chunk`` the chunk whose frames they are; ``[]`` when no chunk carries."""
    carried = max((c.skip for c in chunks), default=0)
    if carried < 2:
        return []
    shot, end = chunks[0], chunks[-1].end
    stamps = range_stamps(info, parse_position(shot.start) if shot.start else None,
                          parse_position(end) if end else None)
    ranges = []
    for k, chunk in enumerate(chunks):
        own = chunk.skip + chunk.lead  # its own first frame, in the shot
        end = chunks[k + 1].skip + chunks[k + 1].lead if k + 1 < len(chunks) else len(stamps)
        first, last = max(1, own), min(end, carried)
        if first >= last:
            continue
        ranges.append(Part(position(info, stamps[first - 1]), position(info, stamps[last]), 0, chunk.shot, chunk.chunk,
                           shot.offset + first - 1, 0, shot.offset + last))
    return ranges


def pair_tasks(task: Task, parts: list[Part]) -> list[Task]:
    """The tasks that estimate the flow pairs the carried chunks among ``parts`` read (video/pairs.py): for each
    shot cut into carried chunks, one per chunk that owns frames a later chunk carries over."""
    info = probe(task.job.input)
    video = replace(task.job.video, chunk_frames=None)  # a pairs task reads its range; it writes no video
    shots: dict[int, list[Part]] = {}
    for part in parts:
        if part.chunk is not None:
            shots.setdefault(part.offset, []).append(part)
    tasks = []
    for offset, chunks in shots.items():
        folder = os.fspath(pairs_dir(task, chunks[0]))
        for span in plan_pairs(info, chunks):
            job = replace(task.job, output=parts_dir(task) / f"pairs_{span.offset:07d}.mp4", start=span.start,
                          end=span.end, video=replace(video, carry_pairs=folder), paint_over=(), style_key=())
            tasks.append(replace(task, job=job, shot=span.shot, chunk=span.chunk, pairs_first=span.offset - offset))
    return tasks

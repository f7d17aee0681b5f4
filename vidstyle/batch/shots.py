"""``--split-shots``: cut a clip at scene cuts into shots that run as separate jobs, then join them.

Shots are bounded by exact source timestamps (rational seconds), so no frame
is lost or doubled at a join and variable-rate clips keep their timing.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

from ..config import TemporalConfig
from ..media.decode import parse_position, read_frames
from ..media.encode import encode_stylized
from ..media.probe import probe
from ..media.sizes import even_size, processing_size, resize
from ..media.images import read_image
from ..video.checkpoint import Checkpoint, work_dir_for
from ..video.temporal import prepare_frames
from .tasks import Task

Shot = tuple[str, str | None]  # (start, end) as exact positions: "p/q" seconds


def detect_shots(path: Path, *, start: str | None = None, end: str | None = None, max_size: int | None = 512,
                 temporal: TemporalConfig = TemporalConfig()) -> list[Shot]:
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

    def at(index: int) -> str:
        seconds = Fraction(stamps[index] - info.start_pts) * info.time_base
        return f"{seconds.numerator}/{seconds.denominator}s"

    bounds = [0, *cuts]
    ends = [at(c) for c in cuts] + [end]
    return [(at(a), e) for a, e in zip(bounds, ends)]


def parts_dir(task: Task) -> Path:
    output = task.job.output
    return output.parent / ".shots" / output.stem


def shot_tasks(task: Task, shots: list[Shot]) -> list[Task]:
    """One task per shot: silent parts in a hidden folder beside the output."""
    # Keep each shot's frames: the join encodes them once, with the source's timestamps
    # (concatenating encoded parts drifts the timestamps at every join).
    video = replace(task.job.video, audio=False, keep_frames=True)
    return [replace(task, job=replace(task.job, output=parts_dir(task) / f"shot_{k:03d}.mp4", start=a, end=b,
                                      video=video), shot=k)
            for k, (a, b) in enumerate(shots)]


def join_shots(task: Task, shots: list[Shot]) -> int:
    """Encode the shots' frames, in order, into the clip's output with the source's audio; returns the frame count."""
    job = task.job
    info = probe(job.input)
    parts = shot_tasks(task, shots)
    work_dirs = [work_dir_for(part.job.output) for part in parts]
    records, paths = [], []
    for work in work_dirs:
        checkpoint = Checkpoint(work, "")
        for record in checkpoint.finished():
            records.append(record)
            paths.append(checkpoint.frame_path(record.frame))
    if not records:
        raise ValueError("expected frames from the shots, got none")
    height, width = read_image(paths[0]).shape[:2]
    size = (width, height) if job.video.output_size == "processing" else even_size(info.height, info.width)[::-1]
    encode_stylized((read_image(p) for p in paths), [r.timing for r in records], job.input, info, job.output,
                    size=size, settings=job.video, scratch=parts_dir(task))
    for part, work in zip(parts, work_dirs):
        part.job.output.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(parts_dir(task), ignore_errors=True)
    try:
        parts_dir(task).parent.rmdir()
    except OSError:
        pass
    return len(records)

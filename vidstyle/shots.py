"""``--split-shots``: cut a clip at scene cuts into shots that run as separate jobs, then join them."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

from .batch import Job
from .config import TemporalConfig, VideoConfig, from_dict
from .imaging import fit_long_side, resize
from .temporal import prepare_frames
from .checkpoint import work_dir_for
from .video import count_frames, encode_frames, iter_frames, parse_position, probe, read_image


def detect_shots(path: Path, *, start: str | None = None, end: str | None = None, max_size: int | None = 512,
                 temporal: TemporalConfig = TemporalConfig()) -> list[tuple[int, int]]:
    """``[(first, end), ...]`` frame ranges between hard cuts, with the video pipeline's own detector."""
    info = probe(path)
    first = parse_position(start, info.fps) if start else 0
    last = min(parse_position(end, info.fps), count_frames(path)) if end else count_frames(path)
    if last <= first:
        raise ValueError(f"expected --start before --end within the clip, got frames {first}..{last}")
    height, width = fit_long_side(info.height, info.width, max_size)
    frames = (resize(f, height, width) for f in iter_frames(path, first, last))
    detector = replace(temporal, enabled=True, long_term=(1,))
    cuts = [p.index for p in prepare_frames(frames, detector) if p.cut and p.index > 0]
    bounds = [0, *cuts, last - first]
    return [(first + a, first + b) for a, b in zip(bounds, bounds[1:])]


def parts_dir(job: Job) -> Path:
    output = Path(job.output)
    return output.parent / ".shots" / output.stem


def shot_jobs(job: Job, shots: list[tuple[int, int]]) -> list[Job]:
    """One job per shot: silent parts in a hidden folder beside the output."""
    # Keep each shot's frames: the join encodes them once, at the exact source rate
    # (concatenating encoded parts drifts the timestamps at every join).
    video = {**job.video, "audio": False, "keep_frames": True}
    return [
        replace(job, output=os.fspath(parts_dir(job) / f"shot_{k:03d}.mp4"), start=f"{a}f", end=f"{b}f", video=video,
                shot=k)
        for k, (a, b) in enumerate(shots)
    ]


def join_shots(job: Job, shots: list[tuple[int, int]]) -> None:
    """Encode the shots' frames, in order, into the clip's output with the source's audio over the whole range."""
    info = probe(job.input)
    settings = from_dict(VideoConfig, job.video)
    parts = shot_jobs(job, shots)
    work_dirs = [work_dir_for(Path(part.output)) for part in parts]
    with tempfile.TemporaryDirectory(dir=Path(job.output).parent) as tmp:
        index = 0
        for work in work_dirs:
            for frame in sorted((work / "frames").glob("*.png")):
                os.link(frame, Path(tmp) / f"{index:06d}.png")
                index += 1
        if index != shots[-1][1] - shots[0][0]:
            raise ValueError(f"expected {shots[-1][1] - shots[0][0]} frames from the shots, got {index}")
        height, width = read_image(Path(tmp) / "000000.png").shape[:2]
        size = (info.width, info.height) if settings.output_size == "source" else (width, height)
        first = shots[0][0]
        encode_frames(os.path.join(tmp, "%06d.png"), Path(job.output), info.fps,
                      audio_source=Path(job.input) if settings.audio and info.has_audio else None,
                      audio_start=float(first / info.fps), audio_duration=float(index / info.fps),
                      size=None if size == (width, height) else size, crf=settings.crf)
    for part, work in zip(parts, work_dirs):
        Path(part.output).unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(parts_dir(job), ignore_errors=True)
    try:
        parts_dir(job).parent.rmdir()
    except OSError:
        pass

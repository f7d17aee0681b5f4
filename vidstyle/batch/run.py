"""A batch from jobs to results: skip finished outputs, split shots, run on an engine, join, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

from .engines import Engine
from .jobs import CLIP_ERRORS, Job, JobResult
from .shots import Shot, detect_shots, join_shots, shot_jobs


def plan_work(jobs: Sequence[Job], split_shots: bool) -> tuple[list[Job], dict[str, dict], dict[str, tuple]]:
    """``(jobs to run, results already known, {clip: (job, shots)} to join)``.

    Clips whose output exists are skipped; with ``split_shots`` each clip with
    cuts becomes one job per shot. A clip that cannot be read fails alone.
    """
    known: dict[str, dict] = {}
    work: list[Job] = []
    splits: dict[str, tuple[Job, list[Shot]]] = {}
    for job in jobs:
        if Path(job.output).exists():
            known[job.input] = asdict(JobResult.of(job, "skipped", "finished output exists"))
            continue
        if split_shots:
            try:
                shots = detect_shots(Path(job.input), start=job.start, end=job.end,
                                     max_size=job.video.get("max_size"))
            except CLIP_ERRORS as exc:
                known[job.input] = asdict(JobResult.of(job, "failed", str(exc).splitlines()[0]))
                continue
            if len(shots) > 1:
                splits[job.input] = (job, shots)
                work += shot_jobs(job, shots)
                continue
        work.append(job)
    return work, known, splits


def run_batch(jobs: Sequence[Job], engine: Engine, *, split_shots: bool = False,
              on_planned: Callable[[int], None] | None = None, on_done: Callable[[dict], None] = lambda r: None,
              ) -> list[dict]:
    """Run every job on ``engine``; one result dict per clip, in the order of ``jobs``."""
    work, results, splits = plan_work(jobs, split_shots)
    if on_planned:
        on_planned(len(work))
    finished = engine.run(work, on_done)
    by_clip: dict[str, list[dict]] = {}
    for job, result in zip(work, finished):
        by_clip.setdefault(job.clip or job.input, []).append(result)
    for job in jobs:
        if job.input in results:
            continue
        parts = by_clip.get(job.input, [])
        if job.input not in splits:
            results[job.input] = parts[0]
        elif all(p["status"] in ("done", "skipped") for p in parts):
            seconds = sum(p["seconds"] for p in parts)
            try:
                frames = join_shots(*splits[job.input])
                results[job.input] = asdict(JobResult.of(job, "done", f"{len(parts)} shots joined", frames=frames,
                                                         seconds=round(seconds, 2)))
            except CLIP_ERRORS as exc:
                results[job.input] = asdict(JobResult.of(job, "failed", f"joining shots: {exc}"))
        elif all(p["status"] in ("done", "skipped", "busy") for p in parts):
            results[job.input] = asdict(JobResult.of(job, "busy", "another run is on some of its shots"))
        else:
            reasons = "; ".join(f"shot {p['shot']}: {p['reason']}" for p in parts if p["status"] == "failed")
            results[job.input] = asdict(JobResult.of(job, "failed", reasons))
    return [results[job.input] for job in jobs]

"""A batch from tasks to results: skip finished outputs, split shots, run on an engine, join, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .engines import Engine
from .tasks import CLIP_ERRORS, ClipResult, Task
from .shots import Shot, detect_shots, join_shots, shot_tasks


def plan_work(tasks: Sequence[Task], split_shots: bool) -> tuple[list[Task], dict[str, ClipResult],
                                                                  dict[str, tuple[Task, list[Shot]]]]:
    """``(tasks to run, results already known, {clip: (task, shots)} to join)``.

    Clips whose output exists are skipped; with ``split_shots`` each clip with
    cuts becomes one task per shot. A clip that cannot be read fails alone.
    """
    known: dict[str, ClipResult] = {}
    work: list[Task] = []
    splits: dict[str, tuple[Task, list[Shot]]] = {}
    for task in tasks:
        job = task.job
        if job.output.exists():
            known[task.clip] = ClipResult.of(task, "skipped", "finished output exists")
            continue
        if split_shots:
            try:
                shots = detect_shots(job.input, start=job.start, end=job.end, max_size=job.video.max_size)
            except CLIP_ERRORS as exc:
                known[task.clip] = ClipResult.of(task, "failed", str(exc).splitlines()[0])
                continue
            if len(shots) > 1:
                splits[task.clip] = (task, shots)
                work += shot_tasks(task, shots)
                continue
        work.append(task)
    return work, known, splits


def run_batch(tasks: Sequence[Task], engine: Engine, *, split_shots: bool = False,
              on_planned: Callable[[int], None] | None = None,
              on_done: Callable[[ClipResult], None] = lambda r: None) -> list[ClipResult]:
    """Run every task on ``engine``; one result per clip, in the order of ``tasks``."""
    work, results, splits = plan_work(tasks, split_shots)
    if on_planned:
        on_planned(len(work))
    finished = engine.run(work, on_done)
    by_clip: dict[str, list[ClipResult]] = {}
    for task, result in zip(work, finished):
        by_clip.setdefault(task.clip, []).append(result)
    for task in tasks:
        if task.clip in results:
            continue
        parts = by_clip.get(task.clip, [])
        if task.clip not in splits:
            results[task.clip] = parts[0]
        elif all(p.status in ("done", "skipped") for p in parts):
            seconds = sum(p.seconds for p in parts)
            try:
                frames = join_shots(*splits[task.clip])
                results[task.clip] = ClipResult.of(task, "done", f"{len(parts)} shots joined", frames=frames,
                                                   seconds=round(seconds, 2))
            except CLIP_ERRORS as exc:
                results[task.clip] = ClipResult.of(task, "failed", f"joining shots: {exc}")
        elif all(p.status in ("done", "skipped", "busy") for p in parts):
            results[task.clip] = ClipResult.of(task, "busy", "another run is on some of its shots")
        else:
            reasons = "; ".join(f"shot {p.shot}: {p.reason}" for p in parts if p.status == "failed")
            results[task.clip] = ClipResult.of(task, "failed", reasons)
    return [results[task.clip] for task in tasks]

"""A batch from tasks to results: skip finished outputs, cut clips into parts (shots, chunks), run them on an
engine, join, report."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..media.probe import probe
from ..video.checkpoint import BusyError
from .chunks import pair_tasks, plan_chunks
from .engines import Engine
from .parts import Part, StreamingJoin, check_parts, claim_parts, part_tasks
from .shots import detect_shots
from .tasks import CLIP_ERRORS, ClipResult, Task


def clip_parts(task: Task, split_shots: bool) -> list[Part]:
    """The parts a clip runs as: its shots (``split_shots``), each cut into chunks (``chunk_frames``)."""
    job = task.job
    parts = [Part(job.start, job.end)]
    if split_shots:
        parts = detect_shots(job.input, start=job.start, end=job.end, max_size=job.video.max_size)
    if job.video.chunk_frames:
        info = probe(job.input)
        video = job.video
        parts = [c for p in parts for c in plan_chunks(info, p, video.chunk_frames, video.chunk_overlap,
                                                       video.chunk_carry)]
    if len(parts) > 1:
        check_parts(task)
    return parts


def plan_work(tasks: Sequence[Task], split_shots: bool) -> tuple[list[Task], dict[str, ClipResult],
                                                                  dict[str, tuple[Task, list[Part]]]]:
    """``(tasks to run, results already known, {clip: (task, parts)} to join)``.

    Clips whose output exists are skipped; a clip with more than one part (shots with ``split_shots``, chunks with
    its ``chunk_frames``) becomes one task per part. A clip that cannot be read fails alone.
    """
    known: dict[str, ClipResult] = {}
    work: list[Task] = []
    splits: dict[str, tuple[Task, list[Part]]] = {}
    for task in tasks:
        job = task.job
        if job.output.exists():
            known[task.clip] = ClipResult.of(task, "skipped", "finished output exists")
            continue
        if split_shots or job.video.chunk_frames:
            try:
                parts = clip_parts(task, split_shots)
                if len(parts) > 1:
                    claim_parts(task, parts)
            except BusyError as exc:
                known[task.clip] = ClipResult.of(task, "busy", str(exc))
                continue
            except CLIP_ERRORS as exc:
                known[task.clip] = ClipResult.of(task, "failed", str(exc).splitlines()[0])
                continue
            if len(parts) > 1:
                splits[task.clip] = (task, parts)
                work += part_tasks(task, parts)
                continue
        work.append(task)
    return work, known, splits


def run_batch(tasks: Sequence[Task], engine: Engine, *, split_shots: bool = False,
              on_planned: Callable[[int], None] | None = None,
              on_done: Callable[[ClipResult], None] = lambda r: None) -> list[ClipResult]:
    """Run every task on ``engine``; one result per clip, in the order of ``tasks``."""
    work, results, splits = plan_work(tasks, split_shots)
    pairs = [t for task, parts in splits.values() for t in _pair_tasks(task, parts)]
    if on_planned:
        on_planned(len(pairs) + len(work))
    joins: dict[str, StreamingJoin] = {}

    def done(result: ClipResult) -> None:  # a part finished: its clip's join goes on with its frames
        for join in joins.values():
            k = join.part_of(result.output)
            if k is not None and result.status in ("done", "skipped"):
                join.finished(k)
            elif k is not None:  # failed or busy: this clip is not joined in this run
                join.abandon()
        on_done(result)

    try:
        if pairs:  # every carried chunk's flows first, all at once (a pair not kept is estimated by the carry itself)
            engine.run(pairs, on_done)
        joins.update({clip: StreamingJoin(*split) for clip, split in splits.items()})
        finished = engine.run(work, done)
    except BaseException:
        for join in joins.values():
            join.stop()
        raise
    by_clip: dict[str, list[ClipResult]] = {}
    for task, result in zip(work, finished):
        by_clip.setdefault(task.clip, []).append(result)
    for task in tasks:
        if task.clip not in results:
            results[task.clip] = _clip_result(task, by_clip.get(task.clip, []), splits.get(task.clip),
                                              joins.get(task.clip))
    return [results[task.clip] for task in tasks]


def _clip_result(task: Task, results: list[ClipResult], split: tuple[Task, list[Part]] | None,
                 join: StreamingJoin | None) -> ClipResult:
    """A clip's result from its parts' (joined when every part is done; a failed part's reason, the others' frames
    kept for the next run)."""
    if split is None or join is None:
        return results[0]
    parts = split[1]
    if all(r.status in ("done", "skipped") for r in results):
        seconds = sum(r.seconds for r in results)
        try:
            frames = join.finish()
        except CLIP_ERRORS as exc:
            return ClipResult.of(task, "failed", f"joining parts: {exc}")
        return ClipResult.of(task, "done", f"{len(parts)} {_kind(parts)} joined", frames=frames,
                             seconds=round(seconds, 2))
    join.stop()
    if all(r.status in ("done", "skipped", "busy") for r in results):
        return ClipResult.of(task, "busy", f"another run is on some of its {_kind(parts)}")
    reasons = "; ".join(f"{part.name}: {r.reason}" for part, r in zip(parts, results) if r.status == "failed")
    return ClipResult.of(task, "failed", reasons)


def _kind(parts: list[Part]) -> str:
    return "chunks" if any(p.chunk is not None for p in parts) else "shots"


def _pair_tasks(task: Task, parts: list[Part]) -> list[Task]:
    """The flow-pair tasks of a clip's carried chunks; none where its input no longer reads (its parts fail
    alone)."""
    try:
        return pair_tasks(task, parts)
    except CLIP_ERRORS:
        return []

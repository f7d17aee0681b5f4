"""A clip run as parts (its shots, chunks of a long shot): each part its own task, then one join.

Parts are bounded by exact source timestamps (rational seconds), so no frame is lost or doubled at a join and
variable-rate clips keep their timing. A part may begin ``lead`` frames before the frames it owns: those are the
last frames of the part before it, painted again from this part's own start, and the join crossfades the two
paintings over them (:mod:`vidstyle.batch.chunks` says why). Each part keeps its frames (``keep_frames``): the join
encodes them once, with the source's timestamps and its audio (concatenating encoded parts drifts the
timestamps at every join).
"""

from __future__ import annotations

import functools
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..config import SettingError
from ..media.decode import nominal_duration, parse_position, range_stamps
from ..media.encode import encode_stylized
from ..media.files import atomic_path
from ..media.images import is_image_path, read_image
from ..media.probe import VideoInfo, probe
from ..media.sizes import even_size
from ..video.checkpoint import Checkpoint, ensure_free, work_dir_for
from ..video.paintover import PaintOver, parse_paint_over
from ..video.record import FrameRecord
from .tasks import Task

log = logging.getLogger(__name__)
PARTS_FILE = "parts.json"  # in a clip's parts folder: the job and the parts its frames were painted for


@dataclass(frozen=True)
class Part:
    """``[start, end)`` of a clip as exact positions (``"p/q s"``; None: the clip's or range's own bound); the first
    ``lead`` frames belong to the part before and are blended into it. ``shot`` and ``chunk`` name the part in
    progress and reports."""

    start: str | None
    end: str | None
    lead: int = 0
    shot: int | None = None
    chunk: int | None = None
    offset: int = 0  # its first frame's index in the clip's range (where paint-over frames are numbered)
    skip: int = 0  # frames before ``lead`` that it carries along the flow, not its own (``carry_frames``)
    stop: int | None = None  # the index in the clip's range where it ends (None: the range's end)

    @property
    def name(self) -> str:
        words = ([f"shot {self.shot}"] if self.shot is not None else []) + \
            ([f"chunk {self.chunk}"] if self.chunk is not None else [])
        return " ".join(words) or "part"


def position(info: VideoInfo, pts: int) -> str:
    """A source timestamp as an exact position: ``"p/q s"`` from the stream's start."""
    seconds = Fraction(pts - info.start_pts) * info.time_base
    return f"{seconds.numerator}/{seconds.denominator}s"


def parts_dir(task: Task) -> Path:
    output = task.job.output
    return output.parent / ".parts" / output.stem


def part_tasks(task: Task, parts: list[Part]) -> list[Task]:
    """One task per part: silent outputs in a hidden folder beside the clip's output, frames kept for the join.
    A painted-over frame goes to every part that paints it, numbered in that part."""
    video = replace(task.job.video, audio=False, keep_frames=True, chunk_frames=None)
    edits = [parse_paint_over(text) for text in task.job.paint_over]
    tasks = []
    for k, part in enumerate(parts):
        mine = tuple(str(PaintOver(e.frame - part.offset, e.path)) for e in edits
                     if e.frame >= part.offset and (part.stop is None or e.frame < part.stop))
        run = task.job.run
        run = replace(run, temporal=replace(run.temporal, carry_frames=part.skip))
        kept = replace(video, carry_pairs=os.fspath(pairs_dir(task, part))) if part.skip else video
        job = replace(task.job, output=parts_dir(task) / f"part_{k:03d}.mp4", start=part.start, end=part.end,
                      video=kept, paint_over=mine, run=run)
        tasks.append(replace(task, job=job, shot=part.shot, chunk=part.chunk))
    return tasks


def pairs_dir(task: Task, part: Part) -> Path:
    """Where the flow pairs of ``part``'s shot are kept for its chunks' carries (they share the shot's offset)."""
    return parts_dir(task) / "pairs" / f"shot-{part.offset:07d}"


def check_parts(task: Task) -> None:
    """Refuse what a part cannot take from the clip: masks placed by frame (a mask video or folder, a keyframe, a
    GrabCut box), which each part would read from its own first frame."""
    job = task.job
    for source in [job.mask, *(r.source for r in job.regions)]:
        if source is None:
            continue
        by_frame = source.grabcut is not None or source.keyframe is not None or (
            source.path is not None and (source.path.is_dir() or not is_image_path(source.path)))
        if by_frame:
            raise SettingError(source.key, "expected a mask that holds for every frame (a mask image or `segment`) "
                                           f"when a clip runs in parts (`chunk_frames`, split shots), got "
                                           f"{source.describe()}")


def crossfade(earlier: np.ndarray, later: np.ndarray, step: int, lead: int) -> np.ndarray:
    """Frame ``step`` (0-based) of a ``lead``-frame overlap: from the earlier part's painting towards the later
    part's, in equal steps (neither end is reached inside the overlap)."""
    weight = (step + 1) / (lead + 1)
    return np.rint((1 - weight) * earlier.astype(np.float32) + weight * later.astype(np.float32)).astype(np.uint8)


class _Piece:
    """A finished part's frames: the first pass's records (timing), the images of its last pass."""

    def __init__(self, task: Task) -> None:
        self.checkpoint = Checkpoint(work_dir_for(task.job.output), "")
        finished = self.checkpoint.finished()
        self.records = [r for r in finished if r.pass_index == 1]
        self.last = max((r.pass_index for r in finished), default=1)

    def image(self, record: FrameRecord) -> np.ndarray:
        return read_image(self.checkpoint.frame_path(record.frame, self.last))


def _joined(parts: list[Part], piece: Callable[[int], _Piece]
            ) -> Iterator[tuple[FrameRecord, Callable[[], np.ndarray]]]:
    """The clip's frames from its parts, in order: each record with a way to read its image (an overlap's
    crossfaded); ``piece(k)`` gives part ``k``'s frames (waiting for them, in a streaming join)."""
    for k, part in enumerate(parts):
        own = piece(k).records[part.skip:]  # without a chunk's carry
        if len(own) <= part.lead:
            raise ValueError(f"expected frames from {part.name} beyond its {part.lead} shared ones, got {len(own)}")
        ahead = parts[k + 1].lead if k + 1 < len(parts) else 0
        for record in own[part.lead:len(own) - ahead]:
            yield record, functools.partial(piece(k).image, record)
        if not ahead:
            continue
        theirs = piece(k + 1).records[parts[k + 1].skip:][:ahead]
        if [r.pts for r in own[-ahead:]] != [r.pts for r in theirs]:
            raise ValueError(f"expected {parts[k + 1].name} to begin on the last {ahead} frames of {part.name}, "
                             "got other timestamps")
        for step, (mine, their) in enumerate(zip(own[-ahead:], theirs)):
            yield mine, functools.partial(_blend, piece(k), mine, piece(k + 1), their, step, ahead)


def _blend(earlier: _Piece, mine: FrameRecord, later: _Piece, theirs: FrameRecord, step: int, lead: int
           ) -> np.ndarray:
    return crossfade(earlier.image(mine), later.image(theirs), step, lead)


def joined_frames(task: Task, parts: list[Part]) -> tuple[list[FrameRecord], Iterator[np.ndarray]]:
    """The clip's frames from its finished parts, in order: ``(records, images)``; each overlap crossfaded."""
    pieces = [_Piece(t) for t in part_tasks(task, parts)]
    frames = list(_joined(parts, pieces.__getitem__))
    return [record for record, _ in frames], (image() for _, image in frames)


def _output_size(job, info: VideoInfo, first: np.ndarray) -> tuple[int, int]:
    height, width = first.shape[:2]
    return (width, height) if job.video.output_size == "processing" else even_size(info.height, info.width)[::-1]


def join_parts(task: Task, parts: list[Part]) -> int:
    """Encode the parts' frames, in order, into the clip's output with the source's audio; returns the frame count.
    The parts' folders are removed once the output is written."""
    job = task.job
    info = probe(job.input)
    records, images = joined_frames(task, parts)
    if not records:
        raise ValueError("expected frames from the parts, got none")
    first = next(images)

    def every() -> Iterator[np.ndarray]:
        yield first
        yield from images

    encode_stylized(every(), [r.timing for r in records], job.input, info, job.output,
                    size=_output_size(job, info, first), settings=job.video, scratch=parts_dir(task))
    remove_parts(task, parts)
    return len(records)


class _Stopped(Exception):
    """A part failed, or the run stopped: the streaming join gives up (its output is never written)."""


class StreamingJoin:
    """The join of a clip in parts while they run: each part's frames are encoded as soon as that part (and the
    one after it, for their overlap) has finished, in a thread of this process, so when the last part finishes
    only its own frames are left to encode (BENCHMARKS.md, chunks: the projection).

    The encode needs every frame's timestamp before its first frame: it takes them from the source's packets
    over the clip's range, and checks each part's frames against them as they come. If they differ (a frame
    that does not decode), :meth:`finish` joins again from the parts' own records, as :func:`join_parts` does;
    either way the output is written atomically, once, with what the parts painted.
    """

    def __init__(self, task: Task, parts: list[Part]) -> None:
        self.task, self.parts = task, parts
        self._tasks = part_tasks(task, parts)
        self._ready = [threading.Event() for _ in parts]
        self._stopped = threading.Event()
        self._error: BaseException | None = None
        self._frames = 0
        self.encoded = 0  # frames handed to the encoder so far
        self._thread = threading.Thread(target=self._run, name="vidstyle-join", daemon=True)
        self._thread.start()

    def part_of(self, output: str) -> int | None:
        """The index of the part whose output is ``output``, or None."""
        return next((k for k, t in enumerate(self._tasks) if os.fspath(t.job.output) == output), None)

    def finished(self, k: int) -> None:
        """Part ``k``'s frames are all painted."""
        self._ready[k].set()

    def abandon(self) -> None:
        """Give up (a part failed, or the run stops): nothing is written; the parts stay for the next run."""
        self._stopped.set()

    def stop(self) -> None:
        """:meth:`abandon`, and wait until the encode has let go of its files."""
        self.abandon()
        self._thread.join()

    def finish(self) -> int:
        """Once every part has finished: wait for the encode, remove the parts; returns the frame count."""
        self._thread.join()
        if self._error is None:
            remove_parts(self.task, self.parts)
            return self._frames
        if isinstance(self._error, _Stopped):
            raise ValueError("expected every part to finish before the join")
        log.info("%s: joining again from the parts' records (%s)", self.task.job.output, self._error)
        return join_parts(self.task, self.parts)

    def _piece(self, pieces: dict[int, _Piece], k: int) -> _Piece:
        if k not in pieces:
            while not self._ready[k].wait(0.1):
                if self._stopped.is_set():
                    raise _Stopped()
            pieces[k] = _Piece(self._tasks[k])
            for done in [j for j in pieces if j < k - 1]:
                del pieces[done]
        return pieces[k]

    def _run(self) -> None:
        try:
            self._frames = self._encode()
        except BaseException as exc:  # handed to finish(): a stop, or a reason to join from the records
            self._error = exc

    def _encode(self) -> int:
        job = self.task.job
        info = probe(job.input)
        pts = range_stamps(info, parse_position(job.start) if job.start else None,
                           parse_position(job.end) if job.end else None)
        if not pts:
            raise ValueError("expected frames in the clip's range, got none")
        nominal = nominal_duration(info)  # a range's last frame, as its part timed it
        stamps = [(a, b - a) for a, b in zip(pts, pts[1:])] + [(pts[-1], nominal)]
        pieces: dict[int, _Piece] = {}
        frames = _joined(self.parts, lambda k: self._piece(pieces, k))
        record, image = next(frames)
        first = image()

        def images() -> Iterator[np.ndarray]:
            count, current, picture = 0, record, first
            while True:
                if self._stopped.is_set():
                    raise _Stopped()
                if count >= len(pts) or current.pts != pts[count]:
                    raise ValueError(f"expected the frame at {pts[min(count, len(pts) - 1)]} next, got {current.pts}")
                count += 1
                self.encoded = count
                yield picture
                following = next(frames, None)
                if following is None:
                    if count != len(pts) or current.duration != nominal:
                        raise ValueError(f"expected {len(pts)} frames ending as the range does, got {count}")
                    return
                current, picture = following[0], following[1]()

        encode_stylized(images(), stamps, job.input, info, job.output, size=_output_size(job, info, first),
                        settings=job.video, scratch=parts_dir(self.task))
        return len(pts)


def claim_parts(task: Task, parts: list[Part]) -> None:
    """Mark the parts folder with the clip's job and parts; a folder left by another job or another cut is emptied
    first, so a rerun with other settings never joins parts painted with the old ones (a part whose output exists
    is not run again)."""
    folder = parts_dir(task)
    marker = folder / PARTS_FILE
    wanted = json.dumps({"job": task.job.values(), "parts": [asdict(p) for p in parts]}, sort_keys=True, default=str)
    if marker.is_file() and marker.read_text() == wanted:
        return
    if folder.exists():
        for work in folder.glob("*.vidstyle-work"):  # another run paints here: BusyError, and nothing is removed
            ensure_free(work.with_name(work.name.removesuffix(".vidstyle-work")))
        log.warning("%s: made for other settings, painting its parts again", folder)
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    with atomic_path(marker) as tmp:
        tmp.write_text(wanted)


def remove_parts(task: Task, parts: list[Part]) -> None:
    for part in part_tasks(task, parts):
        part.job.output.unlink(missing_ok=True)
        shutil.rmtree(work_dir_for(part.job.output), ignore_errors=True)
    shutil.rmtree(parts_dir(task), ignore_errors=True)
    try:
        parts_dir(task).parent.rmdir()
    except OSError:
        pass

"""Many clips: inputs, tasks (a job and where it runs), one task's run, results and the report.

Engines pass a :class:`Task` to :func:`run_task`, which reads its input and writes its output itself,
so the Ray engine never ships frames or models between machines.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from ..core.weights import WeightsUnavailableError
from ..media.errors import MediaError
from ..media.files import atomic_path
from ..media.images import is_image_path
from ..job import Job

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".3gp")
# A folder's clips for `vidstyle batch`: animated GIFs too (the studio lists VIDEO_SUFFIXES, which a browser's
# video player can show).
CLIP_SUFFIXES = VIDEO_SUFFIXES + (".gif",)
REPORT_NAME = "batch-report.json"
# Failures of one clip (bad file, bad mask, numbers that diverge): reported, the batch goes on.
CLIP_ERRORS = (ValueError, OSError, MediaError, WeightsUnavailableError, FloatingPointError)


class TransientError(RuntimeError):
    """A failure worth retrying on another worker (out of memory, a lost device)."""


@dataclass(frozen=True)
class Task:
    """One unit of batch work: a :class:`~vidstyle.job.Job` (a clip, or one shot of it) and where it runs.
    Tasks are what engines ship: paths and settings, never frames or models."""

    job: Job
    device: str = "auto"
    threads: int | None = None
    clip: str = ""  # the clip this task belongs to (for shots and chunks: the source clip)
    shot: int | None = None
    chunk: int | None = None  # a chunk of a long shot (batch/chunks.py)
    # Not painting but estimating the flow pairs of the job's range for the carries of a chunked shot
    # (video/pairs.py), into the job's ``video.carry_pairs``; its first frame is this frame of the shot.
    pairs_first: int | None = None


@dataclass(frozen=True)
class ClipResult:
    """How one clip (or shot) ended: ``done``, ``skipped`` (its output exists), ``busy`` (another run holds
    its work folder) or ``failed`` (with the reason)."""

    input: str
    output: str
    status: str
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    cuts: tuple[int, ...] = ()
    shot: int | None = None
    chunk: int | None = None

    @classmethod
    def of(cls, task: Task, status: str, reason: str = "", **figures: Any) -> ClipResult:
        return cls(os.fspath(task.job.input), os.fspath(task.job.output), status, reason, shot=task.shot,
                   chunk=task.chunk, **figures)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "cuts": list(self.cuts)}


def collect_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files, folders (their videos, sorted) and globs (but their stills and .toml files) -> unique video paths, in
    order. A still or a .toml named as an input is refused with the command it belongs to."""
    found: list[Path] = []
    for pattern in patterns:
        if not pattern.strip():
            raise ValueError("expected an input file, folder or glob, got an empty one")
        path = Path(pattern).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in CLIP_SUFFIXES)
        elif path.exists():
            if is_image_path(path):
                raise ValueError(f"expected clips for `vidstyle batch`, got the still image {pattern!r}: stylize it "
                                 f"with `vidstyle image`")
            if path.suffix.lower() == ".toml":
                raise ValueError(f"expected clips for `vidstyle batch`, got the settings file {pattern!r}: give it as "
                                 f"`jobs` beside the clips (files, folders or globs)")
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
            if not matches:
                raise FileNotFoundError(f"input {pattern!r} matches no file")
            # stills and settings files (a jobs.toml beside the clips) left out, as in a folder
            found += [m for m in matches if m.is_file() and not is_image_path(m) and m.suffix.lower() != ".toml"]
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ValueError(f"expected video files among the inputs, got none in {', '.join(map(repr, patterns))}")
    return unique


def output_names(inputs: Sequence[Path], out_dir: Path, suffix: str = ".mp4") -> dict[Path, Path]:
    """``stem{suffix}`` in ``out_dir``; clips sharing a stem get their parent folder's name too."""
    stems: dict[str, int] = {}
    for path in inputs:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    names = {}
    for path in inputs:
        name = path.stem if stems[path.stem] == 1 else f"{path.parent.name}_{path.stem}"
        names[path] = out_dir / f"{name}{suffix}"
    if len(set(names.values())) != len(names):
        raise ValueError("expected distinct output names for the inputs: rename clips that share a folder and name")
    return names


def run_task(task: Task, on_frame: Callable | None = None, on_step: Callable | None = None) -> ClipResult:
    """Stylize one task; never raises for bad input, returns a :class:`ClipResult`. Transient failures (out of
    memory) raise :class:`TransientError` so an engine may retry them."""
    import torch

    from ..core.device import set_threads
    from ..video.checkpoint import BusyError
    from .execute import keep_pairs_job, run_job

    started = time.perf_counter()
    threads = torch.get_num_threads()
    result = ClipResult.of(task, "failed")
    try:
        if task.job.output.exists():
            return ClipResult.of(task, "skipped", "finished output exists")
        if task.threads is not None:
            set_threads(task.threads)
        if task.pairs_first is not None:
            frames = keep_pairs_job(task.job, task.pairs_first, device=task.device)
            result = ClipResult.of(task, "done", "flow pairs kept", frames=frames)
        else:
            video = run_job(task.job, device=task.device, on_frame=on_frame, on_step=on_step)
            result = ClipResult.of(task, "done", frames=video.frames, cuts=tuple(video.cuts))
    except BusyError as exc:  # another run works on this output: not a failure, and not ours to redo
        result = ClipResult.of(task, "busy", str(exc))
    except CLIP_ERRORS as exc:
        result = ClipResult.of(task, "failed", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise TransientError(str(exc)) from exc
        result = ClipResult.of(task, "failed", f"internal error: {type(exc).__name__}: {exc}")
        log.error("clip %s failed:\n%s", task.job.input, traceback.format_exc())
    finally:
        torch.set_num_threads(threads)  # a task's pinning ends with the task
    return replace(result, seconds=round(time.perf_counter() - started, 2))


def write_report(out_dir: Path, results: Iterable[ClipResult]) -> Path:
    path = out_dir / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps([r.to_dict() for r in results], indent=2))
    return path

"""Many clips: inputs, jobs (plain data), validation before any work, one clip's run, the report.

A job is plain data (paths and settings, JSON-able): engines pass it to
:func:`run_clip`, which reads its input and writes its output itself, so the
Ray engine never ships frames or models between machines.
"""

from __future__ import annotations

import glob
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import MaskConfig, RunConfig, VideoConfig, from_dict
from ..core.styles import parse_style_spec
from ..core.weights import WeightsUnavailableError
from ..media.decode import parse_position
from ..media.errors import MediaError
from ..media.files import atomic_path, check_input, check_output
from ..regions.sources import MaskSource

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts", ".3gp")
REPORT_NAME = "batch-report.json"
# Failures of one clip (bad file, bad mask, numbers that diverge): reported, the batch goes on.
CLIP_ERRORS = (ValueError, OSError, MediaError, WeightsUnavailableError, FloatingPointError)


class TransientError(RuntimeError):
    """A failure worth retrying on another worker (out of memory, a lost device)."""


@dataclass
class Job:
    """One unit of work: a clip (or one shot of it) with all its settings."""

    input: str
    output: str
    styles: str | None
    config: dict = field(default_factory=lambda: asdict(RunConfig()))
    video: dict = field(default_factory=lambda: asdict(VideoConfig()))
    masks: dict = field(default_factory=lambda: asdict(MaskConfig()))  # how every mask of the job is shaped
    mask: dict | None = None  # where the --styles mask comes from: path, keyframe, grabcut, segment, classes, labels
    regions: list = field(default_factory=list)  # [[mask path, spec], ...]
    background_style: str | None = None
    start: str | None = None
    end: str | None = None
    device: str = "auto"
    threads: int | None = None
    clip: str = ""  # the clip this job belongs to (for shots: the source clip)
    shot: int | None = None

    def run_config(self) -> RunConfig:
        return from_dict(RunConfig, self.config)

    def video_config(self) -> VideoConfig:
        return from_dict(VideoConfig, self.video)

    def sources(self) -> tuple[MaskSource | None, list[tuple[MaskSource, str]]]:
        """The mask of ``styles`` and each region's source, shaped by the job's mask settings."""
        options = from_dict(MaskConfig, self.masks)
        mask = None if self.mask is None else MaskSource.from_dict({**self.mask, "options": asdict(options)})
        regions = [(MaskSource(path=Path(path), keyframe=(self.mask or {}).get("keyframe"), options=options), spec)
                   for path, spec in self.regions]
        return mask, regions


@dataclass
class JobResult:
    input: str
    output: str
    status: str  # "done", "skipped", "busy" (another run holds the clip's work folder) or "failed"
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    cuts: list[int] = field(default_factory=list)
    shot: int | None = None

    @classmethod
    def of(cls, job: Job, status: str, reason: str = "", **figures: Any) -> JobResult:
        return cls(job.input, job.output, status, reason, shot=job.shot, **figures)


def collect_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files, folders (their videos, sorted) and globs -> unique video paths, in order."""
    found: list[Path] = []
    for pattern in patterns:
        if not pattern.strip():
            raise ValueError("expected an input file, folder or glob, got an empty one")
        path = Path(pattern).expanduser()
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
        elif path.exists():
            found.append(path)
        else:
            matches = sorted(Path(m) for m in glob.glob(pattern, recursive=True))
            if not matches:
                raise FileNotFoundError(f"input {pattern!r} matches no file")
            found += [m for m in matches if m.is_file()]
    unique = list(dict.fromkeys(p.resolve() for p in found))
    if not unique:
        raise ValueError(f"expected video files among the inputs, got none in {', '.join(map(repr, patterns))}")
    return unique


def output_names(inputs: Sequence[Path], out_dir: Path) -> dict[Path, Path]:
    """``stem.mp4`` in ``out_dir``; clips sharing a stem get their parent folder's name too."""
    stems: dict[str, int] = {}
    for path in inputs:
        stems[path.stem] = stems.get(path.stem, 0) + 1
    names = {}
    for path in inputs:
        name = path.stem if stems[path.stem] == 1 else f"{path.parent.name}_{path.stem}"
        names[path] = out_dir / f"{name}.mp4"
    if len(set(names.values())) != len(names):
        raise ValueError("expected distinct output names for the inputs: rename clips that share a folder and name")
    return names


def validate_job(job: Job) -> None:
    """Everything about a job's settings that can be wrong, checked before any clip is decoded.

    The input clip itself is not opened here: an unreadable clip fails alone, later.
    """
    job.run_config(), job.video_config()
    from_dict(MaskConfig, job.masks)
    if not job.styles and not job.regions:
        raise ValueError("expected styles (--styles, --region or a 'styles' key in the jobs file)")
    for key, spec in (("styles", job.styles), ("background_style", job.background_style)):
        if spec:
            _with_key(key, parse_style_spec, spec)
    for path, spec in job.regions:
        _with_key("region", parse_style_spec, spec)
        _with_key("region", check_input, Path(path), "mask")
    mask, _ = _with_key("mask", job.sources)
    if mask is not None and mask.path is not None and not mask.path.exists():
        raise ValueError(f"mask: {os.fspath(mask.path)!r} does not exist")
    if mask is not None and mask.labels is not None:
        _with_key("labels", check_input, mask.labels, "labels file")
    for key in ("start", "end"):
        if getattr(job, key):
            _with_key(key, parse_position, getattr(job, key))
    check_output(Path(job.output), (".mp4",), (Path(job.input),))


def _with_key(key: str, check: Callable, *args: Any) -> Any:
    try:
        return check(*args)
    except (ValueError, OSError) as exc:
        raise ValueError(f"{key}: {exc}") from None


def run_clip(job: dict, on_frame: Callable | None = None, on_step: Callable | None = None) -> dict:
    """Stylize one job (a dict of :class:`Job`); never raises for bad input, returns a :class:`JobResult` dict.

    Transient failures (out of memory) raise :class:`TransientError` so an engine may retry them.
    """
    import torch

    from ..core.runtime import set_threads
    from ..video.checkpoint import BusyError
    from ..video.pipeline import stylize_video

    spec = Job(**job)
    started = time.perf_counter()
    result = JobResult.of(spec, "failed")
    threads = torch.get_num_threads()
    try:
        if Path(spec.output).exists():
            result.status, result.reason = "skipped", "finished output exists"
            return asdict(result)
        if spec.threads is not None:
            set_threads(spec.threads)
        mask, regions = spec.sources()
        video = stylize_video(
            spec.input, spec.output, spec.styles, config=spec.run_config(), video=spec.video_config(),
            start=spec.start, end=spec.end, mask=mask, regions=regions, background_style=spec.background_style,
            device=spec.device, on_frame=on_frame, on_step=on_step,
        )
        result.status, result.frames, result.cuts = "done", video.frames, video.cuts
    except BusyError as exc:  # another run works on this output: not a failure, and not ours to redo
        result.status, result.reason = "busy", str(exc)
    except CLIP_ERRORS as exc:
        result.reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise TransientError(str(exc)) from exc
        result.reason = f"internal error: {type(exc).__name__}: {exc}"
        log.error("clip %s failed:\n%s", spec.input, traceback.format_exc())
    finally:
        torch.set_num_threads(threads)  # a job's pinning ends with the job
        result.seconds = round(time.perf_counter() - started, 2)
    return asdict(result)


def write_report(out_dir: Path, results: Iterable[dict]) -> Path:
    path = out_dir / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(list(results), indent=2))
    return path


def jobs_for(inputs: Sequence[Path], out_dir: Path, base: dict[str, Any],
             overrides: dict[Path, dict[tuple[str, ...], Any]]) -> list[Job]:
    """One :class:`Job` per clip from the shared settings and each clip's overrides."""
    from .jobsfile import apply_overrides

    names = output_names(inputs, out_dir)
    jobs = []
    for path in inputs:
        settings = apply_overrides(base, overrides.get(path, {}))
        jobs.append(Job(input=os.fspath(path), output=os.fspath(names[path]), clip=os.fspath(path), **settings))
    return jobs

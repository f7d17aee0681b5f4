"""Many clips: inputs, per-clip overrides (jobs.toml), isolation, skip/resume, engines, reports.

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

from .config import RunConfig, VideoConfig, from_dict

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")
REPORT_NAME = "batch-report.json"


class TransientError(RuntimeError):
    """A failure worth retrying on another worker (out of memory, a lost device)."""


@dataclass
class Job:
    """One unit of work: a clip (or one shot of it) with all its settings."""

    input: str
    output: str
    styles: str | None
    config: dict  # RunConfig as a dict
    video: dict  # VideoConfig as a dict
    start: str | None = None
    end: str | None = None
    mask: dict | None = None  # MaskSource fields, paths as strings
    background_style: str | None = None
    device: str = "auto"
    clip: str = ""  # the clip this job belongs to (for shots: the source clip)
    shot: int | None = None


@dataclass
class JobResult:
    input: str
    output: str
    status: str  # "done", "skipped" or "failed"
    reason: str = ""
    frames: int = 0
    seconds: float = 0.0
    cuts: list[int] = field(default_factory=list)
    shot: int | None = None


def collect_inputs(patterns: Sequence[str]) -> list[Path]:
    """Files, folders (their videos, sorted) and globs -> unique video paths, in order."""
    found: list[Path] = []
    for pattern in patterns:
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
        raise ValueError(f"expected video files among the inputs, got none in {', '.join(patterns)}")
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


def run_clip(job: dict, on_frame: Callable | None = None, on_step: Callable | None = None) -> dict:
    """Stylize one job (a dict of :class:`Job`); never raises for bad input, returns a result dict.

    Transient failures (out of memory) raise :class:`TransientError` so an engine may retry them.
    """
    from .masktrack import mask_source_from_dict
    from .pipeline import stylize_video
    from .video import MediaError
    from .weights import WeightsUnavailableError

    spec = Job(**job)
    started = time.perf_counter()
    result = JobResult(spec.input, spec.output, "failed", shot=spec.shot)
    try:
        if Path(spec.output).exists():
            result.status, result.reason = "skipped", "finished output exists"
            return asdict(result)
        video = stylize_video(
            spec.input, spec.output, spec.styles, config=from_dict(RunConfig, spec.config),
            video=from_dict(VideoConfig, spec.video), start=spec.start, end=spec.end,
            mask=mask_source_from_dict(spec.mask), background_style=spec.background_style, device=spec.device,
            on_frame=on_frame, on_step=on_step,
        )
        result.status, result.frames, result.cuts = "done", video.frames, video.cuts
    except (ValueError, OSError, MediaError, WeightsUnavailableError, FloatingPointError) as exc:
        result.reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    except RuntimeError as exc:
        if "out of memory" in str(exc).lower():
            raise TransientError(str(exc)) from exc
        result.reason = f"internal error: {type(exc).__name__}: {exc}"
        log.error("clip %s failed:\n%s", spec.input, traceback.format_exc())
    finally:
        result.seconds = round(time.perf_counter() - started, 2)
    return asdict(result)


def write_report(out_dir: Path, results: Iterable[dict]) -> Path:
    from .video import atomic_path

    path = out_dir / REPORT_NAME
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(list(results), indent=2))
    return path


def jobs_for(inputs: Sequence[Path], out_dir: Path, base: dict[str, Any], overrides: dict[Path, dict[str, Any]]) -> list[Job]:
    """One :class:`Job` per clip from the shared settings and each clip's overrides."""
    from .jobsfile import apply_overrides

    names = output_names(inputs, out_dir)
    jobs = []
    for path in inputs:
        settings = apply_overrides(base, overrides.get(path, {}))
        jobs.append(Job(input=os.fspath(path), output=os.fspath(names[path]), clip=os.fspath(path), **settings))
    return jobs

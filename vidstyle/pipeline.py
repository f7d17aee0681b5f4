"""Video: decode -> flow -> warm start + temporal loss -> optimise -> checkpoint -> encode.

Every finished frame is a PNG in a work directory beside the output, with a
line in ``log.jsonl``; a manifest records a hash of every setting that
affects pixels. Re-running the same command continues from the first missing
frame; previous stylized frames are always taken from their stored uint8
form, so a resumed run equals an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .config import RunConfig, VideoConfig
from .image import load_style_images
from .imaging import combine_luminance, fit_long_side, luminance, resize, to_tensor, to_uint8
from .objective import Objective
from .optimize import StepReport, optimize_pixels
from .runtime import load_extractor, resolve_device
from .styles import StyleEntry, mixed_gram_targets, parse_style_spec
from .temporal import FramePrep, prefetch, prepare_frames, temporal_offsets, warm_start
from .video import count_frames, encode_frames, ensure_not_input, iter_frames, parse_position, probe, read_image, write_image

log = logging.getLogger(__name__)
MANIFEST_VERSION = 1


@dataclass(frozen=True)
class FrameReport:
    """Progress of a video, after each finished frame."""

    index: int
    total: int
    iterations: int
    evaluations: int
    loss: float
    terms: dict[str, float]
    seconds: float
    cut: bool
    resumed: bool = False  # loaded from the work directory, not recomputed


@dataclass(frozen=True)
class VideoResult:
    output: Path
    frames: int
    resumed_frames: int
    cuts: list[int]  # frame indices (relative to --start) where a new shot began
    size: tuple[int, int]  # (width, height) of the output
    log: list[dict]


def work_dir_for(output: Path) -> Path:
    return output.with_name(f"{output.name}.vidstyle-work")


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class Checkpoint:
    """The work directory: manifest, finished frames, per-frame log."""

    def __init__(self, directory: Path, digest: str, total: int) -> None:
        self.directory, self.digest, self.total = directory, digest, total
        self.frames_dir = directory / "frames"
        self.log_path = directory / "log.jsonl"

    def frame_path(self, index: int) -> Path:
        return self.frames_dir / f"{index:06d}.png"

    def open(self, restart: bool) -> list[dict]:
        """Create or validate the directory; return the log of the finished frames (a contiguous prefix)."""
        manifest = self.directory / "manifest.json"
        if self.directory.exists() and restart:
            shutil.rmtree(self.directory)
        if manifest.is_file():
            stored = json.loads(manifest.read_text())
            if stored.get("digest") != self.digest:
                done = len(list(self.frames_dir.glob("*.png")))
                raise ValueError(
                    f"{self.directory} holds {done} frames made with different settings: "
                    "rerun with the same options, or add --restart to discard them"
                )
        else:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
            tmp = manifest.with_suffix(".tmp")
            tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "digest": self.digest, "frames": self.total}))
            os.replace(tmp, manifest)
        entries: list[dict] = []
        if self.log_path.is_file():
            for line in self.log_path.read_text().splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    break  # a torn last line from a kill: that frame is redone
                if entry.get("frame") != len(entries) or not self.frame_path(len(entries)).is_file():
                    break
                entries.append(entry)
        self._rewrite_log(entries)
        return entries

    def _rewrite_log(self, entries: list[dict]) -> None:
        tmp = self.log_path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(e) + "\n" for e in entries))
        os.replace(tmp, self.log_path)

    def save(self, index: int, frame: np.ndarray, entry: dict) -> None:
        """Frame first (atomically), then its log line: a frame counts once both exist."""
        write_image(self.frame_path(index), frame)
        with self.log_path.open("a") as handle:
            handle.write(json.dumps(entry) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def load(self, index: int) -> np.ndarray:
        return read_image(self.frame_path(index))


def _frame_range(input_path: Path, fps, start: str | None, end: str | None) -> tuple[int, int]:
    first = parse_position(start, fps) if start else 0
    decodable = count_frames(input_path)
    last = min(parse_position(end, fps), decodable) if end else decodable
    if decodable == 0:
        raise ValueError(f"expected a video with frames, got {input_path} with none that decode")
    if last <= first:
        raise ValueError(f"expected --start before --end within the clip's {decodable} frames, got frames {first}..{last}")
    return first, last


def stylize_video(
    input_path: Path | str,
    output: Path | str,
    styles: str | tuple[StyleEntry, ...],
    *,
    config: RunConfig = RunConfig(),
    video: VideoConfig = VideoConfig(),
    start: str | None = None,
    end: str | None = None,
    restart: bool = False,
    device: torch.device | str = "auto",
    on_frame: Callable[[FrameReport], None] | None = None,
    on_step: Callable[[StepReport], None] | None = None,
) -> VideoResult:
    """Stylize a clip into an H.264 MP4 (with the source audio), resumable; see the module docstring."""
    input_path, output = Path(input_path), Path(output)
    if output.suffix.lower() not in (".mp4", ".m4v"):
        raise ValueError(f"expected an output file ending in .mp4, got {os.fspath(output)!r}")
    ensure_not_input(output, input_path)
    info = probe(input_path)
    entries = parse_style_spec(styles) if isinstance(styles, str) else tuple(styles)
    offsets = temporal_offsets(config.temporal)
    first, last = _frame_range(input_path, info.fps, start, end)
    total = last - first
    height, width = fit_long_side(info.height, info.width, _cap(video.max_size, info))
    device = resolve_device(device) if isinstance(device, str) else device
    digest = config.digest(
        input=[os.fspath(input_path.resolve()), input_path.stat().st_size, input_path.stat().st_mtime_ns],
        styles=[(_file_digest(e.path), e.weight) for e in entries], range=[first, last], size=[width, height],
    )
    checkpoint = Checkpoint(work_dir_for(output), digest, total)
    finished = checkpoint.open(restart)
    torch.manual_seed(config.optim.seed)

    loss_cfg = config.loss
    extractor = load_extractor(config.features, loss_cfg.style_layers + loss_cfg.content_layers, device)
    grey = config.style.preserve_colors
    # Style images are sized (and, for luminance-only transfer, matched) against the first frame.
    first_frame = to_tensor(resize(next(iter_frames(input_path, first, first + 1)), height, width), device)
    style_images = load_style_images(entries, first_frame, config.style)
    style_targets = mixed_gram_targets(extractor, style_images, [e.weight for e in entries], loss_cfg.style_layers)

    frames = (resize(frame, height, width) for frame in iter_frames(input_path, first, last))
    known_cuts = {e["frame"]: e["cut"] for e in finished}
    preps = prefetch(prepare_frames(frames, config.temporal, skip_before=len(finished), known_cuts=known_cuts))
    keep = max(offsets, default=1)
    stylized: dict[int, np.ndarray] = {}
    entries_log = list(finished)
    shot_start = 0
    for prep in preps:
        if prep.cut:
            shot_start = prep.index
        if prep.index < len(finished):
            if prep.index >= len(finished) - keep:
                stylized[prep.index] = checkpoint.load(prep.index)
            if on_frame:
                e = finished[prep.index]
                on_frame(FrameReport(prep.index, total, e["iterations"], e["evaluations"], e["loss"], e["terms"],
                                     e["seconds"], e["cut"], resumed=True))
            continue
        started = time.perf_counter()
        frame, result = _stylize_frame(prep, stylized, shot_start, extractor, style_targets, config, device, grey, on_step)
        entry = {
            "frame": prep.index, "iterations": result.iterations, "evaluations": result.evaluations,
            "loss": result.loss, "terms": result.terms, "seconds": round(time.perf_counter() - started, 3),
            "cut": prep.cut and prep.index > 0, "shot_start": shot_start, "reliable": prep.reliable_fraction,
            "histogram_correlation": prep.histogram_correlation,
        }
        checkpoint.save(prep.index, frame, entry)
        entries_log.append(entry)
        stylized[prep.index] = frame
        stylized.pop(prep.index - keep, None)
        if on_frame:
            on_frame(FrameReport(prep.index, total, result.iterations, result.evaluations, result.loss, result.terms,
                                 entry["seconds"], entry["cut"]))

    out_size = (info.width, info.height) if video.output_size == "source" else (width, height)
    encode_frames(
        os.fspath(checkpoint.frames_dir / "%06d.png"), output, info.fps,
        audio_source=input_path if (video.audio and info.has_audio) else None,
        audio_start=float(first / info.fps), audio_duration=float(total / info.fps),
        size=out_size if out_size != (width, height) else None, crf=video.crf,
    )
    if not video.keep_frames:
        shutil.rmtree(checkpoint.directory, ignore_errors=True)
    cuts = [e["frame"] for e in entries_log if e["cut"]]
    even = (out_size[0] + out_size[0] % 2, out_size[1] + out_size[1] % 2)
    return VideoResult(output, total, len(finished), cuts, even, entries_log)


def _cap(max_size: int | None, info) -> int | None:
    """Never upscale for processing."""
    if max_size is None or max_size >= max(info.width, info.height):
        return None
    return max_size


def _stylize_frame(prep: FramePrep, stylized, shot_start, extractor, style_targets, config: RunConfig, device, grey,
                   on_step):
    content = to_tensor(prep.content, device)
    target = luminance(content) if grey else content
    temporal = config.temporal
    init, terms = (target.clone(), []) if prep.cut or not temporal.enabled else warm_start(
        prep, stylized, target, shot_start, grey=grey)
    if not terms and config.optim.init != "content":
        from .image import initial_image

        init = initial_image(config.optim.init, target, config.optim.seed)
    objective = Objective(extractor, config.loss, style_targets, target, temporal=terms,
                          temporal_weight=temporal.temporal_weight, bf16=config.precision == "bf16")
    cold = not terms
    result = optimize_pixels(
        init, objective, optimizer=config.optim.optimizer,
        iterations=temporal.first_iterations if cold else temporal.iterations,
        learning_rate=config.optim.learning_rate, tolerance=0.0 if cold else temporal.tolerance, callback=on_step,
    )
    image = combine_luminance(result.image, content) if grey else result.image
    return to_uint8(image), result

"""Painted-over frames: a stylized frame the artist edited, kept as given, that the clip follows.

``FRAME=IMAGE`` (``48=fixed.png``; the frame as ``--keep-frames`` numbers the PNGs of the range, ``48`` or ``48f``)
replaces frame ``FRAME``'s result by ``IMAGE`` (a stylized frame at the processing or the output size, resized to the
processing size when it is not). The frames after it start from it, warped by the flow, and are held to it by the
temporal term on the pixels the flow carries reliably, as every frame is held to the one before: the edit travels
with the motion and fades where the flow cannot vouch for it (an occlusion, the frame's edge) and at a scene cut.
With ``--passes 2`` or more the frames before it follow it the same way, backwards. A run that finished (or
stopped) keeps its work folder: adding, changing or removing an edit redoes the first pass from the earliest frame
it touches and every later pass; the first pass's frames before it are kept.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import SettingError
from ..media.images import read_image
from ..media.sizes import resize
from .checkpoint import Checkpoint, file_digest, write_checked
from .record import FrameRecord

EDITS_FILE = "edits.json"  # in the work folder: {frame: the edit's digest} the frames there were painted with
ASPECT_TOLERANCE = 0.02


@dataclass(frozen=True)
class PaintOver:
    """An edit as the user gave it: which frame of the range, which image."""

    frame: int
    path: Path

    def __str__(self) -> str:
        return f"{self.frame}={os.fspath(self.path)}"


def parse_paint_over(text: str, folder: Path | None = None) -> PaintOver:
    """``"48=fixed.png"`` or ``"48f=fixed.png"`` -> :class:`PaintOver` (a relative path against ``folder``)."""
    when, sep, path = str(text).partition("=")
    when = when.strip().lower().removesuffix("f")
    if not sep or not path.strip() or not when.isdigit():
        raise ValueError(f"expected FRAME=IMAGE like 48=fixed.png (the frame as the kept frames are numbered), got "
                         f"{text!r}")
    image = Path(path.strip()).expanduser()
    return PaintOver(int(when), folder / image if folder is not None and not image.is_absolute() else image)


def check_edits(edits: list[PaintOver], height: int, width: int, frames: int | None,
                key: str = "paint_over") -> None:
    """Every edit readable, of the frame's shape (any size), within the range, one per frame; one line each."""
    seen: dict[int, PaintOver] = {}
    for edit in edits:
        if edit.frame in seen:
            raise SettingError(key, f"expected one edit a frame, got two for frame {edit.frame}: "
                                    f"{os.fspath(seen[edit.frame].path)!r} and {os.fspath(edit.path)!r}")
        seen[edit.frame] = edit
        if frames is not None and edit.frame >= frames:
            raise SettingError(key, f"frame {edit.frame} is past the range's end ({frames} frames, 0-{frames - 1})")
        if not edit.path.is_file():
            raise SettingError(key, f"edit {os.fspath(edit.path)!r} does not exist")
        try:
            image = read_image(edit.path)
        except (ValueError, OSError) as exc:
            raise SettingError(key, f"edit {os.fspath(edit.path)!r}: {exc}") from None
        aspect, expected = image.shape[1] / image.shape[0], width / height
        if abs(aspect / expected - 1) > ASPECT_TOLERANCE:
            raise SettingError(key, f"edit {os.fspath(edit.path)!r} is {image.shape[1]}x{image.shape[0]}: expected "
                                    f"the frame's shape ({width}x{height} or any size of that aspect)")


def load_edits(edits: list[PaintOver], height: int, width: int) -> dict[int, np.ndarray]:
    """Each edit at the processing size, by frame."""
    out = {}
    for edit in edits:
        image = read_image(edit.path)
        out[edit.frame] = image if image.shape[:2] == (height, width) else resize(image, height, width)
    return out


def reconcile(checkpoint: Checkpoint, edits: list[PaintOver], finished: list[FrameRecord]) -> list[FrameRecord]:
    """The finished records still valid with ``edits``: when the edits differ from those the work folder was
    painted with, the first pass's frames from the earliest frame that changed and every later pass's are
    dropped (redone); the edits are then recorded."""
    path = checkpoint.directory / EDITS_FILE
    stored = {int(k): v for k, v in json.loads(path.read_text()).items()} if path.is_file() else {}
    wanted = {edit.frame: file_digest(edit.path) for edit in edits}
    changed = {f for f in stored.keys() | wanted.keys() if stored.get(f) != wanted.get(f)}
    if not changed:
        return finished
    first = min(changed)
    kept = [r for r in finished if r.pass_index == 1 and r.frame < first]
    if len(kept) != len(finished):
        checkpoint.keep_only(kept)
    write_checked(path, json.dumps({str(k): v for k, v in sorted(wanted.items())}).encode())
    return kept


def edited_record(frame: int, pts: int, duration: int, cut: bool, shot_start: int, reliable: float | None,
                  correlation: float | None, pass_index: int) -> FrameRecord:
    """The record of a frame kept as the artist gave it: no iterations, no loss of its own."""
    return FrameRecord(frame, pts, duration, 0, 0, 0.0, {"edited": 1.0}, 0.0, cut, shot_start, reliable, correlation,
                       (), pass_index=pass_index)

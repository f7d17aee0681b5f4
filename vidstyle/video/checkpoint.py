"""The video work directory ``OUTPUT.vidstyle-work/``: manifest (settings hash), finished frames,
per-frame log, masks, and the encode in progress.

A frame counts as finished once its PNG and its log line both exist; the log
is the source of truth, so a torn write from a kill is redone, never trusted.
A directory without a finished frame holds nothing worth keeping: it is
replaced whatever settings made it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..media.stills import read_grey, read_image, write_image

MANIFEST_VERSION = 2  # 2: log entries carry source timestamps


def work_dir_for(output: Path) -> Path:
    return output.with_name(f"{output.name}.vidstyle-work")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


class Checkpoint:
    """The work directory: manifest, finished frames, per-frame log."""

    def __init__(self, directory: Path, digest: str) -> None:
        self.directory, self.digest = directory, digest
        self.frames_dir = directory / "frames"
        self.log_path = directory / "log.jsonl"

    def frame_path(self, index: int) -> Path:
        return self.frames_dir / f"{index:06d}.png"

    @property
    def encode_part(self) -> Path:
        """Where the output is encoded before it is moved into place (removed with the directory)."""
        return self.directory / "encode.part.mp4"

    def open(self, restart: bool) -> list[dict]:
        """Create or validate the directory; return the log of the finished frames (a contiguous prefix)."""
        manifest = self.directory / "manifest.json"
        if restart and self.directory.exists():
            shutil.rmtree(self.directory)
        stored = json.loads(manifest.read_text()) if manifest.is_file() else None
        entries = self.finished() if stored is not None else []
        if stored is not None and (stored.get("digest"), stored.get("version")) != (self.digest, MANIFEST_VERSION):
            if entries:
                raise ValueError(
                    f"{self.directory} holds {len(entries)} finished frames made with different settings: "
                    "rerun with the same options, or add --restart to discard them"
                )
            shutil.rmtree(self.directory)  # nothing finished: nothing worth keeping
            stored = None
        if stored is None:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
            tmp = manifest.with_suffix(".tmp")
            tmp.write_text(json.dumps({"version": MANIFEST_VERSION, "digest": self.digest}))
            os.replace(tmp, manifest)
        self.encode_part.unlink(missing_ok=True)  # left by a run killed while encoding
        self._rewrite_log(entries)
        return entries

    def finished(self) -> list[dict]:
        """Log entries of the finished frames: the contiguous prefix whose PNG and log line both exist."""
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

    def mask_path(self, region: int, index: int) -> Path:
        return self.directory / "masks" / str(region) / f"{index:06d}.png"

    def load_mask(self, region: int, index: int) -> np.ndarray:
        return read_grey(self.mask_path(region, index)).astype(np.float32) / 255.0

    def save_mask(self, region: int, index: int, mask: np.ndarray) -> None:
        write_image(self.mask_path(region, index), np.round(mask * 255).astype(np.uint8))

    def _masks_done(self, region: int) -> Path:
        return self.directory / "masks" / f"{region}.done"

    def masks_complete(self, region: int) -> bool:
        """Whether region ``region``'s pre-pass finished (its masks are all there)."""
        return self._masks_done(region).is_file()

    def mark_masks_complete(self, region: int, count: int) -> None:
        self._masks_done(region).write_text(f"{count}\n")

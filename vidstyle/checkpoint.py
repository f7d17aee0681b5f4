"""The video work directory: manifest (settings hash), finished frames, per-frame log, masks.

A frame counts as finished once its PNG and its log line both exist; the log
is the source of truth, so a torn write from a kill is redone, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from .video import read_grey, read_image, write_image

MANIFEST_VERSION = 1


def work_dir_for(output: Path) -> Path:
    return output.with_name(f"{output.name}.vidstyle-work")


def file_digest(path: Path) -> str:
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

    def mask_path(self, region: int, index: int) -> Path:
        return self.directory / "masks" / str(region) / f"{index:06d}.png"

    def load_mask(self, region: int, index: int) -> np.ndarray:
        return read_grey(self.mask_path(region, index)).astype(np.float32) / 255.0

"""The video work directory ``OUTPUT.vidstyle-work/``: lock, manifest (settings hash), finished frames,
per-frame log, masks, and the encode in progress.

A frame counts as finished once its PNG and its log line both exist and the PNG's bytes match the
hash in that line; the log is the source of truth, so a torn write from a kill is redone, never
trusted, and a damaged frame (a cut copy, a disk that filled) is recomputed with every frame after
it. A directory without a finished frame holds nothing worth keeping: it is replaced whatever
settings made it. One run at a time owns a directory: an OS lock on ``lock`` that dies with its
process, so a killed run never leaves a stale one.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..media.files import atomic_path
from ..media.images import encode_image, read_grey, read_image
from .record import FrameRecord

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: runs are not locked there
    fcntl = None

log = logging.getLogger(__name__)
MANIFEST_VERSION = 3  # 3: log entries carry the hash of their frame's PNG
LOCK_NAME = "lock"


class BusyError(ValueError):
    """Another run holds the work directory."""


class DiskFullError(OSError):
    """A write failed for want of space; what was finished is intact."""

    def __init__(self, what: Path | str) -> None:
        super().__init__(errno.ENOSPC, f"no space left on the device while writing {os.fspath(what)}: free some "
                                       "space and run the same command again (finished frames are kept)")

    def __str__(self) -> str:
        return self.strerror


def work_dir_for(output: Path) -> Path:
    return output.with_name(f"{output.name}.vidstyle-work")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def bytes_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_checked(path: Path, data: bytes) -> None:
    """Write ``data`` atomically; a full disk is one clear error (the partial file is removed)."""
    try:
        with atomic_path(path) as tmp:
            tmp.write_bytes(data)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise DiskFullError(path) from None
        raise


class WorkLock:
    """An exclusive ``flock`` on ``DIR/lock`` that names its holder (pid and start time) in the file."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / LOCK_NAME
        self.fd: int | None = None

    def acquire(self, target: str) -> None:
        if fcntl is None:
            return
        while True:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # the folder vanished in between: a run just finished
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "another process"
                os.close(fd)
                raise BusyError(f"another vidstyle run ({holder}) is working on {target}: wait for it to finish "
                                "or stop it") from None
            try:  # a finishing run removes the folder: the file we locked must still be the one at the path
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}".encode(), 0)
            self.fd = fd
            return

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def ensure_free(output: Path) -> None:
    """Raise :class:`BusyError` now if another run holds ``output``'s work directory (a front end's early check,
    before it draws progress; the run itself takes the lock for good)."""
    directory = work_dir_for(output)
    if not (directory / LOCK_NAME).is_file():
        return
    lock = WorkLock(directory)
    lock.acquire(os.fspath(output))
    lock.release()


class Checkpoint:
    """The work directory: lock, manifest, finished frames, per-frame log, masks. Use it as a context
    manager: the lock is held from :meth:`open` until the block ends."""

    def __init__(self, directory: Path, digest: str, target: str = "") -> None:
        self.directory, self.digest = directory, digest
        self.target = target or os.fspath(directory)
        self.frames_dir = directory / "frames"
        self.log_path = directory / "log.jsonl"
        self.lock = WorkLock(directory)
        self.damaged: str | None = None  # what open() found damaged, said once by the caller

    def __enter__(self) -> Checkpoint:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.lock.release()

    def frame_path(self, index: int) -> Path:
        return self.frames_dir / f"{index:06d}.png"

    @property
    def encode_part(self) -> Path:
        """Where the output is encoded before it is moved into place (removed with the directory)."""
        return self.directory / "encode.part.mp4"

    def _clear(self) -> None:
        """Empty the directory but for the lock this run holds."""
        for item in self.directory.iterdir() if self.directory.is_dir() else ():
            if item.name != LOCK_NAME:
                shutil.rmtree(item) if item.is_dir() and not item.is_symlink() else item.unlink()

    def open(self, restart: bool) -> list[FrameRecord]:
        """Lock and create or validate the directory; return the log of the finished frames (a contiguous,
        verified prefix). Raises :class:`BusyError` when another run holds it."""
        self.lock.acquire(self.target)
        manifest = self.directory / "manifest.json"
        if restart:
            self._clear()
        stored = json.loads(manifest.read_text()) if manifest.is_file() else None
        entries = self.finished() if stored is not None else []
        if stored is not None and (stored.get("digest"), stored.get("version")) != (self.digest, MANIFEST_VERSION):
            if entries:
                raise ValueError(
                    f"{self.directory} holds {len(entries)} finished frames made with different settings: "
                    "rerun with the same settings, or `restart` to discard them"
                )
            self._clear()  # nothing finished: nothing worth keeping
            stored = None
        if stored is None:
            self.frames_dir.mkdir(parents=True, exist_ok=True)
            write_checked(manifest, json.dumps({"version": MANIFEST_VERSION, "digest": self.digest}).encode())
        self.encode_part.unlink(missing_ok=True)  # left by a run killed while encoding
        self._rewrite_log(entries)
        return entries

    def finished(self, verify: bool = True) -> list[FrameRecord]:
        """Records of the finished frames: the contiguous prefix whose PNG exists, has its log line, and
        (``verify``) matches the hash in it. The first damaged frame ends the prefix (see :attr:`damaged`)."""
        records: list[FrameRecord] = []
        if not self.log_path.is_file():
            return records
        for line in self.log_path.read_text().splitlines():
            try:
                record = FrameRecord.from_json(line)
            except ValueError:
                break  # a torn last line from a kill: that frame is redone
            index = len(records)
            path = self.frame_path(index)
            if record.frame != index:
                break
            if not path.is_file():
                self.damaged = f"frame {index} is missing from {self.frames_dir}"
                break
            if verify and bytes_digest(path.read_bytes()) != record.sha256:
                self.damaged = f"frame {index} in {self.frames_dir} is damaged"
                break
            records.append(record)
        return records

    def _rewrite_log(self, records: list[FrameRecord]) -> None:
        write_checked(self.log_path, "".join(r.to_json() + "\n" for r in records).encode())

    def save(self, frame: np.ndarray, record: FrameRecord) -> FrameRecord:
        """Frame first (atomically), then its log line with the frame's hash: a frame counts once both exist.
        Returns the record as logged."""
        data = encode_image(frame, ".png")
        write_checked(self.frame_path(record.frame), data)
        record = replace(record, sha256=bytes_digest(data))
        try:
            with self.log_path.open("a") as handle:
                handle.write(record.to_json() + "\n")
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # a torn line is not trusted on resume
                raise DiskFullError(self.log_path) from None
            raise
        return record

    def load(self, index: int) -> np.ndarray:
        return read_image(self.frame_path(index))

    def mask_path(self, region: int, index: int) -> Path:
        return self.directory / "masks" / str(region) / f"{index:06d}.png"

    def load_mask(self, region: int, index: int) -> np.ndarray:
        return read_grey(self.mask_path(region, index)).astype(np.float32) / 255.0

    def save_mask(self, region: int, index: int, mask: np.ndarray) -> str:
        """Write one mask; returns the hash of its PNG."""
        data = encode_image(np.round(mask * 255).astype(np.uint8), ".png")
        write_checked(self.mask_path(region, index), data)
        return bytes_digest(data)

    def _masks_done(self, region: int) -> Path:
        return self.directory / "masks" / f"{region}.done"

    def masks_complete(self, region: int) -> bool:
        """Whether region ``region``'s pre-pass finished and every mask it wrote is intact."""
        done = self._masks_done(region)
        if not done.is_file():
            return False
        try:
            hashes = json.loads(done.read_text())["sha256"]
        except (ValueError, KeyError, TypeError):
            hashes = None
        for index, digest in enumerate(hashes or [None]):
            path = self.mask_path(region, index)
            if digest is None or not path.is_file() or bytes_digest(path.read_bytes()) != digest:
                self.damaged = f"the masks of region {region} in {self.directory / 'masks'} are damaged"
                return False
        return True

    def mark_masks_complete(self, region: int, hashes: list[str]) -> None:
        write_checked(self._masks_done(region), json.dumps({"count": len(hashes), "sha256": hashes}).encode())

    def remove(self) -> None:
        """Delete the directory (after a successful encode), the lock last."""
        self._clear()
        shutil.rmtree(self.directory, ignore_errors=True)

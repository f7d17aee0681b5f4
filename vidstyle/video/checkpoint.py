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

import bisect
import errno
import hashlib
import io
import json
import logging
import os
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

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
TRUST_NAME = "carry-trust.npz"  # a chunk's carry: where its paint is still the shot's first painting


class BusyError(ValueError):
    """Another run holds the work directory."""


class DiskFullError(OSError):
    """A write failed for want of space; what was finished is intact."""

    def __init__(self, what: Path | str) -> None:
        super().__init__(errno.ENOSPC, f"no space left on the device while writing {os.fspath(what)}: free some "
                                       "space and run the same command again (finished frames are kept)")

    def __str__(self) -> str:
        return self.strerror


def next_visits(done: list[FrameRecord]) -> set[tuple[int, int]]:
    """The ``(pass, frame)`` that may follow the finished ``done``: the first pass counts up from frame 0 (and may
    have ended at its last frame, the clip's end, when a second pass begins); each later pass runs the other way
    over the first pass's frames, from its end."""
    if not done:
        return {(1, 0)}
    last = done[-1]
    if last.pass_index == 1:
        return {(1, last.frame + 1), (2, last.frame)}
    count = bisect.bisect_right(done, 1, key=lambda r: r.pass_index)  # the first pass's frames lead the order
    step = -1 if last.pass_index % 2 == 0 else 1
    frame = last.frame + step
    if 0 <= frame < count:
        return {(last.pass_index, frame)}
    return {(last.pass_index + 1, 0 if step == -1 else count - 1)}


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

    def frame_path(self, index: int, pass_index: int = 1) -> Path:
        """Frame ``index`` as pass ``pass_index`` painted it: ``frames/`` for the first pass, ``passN/`` after."""
        folder = self.frames_dir if pass_index == 1 else self.directory / f"pass{pass_index}"
        return folder / f"{index:06d}.png"

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
        for stale in self.directory.rglob("*.part*"):  # what a killed run was writing: an encode, a frame, the log
            if stale.is_file():  # (the lock is ours now: no live run writes here)
                stale.unlink(missing_ok=True)
        self._rewrite_log(entries)
        return entries

    def finished(self, verify: bool = True) -> list[FrameRecord]:
        """Records of the finished frames, in the order they were painted: the first pass's frames 0, 1, 2, ...,
        then each later pass's in its direction (pass 2 from the last frame down, pass 3 up again, ...). A record
        counts when its PNG exists, it is next in that order, and (``verify``) the PNG matches the hash in it.
        The first one that does not ends the prefix (see :attr:`damaged`)."""
        records: list[FrameRecord] = []
        if not self.log_path.is_file():
            return records
        for line in self.log_path.read_text().splitlines():
            try:
                record = FrameRecord.from_json(line)
            except ValueError:
                break  # a torn last line from a kill: that frame is redone
            if (record.pass_index, record.frame) not in next_visits(records):
                break
            path = self.frame_path(record.frame, record.pass_index)
            if not path.is_file():
                self.damaged = f"frame {record.frame} is missing from {path.parent}"
                break
            if verify and bytes_digest(path.read_bytes()) != record.sha256:
                self.damaged = f"frame {record.frame} in {path.parent} is damaged"
                break
            records.append(record)
        return records

    def keep_only(self, records: list[FrameRecord]) -> None:
        """Forget every finished frame but ``records`` (a prefix of the painting order): the others are redone."""
        self._rewrite_log(records)

    def _rewrite_log(self, records: list[FrameRecord]) -> None:
        write_checked(self.log_path, "".join(r.to_json() + "\n" for r in records).encode())

    def save(self, frame: np.ndarray, record: FrameRecord) -> FrameRecord:
        """Frame first (atomically), then its log line with the frame's hash: a frame counts once both exist.
        Returns the record as logged."""
        data = encode_image(frame, ".png")
        path = self.frame_path(record.frame, record.pass_index)
        path.parent.mkdir(exist_ok=True)
        write_checked(path, data)
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

    def load(self, index: int, pass_index: int = 1) -> np.ndarray:
        return read_image(self.frame_path(index, pass_index))

    # --- what later passes read again: each frame's input and its flows both ways ---------------------
    def input_path(self, index: int) -> Path:
        return self.directory / "inputs" / f"{index:06d}.png"

    def save_input(self, index: int, content: np.ndarray) -> None:
        """Frame ``index``'s input at the processing size (later passes run backwards: nothing decodes backwards)."""
        self.input_path(index).parent.mkdir(exist_ok=True)
        write_checked(self.input_path(index), encode_image(content, ".png"))

    def load_input(self, index: int) -> np.ndarray:
        return read_image(self.input_path(index))

    def motion_path(self, index: int, way: str) -> Path:
        return self.directory / "motion" / f"{way}-{index:06d}.npz"

    def save_motion(self, index: int, way: str, flow: torch.Tensor, reliable: torch.Tensor) -> None:
        """Frame ``index``'s flow towards its neighbour (``way``: ``back`` to the previous frame, ``ahead`` to the
        next) and its reliability, ``(1, 2, H, W)`` and ``(1, 1, H, W)``, as a compressed array file."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, flow=flow[0].numpy().astype(np.float32), reliable=reliable[0, 0].numpy())
        path = self.motion_path(index, way)
        path.parent.mkdir(exist_ok=True)
        write_checked(path, buffer.getvalue())

    def load_motion(self, index: int, way: str) -> tuple[torch.Tensor, torch.Tensor] | None:
        """What :meth:`save_motion` wrote, or None when there is none (a cut, or the clip's end)."""
        path = self.motion_path(index, way)
        if not path.is_file():
            return None
        with np.load(path) as data:
            return torch.from_numpy(data["flow"])[None], torch.from_numpy(data["reliable"])[None, None]

    def save_trust(self, index: int, trust: torch.Tensor | None) -> None:
        """A chunk's carry after frame ``index``: its trust map ``(1, 1, H, W)`` (None: all of it), replacing the
        last one (only the latest is read back, when a run resumes within the carry)."""
        buffer = io.BytesIO()
        np.savez_compressed(buffer, index=index, trust=np.zeros(0, np.float32) if trust is None
                            else trust[0, 0].numpy().astype(np.float32))
        write_checked(self.directory / TRUST_NAME, buffer.getvalue())

    def load_trust(self) -> tuple[int, torch.Tensor | None] | None:
        """What :meth:`save_trust` wrote last: ``(index, trust)``, or None."""
        path = self.directory / TRUST_NAME
        if not path.is_file():
            return None
        with np.load(path) as data:
            trust = data["trust"]
            return int(data["index"]), (torch.from_numpy(trust)[None, None] if trust.size else None)

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

"""Output safety: atomic writes, never over an input."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(target: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; rename it onto ``target`` only on success."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".part{target.suffix}", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    try:
        yield tmp_path
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; give the usual mode
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def ensure_not_input(output: Path, *inputs: Path) -> None:
    """Refuse to write over any input file."""
    for source in inputs:
        if output.exists() and source.exists() and os.path.samefile(output, source):
            raise ValueError(f"refusing to overwrite the input {os.fspath(source)!r}: choose another -o")
        if output.resolve() == source.resolve():
            raise ValueError(f"refusing to overwrite the input {os.fspath(source)!r}: choose another -o")


def check_input(path: Path, what: str = "input") -> Path:
    """An existing, readable file (not a folder); the message names the path as typed."""
    text = os.fspath(path)
    if not text.strip():
        raise ValueError(f"expected a path for the {what}, got an empty one")
    if not path.exists():
        raise FileNotFoundError(f"{what} {text!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{what} {text!r} is a directory: expected a file")
    if not os.access(path, os.R_OK):
        raise PermissionError(f"{what} {text!r} is not readable")
    return path


def writable_folder(folder: Path) -> Path:
    """The folder itself, or its nearest existing parent (which mkdir would create it in); refuse if not writable."""
    probe = folder if str(folder) else Path(".")
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise ValueError(f"cannot create the folder {os.fspath(folder)!r}: {os.fspath(probe)!r} is a file")
    try:  # a real write: permissions, read-only mounts and ACLs all answer the same way
        with tempfile.TemporaryFile(dir=probe, prefix=".vidstyle-write-check-"):
            pass
    except OSError as exc:
        raise PermissionError(f"cannot write to the folder {os.fspath(probe)!r}: {exc.strerror or exc}") from None
    return probe


def check_output(output: Path, suffixes: tuple[str, ...], inputs: tuple[Path, ...] = (), what: str = "output") -> Path:
    """Refuse, before any work, an output that could not be written or would replace an input."""
    text = os.fspath(output)
    if not text.strip():
        raise ValueError(f"expected a path for the {what}, got an empty one")
    if output.is_dir():
        raise ValueError(f"{what} {text!r} is a directory: expected a file name ending in {suffixes[0]}")
    if output.suffix.lower() not in suffixes:
        raise ValueError(f"expected an {what} ending in {', '.join(suffixes)}, got {text!r}")
    ensure_not_input(output, *inputs)
    writable_folder(output.parent)
    return output

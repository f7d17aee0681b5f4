"""What the studio may read and write: the folders it was given, its uploads, its output folder. No Gradio.

Every name that comes from the page goes through :meth:`Library.resolve`: it must name a media
file inside one of the roots or the uploads, after following symlinks, so ``../..``, absolute
paths elsewhere and links leading out are refused. Everything the studio writes lives under the
output folder (uploads, thumbnails, masks, previews, renders and their work folders).
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..batch.tasks import VIDEO_SUFFIXES
from ..core.styles import list_styles
from ..media.decode import Position, read_frames
from ..media.files import atomic_path
from ..media.images import IMAGE_SUFFIXES, is_image_path, read_image, write_image
from ..media.probe import VideoInfo, probe
from ..media.sizes import fit_long_side, resize

STUDIO_DIR = ".studio"  # under the output folder: uploads, thumbnails, masks, previews, the queue


class Refused(ValueError):
    """A request the studio does not serve (a path outside its folders, a bad upload): shown in the page, beside the
    control of ``key`` (the job's key it is about, when it is about one)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Facts:
    """What the page shows about a medium before any work."""

    path: Path
    kind: str  # "video" or "image"
    width: int
    height: int
    fps: Fraction | None = None
    duration: float | None = None
    frames: int | None = None
    audio: bool = False
    rotation: int = 0
    colour: str = ""

    def describe(self) -> str:
        if self.kind == "image":
            return f"{self.path.name}: still image, {self.width}x{self.height}"
        parts = [f"{self.width}x{self.height}", f"{float(self.fps):.3g} fps" if self.fps else "",
                 f"{self.duration:.2f} s" if self.duration else "", f"{self.frames} frames" if self.frames else "",
                 "with audio" if self.audio else "no audio", f"rotated {self.rotation} deg" if self.rotation else "",
                 self.colour]
        return f"{self.path.name}: " + ", ".join(p for p in parts if p)


class Library:
    """The media the studio may open and the folder it writes to."""

    def __init__(self, roots: list[Path], out: Path, max_upload: int = 2 << 30, weights: str | None = None) -> None:
        self.roots = [r.resolve() for r in roots]
        self.weights = weights  # the VGG19 weights every job uses (None: the embedded default)
        self.out = out.resolve()
        self.work = self.out / STUDIO_DIR
        self.uploads = self.work / "uploads"
        self.max_upload = max_upload
        for folder in (self.uploads, self.work / "paintings", self.work / "thumbs", self.work / "masks",
                       self.work / "previews", self.work / "edits"):
            folder.mkdir(parents=True, exist_ok=True)
        self._infos: dict[Path, VideoInfo] = {}

    # --- what may be read -------------------------------------------------------------------------
    def readable_roots(self) -> list[Path]:
        return [*self.roots, self.uploads]

    def media(self) -> list[str]:
        """Every video and image under the roots and the uploads, as names the page can send back."""
        found: list[str] = []
        for root in self.readable_roots():
            files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
            for path in files:
                if root != self.uploads and self.work in path.resolve().parents:
                    continue  # the studio's own files (thumbnails, previews) when --out lies inside a root
                if path.suffix.lower() in VIDEO_SUFFIXES + IMAGE_SUFFIXES and self._inside(path.resolve()):
                    found.append(os.fspath(path))
        return found

    def _inside(self, path: Path) -> bool:
        return any(path == root or root in path.parents for root in self.readable_roots())

    def resolve(self, name: str | os.PathLike | None) -> Path:
        """A medium the page named, refused unless it is a file inside the roots or the uploads (after links)."""
        if name is None or not os.fspath(name).strip():
            raise Refused("choose a clip or an image first", key="input")
        text = os.fspath(name)
        candidates = [Path(text)] if Path(text).is_absolute() else [
            root if root.is_file() and text == root.name else root / text for root in self.readable_roots()]
        for candidate in candidates:
            real = candidate.resolve()
            if self._inside(real) and real.is_file():
                if real.suffix.lower() not in VIDEO_SUFFIXES + IMAGE_SUFFIXES:
                    raise Refused(f"{text!r} is not a video or an image this studio opens", key="input")
                return real
        raise Refused(f"{text!r} is not a file in the folders this studio was given", key="input")

    def writable(self, path: Path) -> Path:
        """``path`` if it lies inside the output folder (after links), else refused."""
        real = path.resolve()
        if not (real == self.out or self.out in real.parents):
            raise Refused(f"the studio writes only into its output folder, not {path}")
        return real

    # --- uploads ----------------------------------------------------------------------------------
    def accept_upload(self, temporary: str | os.PathLike, painting: bool = False, name: str | None = None) -> Path:
        """Move an uploaded file into the studio's uploads (or paintings), after checking it opens. ``name`` is the
        file's name on the user's machine: messages say it, never the server's cache path."""
        source = Path(temporary)
        name = Path(name).name if name else source.name
        key = "styles" if painting else "input"
        if not source.is_file():
            raise Refused("the upload did not arrive; try again", key=key)
        size = source.stat().st_size
        if size > self.max_upload:
            raise Refused(f"{name} is {_bytes(size)}; the studio takes at most {_bytes(self.max_upload)} "
                          "(vidstyle studio --max-upload)", key=key)
        suffix = source.suffix.lower()
        allowed = IMAGE_SUFFIXES if painting else VIDEO_SUFFIXES + IMAGE_SUFFIXES
        if suffix not in allowed:
            raise Refused(f"{name}: expected {'an image' if painting else 'a video or an image'}, got a "
                          f"{suffix or 'file'} file", key=key)
        try:
            if is_image_path(source):
                read_image(source)
            else:
                info = probe(source)
                if next(read_frames(source, info=info), None) is None:
                    raise ValueError("it has no frames that decode")
        except (ValueError, OSError) as exc:
            reason = str(exc).replace(os.fspath(source), name).replace(os.fspath(source.parent), "")
            raise Refused(f"{name} does not open: {reason.splitlines()[0] if reason else type(exc).__name__}",
                          key=key) from None
        folder = self.work / ("paintings" if painting else "uploads")
        target = self.writable(folder / _safe_name(name))
        with atomic_path(target) as tmp:
            shutil.copyfile(source, tmp)
        return target

    # --- facts and frames -------------------------------------------------------------------------
    def info(self, path: Path) -> VideoInfo:
        if path not in self._infos:
            self._infos[path] = probe(path)
        return self._infos[path]

    def facts(self, name: str) -> Facts:
        path = self.resolve(name)
        if is_image_path(path):
            image = read_image(path)
            return Facts(path, "image", image.shape[1], image.shape[0])
        info = self.info(path)
        return Facts(path, "video", info.width, info.height, info.fps,
                     float(info.duration) if info.duration else None, info.estimated_frames(), info.has_audio,
                     info.rotation, info.colour.describe())

    def frame(self, name: str, index: int = 0, long_side: int | None = 640) -> np.ndarray:
        """Frame ``index`` of a clip (the image itself for a still), found by seeking, not decoding from the start."""
        path = self.resolve(name)
        if is_image_path(path):
            image = read_image(path)
        else:
            frame = next(read_frames(path, Position(frame=max(0, int(index))), None, self.info(path)), None)
            if frame is None:
                raise Refused(f"{path.name} has no frame {index}", key="frame")
            image = frame.image
        height, width = fit_long_side(*image.shape[:2], long_side) if long_side else image.shape[:2]
        return resize(image, height, width)

    # --- styles -----------------------------------------------------------------------------------
    def style(self, name: str) -> str:
        """A style the page named: a library style's name, or a painting uploaded to this studio (refused
        otherwise, so a style cannot name a file outside the studio's folders)."""
        text = str(name).strip()
        if text in {style.name for style in list_styles()}:
            return text
        real = Path(text).resolve() if Path(text).is_absolute() else (self.work / "paintings" / text).resolve()
        if real.parent == (self.work / "paintings").resolve() and real.is_file():
            return os.fspath(real)
        known = ", ".join(style.name for style in list_styles())
        raise Refused(f"no style {text!r} (the library has {known}; or upload a painting)", key="styles")

    def styles(self) -> list[tuple[str, Path, str]]:
        """``(name, thumbnail, credit)`` of every library style and uploaded painting."""
        out = []
        for style in list_styles():
            out.append((style.name, self._thumbnail(style.path, style.name), style.credit or style.origin))
        for path in sorted((self.work / "paintings").iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                out.append((os.fspath(path), self._thumbnail(path, "upload-" + path.stem), "uploaded painting"))
        return out

    def _thumbnail(self, image: Path, name: str) -> Path:
        target = self.work / "thumbs" / f"{_safe_name(name)}.jpg"
        if not target.is_file():
            picture = read_image(image)
            height, width = fit_long_side(*picture.shape[:2], 160)
            write_image(target, resize(picture, height, width))
        return target


def _bytes(count: int) -> str:
    return f"{count / 2**20:.0f} MiB" if count >= 2**20 else f"{count / 2**10:.0f} KiB"


def _safe_name(name: str) -> str:
    """A file name with nothing but letters, digits, dots, dashes and underscores (never a path)."""
    cleaned = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name).lstrip(".")
    return cleaned or "file"

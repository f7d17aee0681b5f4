"""Style specs (``name:weight,...``) and the style library: names -> image files.

A spec entry is a library name or an image path with an optional weight
(default 1). Weights are normalised to sum to 1. Names resolve, first match
wins, in the directories of ``VIDSTYLE_STYLE_PATH``, the user library, then
the built-ins: public-domain paintings shipped in the package
(``vidstyle/assets/NOTICE.md``) and procedural textures rendered on first use.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from ..config import SettingError
from .. import assets
from ..media.images import IMAGE_SUFFIXES, read_image
from . import textures

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class StyleEntry:
    source: str  # as written by the user: a name or a path
    path: Path  # the resolved image file
    weight: float  # normalised: the entries of a spec sum to 1


@dataclass(frozen=True)
class LibraryStyle:
    name: str
    path: Path
    origin: str  # "VIDSTYLE_STYLE_PATH", "user" or "built-in"
    credit: str = ""  # for built-ins: artist, title, year, licence
    note: str = ""


def user_library_dir() -> Path:
    """Per-user library: ``$VIDSTYLE_HOME/styles`` or ``$XDG_DATA_HOME/vidstyle/styles``."""
    if os.environ.get("VIDSTYLE_HOME"):
        return Path(os.environ["VIDSTYLE_HOME"]) / "styles"
    data = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(data) / "vidstyle" / "styles"


def _images_in(directory: Path) -> dict[str, Path]:
    if not directory.is_dir():
        return {}
    found = {}
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file():
            found.setdefault(path.stem, path)
    return found


@dataclass(frozen=True)
class Painting:
    file: str  # in vidstyle/assets/paintings/
    artist: str
    title: str
    year: int
    licence: str
    note: str = ""

    @property
    def credit(self) -> str:
        return f"{self.artist}, {self.title} ({self.year}); {self.licence}"


PAINTINGS: dict[str, Painting] = {
    "vangogh": Painting("vangogh.jpg", "Vincent van Gogh", "The Starry Night", 1889, "public domain"),
    "matisse": Painting("matisse.jpg", "Henri Matisse", "Woman with a Hat", 1905, "public domain"),
    "leger": Painting("leger.jpg", "Fernand Léger", "Contrast of Forms", 1913, "public domain"),
    "mondrian": Painting("mondrian.jpg", "Piet Mondrian", "Tableau No. 2 / Composition No. VII", 1913,
                         "public domain"),
    # Picasso's own paintings are under copyright; a Cubist canvas of the same year stands in.
    "picasso": Painting("leger.jpg", "Fernand Léger", "Contrast of Forms", 1913, "public domain",
                        "Cubist stand-in: Picasso's paintings are under copyright; "
                        "`vidstyle styles add picasso FILE` uses yours"),
}


def builtin_styles() -> list[LibraryStyle]:
    """The styles every install has: the shipped paintings, then the procedural textures."""
    paintings = [LibraryStyle(name, assets.path("paintings", p.file), "built-in", p.credit, p.note)
                 for name, p in PAINTINGS.items()]
    return paintings + [LibraryStyle(name, textures.builtin_path(name), "built-in",
                                     "procedural texture rendered by vidstyle; MIT") for name in textures.BUILTIN_NAMES]


def list_styles() -> list[LibraryStyle]:
    """Every name the library resolves, first hit wins (env path, user, built-in)."""
    seen: dict[str, LibraryStyle] = {}
    env_dirs = [Path(d) for d in os.environ.get("VIDSTYLE_STYLE_PATH", "").split(os.pathsep) if d]
    for directory in env_dirs:
        for name, path in _images_in(directory).items():
            seen.setdefault(name, LibraryStyle(name, path, "VIDSTYLE_STYLE_PATH"))
    for name, path in _images_in(user_library_dir()).items():
        seen.setdefault(name, LibraryStyle(name, path, "user"))
    for style in builtin_styles():
        seen.setdefault(style.name, style)
    return sorted(seen.values(), key=lambda s: s.name)


def _near(name: str, options: list[str]) -> str:
    close = difflib.get_close_matches(name, options, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def resolve_style(source: str) -> Path:
    """A library name or an existing image path -> image path."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if path.is_dir():
        raise ValueError(f"style {source!r} is a directory: expected an image file or a style name")
    if NAME_PATTERN.match(source) and Path(source).suffix.lower() not in IMAGE_SUFFIXES:
        styles = list_styles()
        for style in styles:
            if style.name == source:
                return style.path
        names = [s.name for s in styles]
        raise ValueError(f"unknown style {source!r}{_near(source, names)}: expected one of {', '.join(names)} "
                         "or an image path")
    raise FileNotFoundError(f"style image {source!r} does not exist")


def _parse_weight(entry: str, text: str) -> float:
    try:
        weight = float(text)
    except ValueError:
        raise ValueError(f"style entry {entry!r}: expected a number after ':', got {text!r}") from None
    if not math.isfinite(weight):
        raise ValueError(f"style entry {entry!r}: expected a finite weight, got {text!r}")
    if weight < 0:
        raise ValueError(f"style entry {entry!r}: expected a weight >= 0, got {weight:g}")
    return weight


def _split_entries(spec: str) -> list[str]:
    """Split at commas, except where a comma belongs to an existing file's name (``my,style.jpg:0.5``)."""
    pieces = spec.split(",")
    entries: list[str] = []
    i = 0
    while i < len(pieces):
        for j in range(len(pieces), i + 1, -1):  # the longest run of two or more pieces that names a file wins
            joined = ",".join(pieces[i:j]).strip()
            weighted = ":" in pieces[j - 1]  # a weight never holds a comma: it sits in the last piece
            name = joined if Path(joined).expanduser().is_file() or not weighted else joined.rsplit(":", 1)[0]
            if Path(name).expanduser().is_file():
                entries.append(joined)
                i = j
                break
        else:
            entries.append(pieces[i].strip())
            i += 1
    return entries


def _parse_entry(entry: str) -> tuple[str, float]:
    source, weight = entry, 1.0
    if ":" in entry and not Path(entry).expanduser().is_file():
        source, text = entry.rsplit(":", 1)
        weight = _parse_weight(entry, text.strip())
        source = source.strip()
        if not source:
            raise ValueError(f"style entry {entry!r}: expected a name or path before ':'")
    return source, weight


def split_style_spec(spec: str) -> list[tuple[str, float]]:
    """``"vangogh:0.6,picasso"`` -> ``[("vangogh", 0.6), ("picasso", 1.0)]``: the names and weights as given (not
    resolved, not normalised)."""
    if not spec or not spec.strip():
        raise ValueError("expected a style spec such as 'swirl' or 'swirl:0.6,mosaic:0.4', got an empty one")
    raw: list[tuple[str, float]] = []
    for entry in _split_entries(spec):
        if not entry:
            raise ValueError(f"style spec {spec!r} has an empty entry: expected name[:weight] between commas")
        raw.append(_parse_entry(entry))
    return raw


def parse_style_spec(spec: str) -> tuple[StyleEntry, ...]:
    """``"vangogh:0.6,path/to/picasso.jpg:0.4"`` -> resolved, normalised entries."""
    raw = split_style_spec(spec)
    paths = [resolve_style(source) for source, _ in raw]
    seen: dict[Path, str] = {}
    for (source, _), path in zip(raw, paths):
        key = path.resolve()
        if key in seen:
            raise ValueError(f"style {source!r} is listed twice in {spec!r}: give it once with the summed weight")
        seen[key] = source
    largest = max(weight for _, weight in raw)
    if largest <= 0:
        raise ValueError(f"style spec {spec!r}: expected at least one weight > 0, got all zero")
    # Divide by the largest first: 1e308 + 1e308 would overflow to inf.
    scaled = [weight / largest for _, weight in raw]
    total = sum(scaled)
    return tuple(StyleEntry(source, path, w / total) for (source, _), path, w in zip(raw, paths, scaled))


def add_style(name: str, image: Path, *, force: bool = False) -> Path:
    """Copy ``image`` into the user library as ``name``; validates that it decodes."""
    if not NAME_PATTERN.match(name) or Path(name).suffix.lower() in IMAGE_SUFFIXES:
        raise ValueError(f"expected a style name of letters, digits, '_', '-' or '.', got {name!r}")
    read_image(image)  # raises a one-line error if it does not decode
    directory = user_library_dir()
    existing = [p for p in _images_in(directory).values() if p.stem == name]
    if existing and not force:
        raise SettingError("force", f"style {name!r} already exists at {existing[0]}: use `force` to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}{image.suffix.lower()}"
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(image, tmp)
    for old in existing:
        if old != target:
            old.unlink()
    os.replace(tmp, target)
    return target

"""Style specs (``name:weight,...``), the style library, and mixed Gram targets.

A spec entry is a library name or an image path with an optional weight
(default 1). Weights are normalised to sum to 1 and the style target of each
layer is ``sum_i w_i * Gram_i``, computed once per run.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from . import textures
from .features import VGGFeatures
from .losses import gram

NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


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


def list_styles() -> list[LibraryStyle]:
    """Every name the library resolves, first hit wins (env path, user, built-in)."""
    seen: dict[str, LibraryStyle] = {}
    env_dirs = [Path(d) for d in os.environ.get("VIDSTYLE_STYLE_PATH", "").split(os.pathsep) if d]
    for directory in env_dirs:
        for name, path in _images_in(directory).items():
            seen.setdefault(name, LibraryStyle(name, path, "VIDSTYLE_STYLE_PATH"))
    for name, path in _images_in(user_library_dir()).items():
        seen.setdefault(name, LibraryStyle(name, path, "user"))
    for name in textures.BUILTIN_NAMES:
        if name not in seen:
            seen[name] = LibraryStyle(name, textures.builtin_path(name), "built-in")
    return sorted(seen.values(), key=lambda s: s.name)


def resolve_style(source: str) -> Path:
    """A library name or an existing image path -> image path."""
    path = Path(source).expanduser()
    if path.is_file():
        return path
    if NAME_PATTERN.match(source) and Path(source).suffix.lower() not in IMAGE_SUFFIXES:
        for style in list_styles():
            if style.name == source:
                return style.path
        names = ", ".join(s.name for s in list_styles())
        raise ValueError(f"unknown style {source!r}: expected one of {names} or an image path")
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


def parse_style_spec(spec: str) -> tuple[StyleEntry, ...]:
    """``"vangogh:0.6,path/to/picasso.jpg:0.4"`` -> resolved, normalised entries."""
    if not spec or not spec.strip():
        raise ValueError("expected a style spec such as 'swirl' or 'swirl:0.6,mosaic:0.4', got an empty one")
    raw: list[tuple[str, float]] = []
    for entry in spec.split(","):
        entry = entry.strip()
        if not entry:
            raise ValueError(f"style spec {spec!r} has an empty entry: expected name[:weight] between commas")
        source, weight = entry, 1.0
        if ":" in entry and not Path(entry).expanduser().is_file():
            source, text = entry.rsplit(":", 1)
            weight = _parse_weight(entry, text.strip())
            source = source.strip()
            if not source:
                raise ValueError(f"style entry {entry!r}: expected a name or path before ':'")
        raw.append((source, weight))
    paths = [resolve_style(source) for source, _ in raw]
    seen: dict[Path, str] = {}
    for (source, _), path in zip(raw, paths):
        key = path.resolve()
        if key in seen:
            raise ValueError(f"style {source!r} is listed twice in {spec!r}: give it once with the summed weight")
        seen[key] = source
    total = sum(weight for _, weight in raw)
    if total <= 0:
        raise ValueError(f"style spec {spec!r}: expected at least one weight > 0, got all zero")
    return tuple(StyleEntry(source, path, weight / total) for (source, weight), path in zip(raw, paths))


def add_style(name: str, image: Path, *, force: bool = False) -> Path:
    """Copy ``image`` into the user library as ``name``; validates that it decodes."""
    from .video import read_image  # local: keeps styles importable without cv2 at module import

    if not NAME_PATTERN.match(name) or Path(name).suffix.lower() in IMAGE_SUFFIXES:
        raise ValueError(f"expected a style name of letters, digits, '_', '-' or '.', got {name!r}")
    read_image(image)  # raises a one-line error if it does not decode
    directory = user_library_dir()
    existing = [p for p in _images_in(directory).values() if p.stem == name]
    if existing and not force:
        raise FileExistsError(f"style {name!r} already exists at {existing[0]}: use --force to replace it")
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{name}{image.suffix.lower()}"
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(image, tmp)
    for old in existing:
        if old != target:
            old.unlink()
    os.replace(tmp, target)
    return target


@torch.no_grad()
def mixed_gram_targets(
    extractor: VGGFeatures, images: Sequence[torch.Tensor], weights: Sequence[float], layers: Sequence[str]
) -> dict[str, torch.Tensor]:
    """``{layer: sum_i w_i * Gram(features_i)}`` for ``(1, 3, H_i, W_i)`` style images."""
    if len(images) != len(weights) or not images:
        raise ValueError(f"expected as many weights as style images (>= 1), got {len(weights)} and {len(images)}")
    targets: dict[str, torch.Tensor] = {}
    for image, weight in zip(images, weights):
        features = extractor(image)
        for name in layers:
            contribution = weight * gram(features[name])
            targets[name] = targets[name] + contribution if name in targets else contribution
    return targets

"""``--jobs jobs.toml``: per-clip overrides for ``vidstyle batch``, validated before any work starts.

    [defaults]              # optional: applies to every clip
    styles = "swirl"

    [clips."intro.mp4"]     # a clip by file name, or by path relative to this file
    styles = "mosaic:0.5,swirl:0.5"
    end = "5s"
    mask = "masks/intro.png"
    max_size = 384
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("an integer")
    return value


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a number")
    return float(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TypeError("a non-empty string")
    return value


def _position(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise TypeError("seconds (2.5) or a frame like \"75f\"")
    return str(value)


def _offsets(value: Any) -> list[int]:
    items = value.split(",") if isinstance(value, str) else value
    try:
        offsets = [int(v) for v in items]
    except (TypeError, ValueError):
        raise TypeError("frame offsets like [1, 10, 20]") from None
    if not offsets or min(offsets) < 1:
        raise TypeError("frame offsets >= 1")
    return offsets


def _choice(*options: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if value not in options:
            raise TypeError(" or ".join(repr(o) for o in options))
        return value
    return check


# key -> (validator, where it lands in a job's settings)
KEYS: dict[str, tuple[Callable[[Any], Any], tuple[str, ...]]] = {
    "styles": (_text, ("styles",)),
    "background_style": (_text, ("background_style",)),
    "mask": (_text, ("mask", "path")),
    "mask_keyframe": (_int, ("mask", "keyframe")),
    "invert_mask": (_bool, ("mask", "invert")),
    "feather": (_int, ("mask", "feather")),
    "start": (_position, ("start",)),
    "end": (_position, ("end",)),
    "max_size": (_int, ("video", "max_size")),
    "output_size": (_choice("source", "processing"), ("video", "output_size")),
    "no_audio": (lambda v: not _bool(v), ("video", "audio")),
    "iterations": (_int, ("config", "temporal", "iterations")),
    "first_iterations": (_int, ("config", "temporal", "first_iterations")),
    "temporal_weight": (_number, ("config", "temporal", "temporal_weight")),
    "long_term": (_offsets, ("config", "temporal", "long_term")),
    "no_temporal": (lambda v: not _bool(v), ("config", "temporal", "enabled")),
    "content_weight": (_number, ("config", "loss", "content_weight")),
    "style_weight": (_number, ("config", "loss", "style_weight")),
    "tv_weight": (_number, ("config", "loss", "tv_weight")),
    "style_scale": (_number, ("config", "style", "style_scale")),
    "preserve_colors": (_bool, ("config", "style", "preserve_colors")),
    "seed": (_int, ("config", "optim", "seed")),
}
Overrides = dict[tuple[str, ...], Any]


def _validate(table: dict, where: str) -> Overrides:
    overrides: Overrides = {}
    for key, value in table.items():
        if key not in KEYS:
            raise ValueError(f"{where}: unknown key {key!r} (expected one of {', '.join(sorted(KEYS))})")
        check, target = KEYS[key]
        try:
            overrides[target] = check(value)
        except TypeError as exc:
            raise ValueError(f"{where}: key {key!r}: expected {exc}, got {value!r}") from None
    return overrides


def load_jobs(path: Path, inputs: Sequence[Path]) -> tuple[Overrides, dict[Path, Overrides]]:
    """Validated ``(defaults, {input: overrides})``; every error names the file, the clip and the key."""
    if not path.is_file():
        raise FileNotFoundError(f"jobs file {str(path)!r} does not exist")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(data) - {"defaults", "clips"}
    if unknown:
        raise ValueError(f"{path}: unknown table {sorted(unknown)[0]!r} (expected [defaults] and [clips.\"NAME\"])")
    defaults = _validate(data.get("defaults", {}), f"{path}: [defaults]")
    per_clip: dict[Path, Overrides] = {}
    for name, table in data.get("clips", {}).items():
        where = f"{path}: clip {name!r}"
        if not isinstance(table, dict):
            raise ValueError(f"{where}: expected a table of settings")
        matches = [p for p in inputs if p.name == name or p == (path.parent / name).resolve()]
        if not matches:
            raise ValueError(f"{where}: matches none of the inputs")
        if len(matches) > 1:
            raise ValueError(f"{where}: matches {len(matches)} inputs; name it by its path relative to {path.name}")
        per_clip[matches[0]] = _validate(table, where)
    for overrides in (defaults, *per_clip.values()):  # mask paths are relative to the jobs file
        if ("mask", "path") in overrides:
            overrides[("mask", "path")] = str((path.parent / overrides[("mask", "path")]).resolve())
    return defaults, per_clip


def apply_overrides(base: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """A deep copy of ``base`` with each override set at its place (a mask override creates the mask)."""
    settings = copy.deepcopy(base)
    for target, value in overrides.items():
        node = settings
        for part in target[:-1]:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        node[target[-1]] = value
    return settings

"""``--jobs jobs.toml``: per-clip overrides for ``vidstyle batch``, validated before any work starts.

    [defaults]              # optional: applies to every clip
    styles = "vangogh"

    [clips."intro.mp4"]     # a clip by file name, or by path relative to this file
    styles = "matisse:0.5,leger:0.5"
    end = "5s"
    mask = "masks/intro.png"
    max_size = 384

The keys are the video command's options with underscores: the settings
(``max_size``, ``first_iterations``, ``crf``, ...) come from the config schema
(``vidstyle.config``), so a new setting is a new key without code here; the
inputs (``styles``, ``mask``, ``region``, ...) are listed in :data:`INPUT_KEYS`.
"""

from __future__ import annotations

import copy
import difflib
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from ..config import VIDEO, MaskConfig, RunConfig, VideoConfig, settings_of
from ..media.decode import parse_position
from ..regions.sources import parse_names, parse_rect, parse_region

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Overrides = dict[tuple[str, ...], Any]
Parser = Callable[[Any, Path], Any]  # (value as written, the jobs file's folder) -> value for the job


def _text(value: Any, _: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text, got {value!r}")
    return value


def _path(value: Any, folder: Path) -> str:
    """A path relative to the jobs file."""
    return os.fspath((folder / _text(value, folder)).resolve())


def _keyframe(value: Any, _: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"expected a frame index >= 0, got {value!r}")
    return value


def _position(value: Any, _: Path) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected seconds (2.5) or a frame like \"75f\", got {value!r}")
    parse_position(str(value))
    return str(value)


def _regions(value: Any, folder: Path) -> list[list[str]]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not items:
        raise ValueError(f"expected \"MASK=SPEC\" or a list of them, got {value!r}")
    regions = []
    for item in items:
        mask, spec = parse_region(_text(item, folder))
        regions.append([os.fspath((folder / mask).resolve()), spec])
    return regions


# The inputs a clip may override: key -> (parser, where it lands in a job).
INPUT_KEYS: dict[str, tuple[Parser, tuple[str, ...]]] = {
    "styles": (_text, ("styles",)),
    "background_style": (_text, ("background_style",)),
    "mask": (_path, ("mask", "path")),
    "mask_keyframe": (_keyframe, ("mask", "keyframe")),
    "grabcut": (lambda v, _: list(parse_rect(v)), ("mask", "grabcut")),
    "segment": (_text, ("mask", "segment")),
    "classes": (lambda v, _: list(parse_names(v)), ("mask", "classes")),
    "labels": (_path, ("mask", "labels")),
    "region": (_regions, ("regions",)),
    "start": (_position, ("start",)),
    "end": (_position, ("end",)),
}


def _setting_keys() -> dict[str, tuple[Parser, tuple[str, ...]]]:
    """One key per setting offered to video commands, parsed and range-checked by its own schema."""
    keys = {}
    for root, cls in (("config", RunConfig), ("video", VideoConfig), ("masks", MaskConfig)):
        for path, item, kind in settings_of(cls):
            spec = item.metadata["setting"]
            if VIDEO in spec.commands:
                keys[spec.key_for(item.name)] = (lambda v, _, s=spec, k=kind: s.from_user(v, k), (root, *path))
    return keys


KEYS: dict[str, tuple[Parser, tuple[str, ...]]] = {**_setting_keys(), **INPUT_KEYS}


def _validate(table: dict, where: str, folder: Path) -> Overrides:
    overrides: Overrides = {}
    for key, value in table.items():
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown key {key!r}{hint}; the keys are the video options with underscores: "
                             f"{', '.join(sorted(KEYS))}")
        parse, target = KEYS[key]
        if isinstance(value, dict):
            raise ValueError(f"{where}: key {key!r}: expected a value, got a table")
        try:
            overrides[target] = parse(value, folder)
        except ValueError as exc:
            raise ValueError(f"{where}: key {key!r}: {exc}") from None
    return overrides


def load_jobs(path: Path, inputs: Sequence[Path]) -> tuple[Overrides, dict[Path, Overrides]]:
    """Validated ``(defaults, {input: overrides})``; every error names the file, the table and the key."""
    if not path.is_file():
        raise FileNotFoundError(f"jobs file {os.fspath(path)!r} does not exist" if not path.is_dir()
                                else f"jobs file {os.fspath(path)!r} is a directory: expected a TOML file")
    try:
        data = tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{os.fspath(path)}: not valid TOML: {exc}") from None
    name = os.fspath(path)
    unknown = set(data) - {"defaults", "clips"}
    if unknown:
        raise ValueError(f"{name}: unknown table {sorted(unknown)[0]!r}: expected [defaults] and [clips.\"NAME\"]")
    folder = path.parent
    defaults = data.get("defaults", {})
    if not isinstance(defaults, dict):
        raise ValueError(f"{name}: 'defaults' must be a table: [defaults]")
    per_clip: dict[Path, Overrides] = {}
    clips = data.get("clips", {})
    if not isinstance(clips, dict):
        raise ValueError(f"{name}: 'clips' must hold tables: [clips.\"NAME\"]")
    for clip, table in clips.items():
        where = f"{name}: [clips.{clip!r}]"
        if not clip.strip():
            raise ValueError(f"{name}: a [clips.\"\"] table has an empty clip name: expected a file name")
        if not isinstance(table, dict):
            raise ValueError(f"{where}: expected a table of settings")
        matches = [p for p in inputs if p.name == clip or p == (folder / clip).resolve()]
        if not matches:
            names = [p.name for p in inputs]
            close = difflib.get_close_matches(clip, names, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: matches none of the inputs{hint}")
        if len(matches) > 1:
            raise ValueError(f"{where}: matches {len(matches)} inputs; name it by its path relative to {path.name}")
        per_clip[matches[0]] = _validate(table, where, folder)
    return _validate(defaults, f"{name}: [defaults]", folder), per_clip


MASK_KINDS = ("path", "grabcut", "segment")  # a job's mask comes from exactly one of these


def apply_overrides(base: dict[str, Any], overrides: Overrides) -> dict[str, Any]:
    """A deep copy of ``base`` with each override set at its place.

    A mask override creates the mask; naming where it comes from (``mask``,
    ``grabcut`` or ``segment``) replaces the other two.
    """
    settings = copy.deepcopy(base)
    for target, value in overrides.items():
        if target[0] == "mask" and target[-1] in MASK_KINDS and settings.get("mask"):
            settings["mask"] = {k: v for k, v in settings["mask"].items() if k not in MASK_KINDS}
        node = settings
        for part in target[:-1]:
            if node.get(part) is None:
                node[part] = {}
            node = node[part]
        node[target[-1]] = value
    return settings

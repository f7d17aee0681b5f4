"""``jobs.toml``: per-clip overrides for ``vidstyle batch``, validated before any work starts.

    [defaults]              # optional: applies to every clip
    styles = "vangogh"

    [clips."intro.mp4"]     # a clip by file name, or by path relative to this file
    styles = "matisse:0.5,leger:0.5"
    end = "5s"
    mask = "masks/intro.png"
    max_size = 384

The keys are the keys of :class:`~vidstyle.job.Job` that a video offers (``keys_for("batch")``):
every setting of the config schema, the mask-source fields and the job's own, so a new setting or mask
field is a new key without code here. Paths are relative to the jobs file. Each value is checked by the
same parser the CLI's option uses, before any clip is decoded; errors name the file, the table and the key.
"""

from __future__ import annotations

import difflib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..config import MENTION, SettingError
from ..regions.sources import FIELDS_BY_KEY, ORIGINS, parse_region
from ..video.paintover import parse_paint_over
from ..job import Job, parse_value, keys_for
from .tasks import Task, output_names

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

Values = dict[str, Any]


def toml_words(exc: SettingError) -> str:
    """A job error in jobs.toml's words: ``key 'mask_keyframe': ...``, other keys quoted."""
    return f"key {exc.key!r}: {MENTION.sub(lambda m: repr(m.group(1)), exc.message)}"


def absolute(key: str, value: Any, folder: Path) -> Any:
    """``value`` with its paths made absolute against ``folder`` (mask-source paths and region masks)."""
    if key in FIELDS_BY_KEY and FIELDS_BY_KEY[key].path and isinstance(value, str) and value.strip():
        return os.fspath((folder / value).resolve())
    if key == "paint_over":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            try:
                return [str(parse_paint_over(item, folder)) for item in items]
            except ValueError:
                return value  # reported by the key's own check, in its words
    if key == "region":
        items = [value] if isinstance(value, str) else value
        if isinstance(items, list) and all(isinstance(i, str) for i in items):
            return [f"{os.fspath((folder / m).resolve())}={spec}" for m, spec in map(parse_region, items)]
    return value


def _validate(table: Mapping[str, Any], where: str, folder: Path) -> Values:
    values: Values = {}
    keys = keys_for("batch")
    for key, value in table.items():
        if key not in keys:
            close = difflib.get_close_matches(key, keys, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: unknown key {key!r}{hint}; the keys are the video options with underscores: "
                             f"{', '.join(sorted(keys))}")
        if isinstance(value, dict):
            raise ValueError(f"{where}: key {key!r}: expected a value, got a table")
        try:
            value = absolute(key, value, folder)
            parse_value(key, value, None)
        except SettingError as exc:
            raise ValueError(f"{where}: {toml_words(exc)}") from None
        except ValueError as exc:
            raise ValueError(f"{where}: key {key!r}: {exc}") from None
        values[key] = value
    return values


def load_jobs(path: Path, inputs: Sequence[Path]) -> tuple[Values, dict[Path, Values]]:
    """Validated ``(defaults, {input: values})``; every error names the file, the table and the key."""
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
    clips = data.get("clips", {})
    if not isinstance(clips, dict):
        raise ValueError(f"{name}: 'clips' must hold tables: [clips.\"NAME\"]")
    per_clip: dict[Path, Values] = {}
    for clip, table in clips.items():
        where = f"{name}: [clips.{clip!r}]"
        if not clip.strip():
            raise ValueError(f"{name}: a [clips.\"\"] table has an empty clip name: expected a file name")
        if not isinstance(table, dict):
            raise ValueError(f"{where}: expected a table of settings")
        matches = [p for p in inputs if p.name == clip or p == (folder / clip).resolve()]
        if not matches:
            close = difflib.get_close_matches(clip, [p.name for p in inputs], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{where}: matches none of the inputs{hint}")
        if len(matches) > 1:
            raise ValueError(f"{where}: matches {len(matches)} inputs; name it by its path relative to {path.name}")
        per_clip[matches[0]] = _validate(table, where, folder)
    return _validate(defaults, f"{name}: [defaults]", folder), per_clip


def merge(*layers: Mapping[str, Any]) -> Values:
    """Values of later layers over earlier ones; a layer that names where the mask comes from (``mask``,
    ``grabcut`` or ``segment``) replaces the other two."""
    merged: Values = {}
    for layer in layers:
        given = {k: v for k, v in layer.items() if v is not None}
        if any(k in ORIGINS for k in given):
            merged = {k: v for k, v in merged.items() if k not in ORIGINS}
        merged.update(given)
    return merged


def tasks_for(inputs: Sequence[Path], out_dir: Path, base: Values, defaults: Values, per_clip: dict[Path, Values],
              *, device: str = "auto", threads: int | None = None, jobs_file: Path | None = None,
              suffix: str = ".mp4") -> list[Task]:
    """One checked :class:`Task` per clip: the command's values, then jobs.toml's defaults, then the clip's; its
    output ``out_dir/NAME{suffix}``."""
    names = output_names(inputs, out_dir, suffix)
    tasks = []
    for path in inputs:
        values = merge(base, defaults, per_clip.get(path, {}), {"input": path, "output": names[path]})
        try:
            job = Job.from_values(values)
        except SettingError as exc:
            where = f"{os.fspath(jobs_file)}: " if jobs_file else ""
            raise ClipError(f"{where}clip {path.name!r}", exc) from None
        tasks.append(Task(job, device, threads, os.fspath(path)))
    return tasks


class ClipError(ValueError):
    """A clip's job is wrong: ``where`` (the jobs file and the clip) and the job's error, for each front end to word."""

    def __init__(self, where: str, error: SettingError) -> None:
        self.where, self.error = where, error
        super().__init__(f"{where}: {error}")

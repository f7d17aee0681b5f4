"""One piece of work, described once: :class:`Job`.

A job is an input and an output, the styles, the regions with their mask sources, a range and the
settings. Every front end builds it the same way, from user values by *key* (the jobs.toml key,
which errors name too): the CLI from its options, jobs.toml from a table, the studio from its
widgets, Python callers with :meth:`Job.from_values` or the constructor. :meth:`Job.check`
validates it in the library, so no check lives only in a front end, and :meth:`Job.to_argv` and
:meth:`Job.to_toml` write it back as a command line and a jobs.toml table.

The keys: every setting of the config schema (``vidstyle.config``), the mask-source fields
(``vidstyle.regions.sources.SOURCE_FIELDS``) and the few of the job itself (:data:`JOB_KEYS`).
"""

from __future__ import annotations

import dataclasses
import os
import shlex
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import (BATCH, IMAGE, MASK, VIDEO, ImageConfig, MaskConfig, RunConfig, Setting, SettingError, VideoConfig,
                      from_dict, settings_of)
from .core.styles import parse_style_spec
from .media.decode import parse_position
from .media.encode import VIDEO_OUTPUTS
from .paint.keys import parse_style_key
from .media.files import check_input, check_output
from .media.images import IMAGE_SUFFIXES, is_image_path
from .regions.sources import FIELDS_BY_KEY, SOURCE_FIELDS, MaskSource, SourceField, parse_region

ROOTS = (("run", RunConfig), ("video", VideoConfig), ("masks", MaskConfig), ("image", ImageConfig))


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a non-empty text, got {value!r}")
    return value


def _position(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"expected seconds (2.5) or a frame like \"75f\", got {value!r}")
    parse_position(str(value))
    return str(value)


def _each(parse: Callable[[str], Any], strip: bool = True) -> Callable[[Any], tuple[str, ...]]:
    """A repeatable key's parser: one text or a list of them, each checked by ``parse``, kept as written."""
    def parsed(value: Any) -> tuple[str, ...]:
        items = [value] if isinstance(value, str) else list(value or ())
        for item in items:
            parse(_text(item))
        return tuple(str(item).strip() if strip else item for item in items)

    return parsed


def parse_paint_over(text: str, folder: Path | None = None) -> Any:
    """:func:`vidstyle.video.paintover.parse_paint_over`, imported when a job has painted-over frames."""
    from .video.paintover import parse_paint_over as parse

    return parse(text, folder)


_style_keys, _paint_over, _regions = _each(parse_style_key), _each(parse_paint_over), _each(parse_region, False)


@dataclass(frozen=True)
class JobKey:
    """A key of the job itself (not a setting, not a mask source): how it is parsed and shown."""

    key: str
    help: str
    parse: Callable[[Any], Any]
    commands: frozenset[str] = frozenset({IMAGE, VIDEO})
    metavar: str | None = None
    multiple: bool = False


JOB_KEYS: tuple[JobKey, ...] = (
    JobKey("styles", "Styles as name[:weight],... (names from `vidstyle styles list`, or image paths).", _text),
    JobKey("region", "MASK=SPEC: a region with its own styles (repeatable).", _regions, multiple=True),
    JobKey("style_key", "TIME=STYLES: from TIME (4s, 96f) the mix is STYLES, reached in a straight line from the "
                        "key before (or from `styles` at the start); TIME:hold=STYLES keeps the mix before until "
                        "TIME. Repeatable; a scene cut ends a ramp at once; with --passes 2 the frames follow "
                        "a ramp more closely and reach the key's painting.", _style_keys, frozenset({VIDEO}),
           multiple=True),
    JobKey("paint_over", "FRAME=IMAGE: frame FRAME (as --keep-frames numbers the PNGs) painted over by you, kept "
                         "as given; the frames after it start from it and follow it as the flow carries it (those "
                         "before it too with --passes 2). Repeatable; a rerun redoes only from the edited frame.",
           _paint_over, frozenset({VIDEO}), multiple=True),
    JobKey("background_style", "Styles for what no mask covers (default: keep the content).", _text),
    JobKey("start", "First frame: seconds (2.5, 2.5s) or a frame index (75f).", _position, frozenset({VIDEO, MASK})),
    JobKey("end", "End (exclusive): seconds or a frame index (75f).", _position, frozenset({VIDEO, MASK})),
)
JOB_KEYS_BY_NAME = {k.key: k for k in JOB_KEYS}


@dataclass(frozen=True)
class SettingKey:
    """A setting of the config schema, reachable by its key."""

    key: str
    root: str
    path: tuple[str, ...]
    name: str
    kind: Any
    spec: Setting


def setting_keys() -> dict[str, SettingKey]:
    """Every setting by key (video naming: ``first_iterations`` is the cold-start budget, ``iterations`` the
    later frames')."""
    keys: dict[str, SettingKey] = {}
    for root, cls in ROOTS:
        for path, item, kind in settings_of(cls):
            spec: Setting = item.metadata["setting"]
            key = spec.key_for(item.name)
            keys[key] = SettingKey(key, root, path, item.name, kind, spec)
    return keys


SETTINGS = setting_keys()


def keys_for(command: str) -> list[str]:
    """The keys a command offers (``video`` also covers batch and jobs.toml): settings, sources, the job's."""
    scopes = {VIDEO, BATCH} if command == BATCH else {command}
    keys = [k for k, s in SETTINGS.items() if scopes & s.spec.commands]
    keys += [f.key for f in SOURCE_FIELDS]
    return keys + [k.key for k in JOB_KEYS if scopes & k.commands]


def flag_for(key: str, command: str) -> str:
    """The CLI option of ``key`` in ``command`` (the schema's own flag for settings)."""
    setting = SETTINGS.get(key)
    if setting is not None:
        return setting.spec.flag_for(setting.name, VIDEO if command == "batch" else command)
    return "--" + key.replace("_", "-")


def parse_value(key: str, raw: Any, folder: Path | None) -> Any:
    """A user value (CLI text, TOML value, widget value) of ``key`` -> the job's value; errors name the key."""
    try:
        if key in SETTINGS:
            setting = SETTINGS[key]
            return setting.spec.from_user(raw, setting.kind)
        if key in FIELDS_BY_KEY:
            spec: SourceField = FIELDS_BY_KEY[key]
            value = spec.parse(raw)
            return folder / value if spec.path and folder is not None and not Path(value).is_absolute() else value
        if key in JOB_KEYS_BY_NAME:
            value = JOB_KEYS_BY_NAME[key].parse(raw)
            if key == "paint_over" and folder is not None:
                value = tuple(str(parse_paint_over(item, folder)) for item in value)
            if key == "region" and folder is not None:
                value = tuple(f"{folder / mask if not Path(mask).is_absolute() else mask}={spec}"
                              for mask, spec in map(parse_region, value))
            return value
    except SettingError:
        raise
    except ValueError as exc:
        raise SettingError(key, str(exc)) from None
    raise SettingError(key, "unknown key")


@dataclass(frozen=True)
class Parts:
    """User values parsed: the configs, the mask of the styles, the regions, and every value by key."""

    run: RunConfig
    video: VideoConfig
    masks: MaskConfig
    image: ImageConfig
    mask: MaskSource | None
    regions: tuple[Region, ...]
    values: dict[str, Any]


def parse_values(values: Mapping[str, Any], folder: Path | None = None) -> Parts:
    """Parse and check user values by key (settings, mask sources, the job's own keys; not input or output)."""
    unknown = [k for k in values if k not in SETTINGS and k not in FIELDS_BY_KEY and k not in JOB_KEYS_BY_NAME]
    if unknown:
        raise SettingError(unknown[0], "unknown key")
    parsed = {k: parse_value(k, v, folder) for k, v in values.items() if v is not None}
    trees: dict[str, dict] = {root: {} for root, _ in ROOTS}
    for key, value in parsed.items():
        if key in SETTINGS:
            setting = SETTINGS[key]
            node = trees[setting.root]
            for part in setting.path[:-1]:
                node = node.setdefault(part, {})
            node[setting.path[-1]] = value
    configs = {root: from_dict(cls_, trees[root]) for root, cls_ in ROOTS}
    masks: MaskConfig = configs["masks"]
    mask = MaskSource.from_values({k: v for k, v in parsed.items() if k in FIELDS_BY_KEY}, masks)
    keyframe = parsed.get("mask_keyframe")
    regions = tuple(Region(MaskSource(path=Path(m), keyframe=keyframe, options=masks, key="region"), spec)
                    for m, spec in map(parse_region, parsed.get("region", ())))
    if keyframe is not None and (mask is None or mask.segment is not None) and not regions:
        raise SettingError("mask_keyframe", "expected `mask_keyframe` together with `mask` or `grabcut`")
    return Parts(configs["run"], configs["video"], masks, configs["image"], mask, regions, parsed)


@dataclass(frozen=True)
class Region:
    """A region with its own styles: where (a mask source) and which spec."""

    source: MaskSource
    styles: str


@dataclass(frozen=True)
class Job:
    """A video or a still to stylize, with everything that decides its pixels (see the module docstring)."""

    input: Path
    output: Path
    styles: str | None = None
    mask: MaskSource | None = None  # where ``styles`` apply (None: the whole frame)
    regions: tuple[Region, ...] = ()
    background_style: str | None = None
    start: str | None = None
    end: str | None = None
    run: RunConfig = field(default_factory=RunConfig)
    video: VideoConfig = field(default_factory=VideoConfig)
    masks: MaskConfig = field(default_factory=MaskConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    style_key: tuple[str, ...] = ()  # the mix of ``styles`` over time: "TIME=STYLES" (vidstyle.paint.keys)
    paint_over: tuple[str, ...] = ()  # frames painted over: "FRAME=IMAGE" (vidstyle.video.paintover)

    @property
    def kind(self) -> str:
        """``image`` when the input is an image file (a still), else ``video``."""
        return IMAGE if is_image_path(self.input) else VIDEO

    @classmethod
    def from_values(cls, values: Mapping[str, Any], *, folder: Path | None = None) -> Job:
        """A checked job from user values by key (``input`` and ``output`` included). Paths in ``values`` are
        relative to ``folder`` when given (a jobs file's), else as given."""
        parts = parse_values({k: v for k, v in values.items() if k not in ("input", "output")}, folder)
        job = cls(Path(_required(values, "input")), Path(_required(values, "output")), parts.values.get("styles"),
                  parts.mask, parts.regions, parts.values.get("background_style"), parts.values.get("start"),
                  parts.values.get("end"), parts.run, parts.video, parts.masks, parts.image,
                  tuple(parts.values.get("style_key", ())), tuple(parts.values.get("paint_over", ())))
        return job.check()

    def check(self) -> Job:
        """Everything about the job that can be wrong without decoding a frame; returns the job. Errors are
        :class:`~vidstyle.config.SettingError` naming the key."""
        _keyed("input", check_input, self.input, "video" if self.kind == VIDEO else "content image")
        _keyed("output", check_output, self.output, tuple(VIDEO_OUTPUTS) if self.kind == VIDEO else IMAGE_SUFFIXES,
               (self.input,))
        for key, spec in (("styles", self.styles), ("background_style", self.background_style)):
            if spec is not None:
                _keyed(key, parse_style_spec, spec)
        for region in self.regions:
            _keyed("region", parse_style_spec, region.styles)
        for key in self.style_key:
            _keyed("style_key", parse_style_key, key)
        for text in self.paint_over:
            edit = _keyed("paint_over", parse_paint_over, text)
            if not edit.path.is_file():
                raise SettingError("paint_over", f"edit {os.fspath(edit.path)!r} does not exist")
        if self.paint_over and self.kind != VIDEO:
            raise SettingError("paint_over", "expected a video with painted-over frames: for a still, edit the output")
        if self.style_key and self.kind != VIDEO:
            raise SettingError("style_key", "expected a video with style keys: a still has one mix")
        if self.style_key and self.styles is None:
            raise SettingError("style_key", "expected `styles` with style keys: the keys change the mix `styles` "
                                            "starts with")
        for source in [self.mask, *(r.source for r in self.regions)]:
            if source is not None and source.path is not None and not source.path.exists():
                raise SettingError(source.key, f"mask {os.fspath(source.path)!r} does not exist")
            if source is not None and source.labels is not None:
                _keyed("labels", check_input, source.labels, "labels file")
        from .regions.guides import style_specs
        from .media.decode import check_order

        style_specs(self.styles, self.mask, [(r.source, r.styles) for r in self.regions], self.background_style,
                    self.run.style.even_mix)
        first = _keyed("start", parse_position, self.start) if self.start else None
        last = _keyed("end", parse_position, self.end) if self.end else None
        check_order(first, last)
        return self

    def values(self) -> dict[str, Any]:
        """The job as user values by key, defaults left out: what :meth:`from_values` reads back."""
        out: dict[str, Any] = {"input": os.fspath(self.input), "output": os.fspath(self.output)}
        configs = {"run": self.run, "video": self.video, "masks": self.masks, "image": self.image}
        defaults = {root: cls() for root, cls in ROOTS}
        scope = self.kind
        for key, setting in SETTINGS.items():
            if scope not in setting.spec.commands and not (scope == VIDEO and setting.spec.commands & {MASK, BATCH}):
                continue
            value, default = _get(configs[setting.root], setting.path), _get(defaults[setting.root], setting.path)
            if value != default:
                out[key] = setting.spec.to_user(value, setting.kind)
        for key in ("styles", "background_style", "start", "end"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.mask is not None:
            out.update({k: (FIELDS_BY_KEY[k].show(v) if not FIELDS_BY_KEY[k].path else os.fspath(v))
                        for k, v in self.mask.values().items()})
        if self.style_key:
            out["style_key"] = list(self.style_key)
        if self.paint_over:
            out["paint_over"] = list(self.paint_over)
        if self.regions:
            out["region"] = [f"{os.fspath(r.source.path)}={r.styles}" for r in self.regions]
            if self.regions[0].source.keyframe is not None:
                out["mask_keyframe"] = self.regions[0].source.keyframe
        return out

    def to_argv(self) -> list[str]:
        """The command line that runs this job: ``[command, INPUT, -o, OUTPUT, options...]``."""
        values = self.values()
        argv = [self.kind, values.pop("input"), "-o", values.pop("output")]
        for key, value in values.items():
            flag = flag_for(key, self.kind)
            setting = SETTINGS.get(key)
            if setting is not None and setting.kind is bool:  # a switch (every one is off by default)
                argv += [flag] if value else []
                continue
            for item in (value if isinstance(value, list) else [value]):
                argv += [flag, str(item)]
        return argv

    def command_line(self) -> str:
        """:meth:`to_argv` as a shell line, ``vidstyle ...``."""
        return shlex.join(["vidstyle", *self.to_argv()])

    def to_toml(self, name: str | None = None) -> str:
        """The job as a jobs.toml table (``[clips."NAME"]``, NAME the input's file name by default); the
        output comes from `vidstyle batch --out`, so it is not written."""
        values = self.values()
        values.pop("output")
        input_name = values.pop("input")
        lines = [f"[clips.{_toml_string(name or Path(input_name).name)}]"]
        lines += [f"{key} = {_toml_value(value)}" for key, value in values.items()]
        return "\n".join(lines) + "\n"

    def with_values(self, **changes: Any) -> Job:
        """A copy with some fields replaced (dataclasses.replace), checked again."""
        return dataclasses.replace(self, **changes).check()


def _required(values: Mapping[str, Any], key: str) -> Any:
    value = values.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        raise SettingError(key, f"expected a path for the {key}, got none")
    return value


def _keyed(key: str, check: Callable, *args: Any) -> Any:
    try:
        return check(*args)
    except SettingError:
        raise
    except (ValueError, OSError) as exc:
        raise SettingError(key, str(exc)) from None


def _get(config: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        config = getattr(config, part)
    return config


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def iter_keys() -> Iterator[str]:
    """Every key a job has."""
    yield from ("input", "output")
    yield from SETTINGS
    yield from FIELDS_BY_KEY
    yield from JOB_KEYS_BY_NAME

"""What the page asks for, as a :class:`~vidstyle.Job`: the studio is one more front end that builds a job.

A :class:`Request` holds the page's controls as a typed record (what the browser's widgets show, and what a
render remembers so that a reload or a row of the Renders table can put them back); :meth:`Request.job` turns
it into job values by key and lets the library check them, so an error names a setting, which :func:`in_words`
words as the page's label. The named API speaks the job's keys; :meth:`Request.from_keys` reads them.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ..config import STUDIO_SIZE, LossConfig, OptimConfig, SettingError, StyleConfig, TemporalConfig
from ..core.styles import split_style_spec
from ..job import Job
from ..media.images import is_image_path
from ..paint.keys import parse_style_key, resolve_keys
from ..regions.sources import parse_prompt
from ..regions.track import check_prompt
from .library import Library, Refused

REGIONS = ("none", "person", "background", "brushed mask", "GrabCut box")
# The page's words for the settings a message may name.
LABELS = {
    "styles": "Styles", "background_style": "Background style", "style_weight": "Style strength",
    "preserve_colors": "Keep colours", "even_mix": "Even mix", "max_size": "Processing size", "size": "Processing size",
    "first_iterations": "First-frame iterations", "iterations": "Later-frame iterations",
    "mask": "Brushed mask", "mask_keyframe": "Mask frame", "grabcut": "GrabCut box", "segment": "Region",
    "invert_mask": "Region", "input": "Clip", "output": "Output", "start": "First frame", "end": "Frames to render",
    "region": "Region", "classes": "Region", "labels": "Region", "frame": "Frame", "style_key": "Style keys",
    "paint_over": "Painted-over frames", "passes": "Passes",
}
Picks = tuple[tuple[str, float], ...]  # (style name or uploaded painting, weight), in slot order


@dataclass(frozen=True)
class Request:
    """The page's controls: what to stylize, with which styles, where, how large and how long. Defaults are the
    library's (``vidstyle.config``), but the processing size, which is the studio's own (``STUDIO_SIZE``)."""

    source: str
    styles: Picks = ()
    style_weight: float = LossConfig.style_weight
    preserve_colors: bool = StyleConfig.preserve_colors
    even_mix: bool = StyleConfig.even_mix
    size: int = STUDIO_SIZE
    first_iterations: int = OptimConfig.iterations
    iterations: int = TemporalConfig.iterations
    passes: int = TemporalConfig.passes  # 1: one forward pass; each more runs the other way (Ruder's multi-pass)
    end: int | None = None  # frames: render only the first N (None: the whole clip)
    region: str = "none"
    mask: str | None = None  # a brushed mask PNG in the studio's masks folder
    box: tuple[int, ...] | None = None  # GrabCut: a click x, y or a box x, y, w, h, in source pixels
    keyframe: int = 0  # the frame the mask or the box was drawn on
    background: Picks = ()  # styles for what the region leaves out
    style_keys: tuple[str, ...] = ()  # the mix over time: "48f=picasso", "2s:hold=matisse" (vidstyle.paint.keys)
    paint_over: tuple[str, ...] = ()  # painted-over frames: "12=PATH", the PNG in the studio's output folder

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise Refused(f"expected one of {', '.join(REGIONS)}, got {self.region!r}", key="region")
        # Lists (JSON, a widget) become tuples, so a request is hashable and compares by value.
        object.__setattr__(self, "styles", tuple((str(n), float(w)) for n, w in self.styles))
        object.__setattr__(self, "background", tuple((str(n), float(w)) for n, w in self.background))
        if self.box is not None:
            object.__setattr__(self, "box", tuple(int(v) for v in self.box))
        object.__setattr__(self, "style_keys", tuple(str(k) for k in self.style_keys))
        object.__setattr__(self, "paint_over", tuple(str(k) for k in self.paint_over))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        """A request as :meth:`to_dict` wrote it (the queue file); unknown keys are ignored."""
        return cls(**{k: v for k, v in data.items() if k in {f.name for f in fields(cls)}})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_keys(cls, input: str, styles: str | None = None, *, max_size: int = STUDIO_SIZE,
                  segment: str | None = None, invert_mask: bool = False, grabcut: str | None = None,
                  mask: str | None = None, mask_keyframe: int | None = None, background_style: str | None = None,
                  end: int | None = None, style_key: str | None = None, paint_over: str | None = None,
                  **settings: Any) -> Request:
        """A request from the job's keys (the named API): ``styles`` as ``name:weight,...``, the region from
        ``segment`` (``person``, with ``invert_mask`` its background), ``grabcut`` (``x,y`` or ``x,y,w,h``) or a
        brushed ``mask``, drawn on ``mask_keyframe``; ``style_key``: keys of the mix over time, separated by ``;``;
        ``paint_over``: ``FRAME=PATH`` edits (a PNG uploaded to the studio), separated by ``;``.
        ``settings``: style_weight, preserve_colors, even_mix, first_iterations, iterations, passes."""
        given = [name for name, value in (("segment", segment), ("grabcut", grabcut), ("mask", mask)) if value]
        if len(given) > 1:
            raise Refused(f"expected one of segment, grabcut or mask, got {' and '.join(given)}", key=given[1])
        if segment not in (None, "", "person"):
            raise Refused(f"the studio segments 'person' (for other models use vidstyle mask), got {segment!r}",
                          key="segment")
        region = ("background" if invert_mask else "person") if segment else "GrabCut box" if grabcut else \
            "brushed mask" if mask else "none"
        try:
            box = parse_prompt(grabcut) if grabcut else None
        except ValueError as exc:
            raise Refused(str(exc), key="grabcut") from None
        return cls(input, _picks(styles, "styles"), size=int(max_size), region=region, mask=mask or None, box=box,
                   keyframe=int(mask_keyframe or 0), background=_picks(background_style, "background_style"),
                   end=int(end) if end else None,
                   style_keys=tuple(k.strip() for k in str(style_key or "").split(";") if k.strip()),
                   paint_over=tuple(k.strip() for k in str(paint_over or "").split(";") if k.strip()), **settings)

    def values(self, library: Library, output: Path | None = None) -> dict[str, Any]:
        """The job values by key (the input resolved inside the studio's folders)."""
        source = library.resolve(self.source)
        picked = [(name, weight) for name, weight in self.styles if name]
        if not picked:
            raise Refused("pick a style first", key="styles")
        if all(weight <= 0 for _, weight in picked):
            raise Refused("every weight is 0: give at least one style a weight above 0", key="styles")
        still = is_image_path(source)
        values: dict[str, Any] = {"input": source, "styles": spec_of(self.styles, library),
                                  "style_weight": float(self.style_weight), "preserve_colors": bool(self.preserve_colors),
                                  "even_mix": bool(self.even_mix), "first_iterations": int(self.first_iterations)}
        if library.weights:
            values["weights"] = library.weights
        values["size" if still else "max_size"] = int(self.size)
        if not still:
            values["iterations"] = int(self.iterations)
            if int(self.passes) != TemporalConfig.passes:  # the default left out: a render from before keeps its file
                values["passes"] = int(self.passes)
            if self.end:
                values["end"] = f"{int(self.end)}f"
        if self.style_keys:
            values["style_key"] = [self.key_value(key, library) for key in self.style_keys]
            if not still:  # placed on the clip's frames before the render is queued, as the CLI does before any work
                facts = library.facts(self.source)
                try:
                    parsed = [parse_style_key(k) for k in values["style_key"]]
                except ValueError as exc:
                    raise Refused(str(exc), key="style_key") from None
                resolve_keys(parsed, facts.fps, facts.frames)
        if not still:  # the work folder stays, so a painted-over frame redoes only what it reaches
            values["keep_frames"] = True
        if self.paint_over:
            values["paint_over"] = [self.edit_value(edit, library) for edit in self.paint_over]
        values.update(self.region_values(library, still))
        if self.region != "none":
            values["background_style"] = spec_of(self.background, library)
        values["output"] = output or self.output(library, values)
        return values

    @staticmethod
    def edit_value(edit: str, library: Library) -> str:
        """A painted-over frame as the job takes it: its image inside the studio's output folder."""
        frame, sep, path = edit.partition("=")
        if not sep or not frame.strip().isdigit() or not path.strip():
            raise Refused(f"expected FRAME=PATH, got {edit!r}", key="paint_over")
        return f"{int(frame)}={library.writable(Path(path.strip()))}"

    @staticmethod
    def key_value(key: str, library: Library) -> str:
        """A style key as the job takes it: its styles resolved in the library (uploaded paintings too)."""
        when, sep, styles = key.partition("=")
        picks = _picks(styles, "style_key") if sep else ()
        if not picks:
            raise Refused(f"expected a key like 48f=picasso or 2s:hold=matisse:0.5,leger:0.5, got {key!r}",
                          key="style_key")
        return f"{when.strip()}={spec_of(picks, library)}"

    def region_values(self, library: Library, still: bool) -> dict[str, Any]:
        """The job's mask keys of the region the page chose."""
        if self.region in ("person", "background"):
            return {"segment": "person", "invert_mask": self.region == "background"}
        if self.region == "brushed mask":
            if not self.mask:
                raise Refused("paint the region on the frame first", key="mask")
            return {"mask": library.writable(Path(self.mask)), "mask_keyframe": None if still else int(self.keyframe)}
        if self.region == "GrabCut box":
            if not self.box or len(self.box) not in (2, 4):
                raise Refused("click the object (or two corners around it) on the frame first", key="grabcut")
            facts = library.facts(self.source)
            check_prompt(self.box, facts.height, facts.width)  # in the source pixels the user gave
            return {"grabcut": ",".join(str(int(v)) for v in self.box),
                    "mask_keyframe": None if still else int(self.keyframe)}
        return {}

    def output(self, library: Library, values: dict[str, Any]) -> Path:
        """Where this request renders to: the source's name and a digest of its settings, in the output folder."""
        source = Path(values["input"])
        named = {k: os.fspath(v) if isinstance(v, Path) else v for k, v in values.items() if k != "paint_over"}
        digest = hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:8]  # edits: the same render
        suffix = source.suffix.lower() if is_image_path(source) else ".mp4"
        return library.out / f"{source.stem}.{digest}{suffix}"

    def job(self, library: Library, output: Path | None = None) -> Job:
        """The checked job; raises the library's ``SettingError`` (worded by :func:`in_words`) or Refused."""
        return Job.from_values(self.values(library, output))


def _picks(spec: str | None, key: str) -> Picks:
    if not spec or not str(spec).strip():
        return ()
    try:
        return tuple(split_style_spec(str(spec)))
    except ValueError as exc:
        raise Refused(str(exc), key=key) from None


def spec_of(picks: Picks, library: Library | None = None) -> str | None:
    """``[(name, weight), ...]`` -> ``"name:weight,..."`` (empty names left out; None when none is picked).

    With ``library``, each name must be a library style or a painting uploaded to the studio."""
    parts = [f"{library.style(name) if library else name}:{float(weight):g}" for name, weight in picks if name]
    return ",".join(parts) or None


def key_of(exc: BaseException) -> str | None:
    """The setting an error is about (the job's key), if it names one."""
    return getattr(exc, "key", None)


def in_words(exc: BaseException, word=lambda key: LABELS.get(key, key.replace("_", " "))) -> str:
    """An error as the page says it: settings by their labels (``word``), on one line."""
    if isinstance(exc, SettingError):
        return exc.worded(word).splitlines()[0]
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    key = key_of(exc)
    return f"{word(key)}: {text}" if key else text


def in_keys(exc: BaseException) -> str:
    """An error as the named API says it: settings by the job's keys (the API's parameter names)."""
    return in_words(exc, lambda key: "max_size" if key == "size" else key)

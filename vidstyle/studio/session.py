"""What the page asks for, as a :class:`~vidstyle.Job`: the studio is one more front end that builds a job.

A :class:`Request` holds the page's controls in plain values (what the named API endpoints take
too); :meth:`Request.job` turns them into job values by key and lets the library check them, so
an error names a setting, which :data:`LABELS` words as the page's label.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..job import Job
from ..config import OptimConfig, SettingError, TemporalConfig
from ..media.images import is_image_path
from .library import Library, Refused

REGIONS = ("none", "person", "background", "brushed mask", "GrabCut box")
# The page's words for the settings a message may name.
LABELS = {
    "styles": "Styles", "background_style": "Background styles", "style_weight": "Style strength",
    "preserve_colors": "Keep colours", "even_mix": "Even mix", "max_size": "Processing size", "size": "Processing size",
    "first_iterations": "First-frame iterations", "iterations": "Later-frame iterations",
    "mask": "Brushed mask", "mask_keyframe": "Mask frame", "grabcut": "GrabCut box", "segment": "Region",
    "invert_mask": "Region", "input": "Clip", "output": "Output", "start": "First frame", "end": "Last frame",
    "region": "Region", "classes": "Region", "labels": "Region",
}


def spec_of(picks: list[tuple[str, float]] | list[list], library: Library | None = None) -> str | None:
    """``[(name, weight), ...]`` -> ``"name:weight,..."`` (empty names left out; None when none is picked).

    With ``library``, each name must be a library style or a painting uploaded to the studio."""
    parts = [f"{library.style(name) if library else name}:{float(weight):g}" for name, weight in picks if name]
    return ",".join(parts) or None


def click_box(point: tuple[int, ...], facts: Any) -> tuple[int, int, int, int]:
    """A single click as a GrabCut box: a third of the frame on each side, centred on the click, inside the frame."""
    width, height = max(1, facts.width // 3), max(1, facts.height // 3)
    x = min(max(0, int(point[0]) - width // 2), facts.width - width)
    y = min(max(0, int(point[1]) - height // 2), facts.height - height)
    return x, y, width, height


@dataclass(frozen=True)
class Request:
    """The page's controls: what to stylize, with which styles, where, how large and how long."""

    source: str
    styles: list = field(default_factory=list)  # [(style name or uploaded painting, weight)]
    style_weight: float = 10.0
    preserve_colors: bool = False
    size: int = 256
    region: str = "none"
    mask: str | None = None  # a brushed mask PNG in the studio's masks folder
    box: tuple[int, int, int, int] | None = None  # GrabCut x, y, w, h in source pixels
    keyframe: int = 0  # the frame the mask or box was drawn on
    background: list = field(default_factory=list)  # styles for what the region leaves out
    first_iterations: int = OptimConfig.iterations  # the CLI's defaults
    iterations: int = TemporalConfig.iterations
    end: int | None = None  # frames: render only the first N (None: the whole clip)
    even_mix: bool = False  # a mix of styles asked of every part of the picture (--even-mix)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Request:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        if known.get("box") is not None:
            known["box"] = tuple(int(v) for v in known["box"])
        return cls(**known)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def values(self, library: Library, output: Path | None = None) -> dict[str, Any]:
        """The job values by key (the input resolved inside the studio's folders)."""
        source = library.resolve(self.source)
        still = is_image_path(source)
        values: dict[str, Any] = {"input": source, "styles": spec_of(self.styles, library),
                                  "style_weight": float(self.style_weight), "preserve_colors": bool(self.preserve_colors),
                                  "even_mix": bool(self.even_mix),
                                  "first_iterations": int(self.first_iterations)}
        if library.weights:
            values["weights"] = library.weights
        values["size" if still else "max_size"] = int(self.size)
        if not still:
            values["iterations"] = int(self.iterations)
            if self.end:
                values["end"] = f"{int(self.end)}f"
        if self.region not in REGIONS:
            raise Refused(f"Region: expected one of {', '.join(REGIONS)}, got {self.region!r}")
        if self.region in ("person", "background"):
            values["segment"] = "person"
            values["invert_mask"] = self.region == "background"
        elif self.region == "brushed mask":
            if not self.mask:
                raise Refused("Brushed mask: paint the region on the frame first")
            values["mask"] = library.writable(Path(self.mask))
            values["mask_keyframe"] = None if still else int(self.keyframe)
        elif self.region == "GrabCut box":
            if not self.box or len(self.box) not in (2, 4):
                raise Refused("GrabCut box: click the object (or two corners around it) on the frame first")
            box = self.box if len(self.box) == 4 else click_box(self.box, library.facts(self.source))
            values["grabcut"] = ",".join(str(int(v)) for v in box)
            values["mask_keyframe"] = None if still else int(self.keyframe)
        if self.region != "none":
            values["background_style"] = spec_of(self.background, library)
        values["output"] = output or self.output(library, values)
        return values

    def output(self, library: Library, values: dict[str, Any]) -> Path:
        """Where this request renders to: the source's name and a digest of its settings, in the output folder."""
        source = Path(values["input"])
        digest = hashlib.sha256(json.dumps({k: os.fspath(v) if isinstance(v, Path) else v for k, v in values.items()},
                                           sort_keys=True).encode()).hexdigest()[:8]
        suffix = source.suffix.lower() if is_image_path(source) else ".mp4"
        return library.out / f"{source.stem}.{digest}{suffix}"

    def job(self, library: Library, output: Path | None = None) -> Job:
        """The checked job; raises the library's ``SettingError`` (worded by ``library.in_words``) or Refused."""
        return Job.from_values(self.values(library, output))


def in_words(exc: BaseException) -> str:
    """An error as the page says it: settings by their labels."""
    if isinstance(exc, SettingError):
        return exc.worded(lambda key: LABELS.get(key, key.replace("_", " ")))
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__

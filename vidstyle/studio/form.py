"""The page's form without Gradio: its controls by name, a :class:`~.session.Request` to and from them, and where a
message goes.

Every control has a name (its ``elem_id`` in the page, its key in :data:`CONTROLS`); ``app.py`` builds a dict of
widgets with exactly these names, so no list of positions has to agree across files. A message belongs to the
panel of the control it is about (:func:`said`), stays there until the user changes a control of that panel, and
is never written by the once-a-second status refresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..config import TemporalConfig
from ..regions.sources import parse_prompt
from .library import Refused
from .session import Request, in_words, key_of

SLOTS = 3  # style slots on the page, each a name and a weight
PANELS = ("source", "styles", "settings", "region", "preview", "render")
# Which panel shows a message about each job key (and the page's own controls).
KEY_PANEL = {
    "input": "source", "frame": "source", "styles": "styles", "even_mix": "styles", "style_key": "styles",
    "style_keys": "styles", "style_weight": "settings", "paint_over": "render",
    "preserve_colors": "settings", "max_size": "settings", "size": "settings", "first_iterations": "settings",
    "iterations": "settings", "passes": "settings", "end": "settings", "start": "settings", "weights": "settings",
    "segment": "region", "invert_mask": "region", "grabcut": "region", "mask": "region", "mask_keyframe": "region",
    "background_style": "region", "region": "region", "classes": "region", "labels": "region",
}
# Every control of the form, by name, with the panel it sits in.
CONTROLS: dict[str, str] = {
    "source": "source",
    **{name: "styles" for slot in range(1, SLOTS + 1) for name in (f"style_{slot}", f"weight_{slot}")},
    "even_mix": "styles",
    "style_keys": "styles",
    **{name: "settings" for name in ("style_weight", "preserve_colors", "size", "first_iterations", "iterations",
                                      "passes", "end")},
    **{name: "region" for name in ("region", "mask", "box", "keyframe", "background_style", "background_weight")},
    "paint_over": "render",
}
ICONS = {"error": "⛔", "warning": "⚠️", "note": "ℹ️"}


@dataclass(frozen=True)
class Said:
    """A message for the page: which panel shows it, what it says, and how loudly."""

    panel: str
    text: str
    level: str = "error"  # error, warning, note

    def markdown(self) -> str:
        return f"{ICONS[self.level]} **{self.text}**" if self.level != "note" else f"{ICONS['note']} {self.text}"


def said(exc: BaseException, panel: str) -> Said:
    """An error as a message beside the control it is about (``panel`` when it names none)."""
    return Said(KEY_PANEL.get(key_of(exc) or "", panel), in_words(exc))


def request_from_controls(values: Mapping[str, Any]) -> Request:
    """The form's values by control name -> the :class:`Request` they describe; a GrabCut box that does not read
    as numbers is refused (as the user typed it)."""
    picks = [(values.get(f"style_{slot}"), values.get(f"weight_{slot}") or 0.0) for slot in range(1, SLOTS + 1)]
    background = values.get("background_style")
    return Request(
        str(values.get("source") or ""), tuple((name, float(weight)) for name, weight in picks if name),
        style_weight=float(values["style_weight"]), preserve_colors=bool(values.get("preserve_colors")),
        even_mix=bool(values.get("even_mix")), size=int(values["size"]),
        first_iterations=int(values["first_iterations"]), iterations=int(values["iterations"]),
        passes=int(values.get("passes") or TemporalConfig.passes),
        end=int(values["end"]) if values.get("end") else None, region=values.get("region") or "none",
        mask=values.get("mask") or None, box=read_box(values.get("box")), keyframe=int(values.get("keyframe") or 0),
        background=((background, float(values.get("background_weight") or 0.0)),) if background else (),
        style_keys=read_keys(values.get("style_keys")), paint_over=read_keys(values.get("paint_over")))


def controls_of(request: Request) -> dict[str, Any]:
    """The form's values by control name for ``request`` (the inverse of :func:`request_from_controls`)."""
    values: dict[str, Any] = {"source": request.source}
    for slot in range(1, SLOTS + 1):
        name, weight = request.styles[slot - 1] if slot <= len(request.styles) else (None, 0.0)
        values[f"style_{slot}"], values[f"weight_{slot}"] = name, weight
    background = request.background[0] if request.background else (None, 1.0)
    values.update(style_weight=request.style_weight, preserve_colors=request.preserve_colors,
                  even_mix=request.even_mix, size=request.size, first_iterations=request.first_iterations,
                  iterations=request.iterations, passes=request.passes, end=request.end or 0, region=request.region,
                  mask=request.mask or "", box=show_box(request.box), keyframe=request.keyframe,
                  background_style=background[0], background_weight=background[1],
                  style_keys="\n".join(request.style_keys), paint_over="\n".join(request.paint_over))
    return values


def read_keys(text: Any) -> tuple[str, ...]:
    """Style keys (or painted-over frames) as typed: one per line (or separated by ``;``), blank lines left out."""
    return tuple(line.strip() for line in str(text or "").replace(";", "\n").splitlines() if line.strip())


def read_box(text: Any) -> tuple[int, ...] | None:
    """The GrabCut box as typed: ``x,y`` (a click) or ``x,y,w,h`` in source pixels; empty is None."""
    cleaned = str(text or "").replace(" ", "")
    if not cleaned:
        return None
    try:
        return parse_prompt(cleaned)
    except ValueError:
        raise Refused(f"expected a click x,y or a box x,y,w,h in source pixels, got {str(text).strip()!r}",
                      key="grabcut") from None


def show_box(box: tuple[int, ...] | None) -> str:
    return ",".join(str(v) for v in box) if box else ""

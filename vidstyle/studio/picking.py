"""The region the page picks, without Gradio: clicks and GrabCut boxes, brushed masks, the region drawn on the
shown frame with a warning when it is empty or covers the frame, and the strip that follows it across the clip.

The region shown on a frame is computed the way a render computes it (the same sources, at the render's
processing size), so what the page warns about is what the render would do.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..media.decode import count_frames
from ..media.images import is_image_path, write_image
from ..media.sheet import contact_sheet
from ..media.sizes import fit_long_side, resize
from ..regions.export import overlay
from ..regions.masks import shape_mask
from ..regions.sources import MaskSource, raw_masks
from ..video.preview import preview_indices
from .form import Said
from .library import Library, Refused
from .session import Request

FRAME_SIDE = 640  # long side of the frames the page shows
STRIP_TILE = 200  # px: the height of each frame of the mask strip
EMPTY, FULL = 1e-3, 1 - 1e-3  # the coverage below which a region is empty, above which it is the whole frame


@dataclass(frozen=True)
class Shown:
    """A frame as the page shows it: the picture (region and prompt drawn), its caption, and a warning."""

    picture: np.ndarray | None
    caption: str
    warning: Said | None = None


@functools.lru_cache(maxsize=1)
def _person():
    from ..regions.person import PersonSegmenter

    return PersonSegmenter()


def region_mask(library: Library, request: Request, index: int) -> np.ndarray | None:
    """The region of ``request`` on frame ``index`` at the render's processing size, shaped (inverted) as a render
    shapes it; None when there is no region, or when a picked region was drawn on another frame."""
    if request.region == "none":
        return None
    values = request.region_values(library, is_image_path(library.resolve(request.source)))
    if values.get("mask_keyframe") not in (None, index):
        return None
    facts = library.facts(request.source)
    height, width = fit_long_side(facts.height, facts.width, request.size)
    frame = library.frame(request.source, index, max(height, width))
    source = MaskSource(path=Path(values["mask"]) if "mask" in values else None,
                        grabcut=tuple(int(v) for v in values["grabcut"].split(",")) if "grabcut" in values else None,
                        segment=values.get("segment"))
    source = source.at_scale((facts.height, facts.width), frame.shape[:2])
    segmenter = _person() if source.segment else None
    mask = next(raw_masks(source, lambda: iter([frame]), *frame.shape[:2], segmenter=segmenter))
    return shape_mask(mask, invert=bool(values.get("invert_mask")))


def warning_for(request: Request, mask: np.ndarray, index: int) -> Said | None:
    """A visible warning before any render when the region is empty or covers the whole frame."""
    coverage = float((mask >= 0.5).mean())
    if EMPTY <= coverage <= FULL:
        return None
    empty = coverage < EMPTY
    if request.region in ("person", "background"):
        found = request.region == "person" and not empty or request.region == "background" and empty
        text = (f"the person fills frame {index}: there is no background to style" if found else
                f"no person found on frame {index}: " + ("nothing would be styled" if request.region == "person"
                                                          else "all of it is background"))
    elif request.region == "GrabCut box":
        what = "click" if request.box and len(request.box) == 2 else "box"
        typed = ",".join(map(str, request.box or ()))
        text = (f"the GrabCut {what} {typed} found no object on frame {index}: draw two corners around the object"
                if empty else f"the GrabCut {what} {typed} selects the whole frame {index}: draw a box around one object")
    else:
        text = f"the brushed mask is {'empty' if empty else 'the whole frame'}: paint the region again"
    return Said("region", text, "warning")


def show(library: Library, request: Request, index: int) -> Shown:
    """Frame ``index`` as the page shows it: the region (when it is known on this frame), the GrabCut click or box,
    and the frame number on the picture itself (a stale picture cannot pass for the current one)."""
    facts = library.facts(request.source)
    last = 0 if facts.kind == "image" else max(0, (facts.frames or 1) - 1)
    picture = library.frame(request.source, index, FRAME_SIDE)
    warning = None
    try:
        mask = region_mask(library, request, index)
    except (ValueError, OSError) as exc:  # the region is not ready (no clicks yet): show the frame alone
        mask, warning = None, Said("region", str(exc).splitlines()[0], "note") if request.region != "none" else None
    if mask is not None:
        picture = overlay(picture, resize(mask.astype(np.float32), *picture.shape[:2]))
        warning = warning_for(request, mask, index)
    if request.region == "GrabCut box" and request.box and request.keyframe == index:
        picture = draw_prompt(picture, request.box, picture.shape[1] / facts.width)
    caption = "still image" if facts.kind == "image" else f"frame {index} of 0-{last}"
    picked = request.region in ("GrabCut box", "brushed mask") and request.keyframe != index
    if picked and (request.box or request.mask):
        caption += f" (the region was picked on frame {request.keyframe}: Show masks follows it)"
    return Shown(stamp(picture, caption.split(" (")[0]), caption, warning)


def stamp(picture: np.ndarray, text: str) -> np.ndarray:
    """``text`` in the picture's bottom-left corner (the page's label covers the top-left), white on a dark box."""
    out = picture.copy()
    scale = max(0.45, picture.shape[1] / 1000)
    (width, height), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    top = out.shape[0] - height - base - 10
    cv2.rectangle(out, (0, top), (width + 10, out.shape[0]), (0, 0, 0), -1)
    cv2.putText(out, text, (5, out.shape[0] - base - 5), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                cv2.LINE_AA)
    return out


def draw_prompt(picture: np.ndarray, box: tuple[int, ...], scale: float) -> np.ndarray:
    """The GrabCut click (a ringed dot) or box (a rectangle), given in source pixels, drawn at ``scale``."""
    out = picture.copy()
    points = [int(round(v * scale)) for v in box]
    if len(points) == 2:
        for colour, radius in (((0, 0, 0), 9), ((255, 255, 255), 7), ((255, 0, 200), 4)):
            cv2.circle(out, tuple(points), radius, colour, -1, cv2.LINE_AA)
    else:
        x, y, w, h = points
        cv2.rectangle(out, (x, y), (x + w, y + h), (0, 0, 0), 4, cv2.LINE_AA)
        cv2.rectangle(out, (x, y), (x + w, y + h), (255, 0, 200), 2, cv2.LINE_AA)
    return out


def click(library: Library, request: Request, x: float, y: float, index: int) -> tuple[Request, Said | None]:
    """A click at ``(x, y)`` on the shown frame: with "GrabCut box" chosen, the object (a click), or with a second
    click on the same frame the two corners of a box; a third starts again. With another region chosen nothing
    changes (a note says how to use clicks)."""
    if request.region != "GrabCut box":
        return request, Said("region", "clicks pick a GrabCut object: choose “GrabCut box” under Region first", "note")
    facts = library.facts(request.source)
    scale = facts.width / fit_long_side(facts.height, facts.width, FRAME_SIDE)[1]
    px = min(max(0, int(round(x * scale))), facts.width - 1)
    py = min(max(0, int(round(y * scale))), facts.height - 1)
    box: tuple[int, ...] = (px, py)
    if request.box and len(request.box) == 2 and request.keyframe == index and (px, py) != request.box:
        x0, y0 = request.box
        box = (min(x0, px), min(y0, py), abs(px - x0) or 1, abs(py - y0) or 1)
    return replace(request, box=box, keyframe=index), None


def save_brush(library: Library, edited: Any, index: int) -> str:
    """The strokes brushed on frame ``index`` as a mask PNG in the studio's masks folder; returns its path."""
    if not isinstance(edited, dict) or not edited.get("layers"):
        raise Refused("paint the region on the frame first", key="mask")
    alpha = np.zeros(np.asarray(edited["layers"][0]).shape[:2], bool)
    for layer in edited["layers"]:
        layer = np.asarray(layer)
        alpha |= (layer[..., 3] > 0) if layer.ndim == 3 and layer.shape[2] == 4 else (layer.max(axis=-1) > 0)
    if not alpha.any():
        raise Refused("paint the region on the frame first", key="mask")
    folder = library.work / "masks"
    target = library.writable(folder / f"mask-{len(os.listdir(folder)):04d}-frame{int(index)}.png")
    write_image(target, alpha.astype(np.uint8) * 255)
    return os.fspath(target)


def save_edit(library: Library, edited: Any, index: int) -> str:
    """The stylized frame ``index`` as painted over in the editor (its composite) as a PNG in the studio's edits
    folder; returns its path."""
    composite = edited.get("composite") if isinstance(edited, dict) else None
    if composite is None or not edited.get("layers"):
        raise Refused("open the result's frame in the editor and paint on it first", key="paint_over")
    image = np.asarray(composite)
    image = image[..., :3] if image.ndim == 3 else np.repeat(image[..., None], 3, axis=2)
    folder = library.work / "edits"
    target = library.writable(folder / f"edit-{len(os.listdir(folder)):04d}-frame{int(index)}.png")
    write_image(target, np.ascontiguousarray(image.astype(np.uint8)))
    return os.fspath(target)


def strip(library: Library, request: Request, count: int = 5) -> np.ndarray:
    """The region on the current frame and on ``count`` frames across the clip, before any stylization, in
    tiles large enough to judge an edge (:data:`STRIP_TILE`)."""
    from ..batch.execute import plan_image_job, plan_video_job
    from ..regions.sources import clip_masks

    if request.region == "none":
        raise Refused("choose one first (person, background, a brushed mask or a GrabCut box)", key="region")
    job = replace(request, size=min(request.size, 384)).job(library)
    if is_image_path(job.input):
        plan = plan_image_job(job)
        return contact_sheet([[(overlay(plan.image, plan.masks[0]), "the region")]], STRIP_TILE)
    plan = plan_video_job(job, preview=True)
    total = count_frames(plan.info, plan.start, plan.end)
    wanted = sorted(set(preview_indices(total, count)) | {min(request.keyframe, total - 1)})
    source, _ = plan.specs[0]
    cells = []
    masks = clip_masks(source, plan.images, plan.height, plan.width, job.run.temporal.flow, plan.segmenters[0])
    for index, (image, mask) in enumerate(zip(plan.images(), masks)):
        if index in wanted:
            cells.append((overlay(image, mask), f"frame {index}" + (" (picked here)" if index == request.keyframe
                                                                   and request.region in ("GrabCut box",
                                                                                          "brushed mask") else "")))
        if index >= wanted[-1]:
            break
    rows = [cells[:3], cells[3:]] if len(cells) > 3 else [cells]
    return contact_sheet([row for row in rows if row], STRIP_TILE)

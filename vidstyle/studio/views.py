"""What each studio action does and shows, without Gradio: plain values in, plain values out.

``app.py`` wires these to widgets; tests call them directly. Errors become a message for the page
(settings named by their labels), never a traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import SettingError
from ..media.decode import count_frames
from ..media.images import is_image_path, write_image
from ..media.sheet import contact_sheet
from ..media.sizes import fit_long_side
from ..video.preview import preview_indices
from .work import Studio
from .library import Library, Refused
from .session import Request, in_words

FAILURES = (SettingError, Refused, ValueError, OSError)
FRAME_SIDE = 640  # long side of the frames the page shows


def guarded(action: Callable[[], Any], fallback: Any) -> tuple[Any, str]:
    """``(result, "")`` or ``(fallback, message)``: a bad request is a message in the page, and the server goes on."""
    try:
        return action(), ""
    except FAILURES as exc:
        return fallback, f"**{in_words(exc)}**"


def request_of(library: Library, values: Sequence[Any]) -> Request:
    """The page's widget values (in ``app.request_inputs`` order) as a :class:`Request`."""
    (source, s1, w1, s2, w2, s3, w3, strength, keep, size, first, later, region, mask, box, frame, background,
     background_weight, end, even) = values
    corners = [int(float(v)) for v in str(box or "").replace(" ", "").split(",") if v]
    return Request(source or "", [(s1, w1), (s2, w2), (s3, w3)], float(strength), bool(keep), int(size),
                   region or "none", mask or None, tuple(corners) if len(corners) in (2, 4) else None, int(frame or 0),
                   [(background, background_weight)] if background else [], int(first), int(later),
                   int(end) if end else None, bool(even))


def open_media(library: Library, name: str | None) -> tuple[str, int, np.ndarray | None, str]:
    """``(facts, last frame index, first frame, message)`` of a medium."""
    def opened():
        facts = library.facts(name)
        last = 0 if facts.kind == "image" else max(0, (facts.frames or 1) - 1)
        return facts.describe(), last, library.frame(name, 0, FRAME_SIDE)

    (text, last, image), message = guarded(opened, ("", 0, None))
    return text, last, image, message


def show_frame(library: Library, name: str | None, index: Any) -> tuple[np.ndarray | None, str]:
    return guarded(lambda: library.frame(name, int(index or 0), FRAME_SIDE), None)


def take_upload(library: Library, file: Any) -> tuple[list[str], str | None, str]:
    """``(media names, the new one, message)``."""
    path, message = guarded(lambda: library.accept_upload(_upload_path(file)), None)
    return library.media(), (os.fspath(path) if path else None), message or (f"uploaded {path.name}" if path else "")


def take_painting(library: Library, file: Any) -> tuple[list[str], list, str]:
    """``(style names, gallery, message)`` after an uploaded painting joins the library."""
    path, message = guarded(lambda: library.accept_upload(_upload_path(file), painting=True), None)
    return [n for n, _, _ in library.styles()], style_gallery(library), message or f"added the painting {path.name}"


def _upload_path(file: Any) -> str:
    if file is None:
        raise Refused("the upload did not arrive; try again")
    return file if isinstance(file, (str, os.PathLike)) else getattr(file, "name", "")


def style_gallery(library: Library) -> list[tuple[str, str]]:
    return [(os.fspath(thumb), f"{Path(name).name if os.sep in name else name}: {credit}")
            for name, thumb, credit in library.styles()]


def save_brush(library: Library, edited: Any) -> tuple[str, str]:
    """The brushed strokes as a mask PNG in the studio's masks folder: ``(its path, message)``."""
    def saved() -> str:
        if not isinstance(edited, dict) or not edited.get("layers"):
            raise Refused("Brushed mask: paint the region on the frame first")
        alpha = np.zeros(np.asarray(edited["layers"][0]).shape[:2], bool)
        for layer in edited["layers"]:
            layer = np.asarray(layer)
            alpha |= (layer[..., 3] > 0) if layer.ndim == 3 and layer.shape[2] == 4 else (layer.max(axis=-1) > 0)
        if not alpha.any():
            raise Refused("Brushed mask: paint the region on the frame first")
        target = library.writable(library.work / "masks" / f"mask-{len(os.listdir(library.work / 'masks')):04d}.png")
        write_image(target, alpha.astype(np.uint8) * 255)
        return os.fspath(target)

    path, message = guarded(saved, "")
    return path, message or "mask saved: it is drawn on this frame and follows the motion through the clip"


def add_corner(library: Library, name: str | None, box: str | None, x: int, y: int) -> str:
    """A click on the shown frame, in source pixels: the object (a box around it), or with a second click the
    two corners of the GrabCut box; a third click starts again."""
    facts = library.facts(name)
    scale = facts.width / fit_long_side(facts.height, facts.width, FRAME_SIDE)[1]  # the frame as the page shows it
    px, py = int(round(x * scale)), int(round(y * scale))
    parts = [p for p in str(box or "").replace(" ", "").split(",") if p]
    if len(parts) != 2:
        return f"{px},{py}"
    x0, y0 = int(parts[0]), int(parts[1])
    return f"{min(x0, px)},{min(y0, py)},{abs(px - x0) or 1},{abs(py - y0) or 1}"


def mask_strip(library: Library, request: Request, count: int = 5) -> tuple[np.ndarray | None, str]:
    """The region on the current frame and on ``count`` frames across the clip, before any stylization."""
    def strip() -> np.ndarray:
        from ..batch.execute import plan_video_job
        from ..regions.export import overlay
        from ..regions.sources import clip_masks

        if request.region == "none":
            raise Refused("Region: choose one first (person, background, a brushed mask or a GrabCut box)")
        small = Request(**{**request.to_dict(), "size": min(request.size, 256)})
        job = small.job(library)
        if is_image_path(job.input):
            from ..batch.execute import plan_image_job

            plan = plan_image_job(job)
            return contact_sheet([[(overlay(plan.image, plan.masks[0]), "the region")]])
        plan = plan_video_job(job, preview=True)
        total = count_frames(plan.info, plan.start, plan.end)
        wanted = sorted(set(preview_indices(total, count)) | {min(request.keyframe, total - 1)})
        source, _ = plan.specs[0]
        cells = []
        masks = clip_masks(source, plan.images, plan.height, plan.width, job.run.temporal.flow, plan.segmenters[0])
        for index, (image, mask) in enumerate(zip(plan.images(), masks)):
            if index in wanted:
                label = f"frame {index}" + (" (this one)" if index == request.keyframe else "")
                cells.append((overlay(image, mask), label))
            if index >= wanted[-1]:
                break
        return contact_sheet([cells])

    return guarded(strip, None)


def start_preview(studio: Studio, request: Request, frames: list[int] | None, count: int = 4) -> tuple[str | None, str]:
    """Queue a preview of ``frames`` (or ``count`` evenly spaced ones): ``(its id, status)``."""
    def started() -> str:
        path = studio.library.resolve(request.source)
        total = 1 if is_image_path(path) else count_frames(studio.library.info(path))
        picked = preview_indices(total, count) if frames is None else frames
        missing = [i for i in picked if not 0 <= i < total]
        if missing:
            raise Refused(f"{path.name} has no frame {missing[0]} (frames 0 to {total - 1})")
        return studio.preview(request, picked).id

    preview_id, message = guarded(started, None)
    return preview_id, message or "preview queued"


def stop_preview(studio: Studio, preview_id: str | None) -> str:
    return guarded(lambda: studio.cancel_preview(preview_id or ""), "")[1] or "cancelling the preview"


def start_render(studio: Studio, request: Request) -> tuple[str | None, str, str, str]:
    """Queue a render: ``(its id, status, the equivalent command line, the jobs.toml table)``."""
    (render, said), message = guarded(lambda: studio.render(request), (None, ""))
    if render is None:
        return None, message, "", ""
    return render.id, said, render.command, render.toml


def act(studio: Studio, verb: str, render_id: str | None) -> str:
    action = {"pause": studio.pause, "resume": studio.resume, "cancel": studio.cancel}[verb]
    said, message = guarded(lambda: action(render_id or ""), "")
    return message or said


def status_json(studio: Studio, item_id: str | None) -> str:
    view, message = guarded(lambda: studio.status(item_id or None), None)
    return json.dumps(view if view is not None else {"error": message}, default=str)


def describe_render(view: dict[str, Any]) -> str:
    done, total = view["frame"], view["total"]
    parts = [f"**{view['status']}** {Path(view['output']).name}: frame {done}/{total if total else '?'}"]
    if view.get("seconds_per_frame"):
        parts.append(f"{view['seconds_per_frame']:.1f} s/frame")
    if view.get("eta") is not None and view["status"] == "running":
        parts.append(f"ETA {view['eta']:.0f} s")
    errors = [e for e in view.get("warp_errors", []) if e is not None]
    if errors:
        parts.append(f"warping error of the last frame {errors[-1]:.2e} (median {np.median(errors):.2e}; "
                     "by the pipeline's own flow)")
    if view.get("message"):
        parts.append(view["message"])
    return ", ".join(parts)


def poll(studio: Studio, render_id: str | None, preview_id: str | None) -> tuple:
    """What the page refreshes every second: render status, latest frame, result, preview, the queue."""
    listing = studio.status()
    renders = listing["renders"]
    if not render_id and renders:
        render_id = renders[-1]["id"]  # after a reload or a restart: the newest render
    view = next((r for r in renders if r["id"] == render_id), None)
    status, latest, result = "", None, None
    if view is not None:
        status, latest = describe_render(view), view.get("latest")
        result = view["output"] if view["status"] == "done" and Path(view["output"]).is_file() else None
    preview_text, preview_image = "", None
    if preview_id:
        try:
            preview = studio.status(preview_id)
            preview_text = f"**{preview['status']}** iteration {preview['iteration']}/{preview['total']}"
            preview_text += f": {preview['message']}" if preview["message"] else ""
            preview_image = preview.get("image")
        except Refused:
            pass
    rows = [[r["id"], Path(r["request"]["source"]).name, r["status"], f"{r['frame']}/{r['total'] or '?'}",
             r["message"]] for r in renders]
    return status, latest, result, result, preview_text, preview_image, rows, render_id

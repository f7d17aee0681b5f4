"""What each studio action does and shows, without Gradio: plain values and typed records in and out.

``app.py`` wires these to widgets; tests call them directly. A bad request is a :class:`~.form.Said` for the
panel of the control it is about (settings named by their labels, numbers as the user typed them), never a
traceback.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..config import SettingError
from ..media.decode import count_frames
from ..media.images import is_image_path, read_image
from ..paint.keys import HOLD, key_frame, key_time
from ..video.checkpoint import work_dir_for
from ..video.preview import preview_indices
from . import picking
from .form import Said, said
from .library import Library, Refused
from .session import Request, spec_of
from .work import Render, Studio

FAILURES = (SettingError, Refused, ValueError, OSError)


def guarded(action: Callable[[], Any], fallback: Any, panel: str) -> tuple[Any, Said | None]:
    """``(result, None)`` or ``(fallback, message)``: a bad request is a message in the page; the server goes on."""
    try:
        return action(), None
    except FAILURES as exc:
        return fallback, said(exc, panel)


@dataclass(frozen=True)
class Opened:
    """A medium opened in the page: what it is, its last frame index, and frame 0 as shown."""

    facts: str
    last: int
    shown: picking.Shown


def open_media(library: Library, request: Request) -> tuple[Opened | None, Said | None]:
    def opened() -> Opened:
        facts = library.facts(request.source)
        last = 0 if facts.kind == "image" else max(0, (facts.frames or 1) - 1)
        return Opened(facts.describe(), last, picking.show(library, request, 0))

    return guarded(opened, None, "source")


def show_frame(library: Library, request: Request, index: Any) -> tuple[picking.Shown | None, Said | None]:
    return guarded(lambda: picking.show(library, request, int(index or 0)), None, "source")


def take_upload(library: Library, file: Any, painting: bool = False) -> tuple[Path | None, Said | None]:
    """An uploaded clip, image or painting moved into the studio's folder: ``(its path, message)``."""
    panel = "styles" if painting else "source"

    path, message = guarded(lambda: accept(library, file, painting), None, panel)
    if path is None:
        return None, message
    return path, Said(panel, f"added {path.name}" + (" to the styles" if painting else ""), "note")


def upload_parts(file: Any) -> tuple[str, str | None]:
    """An uploaded file as Gradio hands it over (a path, a file object or a FileData dict): ``(its path on the
    server, its name on the user's machine)``."""
    if file is None:
        raise Refused("the upload did not arrive; try again")
    if isinstance(file, (str, os.PathLike)):
        return os.fspath(file), None
    if isinstance(file, dict):
        return file.get("path") or "", file.get("orig_name")
    return getattr(file, "path", None) or getattr(file, "name", ""), getattr(file, "orig_name", None)


def accept(library: Library, file: Any, painting: bool = False) -> Path:
    """An upload as Gradio hands it over, checked and moved into the studio's folder (see ``Library.accept_upload``)."""
    path, name = upload_parts(file)
    return library.accept_upload(path, painting=painting, name=name)


def style_gallery(library: Library) -> list[tuple[str, str]]:
    return [(os.fspath(thumb), f"{Path(name).name if os.sep in name else name}: {credit}")
            for name, thumb, credit in library.styles()]


def style_names(library: Library) -> list[str]:
    return [name for name, _, _ in library.styles()]


def mask_strip(library: Library, request: Request) -> tuple[np.ndarray | None, Said | None]:
    return guarded(lambda: picking.strip(library, request), None, "region")


def start_preview(studio: Studio, request: Request, frames: list[int] | None, count: int = 4
                  ) -> tuple[str | None, Said]:
    """Queue a preview of ``frames`` (or ``count`` evenly spaced ones): ``(its id, message)``."""
    preview_id, message = guarded(lambda: queue_preview(studio, request, frames, count), None, "preview")
    return preview_id, message or Said("preview", "preview queued", "note")


def queue_preview(studio: Studio, request: Request, frames: list[int] | None, count: int = 4) -> str:
    """Queue a preview; returns its id (raises on a bad request or a frame the clip does not have)."""
    path = studio.library.resolve(request.source)
    total = 1 if is_image_path(path) else count_frames(studio.library.info(path))
    picked = preview_indices(total, count) if frames is None else frames
    missing = [i for i in picked if not 0 <= i < total]
    if missing:
        raise Refused(f"{path.name} has no frame {missing[0]} (frames 0 to {total - 1})", key="frame")
    return studio.preview(request, picked).id


@dataclass(frozen=True)
class Started:
    """A render asked for: its id (None when refused), what to say, and the same job as a command and a table."""

    render_id: str | None
    said: Said
    command: str = ""
    toml: str = ""


def start_render(studio: Studio, request: Request) -> Started:
    (render, text), message = guarded(lambda: studio.render(request), (None, ""), "render")
    if render is None:
        return Started(None, message)
    return Started(render.id, Said("render", text, "note"), render.command, render.toml)


def act(studio: Studio, verb: str, item_id: str | None) -> Said:
    action = {"pause": studio.pause, "resume": studio.resume, "cancel": studio.cancel,
              "cancel_preview": studio.cancel_preview}[verb]
    text, message = guarded(lambda: action(item_id or ""), "", "preview" if verb == "cancel_preview" else "render")
    return message or Said("preview" if verb == "cancel_preview" else "render", str(text), "note")


def status_json(studio: Studio, item_id: str | None) -> str:
    view, message = guarded(lambda: studio.status(item_id or None), None, "render")
    return json.dumps(view if view is not None else {"error": message.text}, default=str)


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


@dataclass(frozen=True)
class Progress:
    """What the page refreshes every second (and nothing else: messages beside the controls are not in it)."""

    render_id: str | None
    render_status: str
    latest: str | None
    result: str | None
    preview_status: str
    preview_image: str | None
    rows: list[list[Any]]
    before_after: tuple[str, str] | None = None  # a one-frame preview: its source and result


def poll(studio: Studio, render_id: str | None, preview_id: str | None) -> Progress:
    renders = studio.status()["renders"]
    view = next((r for r in renders if r["id"] == render_id), None)
    status, latest, result = "", None, None
    if view is not None:
        status, latest = describe_render(view), view.get("latest")
        result = view["output"] if view["status"] == "done" and Path(view["output"]).is_file() else None
    preview_text, preview_image, before_after = "", None, None
    if preview_id:
        try:
            preview = studio.status(preview_id)
            preview_text = f"**{preview['status']}** iteration {preview['iteration']}/{preview['total']}"
            preview_text += f": {preview['message']}" if preview["message"] else ""
            preview_image = preview.get("image")
            if preview.get("before") and preview.get("after"):
                before_after = (preview["before"], preview["after"])
        except Refused:
            pass
    rows = [[r["id"], Path(r["request"]["source"]).name, r["status"], f"{r['frame']}/{r['total'] or '?'}",
             r["message"]] for r in renders]
    return Progress(render_id, status, latest, result, preview_text, preview_image, rows, before_after)


def current_render(studio: Studio) -> Render | None:
    """The render a freshly loaded page shows: the one running, else the newest queued or paused, else the newest."""
    renders = sorted(studio.renders.values(), key=lambda r: r.created)
    for wanted in (("running",), ("queued", "paused")):
        active = [r for r in renders if r.status in wanted]
        if active:
            return active[-1]
    return renders[-1] if renders else None


def reopen(studio: Studio, render_id: str | None) -> tuple[Render | None, Request | None]:
    """A render and the form it was started from (a reload, or a row of the Renders table)."""
    render = studio.renders.get(str(render_id)) if render_id else current_render(studio)
    if render is None:
        return None, None
    try:
        return render, Request.from_dict(render.request)
    except (Refused, TypeError, ValueError):  # a queue file from an older studio: the render, not its form
        return render, None


def with_source(request: Request, source: str | None) -> Request:
    """The request for another medium: the region picked on the former one does not carry over."""
    if source == request.source:
        return request
    return replace(request, source=source or "", mask=None, box=None, keyframe=0)


def _fps(library: Library, source: str | None):
    """The clip's frame rate, or None (a still, or a medium that does not open)."""
    if not source:
        return None
    try:
        return library.facts(source).fps
    except FAILURES:
        return None


def key_on_frame(library: Library, source: str | None, keys: tuple[str, ...], frame: int) -> str | None:
    """The style key that falls on ``frame`` of ``source`` (None: none does)."""
    fps = _fps(library, source)
    return next((k for k in keys if key_frame_of(k, fps) == int(frame)), None)


def key_frame_of(key: str, fps) -> int | None:
    """The frame a style key as typed falls on (None: unreadable, or in seconds without a frame rate)."""
    try:
        at, _, _ = key_time(key)
    except ValueError:
        return None
    return at.frame if at.frame is not None else key_frame(at, fps) if fps else None


def add_key(library: Library, request: Request, frame: int) -> tuple[tuple[str, ...], Said | None]:
    """The request's style keys with one more at ``frame``: the mix of the style slots (a key already on that frame
    is replaced), in frame order; or the keys as they were and why not."""
    spec = spec_of(request.styles)
    if spec is None or all(weight <= 0 for _, weight in request.styles):
        return request.style_keys, Said("styles", "pick a style with a weight above 0 first: a key keeps the mix "
                                                  "of the style slots")
    keys = _placed(library, request, request.style_keys, frame, f"{frame}f={spec}")
    return keys, Said("styles", f"key at frame {frame}: {spec}", "note")


def _placed(library: Library, request: Request, others: tuple[str, ...], frame: int, key: str) -> tuple[str, ...]:
    """``others`` with ``key`` at ``frame`` (replacing a key on that frame), in frame order (unreadable ones last)."""
    fps = _fps(library, request.source)
    kept = [(f, k) for f, k in ((key_frame_of(k, fps), k) for k in others) if f != frame] + [(frame, key)]
    return tuple(k for _, k in sorted(kept, key=lambda p: float("inf") if p[0] is None else p[0]))


def move_key(library: Library, request: Request, key: str, frame: int) -> tuple[tuple[str, ...], Said | None]:
    """The request's style keys with ``key`` moved to ``frame`` (its mix and its hold kept; a key already on that
    frame is replaced), in frame order; or the keys as they were and why not."""
    if key not in request.style_keys:
        return request.style_keys, Said("styles", "choose a key to move first", "note")
    _, hold, styles = key_time(key)
    moved = f"{int(frame)}f{HOLD if hold else ''}={styles.strip()}"
    keys = _placed(library, request, tuple(k for k in request.style_keys if k != key), frame, moved)
    return keys, Said("styles", f"key {key} moved to frame {frame}: {moved}", "note")


def remove_key(request: Request, key: str) -> tuple[tuple[str, ...], Said | None]:
    """The request's style keys without ``key``; or the keys as they were and why not."""
    if key not in request.style_keys:
        return request.style_keys, Said("styles", "choose a key to remove first", "note")
    return tuple(k for k in request.style_keys if k != key), Said("styles", f"key {key} removed", "note")


EDIT_SIDE = 640  # at least this long a side in the paint-over editor


def result_frame(studio: Studio, render_id: str | None, index: int) -> tuple[np.ndarray | None, Said | None]:
    """Frame ``index`` of a render as the pipeline painted it (its last pass, from the work folder the studio keeps),
    enlarged to :data:`EDIT_SIDE` by a whole factor, to paint over; or why not."""
    def found() -> np.ndarray:
        if not render_id:
            raise Refused("render the clip first: the frame to paint over is the render's", key="paint_over")
        view = studio.status(render_id)
        work = work_dir_for(Path(view["output"]))
        folders = sorted((p for p in work.glob("pass*") if p.is_dir()), key=lambda p: int(p.name[4:] or 0))
        for folder in [*reversed(folders), work / "frames"]:
            path = folder / f"{int(index):06d}.png"
            if path.is_file():
                image = read_image(path)
                # Shown enlarged by a whole factor (nearest), so a brush is a brush on a small frame too; the
                # pipeline's area filter takes an edit back to the processing size, unpainted pixels unchanged.
                factor = max(1, -(-EDIT_SIDE // max(image.shape[:2])))
                return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
        raise Refused(f"frame {index} is not painted yet in {Path(view['output']).name}", key="paint_over")

    return guarded(found, None, "render")


def add_edit(request: Request, index: int, path: str) -> tuple[str, ...]:
    """The request's painted-over frames with ``path`` on frame ``index`` (replacing one there), in frame order."""
    kept = [e for e in request.paint_over if e.partition("=")[0].strip() != str(int(index))]
    return tuple(sorted([*kept, f"{int(index)}={path}"], key=lambda e: int(e.partition("=")[0] or 0)))


def timeline(library: Library, request: Request) -> str:
    """The clip's style keys and painted-over frames as marks on a bar under the scrubber (HTML), each at its frame
    and titled with what it does; empty for a still or a clip without either."""
    import html

    if not request.source or (not request.style_keys and not request.paint_over):
        return ""
    try:
        facts = library.facts(request.source)
    except FAILURES:
        return ""
    if facts.kind != "video" or not facts.frames or not facts.fps:
        return ""
    last = max(1, facts.frames - 1)
    marks = []
    for key in request.style_keys:
        frame = key_frame_of(key, facts.fps)
        if frame is not None:
            when, _, styles = key.partition("=")
            marks.append((frame, "#2563eb", f"{when.strip()}: {styles}"))
    for edit in request.paint_over:
        frame_text = edit.partition("=")[0].strip()
        if frame_text.isdigit():
            marks.append((int(frame_text), "#dc2626", f"frame {frame_text} painted over"))
    ticks = "".join(
        f'<div title="{html.escape(title)}" style="position:absolute;left:{min(100.0, 100 * frame / last):.2f}%;'
        f'top:0;width:3px;height:14px;margin-left:-1px;background:{colour}"></div>'
        f'<div style="position:absolute;left:{min(100.0, 100 * frame / last):.2f}%;top:15px;font-size:11px;'
        f'transform:translateX(-50%)">{frame}</div>'
        for frame, colour, title in sorted(marks))
    legend = ('<div style="font-size:11px;margin-top:30px"><span style="color:#2563eb">&#9646;</span> style key '
              '<span style="color:#dc2626">&#9646;</span> painted-over frame (hover a mark: what it does)</div>')
    return (f'<div id="timeline-bar" style="position:relative;height:28px;border-top:2px solid #9ca3af">{ticks}'
            f'</div>{legend}')

"""Server-owned work: renders and previews run in one worker thread, not in a click handler.

A render outlives the tab that started it and the server itself: the queue is a JSON file in the
studio's folder, and a render resumes from its work folder (``OUTPUT.vidstyle-work``) after a
restart. One heavy job runs at a time, as batch does on a CPU: renders in the order they came,
previews ahead of them (a running render steps aside between two frames and comes back). Pausing
stops a render after the frame in progress; cancelling stops it at once and removes its work.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..media.files import atomic_path
from ..media.images import is_image_path, write_image
from ..video.checkpoint import BusyError, work_dir_for
from .library import Library, Refused
from .session import Request, in_words

log = logging.getLogger(__name__)
IMAGE_EVERY = 5  # a preview shows its image every this many iterations


class Stop(Exception):
    """Raised from a progress callback to stop the work in progress (``why``: pause, cancel, step aside)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@dataclass
class Render:
    """A render's state, as the page and the ``status`` endpoint see it (and as the queue file keeps it)."""

    id: str
    request: dict
    output: str
    command: str
    toml: str
    status: str = "queued"  # queued, running, paused, done, failed, cancelled
    frame: int = 0  # frames finished
    total: int | None = None
    seconds_per_frame: float | None = None
    latest: str | None = None  # the newest finished frame (a PNG in the work folder)
    warp_errors: list = field(default_factory=list)  # per frame, by the pipeline's own flow (progress only)
    message: str = ""
    created: float = field(default_factory=time.time)

    @property
    def eta(self) -> float | None:
        if self.total is None or self.seconds_per_frame is None:
            return None
        return max(0, self.total - self.frame) * self.seconds_per_frame

    def view(self) -> dict[str, Any]:
        return {**asdict(self), "eta": self.eta, "kind": "render"}


@dataclass
class Preview:
    """A preview in progress: the current frame (or a sheet of N) forming, cancellable."""

    id: str
    request: dict
    frames: list
    status: str = "queued"  # queued, running, done, failed, cancelled
    iteration: int = 0
    total: int = 0
    image: str | None = None  # the image as it forms, then the result
    message: str = ""
    before: str | None = None  # a one-frame video preview: its source and result, for the before/after slider
    after: str | None = None

    def view(self) -> dict[str, Any]:
        return {**asdict(self), "kind": "preview"}


class Studio:
    """The studio's work, without any page: submit, watch, pause, resume, cancel. Thread-safe."""

    def __init__(self, library: Library, device: str = "auto", start: bool = True) -> None:
        self.library, self.device = library, device
        self.queue_file = library.work / "queue.json"
        self.renders: dict[str, Render] = {}
        self.previews: dict[str, Preview] = {}
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._stops: dict[str, str] = {}  # id -> why, asked of the work in progress
        self._closing = False
        self._load()
        self._worker = threading.Thread(target=self._work, name="vidstyle-studio", daemon=True)
        if start:
            self._worker.start()

    # --- the queue file -----------------------------------------------------------------------------
    def _load(self) -> None:
        if not self.queue_file.is_file():
            return
        for data in json.loads(self.queue_file.read_text()):
            render = Render(**{k: v for k, v in data.items() if k in Render.__dataclass_fields__})
            if render.status == "running":  # the server stopped under it: it resumes from its work folder
                render.status, render.message = "queued", "resuming after a restart"
            self.renders[render.id] = render

    def _save(self) -> None:
        with self._lock:
            data = [asdict(r) for r in self.renders.values()]
        with atomic_path(self.queue_file) as tmp:
            tmp.write_text(json.dumps(data, indent=1))

    # --- renders --------------------------------------------------------------------------------
    def render(self, request: Request) -> tuple[Render, str]:
        """Queue a render; the same output already queued or running is not started twice."""
        job = request.job(self.library)
        with self._lock:
            for render in self.renders.values():
                if render.output == str(job.output) and render.status in ("queued", "running", "paused"):
                    return render, f"already {render.status}: {Path(render.output).name}"
                if render.output == str(job.output) and render.status == "done" and Path(render.output).is_file() \
                        and list(render.request.get("paint_over", [])) == list(request.paint_over):
                    return render, f"already rendered with these settings: {Path(render.output).name}"
            render = Render(uuid.uuid4().hex[:12], request.to_dict(), str(job.output), job.command_line(),
                            job.to_toml())
            self.renders[render.id] = render
        self._save()
        self._wake.set()
        return render, f"queued {Path(render.output).name}"

    def pause(self, render_id: str) -> str:
        with self._lock:
            render = self._render(render_id)
            if render.status == "running":
                self._stops[render_id] = "pause"
                return "pausing after the frame in progress"
            if render.status == "queued":
                render.status = "paused"
                self._save()
                return "paused"
            return f"not running ({render.status})"

    def resume(self, render_id: str) -> str:
        with self._lock:
            render = self._render(render_id)
            if render.status not in ("paused", "failed"):
                return f"nothing to resume ({render.status})"
            render.status, render.message = "queued", "resuming"
        self._save()
        self._wake.set()
        return "queued to resume"

    def cancel(self, render_id: str) -> str:
        with self._lock:
            render = self._render(render_id)
            if render.status == "running":
                self._stops[render_id] = "cancel"
                return "cancelling"
            if render.status in ("queued", "paused"):
                render.status = "cancelled"
                self._discard(render)
                self._save()
                return "cancelled"
            return f"nothing to cancel ({render.status})"

    def _render(self, render_id: str) -> Render:
        render = self.renders.get(str(render_id))
        if render is None:
            raise Refused(f"no render {render_id!r}")
        return render

    def _discard(self, render: Render) -> None:
        shutil.rmtree(work_dir_for(Path(render.output)), ignore_errors=True)

    # --- previews -------------------------------------------------------------------------------
    def preview(self, request: Request, frames: list[int]) -> Preview:
        request.job(self.library)  # checked now, so a bad request is refused at once
        preview = Preview(uuid.uuid4().hex[:12], request.to_dict(), [int(f) for f in frames])
        with self._lock:
            for other in self.previews.values():  # one preview at a time: a newer one replaces the older
                if other.status in ("queued", "running"):
                    self._stops[other.id] = "cancel"
                    if other.status == "queued":
                        other.status = "cancelled"
            self.previews[preview.id] = preview
        self._wake.set()
        return preview

    def cancel_preview(self, preview_id: str) -> str:
        with self._lock:
            preview = self.previews.get(str(preview_id))
            if preview is None:
                raise Refused(f"no preview {preview_id!r}")
            if preview.status == "queued":
                preview.status = "cancelled"
            elif preview.status == "running":
                self._stops[preview.id] = "cancel"
            return preview.status

    def status(self, item_id: str | None = None) -> dict[str, Any]:
        with self._lock:
            if item_id:
                item = self.renders.get(item_id) or self.previews.get(item_id)
                if item is None:
                    raise Refused(f"no render or preview {item_id!r}")
                return item.view()
            return {"renders": [r.view() for r in sorted(self.renders.values(), key=lambda r: r.created)],
                    "busy": any(r.status == "running" for r in self.renders.values())}

    # --- the worker -----------------------------------------------------------------------------
    def _next(self) -> Preview | Render | None:
        with self._lock:
            waiting = [p for p in self.previews.values() if p.status == "queued"]
            if waiting:
                return waiting[-1]
            queued = sorted((r for r in self.renders.values() if r.status == "queued"), key=lambda r: r.created)
            return queued[0] if queued else None

    def _work(self) -> None:
        while not self._closing:
            item = self._next()
            if item is None:
                self._wake.wait(0.5)
                self._wake.clear()
                continue
            try:
                self._run_preview(item) if isinstance(item, Preview) else self._run_render(item)
            except Exception:  # a bug: the item fails alone, the server goes on
                log.exception("studio work %s failed", item.id)
                with self._lock:
                    item.status, item.message = "failed", "internal error (see the server's log)"

    def _check(self, item_id: str, render: bool) -> None:
        """Raise :class:`Stop` if asked: a cancel at any step; a pause or stepping aside only between a render's
        frames (``render``), so the frame in progress is finished and kept."""
        with self._lock:
            why = self._stops.get(item_id)
            if why is not None and (render or why == "cancel"):
                del self._stops[item_id]
            else:
                why = None
            if why is None and render and any(p.status == "queued" for p in self.previews.values()):
                why = "step aside"
        if why is not None:
            raise Stop(why)

    def _run_render(self, render: Render) -> None:
        from ..batch.execute import run_job

        with self._lock:
            render.status, render.message = "running", ""
        self._save()
        spent: list[float] = []

        def on_frame(report: Any) -> None:
            with self._lock:
                render.frame, render.total = report.step, report.steps  # frames x passes
                if not report.resumed:
                    spent.append(report.seconds)
                    render.seconds_per_frame = float(np.mean(spent[-10:]))
                errors = render.warp_errors
                errors.extend([None] * (report.index + 1 - len(errors)))
                if report.pass_index == 1:
                    errors[report.index] = report.warp_error
            frames = "frames" if report.pass_index == 1 else f"pass{report.pass_index}"
            frame = work_dir_for(Path(render.output)) / frames / f"{report.index:06d}.png"
            if frame.is_file():  # a copy: the work folder goes away when the render is done
                latest = self.library.work / "renders" / f"{render.id}.png"
                latest.parent.mkdir(exist_ok=True)
                with atomic_path(latest) as tmp:
                    shutil.copyfile(frame, tmp)
                with self._lock:
                    render.latest = str(latest)
            self._check(render.id, render=True)

        try:
            job = Request.from_dict(render.request).job(self.library, Path(render.output))
            if job.kind == "image":
                run_job(job, device=self.device, on_step=lambda _: self._check(render.id, render=False))
                result_frames = 1
            else:
                result = run_job(job, device=self.device, on_frame=on_frame,
                                 on_step=lambda _: self._check(render.id, render=False))
                result_frames = result.frames
            with self._lock:
                render.status, render.frame, render.total = "done", result_frames, result_frames
                render.message = f"done: {Path(render.output).name}"
                render.latest = render.output if job.kind == "image" else render.latest
        except Stop as stop:
            with self._lock:
                render.status = {"pause": "paused", "cancel": "cancelled", "step aside": "queued"}[stop.why]
                render.message = {"pause": "paused", "cancel": "cancelled",
                                  "step aside": "waiting for a preview"}[stop.why]
                if stop.why == "cancel":
                    self._discard(render)
        except (BusyError, ValueError, OSError, Refused) as exc:
            with self._lock:
                render.status, render.message = "failed", in_words(exc)
        with self._lock:
            self._stops.pop(render.id, None)  # a pause asked too late to act (an image has no frames between)
        self._save()

    def _run_preview(self, preview: Preview) -> None:
        from ..batch.execute import plan_image_job, plan_video_job
        from ..core.device import resolve_device
        from ..image.pipeline import stylize_plan
        from ..video.preview import preview_video

        with self._lock:
            preview.status = "running"
        live = self.library.work / "previews" / f"{preview.id}.png"

        def on_step(report: Any) -> None:
            with self._lock:
                preview.iteration, preview.total = report.iteration, report.total
            self._check(preview.id, render=False)

        def on_image(iteration: int, image: np.ndarray) -> None:
            write_image(live, image)
            with self._lock:
                preview.image = str(live)

        try:
            job = Request.from_dict(preview.request).job(self.library)
            device = resolve_device(self.device)
            if is_image_path(job.input):
                image = stylize_plan(plan_image_job(job, device), config=job.run, device=device, callback=on_step,
                                     save_every=IMAGE_EVERY, on_snapshot=lambda s: on_image(s.iteration, s.image))
            else:
                pair: list = []
                image = preview_video(plan_video_job(job, device, preview=True), len(preview.frames), config=job.run,
                                      device=device, on_step=on_step, indices=preview.frames, on_image=on_image,
                                      image_every=IMAGE_EVERY, on_result=lambda i, a, b: pair.append((a, b)))
                if len(pair) == 1:
                    before, after = live.with_name(f"{preview.id}-before.png"), live.with_name(f"{preview.id}-after.png")
                    write_image(before, pair[0][0])
                    write_image(after, pair[0][1])
                    with self._lock:
                        preview.before, preview.after = str(before), str(after)
            write_image(live, image)
            with self._lock:
                preview.status, preview.image, preview.message = "done", str(live), "done"
        except Stop:
            with self._lock:
                preview.status, preview.message = "cancelled", "cancelled"
        except (ValueError, OSError, Refused) as exc:
            with self._lock:
                preview.status, preview.message = "failed", in_words(exc)

    def close(self) -> None:
        """Stop the worker after the work in progress steps aside (renders resume at the next start)."""
        self._closing = True
        with self._lock:
            for render in self.renders.values():
                if render.status == "running":
                    self._stops[render.id] = "step aside"
        self._wake.set()
        if self._worker.is_alive():
            self._worker.join(timeout=60)

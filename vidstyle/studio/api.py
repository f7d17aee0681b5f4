"""The studio's named API: what a script calls with ``gradio_client``, with the job's keys as parameter names.

Every endpoint is a plain typed function (``gr.api``), so its parameters are named and documented in the page's
"Use via API" and by ``Client.view_api()``. A bad request raises ``gr.Error`` with the library's message (one
line, settings named by their keys), which the client raises as an exception. The page's own events are private.
"""

import hashlib
import inspect
from pathlib import Path
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

from ..config import STUDIO_SIZE, LossConfig, OptimConfig, TemporalConfig
from ..media.images import write_image
from . import picking, views
from .library import Library
from .session import Request, in_keys
from .work import Studio


def job_keys(input: str, styles: str, style_weight: float = LossConfig.style_weight, preserve_colors: bool = False,
             even_mix: bool = False, max_size: int = STUDIO_SIZE, first_iterations: int = OptimConfig.iterations,
             iterations: int = TemporalConfig.iterations, end: int = 0, segment: str = "",
             invert_mask: bool = False, grabcut: str = "", mask: str = "", mask_keyframe: int = 0,
             background_style: str = "", style_key: str = "", paint_over: str = "",
             passes: int = TemporalConfig.passes) -> Request:
    """The request the job's keys describe: ``input`` a clip or image the studio may open (``media()``), ``styles``
    as ``name:weight,...`` (``styles()``), ``max_size`` the processing size, ``end`` the first N frames (0: all);
    the region: ``segment="person"`` (with ``invert_mask``, its background), ``grabcut`` ``x,y`` (a click) or
    ``x,y,w,h`` (a box) in source pixels, or a brushed ``mask`` (a PNG path ``brush`` returned), drawn on
    ``mask_keyframe``; ``background_style`` for what the region leaves out; ``style_key`` the mix over time, keys
    separated by ``;`` (``"12f=picasso;2s:hold=matisse"``, as ``vidstyle video --style-key``); ``paint_over`` frames
    painted over, ``FRAME=PATH`` separated by ``;``, each PATH an image ``upload`` returned; ``passes`` over the clip
    (1: one forward pass; each more runs the other way, as ``vidstyle video --passes``)."""
    return Request.from_keys(input, styles, max_size=max_size, segment=segment or None, invert_mask=invert_mask,
                             grabcut=grabcut or None, mask=mask or None, mask_keyframe=mask_keyframe,
                             background_style=background_style or None, end=end or None, style_weight=style_weight,
                             preserve_colors=preserve_colors, even_mix=even_mix, first_iterations=first_iterations,
                             iterations=iterations, style_key=style_key or None, paint_over=paint_over or None,
                             passes=passes)


KEYS = list(inspect.signature(job_keys).parameters.values())


def _keyed(fn: Any, extra: list[inspect.Parameter], returns: Any) -> Any:
    """An endpoint taking the job's keys (and ``extra``) that calls ``fn(request, **extra)``; errors as gr.Error."""
    signature = inspect.Signature(KEYS + extra, return_annotation=returns)

    def endpoint(*args: Any, **kwargs: Any) -> Any:
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        rest = {p.name: values.pop(p.name) for p in extra}
        return _answer(lambda: fn(job_keys(**values), **rest))

    endpoint.__signature__ = signature  # type: ignore[attr-defined]
    endpoint.__annotations__ = {**{p.name: p.annotation for p in signature.parameters.values()}, "return": returns}
    endpoint.__doc__ = fn.__doc__
    endpoint.__name__ = fn.__name__
    return endpoint


def _answer(action: Any) -> Any:
    try:
        return action()
    except views.FAILURES as exc:
        raise gr.Error(in_keys(exc), print_exception=False) from None


def _file(library: Library, image: Any, kind: str) -> Any:
    """A picture the API returns: a PNG in the studio's output folder (the only folder it serves)."""
    folder = library.work / "api"
    folder.mkdir(exist_ok=True)
    target = folder / f"{kind}-{hashlib.sha256(image.tobytes()).hexdigest()[:12]}.png"
    if not target.is_file():
        write_image(target, image)
    return FileData(path=str(target))


def add_api(studio: Studio) -> None:
    """Register the named endpoints (inside a ``gr.Blocks``)."""
    library = studio.library

    def media() -> list[str]:
        """The clips and images the studio may open (its folders and the uploads), as ``input`` names them."""
        return library.media()

    def styles() -> list[str]:
        """The style names ``styles`` may use: the library's and the paintings uploaded to this studio."""
        return views.style_names(library)

    def facts(input: str) -> dict:
        """What a clip or image is: kind, size, fps, duration, frames, audio, rotation, colour."""
        found = _answer(lambda: library.facts(input))
        return {"kind": found.kind, "width": found.width, "height": found.height,
                "fps": float(found.fps) if found.fps else None, "duration": found.duration, "frames": found.frames,
                "audio": found.audio, "rotation": found.rotation, "colour": found.colour,
                "description": found.describe()}

    def frame(input: str, frame: int = 0) -> FileData:
        """Frame ``frame`` of ``input`` as the page shows it (640 px long side, its number stamped on it)."""
        shown = _answer(lambda: picking.show(library, Request(input), int(frame)))
        return _file(library, shown.picture, "frame")

    def upload(file: FileData) -> str:
        """Add a clip or an image: returns the name to pass as ``input``."""
        return _uploaded(file, painting=False)

    def upload_painting(file: FileData) -> str:
        """Add a painting to the styles: returns the name to use in ``styles``."""
        return _uploaded(file, painting=True)

    def _uploaded(file: Any, painting: bool) -> str:
        return _answer(lambda: Path(views.accept(library, file, painting)).name)

    def masks(request: Request) -> FileData:
        """The region on ``mask_keyframe`` and on frames across the clip, before any stylization."""
        return _file(library, picking.strip(library, request), "masks")

    def preview(request: Request, frames: list[int] | None = None, count: int = 4) -> str:
        """Queue a preview of ``frames`` (or ``count`` evenly spaced ones); returns its id for ``status``."""
        return views.queue_preview(studio, request, list(frames) if frames else None, count)

    def render(request: Request) -> dict:
        """Queue a render (the same settings render once); returns its id, what was said, the command line and the
        jobs.toml table of the same job."""
        render, said = studio.render(request)
        return {"render_id": render.id, "said": said, "command": render.command, "toml": render.toml}

    def status(id: str = "") -> dict:
        """A render's or preview's state (status, frame, total, seconds_per_frame, eta, output, message, ...), or with
        no id every render."""
        return _answer(lambda: studio.status(id or None))

    def pause(render_id: str) -> str:
        """Pause a render after the frame in progress."""
        return _answer(lambda: studio.pause(render_id))

    def resume(render_id: str) -> str:
        """Resume a paused (or failed) render from its finished frames."""
        return _answer(lambda: studio.resume(render_id))

    def cancel(render_id: str) -> str:
        """Cancel a render and remove its work."""
        return _answer(lambda: studio.cancel(render_id))

    def cancel_preview(preview_id: str) -> str:
        """Cancel a preview."""
        return _answer(lambda: studio.cancel_preview(preview_id))

    frames = inspect.Parameter("frames", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                               annotation=list[int] | None)
    count = inspect.Parameter("count", inspect.Parameter.POSITIONAL_OR_KEYWORD, default=4, annotation=int)
    for fn in (media, styles, facts, frame, upload, upload_painting, status, pause, resume, cancel, cancel_preview):
        gr.api(fn, api_name=fn.__name__)
    gr.api(_keyed(masks, [], FileData), api_name="masks")
    gr.api(_keyed(preview, [frames, count], str), api_name="preview")
    gr.api(_keyed(render, [], dict), api_name="render")

"""The studio page: Gradio widgets wired to the UI-free layer (``form``, ``picking``, ``views``, ``work``).

Nothing here decides anything. The form's widgets are a dict by control name (``form.CONTROLS``), turned into a
:class:`~.session.Request` by name, never by position. Each panel has its own message line, written by the
actions of that panel (and by a render or preview refused because of one of its controls) and cleared when the
user changes one of its controls; the once-a-second refresh writes only the status lines. The page's events are
private; the named API (``api.py``) speaks the job's keys.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gradio as gr

from . import panels, picking, views
from .api import add_api
from .form import CONTROLS, SLOTS, Said, controls_of, read_keys, request_from_controls
from .library import Library
from .session import Request
from .work import Studio

HIDDEN = "private"  # the page's own events are not API endpoints (api.py has the named ones)
# The events that draw the shown frame and its warning run one at a time, in the order they came: a scrub that
# started before a click must not finish after it with the region as it was.
SHOWN = {"concurrency_id": "shown", "concurrency_limit": 1, "api_visibility": HIDDEN}


@dataclass
class Page:
    """The widgets the handlers read and write, by role."""

    form: dict[str, Any]  # every control, by its name in form.CONTROLS
    messages: dict[str, Any]  # one message line per panel
    frame: Any
    picture: Any
    facts: Any
    warning: Any  # the region on the shown frame: empty or the whole frame
    rendered: Any  # the id of the render this page watches
    previewing: Any


def build(studio: Studio) -> Any:
    library = studio.library
    form: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    with gr.Blocks(title="vidstyle studio", analytics_enabled=False) as blocks:
        gr.Markdown("## vidstyle studio\nPick a clip, mix styles, choose a region, preview, render.")
        rendered = gr.Textbox(visible=False, elem_id="render-id")
        previewing = gr.Textbox(visible=False, elem_id="preview-id")
        with gr.Row():
            with gr.Column(scale=1):
                upload, facts, frame, timeline = panels.source_panel(library, form, messages)
            with gr.Column(scale=2):
                picture = gr.Image(label="Source frame", type="numpy", interactive=False, elem_id="frame-image")
        with gr.Row():
            with gr.Column():
                painting, gallery, keys = panels.styles_panel(library, form, messages)
            with gr.Column():
                panels.settings_panel(form, messages)
            with gr.Column():
                warning, brush, use_brush, show_masks, _ = panels.region_panel(library, form, messages)
        strip = gr.Image(label="The region on this frame and across the clip", interactive=False, elem_id="mask-strip")
        page = Page(form, messages, frame, picture, facts, warning, rendered, previewing)
        with gr.Row():
            with gr.Column():
                preview = panels.preview_panel(messages)
            with gr.Column():
                render = panels.render_panel(form, messages)
        queue = gr.Dataframe(headers=["id", "clip", "status", "frames", "message"], label="Renders (click a row to "
                             "reopen it)", interactive=False, elem_id="queue")
        add_api(studio)  # first, so the named endpoints keep their names
        opening = _wire_source(library, page, upload)
        _wire_styles(library, page, painting, gallery, keys)
        _wire_timeline(library, page, timeline)
        _wire_region(library, page, brush, use_brush, show_masks, strip)
        _wire_preview(studio, page, preview)
        restoring = _wire_render(studio, page, render, queue, preview)
        _wire_paint_over(studio, page, render)
        # A (re)load: the form of the running render (or the newest), then its medium opened.
        blocks.load(*restoring, api_visibility=HIDDEN).then(*opening, api_visibility=HIDDEN)
    return blocks


def _request(page: Page, data: dict) -> Request:
    return request_from_controls({name: data[widget] for name, widget in page.form.items()})


def _say(page: Page, *said: Said | None) -> dict:
    """Updates for the message lines of the panels ``said`` is about (the others are left as they are)."""
    return {page.messages[s.panel]: s.markdown() for s in said if s is not None}


def _guard(page: Page, data: dict, panel: str) -> tuple[Request | None, dict]:
    """The form's request, or None and the message beside the control that could not be read."""
    request, message = views.guarded(lambda: _request(page, data), None, panel)
    return request, _say(page, message)


def _shown(page: Page, shown: Any, message: Said | None, frame: int) -> dict:
    if shown is None:
        return {**_say(page, message), page.warning: ""}
    return {page.picture: gr.update(value=shown.picture, label=f"Source: {shown.caption}"),
            page.warning: shown.warning.markdown() if shown.warning else "", **_say(page, message)}


def _wire_source(library: Library, page: Page, upload: Any) -> tuple[Any, set, list]:
    inputs = {*page.form.values(), page.frame}
    shown_outputs = [page.picture, page.warning, *page.messages.values()]

    def opened(data: dict) -> dict:
        request, said = _guard(page, data, "source")
        if request is None:
            return said
        result, message = views.open_media(library, request)
        if result is None:
            return {**_say(page, message), page.facts: ""}
        return {page.facts: result.facts, page.frame: gr.update(maximum=max(1, result.last), value=0),
                **_shown(page, result.shown, None, 0), page.messages["source"]: ""}

    def chosen(data: dict) -> dict:  # the user picked another medium: a region picked on the former one is dropped
        return {page.form["mask"]: "", page.form["box"]: "", page.form["keyframe"]: 0,
                page.messages["region"]: "", page.messages["source"]: ""}

    def scrubbed(data: dict) -> dict:
        request, said = _guard(page, data, "region")
        if request is None:
            return said
        shown, message = views.show_frame(library, request, data[page.frame])
        return _shown(page, shown, message, int(data[page.frame] or 0))

    def uploaded(file: Any) -> dict:
        path, message = views.take_upload(library, file)
        changes = {page.messages["source"]: message.markdown(), upload: None}  # a refused file does not stay shown
        if path is not None:
            changes[page.form["source"]] = gr.update(choices=library.media(), value=os.fspath(path))
        return changes

    source = page.form["source"]
    source.change(opened, inputs, [page.facts, page.frame, *shown_outputs], **SHOWN)
    source.input(chosen, inputs, [page.form["mask"], page.form["box"], page.form["keyframe"],
                                  page.messages["region"], page.messages["source"]], api_visibility=HIDDEN)
    # Enter in the number box, the arrow keys and a drag all change the value; the last one wins.
    page.frame.change(scrubbed, inputs, shown_outputs, **SHOWN, trigger_mode="always_last",
                      show_progress="hidden")
    upload.upload(uploaded, upload, [page.messages["source"], upload, source], api_visibility=HIDDEN)
    _clear_on_input(page, "settings")
    _clear_on_input(page, "styles")
    return opened, inputs, [page.facts, page.frame, *shown_outputs]


def _clear_on_input(page: Page, panel: str) -> None:
    """A panel's message stays until the user changes one of its controls."""
    for name, where in CONTROLS.items():
        if where == panel:
            page.form[name].input(lambda: "", None, page.messages[panel], api_visibility=HIDDEN,
                                  show_progress="hidden")


def _wire_timeline(library: Library, page: Page, timeline: Any) -> None:
    """The marks under the scrubber follow the keys, the painted-over frames and the medium."""
    def drawn(data: dict) -> str:
        request = views.guarded(lambda: _request(page, data), None, "styles")[0]
        return views.timeline(library, request) if request is not None else ""

    for name in ("style_keys", "paint_over", "source"):
        page.form[name].change(drawn, set(page.form.values()), timeline, api_visibility=HIDDEN,
                               show_progress="hidden")


def _wire_styles(library: Library, page: Page, painting: Any, gallery: Any, keys: dict) -> None:
    chosen, key_text = keys["chosen"], page.form["style_keys"]

    def changed(how: Callable) -> Callable:
        def handler(data: dict) -> dict:
            request, said = _guard(page, data, "styles")
            if request is None:
                return said
            keys, message = how(request, data)
            return {key_text: "\n".join(keys), **_say(page, message)}
        return handler

    frame = lambda data: int(data[page.frame] or 0)  # noqa: E731
    inputs, outputs = {*page.form.values(), page.frame, chosen}, [key_text, page.messages["styles"]]
    keys["add"].click(changed(lambda request, data: views.add_key(library, request, frame(data))), inputs, outputs,
                      api_visibility=HIDDEN)
    keys["move"].click(changed(lambda request, data: views.move_key(library, request, data[chosen], frame(data))),
                       inputs, outputs, api_visibility=HIDDEN)
    keys["remove"].click(changed(lambda request, data: views.remove_key(request, data[chosen])), inputs, outputs,
                         api_visibility=HIDDEN)

    def listed(data: dict) -> Any:
        """The keys to choose from; the one on the shown frame is chosen, else the choice stays if it still is one."""
        typed = read_keys(data[key_text])
        on_frame = views.key_on_frame(library, data[page.form["source"]], typed, frame(data))
        value = on_frame or (data[chosen] if data[chosen] in typed else None)
        return gr.update(choices=list(typed), value=value)

    for control in (key_text, page.frame):
        control.change(listed, {key_text, page.form["source"], page.frame, chosen}, chosen, api_visibility=HIDDEN,
                       show_progress="hidden")

    def painted(file: Any) -> dict:
        _, message = views.take_upload(library, file, painting=True)
        names = views.style_names(library)
        pickers = [page.form[f"style_{slot}"] for slot in range(1, SLOTS + 1)] + [page.form["background_style"]]
        return {**{p: gr.update(choices=names) for p in pickers}, gallery: views.style_gallery(library),
                page.messages["styles"]: message.markdown(), painting: None}

    outputs = [*(page.form[f"style_{slot}"] for slot in range(1, SLOTS + 1)), page.form["background_style"], gallery,
               page.messages["styles"], painting]
    painting.upload(painted, painting, outputs, api_visibility=HIDDEN)


def _wire_region(library: Library, page: Page, brush: Any, use_brush: Any, show_masks: Any, strip: Any) -> None:
    inputs = {*page.form.values(), page.frame}
    shown_outputs = [page.picture, page.warning, *page.messages.values()]

    def reshown(data: dict, request: Request | None = None, said: Said | None = None) -> dict:
        request = request or _guard(page, data, "region")[0]
        if request is None:
            return _guard(page, data, "region")[1]
        shown, message = views.show_frame(library, request, data[page.frame])
        return {**_shown(page, shown, message, int(data[page.frame] or 0)), **_say(page, said)}

    def region_changed(data: dict) -> dict:
        brushing = data[page.form["region"]] == "brushed mask"
        image = None
        if brushing:
            image = views.guarded(lambda: library.frame(data[page.form["source"]], int(data[page.frame] or 0),
                                                        picking.FRAME_SIDE), None, "region")[0]
        editor = {"background": image, "layers": [], "composite": image} if image is not None else None
        return {brush: gr.update(visible=brushing, value=editor), use_brush: gr.update(visible=brushing),
                page.messages["region"]: "", **reshown(data)}

    def clicked(data: dict, evt: gr.SelectData) -> dict:
        request, said = _guard(page, data, "region")
        if request is None:
            return said
        index = int(data[page.frame] or 0)
        picked, note = picking.click(library, request, *evt.index[:2], index)
        changes = {page.messages["region"]: note.markdown() if note else ""}
        if picked is not request:
            changes.update({page.form["box"]: ",".join(map(str, picked.box)), page.form["keyframe"]: index})
        return {**reshown(data, picked), **changes}

    def brushed(data: dict) -> dict:
        index, edited = int(data[page.frame] or 0), data[brush]
        path, message = views.guarded(lambda: picking.save_brush(library, edited, index), None, "region")
        if path is None:
            return _say(page, message)
        request = _guard(page, data, "region")[0]
        request = Request(**{**request.to_dict(), "mask": path, "keyframe": index}) if request else None
        note = Said("region", f"mask saved on frame {index}: it follows its object through the clip", "note")
        return {page.form["mask"]: path, page.form["keyframe"]: index, **reshown(data, request, note)}

    def masks(data: dict) -> dict:
        request, said = _guard(page, data, "region")
        if request is None:
            return said
        image, message = views.mask_strip(library, request)
        return {strip: image, **_say(page, message)}

    form = page.form
    region_outputs = [brush, use_brush, *shown_outputs]
    form["region"].input(region_changed, inputs, region_outputs, **SHOWN)
    page.picture.select(clicked, inputs, [form["box"], form["keyframe"], *shown_outputs], **SHOWN)
    for event in (form["box"].submit, form["box"].blur):
        event(reshown, inputs, shown_outputs, **SHOWN)
    use_brush.click(brushed, {*inputs, brush}, [form["mask"], form["keyframe"], *shown_outputs], **SHOWN)
    show_masks.click(masks, inputs, [strip, *page.messages.values()], api_visibility=HIDDEN)
    for name in ("box", "background_style", "background_weight"):
        form[name].input(lambda: "", None, page.messages["region"], api_visibility=HIDDEN, show_progress="hidden")


def _refused(page: Page, message: Said, panel: str) -> dict:
    """A refused render or preview: the message beside the control it is about, and a pointer where it was asked."""
    if message.panel == panel:
        return _say(page, message)
    return {**_say(page, message), page.messages[panel]: Said(panel, f"not started: {message.text}").markdown()}


def _wire_preview(studio: Studio, page: Page, preview: dict) -> None:
    inputs = {*page.form.values(), page.frame, preview["count"]}
    outputs = [page.previewing, *page.messages.values()]

    def started(data: dict, frames: list[int] | None) -> dict:
        request, said = _guard(page, data, "preview")
        if request is None:
            return said
        preview_id, message = views.start_preview(studio, request, frames, int(data[preview["count"]]))
        if preview_id is None:
            return _refused(page, message, "preview")
        return {page.previewing: preview_id, **_say(page, message)}

    preview["frame"].click(lambda data: started(data, [int(data[page.frame] or 0)]), inputs, outputs,
                           api_visibility=HIDDEN)
    preview["sheet"].click(lambda data: started(data, None), inputs, outputs, api_visibility=HIDDEN)
    preview["cancel"].click(lambda pid: views.act(studio, "cancel_preview", pid).markdown(), page.previewing,
                            page.messages["preview"], api_visibility=HIDDEN)


def _wire_paint_over(studio: Studio, page: Page, render: dict) -> None:
    editor = render["editor"]

    def opened(render_id: str | None, index: Any) -> dict:
        image, message = views.result_frame(studio, render_id, int(index or 0))
        if image is None:
            return _say(page, message)
        return {editor: {"background": image, "layers": [], "composite": image},
                **_say(page, Said("render", f"frame {int(index or 0)} of the render: paint over it", "note"))}

    def used(data: dict) -> dict:
        index = int(data[page.frame] or 0)
        path, message = views.guarded(lambda: picking.save_edit(studio.library, data[editor], index), None, "render")
        if path is None:
            return _say(page, message)
        request, said = _guard(page, data, "render")
        if request is None:
            return said
        edits = views.add_edit(request, index, path)
        note = Said("render", f"frame {index} painted over: Render again to carry it through the clip", "note")
        return {page.form["paint_over"]: "\n".join(edits), **_say(page, note)}

    render["open_frame"].click(opened, [page.rendered, page.frame], [editor, *page.messages.values()],
                               api_visibility=HIDDEN)
    render["use_edit"].click(used, {*page.form.values(), page.frame, editor},
                             [page.form["paint_over"], *page.messages.values()], api_visibility=HIDDEN)


def _wire_render(studio: Studio, page: Page, render: dict, queue: Any, preview: dict) -> tuple[Any, None, list]:
    inputs = set(page.form.values())
    restored_outputs = [*page.form.values(), page.rendered, render["command"], render["toml"],
                        *page.messages.values()]

    def started(data: dict) -> dict:
        request, said = _guard(page, data, "render")
        if request is None:
            return said
        result = views.start_render(studio, request)
        if result.render_id is None:
            return _refused(page, result.said, "render")
        return {page.rendered: result.render_id, render["command"]: result.command, render["toml"]: result.toml,
                **_say(page, result.said)}

    def restored(render_id: str | None = None) -> dict:
        found, request = views.reopen(studio, render_id)
        if found is None:
            return {page.rendered: gr.skip()}  # a first visit: the form's defaults
        changes = {page.rendered: found.id, render["command"]: found.command, render["toml"]: found.toml,
                   page.messages["render"]: Said("render", f"showing {Path(found.output).name}", "note").markdown()}
        if request is not None:
            changes.update({page.form[name]: value for name, value in controls_of(request).items()})
        return changes

    def picked_row(evt: gr.SelectData) -> dict:
        row = evt.index[0] if isinstance(evt.index, (list, tuple)) else evt.index
        renders = studio.status()["renders"]
        return restored(renders[row]["id"]) if 0 <= row < len(renders) else {page.rendered: gr.skip()}

    def polled(render_id: str | None, preview_id: str | None):
        progress = views.poll(studio, render_id, preview_id)
        compare = gr.update(value=progress.before_after, visible=progress.before_after is not None)
        return (progress.render_status, progress.latest, progress.result, progress.result, progress.preview_status,
                progress.preview_image, compare, progress.rows)

    render["render"].click(started, inputs, [page.rendered, render["command"], render["toml"],
                                             *page.messages.values()], api_visibility=HIDDEN, trigger_mode="once")
    for verb in ("pause", "resume", "cancel"):
        render[verb].click(lambda rid, verb=verb: views.act(studio, verb, rid).markdown(), page.rendered,
                           page.messages["render"], api_visibility=HIDDEN)
    queue.select(picked_row, None, restored_outputs, api_visibility=HIDDEN)
    gr.Timer(1.0).tick(polled, [page.rendered, page.previewing],
                       [render["status"], render["latest"], render["result"], render["download"], preview["status"],
                        preview["image"], preview["compare"], queue], api_visibility=HIDDEN, show_progress="hidden")
    return (lambda: restored(None)), None, restored_outputs


def serve(roots: list[Path], out: Path, *, host: str = "127.0.0.1", port: int = 7860, max_upload: int = 2 << 30,
          device: str = "auto", weights: str | None = None, block: bool = True):
    """Start the studio on ``host:port``; with ``block`` until interrupted, else return ``(page, studio)``."""
    out = out.resolve()
    cache = out / ".studio" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    os.environ["GRADIO_TEMP_DIR"] = str(cache)  # uploads and Gradio's copies stay in the output folder
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    library = Library(roots, out, max_upload, weights)
    studio = Studio(library, device)
    page = build(studio)
    page.queue(default_concurrency_limit=4)
    page.launch(server_name=host, server_port=port, prevent_thread_lock=True, show_error=True, quiet=True,
                allowed_paths=[str(out)], max_file_size=max(max_upload * 2, 1 << 20), footer_links=[],
                ssr_mode=False)
    if not block:
        return page, studio
    try:
        page.block_thread()
    finally:
        studio.close()
    return page, studio

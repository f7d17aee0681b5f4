"""The studio page: Gradio widgets wired to the UI-free layer (``library``, ``session``, ``jobs``, ``views``).

Nothing here decides anything: each handler turns widget values into a :class:`~.session.Request`
or a name, calls the studio, and shows the answer (errors as a message in the page). Every action
is a named API endpoint, so scripts and tests can drive the studio with ``gradio_client``.
"""


import os
from pathlib import Path
from typing import Any

from . import views
from .work import Studio
from .library import Library
from .session import REGIONS, Request

SLOTS = 3  # style slots on the page, each a name and a weight


def build(studio: Studio) -> Any:
    import gradio as gr

    library = studio.library
    media = library.media()
    names = [name for name, _, _ in library.styles()]
    with gr.Blocks(title="vidstyle studio", analytics_enabled=False) as page:
        gr.Markdown("## vidstyle studio\nPick a clip, mix styles, choose a region, preview, render.")
        # The ids of the render and preview this page watches (hidden fields, so API callers get them too).
        rendered = gr.Textbox(visible=False, elem_id="render-id")
        previewing = gr.Textbox(visible=False, elem_id="preview-id")
        with gr.Row():
            with gr.Column(scale=1):
                source = gr.Dropdown(media, value=media[0] if media else None, label="Clip or image",
                                     elem_id="media", allow_custom_value=True)  # the library checks every name
                upload = gr.File(label="Upload a clip or an image", elem_id="upload", file_count="single")
                facts = gr.Markdown(elem_id="facts")
                # The page narrows it to the clip on opening; API callers may ask any frame (the library checks).
                frame = gr.Slider(0, 1 << 20, value=0, step=1, label="Frame", elem_id="frame")
            with gr.Column(scale=2):
                shown = gr.Image(label="Source frame (GrabCut: click the object, or two corners around it)", type="numpy",
                                 interactive=False, elem_id="frame-image")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Styles")
                picks = []
                for slot in range(SLOTS):
                    with gr.Row():
                        picks.append(gr.Dropdown(names, value=names[0] if slot == 0 and names else None,
                                                 label=f"Style {slot + 1}", elem_id=f"style-{slot + 1}",
                                                 allow_custom_value=True))
                        picks.append(gr.Slider(0, 1, value=1.0 if slot == 0 else 0.0, step=0.05,
                                               label=f"Weight {slot + 1}", elem_id=f"weight-{slot + 1}"))
                painting = gr.File(label="Upload a painting", elem_id="painting-upload", file_types=["image"])
                library_view = gr.Gallery(views.style_gallery(library), label="Style library", columns=5,
                                          height=220, elem_id="library", allow_preview=False)
            with gr.Column():
                gr.Markdown("### Settings")
                strength = gr.Slider(1, 100, value=10, step=1, label="Style strength", elem_id="strength")
                keep = gr.Checkbox(False, label="Keep colours", elem_id="keep-colours")
                even = gr.Checkbox(False, label="Even mix: every style all over the picture (slower)",
                                   elem_id="even-mix")
                size = gr.Slider(32, 1024, value=256, step=16, label="Processing size (long side, px)",
                                 elem_id="size")
                first = gr.Slider(1, 1000, value=Request.first_iterations, step=1, label="First-frame iterations",
                                  elem_id="first-its")
                later = gr.Slider(1, 500, value=Request.iterations, step=1, label="Later-frame iterations",
                                  elem_id="later-its")
                end = gr.Number(0, precision=0, label="Render only the first N frames (0: all)", elem_id="end")
            with gr.Column():
                gr.Markdown("### Region")
                region = gr.Radio(list(REGIONS), value="none", label="Where the styles go", elem_id="region")
                brush = gr.ImageEditor(label="Brush the region (white)", type="numpy", visible=False,
                                       brush=gr.Brush(colors=["#ffffff"], default_color="#ffffff"),
                                       elem_id="brush")
                use_brush = gr.Button("Use this mask", visible=False, elem_id="use-brush")
                mask_path = gr.Textbox(label="Mask", interactive=False, elem_id="mask-path")
                box = gr.Textbox(label="GrabCut: a click (x,y) or a box (x,y,w,h)", elem_id="box")
                background = gr.Dropdown(names, value=None, label="Background style (what the region leaves)",
                                         elem_id="background-style", allow_custom_value=True)
                background_weight = gr.Slider(0, 1, value=1.0, step=0.05, label="Background weight",
                                              elem_id="background-weight")
                show_masks = gr.Button("Show masks", elem_id="show-masks")
                strip = gr.Image(label="Mask on this frame and across the clip", interactive=False,
                                 elem_id="mask-strip")
        message = gr.Markdown(elem_id="message")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Preview")
                with gr.Row():
                    preview_frame = gr.Button("Preview this frame", elem_id="preview-frame")
                    sheet_count = gr.Slider(2, 12, value=4, step=1, label="Frames on a sheet", elem_id="sheet-count")
                    preview_sheet = gr.Button("Preview a sheet", elem_id="preview-sheet")
                    cancel_preview = gr.Button("Cancel preview", elem_id="preview-cancel")
                preview_status = gr.Markdown(elem_id="preview-status")
                preview_image = gr.Image(label="Preview", interactive=False, elem_id="preview-image")
            with gr.Column():
                gr.Markdown("### Render")
                with gr.Row():
                    render = gr.Button("Render", variant="primary", elem_id="render")
                    pause = gr.Button("Pause", elem_id="pause")
                    resume = gr.Button("Resume", elem_id="resume")
                    cancel = gr.Button("Cancel", elem_id="cancel")
                render_status = gr.Markdown(elem_id="render-status")
                latest = gr.Image(label="Latest stylized frame", interactive=False, elem_id="render-latest")
                result = gr.Video(label="Result", interactive=False, elem_id="result")
                download = gr.File(label="Download", interactive=False, elem_id="download")
                command = gr.Code(label="The same from the command line", language="shell", elem_id="command")
                toml = gr.Code(label="The same as a jobs.toml table", language=None, elem_id="toml")
        queue = gr.Dataframe(headers=["id", "clip", "status", "frames", "message"], label="Renders",
                             interactive=False, elem_id="queue")
        timer = gr.Timer(1.0)

        request_inputs = [source, *picks, strength, keep, size, first, later, region, mask_path, box, frame,
                          background, background_weight, end, even]

        def request(*values: Any):
            return views.request_of(library, values)

        def opened(name: str | None):
            text, last, image, said = views.open_media(library, name)
            return text, gr.update(maximum=max(1, last), value=0), image, said

        def uploaded(file: Any):
            choices, chosen, said = views.take_upload(library, file)
            return gr.update(choices=choices, value=chosen) if chosen else gr.update(choices=choices), said

        def painted(file: Any):
            choices, gallery, said = views.take_painting(library, file)
            return (*[gr.update(choices=choices)] * (SLOTS + 1), gallery, said)

        def region_widgets(kind: str, name: str | None, index: Any):
            brushing = kind == "brushed mask"
            image = views.show_frame(library, name, index)[0] if brushing else None
            value = {"background": image, "layers": [], "composite": image} if image is not None else None
            return gr.update(visible=brushing, value=value), gr.update(visible=brushing)

        def corner(box_text: str, name: str | None, evt: gr.SelectData):
            x, y = evt.index[:2]
            text, said = views.guarded(lambda: views.add_corner(library, name, box_text, x, y), box_text)
            return text, "GrabCut box", said

        def polled(render_id: str | None, preview_id: str | None):
            (status, latest_frame, video, file, preview_text, preview_picture, rows,
             render_id) = views.poll(studio, render_id, preview_id)
            return status, latest_frame, video, file, preview_text, preview_picture, rows, render_id

        # Opening and scrubbing.
        source.change(opened, source, [facts, frame, shown, message], api_name="open")
        frame.release(lambda name, index: views.show_frame(library, name, index), [source, frame], [shown, message],
                      api_name="frame")
        upload.upload(uploaded, upload, [source, message], api_name="upload")
        painting.upload(painted, painting, [*picks[::2], background, library_view, message], api_name="upload_painting")
        page.load(opened, source, [facts, frame, shown, message])

        # Regions.
        region.change(region_widgets, [region, source, frame], [brush, use_brush], api_visibility="private")
        use_brush.click(lambda edited: views.save_brush(library, edited), brush, [mask_path, message],
                        api_name="brush")
        shown.select(corner, [box, source], [box, region, message], api_visibility="private")
        show_masks.click(lambda *v: views.mask_strip(library, request(*v)), request_inputs, [strip, message],
                         api_name="masks")

        # Previews: server-owned too, so a closed tab does not leave work behind it.
        preview_frame.click(lambda *v: views.start_preview(studio, request(*v[:-1]), [int(v[-1] or 0)]),
                            [*request_inputs, frame], [previewing, preview_status], api_name="preview")
        preview_sheet.click(lambda *v: views.start_preview(studio, request(*v[:-1]), None, int(v[-1])),
                            [*request_inputs, sheet_count], [previewing, preview_status], api_name="preview_sheet")
        cancel_preview.click(lambda pid: views.stop_preview(studio, pid), previewing, preview_status,
                             api_name="cancel_preview")

        # Renders: a job the server owns; the page only asks and watches.
        render.click(lambda *v: views.start_render(studio, request(*v)), request_inputs,
                     [rendered, render_status, command, toml], api_name="render", trigger_mode="once")
        pause.click(lambda rid: views.act(studio, "pause", rid), rendered, render_status, api_name="pause")
        resume.click(lambda rid: views.act(studio, "resume", rid), rendered, render_status, api_name="resume")
        cancel.click(lambda rid: views.act(studio, "cancel", rid), rendered, render_status, api_name="cancel")
        status_box = gr.Textbox(visible=False)
        status_box.submit(lambda rid: views.status_json(studio, rid), status_box, status_box, api_name="status")
        timer.tick(polled, [rendered, previewing],
                   [render_status, latest, result, download, preview_status, preview_image, queue, rendered],
                   api_visibility="private", show_progress="hidden")
    return page


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

"""The studio page's panels: each makes its widgets (inside a ``gr.Blocks``) and files the form's controls and its
message line by name; ``app.py`` wires them. Ranges and defaults come from ``vidstyle.config``."""

from typing import Any

import gradio as gr

from ..config import MAX_SIDE, STUDIO_SIZE, LossConfig, OptimConfig, TemporalConfig
from . import views
from .form import SLOTS
from .library import Library
from .session import REGIONS


def slider(setting: Any, label: str, elem_id: str, top: int, step: int = 1) -> Any:
    """A slider over a setting's own range (from ``vidstyle.config``), capped at ``top`` for the page."""
    spec = setting.metadata["setting"]
    return gr.Slider(max(1, int(spec.low or 1)), min(top, int(spec.high or top)), value=setting.default, step=step,
                     label=label, elem_id=elem_id)


def source_panel(library: Library, page_form: dict, messages: dict) -> tuple[Any, Any, Any, Any]:
    media = library.media()
    page_form["source"] = gr.Dropdown(media, value=media[0] if media else None, label="Clip or image",
                                      elem_id="source", allow_custom_value=True)  # the library checks every name
    upload = gr.File(label="Upload a clip or an image", elem_id="upload", file_count="single")
    messages["source"] = gr.Markdown(elem_id="source-message")
    facts = gr.Markdown(elem_id="facts")
    frame = gr.Slider(0, 1 << 20, value=0, step=1, label="Frame (type a number and Enter, or use the arrow keys)",
                      elem_id="frame")
    timeline = gr.HTML("", elem_id="timeline")  # the style keys and painted-over frames, as marks
    return upload, facts, frame, timeline


def styles_panel(library: Library, page_form: dict, messages: dict) -> tuple[Any, Any, dict]:
    names = views.style_names(library)
    first = "vangogh" if "vangogh" in names else names[0] if names else None  # the README's first style
    gr.Markdown("### Styles")
    for slot in range(1, SLOTS + 1):
        with gr.Row():
            page_form[f"style_{slot}"] = gr.Dropdown(names, value=first if slot == 1 else None,
                                                     label=f"Style {slot}", elem_id=f"style_{slot}",
                                                     allow_custom_value=True)
            page_form[f"weight_{slot}"] = gr.Slider(0, 1, value=1.0 if slot == 1 else 0.0, step=0.05,
                                                    label=f"Weight {slot}", elem_id=f"weight_{slot}")
    page_form["even_mix"] = gr.Checkbox(False, label="Even mix: every style all over the picture (slower)",
                                        elem_id="even_mix")
    page_form["style_keys"] = gr.Textbox(
        "", lines=2, label="Style keys: the mix over time, one per line (48f=picasso, 2s:hold=matisse:0.5,leger:0.5); "
        "a key is reached in a straight line from the one before, :hold keeps the mix before until it; with 2 "
        "passes (Settings) the frames follow a ramp more closely and reach the key's painting",
        placeholder="none: the mix above all through", elem_id="style_keys")
    add_key = gr.Button("Add a key at the shown frame with the mix above", elem_id="add-key", size="sm")
    with gr.Row():
        chosen = gr.Dropdown([], value=None, label="Key (scrub onto a mark to choose it)", elem_id="chosen-key",
                             scale=2)
        move = gr.Button("Move it to the shown frame", elem_id="move-key", size="sm", scale=1)
        remove = gr.Button("Remove it", elem_id="remove-key", size="sm", scale=1)
    messages["styles"] = gr.Markdown(elem_id="styles-message")
    painting = gr.File(label="Upload a painting", elem_id="painting-upload", file_types=["image"])
    gallery = gr.Gallery(views.style_gallery(library), label="Style library", columns=5, height=220,
                         elem_id="library", allow_preview=False)
    return painting, gallery, {"add": add_key, "chosen": chosen, "move": move, "remove": remove}


def settings_panel(page_form: dict, messages: dict) -> None:
    gr.Markdown("### Settings")
    fields = {**LossConfig.__dataclass_fields__, **OptimConfig.__dataclass_fields__}
    page_form["style_weight"] = slider(fields["style_weight"], "Style strength", "style_weight", 100)
    page_form["preserve_colors"] = gr.Checkbox(False, label="Keep colours", elem_id="preserve_colors")
    page_form["size"] = gr.Slider(32, min(2048, MAX_SIDE), value=STUDIO_SIZE, step=16,
                                  label="Processing size (long side, px)", elem_id="size")
    page_form["first_iterations"] = slider(fields["iterations"], "First-frame iterations", "first_iterations", 1000)
    page_form["iterations"] = slider(TemporalConfig.__dataclass_fields__["iterations"], "Later-frame iterations",
                                      "iterations", 500)
    page_form["passes"] = slider(TemporalConfig.__dataclass_fields__["passes"], "Passes (1: forward only; each more "
                                 "runs back the other way and steadies the clip)", "passes", 5)
    page_form["end"] = gr.Number(0, precision=0, minimum=0, label="Render only the first N frames (0: all)",
                                 elem_id="end")
    messages["settings"] = gr.Markdown(elem_id="settings-message")


def region_panel(library: Library, page_form: dict, messages: dict) -> tuple[Any, Any, Any, Any, Any]:
    names = views.style_names(library)
    gr.Markdown("### Region")
    page_form["region"] = gr.Radio(list(REGIONS), value="none", label="Where the styles go", elem_id="region")
    warning = gr.Markdown(elem_id="region-warning")
    brush = gr.ImageEditor(label="Brush the region (white)", type="numpy", visible=False,
                           brush=gr.Brush(colors=["#ffffff"], default_color="#ffffff"), elem_id="brush")
    use_brush = gr.Button("Use this mask", visible=False, elem_id="use-brush")
    page_form["mask"] = gr.Textbox(label="Brushed mask", interactive=False, elem_id="mask")
    page_form["box"] = gr.Textbox(label="GrabCut: click the object on the frame (x,y), or two corners (x,y,w,h)",
                                  elem_id="box")
    page_form["keyframe"] = gr.Number(0, precision=0, label="Picked on frame", interactive=False, elem_id="keyframe")
    page_form["background_style"] = gr.Dropdown(names, value=None, label="Background style (what the region leaves)",
                                                elem_id="background_style", allow_custom_value=True)
    page_form["background_weight"] = gr.Slider(0, 1, value=1.0, step=0.05, label="Background weight",
                                               elem_id="background_weight")
    messages["region"] = gr.Markdown(elem_id="region-message")
    show_masks = gr.Button("Show masks across the clip", elem_id="show-masks")
    return warning, brush, use_brush, show_masks, messages["region"]


def preview_panel(messages: dict) -> dict:
    gr.Markdown("### Preview")
    with gr.Row():
        frame = gr.Button("Preview this frame", elem_id="preview-frame")
        count = gr.Slider(2, 12, value=4, step=1, label="Frames on a sheet", elem_id="sheet-count")
        sheet = gr.Button("Preview a sheet", elem_id="preview-sheet")
        cancel = gr.Button("Cancel preview", elem_id="preview-cancel")
    messages["preview"] = gr.Markdown(elem_id="preview-message")
    status = gr.Markdown(elem_id="preview-status")
    image = gr.Image(label="Preview", interactive=False, elem_id="preview-image")
    compare = gr.ImageSlider(label="Before / after: drag the line (this frame's source and its preview)",
                             interactive=False, visible=False, elem_id="before-after")
    return {"frame": frame, "count": count, "sheet": sheet, "cancel": cancel, "status": status, "image": image,
            "compare": compare}


def render_panel(page_form: dict, messages: dict) -> dict:
    gr.Markdown("### Render")
    with gr.Row():
        buttons = {verb: gr.Button(verb.capitalize(), elem_id=verb, variant="primary" if verb == "render" else
                                   "secondary") for verb in ("render", "pause", "resume", "cancel")}
    messages["render"] = gr.Markdown(elem_id="render-message")
    status = gr.Markdown(elem_id="render-status")
    latest = gr.Image(label="Latest stylized frame", interactive=False, elem_id="render-latest")
    result = gr.Video(label="Result", interactive=False, elem_id="result")
    download = gr.File(label="Download", interactive=False, elem_id="download")
    with gr.Accordion("Paint over a frame of the result", open=False, elem_id="paint-over-panel"):
        editor = gr.ImageEditor(label="The result's frame at the scrubber: paint over it", type="numpy",
                                elem_id="paint-over-editor")
        with gr.Row():
            open_frame = gr.Button("Open the result's frame at the scrubber", elem_id="open-result-frame")
            use_edit = gr.Button("Use as a painted-over frame", elem_id="use-paint-over")
        page_form["paint_over"] = gr.Textbox("", lines=2, label="Painted-over frames (FRAME=file, one per line): kept "
                                             "as painted, the frames around follow them; Render again redoes only "
                                             "from the first one", elem_id="paint_over")
    command = gr.Code(label="The same from the command line", language="shell", elem_id="command")
    toml = gr.Code(label="The same as a jobs.toml table", language=None, elem_id="toml")
    return {**buttons, "status": status, "latest": latest, "result": result, "download": download,
            "command": command, "toml": toml, "editor": editor, "open_frame": open_frame, "use_edit": use_edit}

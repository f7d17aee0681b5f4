"""``vidstyle image``: one still, or chosen regions of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import DEFAULT_SIZE, IMAGE, MAX_SIDE
from ..media.files import check_input, check_output
from ..media.stills import IMAGE_SUFFIXES, read_image, write_image
from .app import progress_bar, say
from .options import Device, MaskInputs, Settings, Threads, Verbose, command, user_path


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4g}" for name, value in terms.items())


@command(IMAGE)
def image(
    content: Annotated[Path, typer.Argument(parser=user_path, help="Content image.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", parser=user_path, show_default=False,
                                         help="Output image (.png, .jpg, ...).")],
    settings: Settings,
    masks: MaskInputs,
    styles: Annotated[Optional[list[str]], typer.Option(
        "--styles", "-s", show_default=False,
        help="Styles as name[:weight],... (names from `vidstyle styles list`, or image paths); repeat it with "
             "--preview to compare several.")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Write one contact sheet to -o: the image and one result "
                                          "per --styles, side by side.")] = False,
    size: Annotated[int, typer.Option("--size", help=f"Long side of the result in px (0 keeps the content's size) "
                                      f"[16 ... {MAX_SIDE}].")] = DEFAULT_SIZE,
    save_every: Annotated[int, typer.Option("--save-every", min=0, help="Also write every N-th iteration to "
                                            "OUTPUT_steps/ (0: off).")] = 0,
    device: Device = "auto",
    threads: Threads = None,
    verbose: Verbose = False,
) -> None:
    """Stylize one image, or chosen regions of it (--mask, --segment, --region)."""
    from ..core.runtime import resolve_device, set_threads
    from ..core.styles import parse_style_spec
    from ..stills.pipeline import plan_still, stylize_plan

    check_input(content, "content image")
    check_output(output, IMAGE_SUFFIXES, (content,))
    if size != 0 and not 16 <= size <= MAX_SIDE:
        raise ValueError(f"--size: expected 0 or a value >= 16 and <= {MAX_SIDE}, got {size}")
    specs = list(styles or [])
    if len(specs) > 1 and not preview:
        raise ValueError(f"expected one --styles, got {len(specs)}: add --preview to compare them side by side")
    for spec in specs[1:]:
        parse_style_spec(spec)  # every spec resolves before any work
    set_threads(threads)
    torch_device = resolve_device(device)
    mask, regions = masks.sources(settings.masks)
    content_array = read_image(content)
    plan = plan_still(content_array, specs[0] if specs else None, size=size or None, config=settings.run,
                      device=torch_device, mask=mask, mask_options=settings.masks, regions=regions,
                      background_style=masks.background_style)
    if preview:
        _preview(plan, specs, content, output, settings, torch_device)
        return
    steps_dir = output.with_name(f"{output.stem}_steps")

    def save_step(snapshot: Any) -> None:
        write_image(steps_dir / f"{snapshot.iteration:05d}{output.suffix}", snapshot.image)

    with progress_bar() as bar:
        task = bar.add_task(content.name, total=settings.run.optim.iterations, info="")

        def on_step(report: Any) -> None:
            bar.update(task, completed=report.iteration, total=report.total,
                       info=f"loss {report.loss:.4g} ({format_terms(report.terms)})")

        result = stylize_plan(plan, config=settings.run, device=torch_device, callback=on_step,
                              save_every=save_every, on_snapshot=save_step)
    write_image(output, result)
    say(f"wrote {os.fspath(output)} ({result.shape[1]}x{result.shape[0]})")


def _preview(plan: Any, specs: list[str], content: Path, output: Path, settings: Settings, device: Any) -> None:
    from ..stills.preview import preview_styles

    if not specs:
        raise ValueError("expected --styles with --preview: one result per spec")
    with progress_bar() as bar:
        task = bar.add_task(content.name, total=len(specs), info="")
        step = bar.add_task("  style", total=None, info="")
        sheet = preview_styles(plan, specs, config=settings.run, device=device,
                               on_spec=lambda done, total: (bar.update(task, completed=done),
                                                            bar.reset(step, total=None)),
                               on_step=lambda r: bar.update(step, completed=r.iteration, total=r.total,
                                                            info=f"loss {r.loss:.4g}"))
        bar.remove_task(step)
    write_image(output, sheet)
    say(f"wrote the preview {os.fspath(output)} ({len(specs)} style(s) side by side)")

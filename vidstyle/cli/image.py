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
from .options import Device, MaskInputs, Settings, Styles, Threads, Verbose, command, user_path


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4g}" for name, value in terms.items())


@command(IMAGE)
def image(
    content: Annotated[Path, typer.Argument(parser=user_path, help="Content image.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", parser=user_path, help="Output image (.png, .jpg, ...).", show_default=False)],
    settings: Settings,
    masks: MaskInputs,
    styles: Styles = None,
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
    from ..stills.pipeline import plan_still, stylize_plan

    check_input(content, "content image")
    check_output(output, IMAGE_SUFFIXES, (content,))
    if size != 0 and not 16 <= size <= MAX_SIDE:
        raise ValueError(f"--size: expected 0 or a value >= 16 and <= {MAX_SIDE}, got {size}")
    set_threads(threads)
    torch_device = resolve_device(device)
    mask, regions = masks.sources(settings.masks)
    content_array = read_image(content)
    plan = plan_still(content_array, styles, size=size or None, config=settings.run, device=torch_device, mask=mask,
                      mask_options=settings.masks, regions=regions, background_style=masks.background_style)
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

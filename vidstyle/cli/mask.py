"""``vidstyle mask``: export the masks a run would use, with an overlay preview."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..config import MASK
from ..media.files import check_input, writable_folder
from .app import say
from .options import Device, MaskInputs, Settings, command, user_path


@command(MASK, name="mask", regions=False)
def mask_command(
    input_path: Annotated[Path, typer.Argument(parser=user_path, metavar="INPUT", help="An image or a video.", show_default=False)],
    output_dir: Annotated[Path, typer.Option("--output", "-o", parser=user_path, help="Folder for the masks (PNG per frame) and an "
                                             "overlay preview.", show_default=False)],
    settings: Settings,
    masks: MaskInputs,
    device: Device = "auto",
) -> None:
    """Export the masks a run would use (and an overlay preview) to check them before a long run."""
    from ..core.runtime import resolve_device
    from ..regions.export import export_masks

    check_input(input_path, "input")
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output {os.fspath(output_dir)!r} is a file: expected a folder for the masks")
    writable_folder(output_dir)
    source, _ = masks.sources(settings.masks)
    if source is None:
        raise ValueError("expected --mask, --grabcut or --segment")
    written, preview = export_masks(input_path, output_dir, source, max_size=settings.video.max_size,
                                    flow=settings.run.temporal.flow, device=resolve_device(device))
    say(f"wrote {written} mask(s) to {os.fspath(output_dir)} and the preview {os.fspath(preview)}")

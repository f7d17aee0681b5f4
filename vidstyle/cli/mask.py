"""``vidstyle mask``: export the masks a run would use, with an overlay preview."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ..config import MASK, SettingError
from ..media.files import check_input, writable_folder
from .app import say
from .options import Device, Values, command, user_path


@command(MASK, name="mask")
def mask_command(
    input_path: Annotated[Path, typer.Argument(parser=user_path, metavar="INPUT", help="An image or a video.", show_default=False)],
    output_dir: Annotated[Path, typer.Option("--output", "-o", parser=user_path, help="Folder for the masks (PNG per frame) and an "
                                             "overlay preview.", show_default=False)],
    values: Values,
    device: Device = "auto",
) -> None:
    """Export the masks a run would use (and an overlay preview) to check them before a long run."""
    from ..job import parse_values
    from ..media.decode import parse_position
    from ..core.device import resolve_device
    from ..regions.export import export_masks

    check_input(input_path, "input")
    if output_dir.exists() and not output_dir.is_dir():
        raise ValueError(f"--output {os.fspath(output_dir)!r} is a file: expected a folder for the masks")
    writable_folder(output_dir)
    parts = parse_values(values)
    if parts.mask is None:
        raise ValueError("expected `mask`, `grabcut` or `segment`")
    if parts.mask.path is not None and not parts.mask.path.exists():
        raise SettingError("mask", f"mask {os.fspath(parts.mask.path)!r} does not exist")
    start, end = (parts.values.get(key) for key in ("start", "end"))
    written, preview = export_masks(input_path, output_dir, parts.mask, max_size=parts.video.max_size,
                                    flow=parts.run.temporal.flow, device=resolve_device(device),
                                    start=parse_position(start) if start else None,
                                    end=parse_position(end) if end else None)
    say(f"wrote {written} mask(s) to {os.fspath(output_dir)} and the preview {os.fspath(preview)}")

"""``vidstyle video``: a clip, stable from frame to frame; interrupted runs resume."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import VIDEO
from ..media.files import atomic_path, check_output
from .app import progress_bar, say
from .options import Device, End, MaskInputs, Settings, Start, Styles, Threads, Verbose, command, user_path


@command(VIDEO)
def video(
    input_path: Annotated[Path, typer.Argument(parser=user_path, metavar="INPUT", help="Input video.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", parser=user_path, help="Output video (.mp4, H.264 + the source's audio).",
                                         show_default=False)],
    settings: Settings,
    masks: MaskInputs,
    styles: Styles = None,
    start: Start = None,
    end: End = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard finished frames of an earlier run and start "
                                          "over.")] = False,
    log_path: Annotated[Optional[Path], typer.Option("--log", parser=user_path, help="Also write the per-frame JSON log (one object per "
                                                     "line) here.", show_default=False)] = None,
    device: Device = "auto",
    threads: Threads = None,
    verbose: Verbose = False,
) -> None:
    """Stylize a video, stable from frame to frame (Ruder et al. 2016); interrupted runs resume."""
    from ..core.runtime import resolve_device, set_threads
    from ..video.pipeline import plan_video, stylize_video

    if log_path is not None:
        check_output(log_path, (".jsonl", ".json", ".log", ".txt"), (input_path,), "--log file")
    mask, regions = masks.sources(settings.masks)
    set_threads(threads)
    torch_device = resolve_device(device)
    plan_video(input_path, output, styles, mask=mask, regions=regions, background_style=masks.background_style,
               video=settings.video, start=start, end=end, config=settings.run, device=torch_device)

    with progress_bar() as bar:
        frames_task = bar.add_task(input_path.name, total=None, info="")
        step_task = bar.add_task("  frame", total=None, info="")

        def on_step(report: Any) -> None:
            bar.update(step_task, completed=report.iteration, total=report.total, info=f"loss {report.loss:.4g}")

        def on_frame(report: Any) -> None:
            state = "resumed" if report.resumed else f"{report.seconds:.1f} s/frame, {report.iterations} it"
            cut = ", cut" if report.cut else ""
            bar.update(frames_task, completed=report.index + 1, total=report.total, info=f"{state}{cut}")
            bar.reset(step_task, total=None)

        result = stylize_video(input_path, output, styles, config=settings.run, video=settings.video, start=start,
                               end=end, restart=restart, mask=mask, regions=regions,
                               background_style=masks.background_style, device=torch_device, on_frame=on_frame,
                               on_step=on_step)
    if log_path is not None:
        with atomic_path(log_path) as tmp:
            tmp.write_text("".join(json.dumps(entry) + "\n" for entry in result.log))
    cuts = ", ".join(map(str, result.cuts)) or "none"
    say(f"wrote {os.fspath(output)} ({result.frames} frames, {result.size[0]}x{result.size[1]}; "
        f"{result.resumed_frames} resumed; scene cuts at frames: {cuts})")

"""``vidstyle video``: a clip, stable from frame to frame; interrupted runs resume. ``--preview N`` looks first."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import VIDEO
from ..media.files import atomic_path, check_output
from ..media.images import IMAGE_SUFFIXES, is_image_path, write_image
from .app import progress_bar, say
from .options import Device, Threads, Values, Verbose, command, expect_kind, user_path


def preview_path(output: Path) -> Path:
    """Where ``--preview`` writes its sheet: ``-o`` itself when it is an image, else ``OUT.preview.png``."""
    return output if is_image_path(output) else output.with_name(f"{output.stem}.preview.png")


@command(VIDEO)
def video(
    input_path: Annotated[Path, typer.Argument(parser=user_path, metavar="INPUT", help="Input video.",
                                               show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", parser=user_path, show_default=False,
                                         help="Output video: .mp4 (H.264 + the source's audio), .m4v, .mov, .mkv, .webm (VP9 + Opus) or .gif.")],
    values: Values,
    preview: Annotated[Optional[int], typer.Option(
        "--preview", min=1, max=24, show_default=False,
        help="Stylize only N evenly spaced frames (each painted as a shot's first frame) into a contact sheet "
             "beside -o (OUT.preview.png, or -o itself when it is an image), and stop.")] = None,
    restart: Annotated[bool, typer.Option("--restart", help="Discard finished frames of an earlier run and start "
                                          "over.")] = False,
    log_path: Annotated[Optional[Path], typer.Option("--log", parser=user_path, show_default=False,
                                                     help="Also write the per-frame JSON log (one object per line) "
                                                          "here.")] = None,
    device: Device = "auto",
    threads: Threads = None,
    verbose: Verbose = False,
) -> None:
    """Stylize a video, stable from frame to frame (Ruder et al. 2016); interrupted runs resume."""
    from ..job import Job

    expect_kind(input_path, still=False)
    if log_path is not None:
        check_output(log_path, (".jsonl", ".json", ".log", ".txt"), (input_path,), "--log file")
    sheet = preview_path(output) if preview else None
    if sheet is not None:
        check_output(sheet, IMAGE_SUFFIXES, (input_path,), "preview")
    job = Job.from_values({**values, "input": input_path, "output": output if sheet is None else
                           output.with_suffix(".mp4")})
    from ..batch.execute import plan_video_job  # torch: once the job is known to be good
    from ..core.device import resolve_device, set_threads

    set_threads(threads)
    torch_device = resolve_device(device)
    plan = plan_video_job(job, torch_device, preview=sheet is not None)
    if sheet is not None:
        _preview(plan, preview, sheet, job, torch_device)
        return
    _run(plan, input_path, output, job, restart, log_path, torch_device)


def _preview(plan: Any, count: int, sheet: Path, job: Any, device: Any) -> None:
    from ..video.preview import preview_video

    with progress_bar() as bar:
        frames_task = bar.add_task("preview", total=count, info="cold starts at the processing size")
        step_task = bar.add_task("  frame", total=None, info="")
        image = preview_video(
            plan, count, config=job.run, device=device,
            on_frame=lambda done, total: (bar.update(frames_task, completed=done, total=total),
                                          bar.reset(step_task, total=None)),
            on_step=lambda r: bar.update(step_task, completed=r.iteration, total=r.total, info=f"loss {r.loss:.4g}"))
        bar.remove_task(step_task)  # the per-frame line means nothing once all are done
    write_image(sheet, image)
    say(f"wrote the preview {os.fspath(sheet)} ({plan.width}x{plan.height} frames); run without --preview for "
        "the whole clip")


def _run(plan: Any, input_path: Path, output: Path, job: Any, restart: bool, log_path: Path | None,
         device: Any) -> None:
    from ..video.checkpoint import ensure_free
    from ..video.pipeline import run_video

    ensure_free(output)  # a run already on this output: one line, before any progress is drawn
    with progress_bar() as bar:
        frames_task = bar.add_task(input_path.name, total=None, info="")
        step_task = bar.add_task("  frame", total=None, info="")

        def on_step(report: Any) -> None:
            bar.update(step_task, completed=report.iteration, total=report.total, info=f"loss {report.loss:.4g}")

        passes = job.run.temporal.passes if job.run.temporal.enabled else 1

        def on_frame(report: Any) -> None:
            state = "resumed" if report.resumed else f"{report.seconds:.1f} s/frame, {report.iterations} it"
            cut = ", cut" if report.cut else ""
            where = f"pass {report.pass_index}/{passes}, frame {report.index}, " if passes > 1 else ""
            bar.update(frames_task, completed=report.step, total=report.steps, info=f"{where}{state}{cut}")
            bar.reset(step_task, total=None)

        result = run_video(plan, config=job.run, video=job.video, restart=restart, device=device,
                           on_frame=on_frame, on_step=on_step)
        bar.remove_task(step_task)
    if log_path is not None:
        with atomic_path(log_path) as tmp:
            tmp.write_text("".join(record.to_json() + "\n" for record in result.log))
    cuts = ", ".join(map(str, result.cuts)) or "none"
    frames = f"{result.frames} frame" + ("" if result.frames == 1 else "s")
    say(f"wrote {os.fspath(output)} ({frames}, {result.size[0]}x{result.size[1]}; "
        f"{result.resumed_frames} resumed; scene cuts at frames: {cuts})")

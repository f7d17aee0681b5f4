"""``vidstyle batch``: many clips, per-clip overrides, isolated failures, local or Ray engine."""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table
from rich.text import Text

from ..media.encode import VIDEO_OUTPUTS
from ..media.files import check_input, writable_folder
from .app import err_console, out, progress_bar, say, user_message
from .options import Device, Threads, Values, Verbose, command, user_path

ENGINE_PANEL = "Engine"


class EngineChoice(str, Enum):
    local = "local"
    ray = "ray"


# one choice per container the encoder writes (.m4v is .mp4 by another name)
FormatChoice = Enum("FormatChoice", {s[1:]: s[1:] for s in VIDEO_OUTPUTS if s != ".m4v"}, type=str)


@command("batch")
def batch(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS", help="Video files, folders or globs.",
                                                show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", "--output", "-o", parser=user_path, show_default=False,
                                          help="Folder for the outputs (NAME.mp4, or --format's) and "
                                               "batch-report.json.")],
    values: Values,
    output_format: Annotated[FormatChoice, typer.Option(
        "--format", help="The outputs' container (NAME.FORMAT): H.264 in mp4, mov or mkv; VP9 in webm; an animated gif "
                         "(no audio).")] = FormatChoice("mp4"),
    jobs_file: Annotated[Optional[Path], typer.Option("--jobs", parser=user_path, help="Per-clip overrides (TOML): styles, mask, "
                                                      "max_size, start, end, ...", show_default=False)] = None,
    engine: Annotated[EngineChoice, typer.Option("--engine", help="local: one clip after another here; ray: one task "
                                                 "per clip (shot, chunk) on a Ray cluster.", rich_help_panel=ENGINE_PANEL)
                      ] = EngineChoice.local,
    parallel: Annotated[int, typer.Option("--parallel", min=1, max=64, help="local: clips (shots, chunks) run side by "
                                          "side, each in its own process with its share of the cores.",
                                          rich_help_panel=ENGINE_PANEL)] = 1,
    address: Annotated[str, typer.Option("--address", help="Ray cluster: auto, HOST:PORT, or local (start one here).",
                                         rich_help_panel=ENGINE_PANEL)] = "auto",
    cpus_per_job: Annotated[float, typer.Option("--cpus-per-job", min=0.5, help="CPUs Ray reserves for each clip "
                                                "(torch runs that many threads).", rich_help_panel=ENGINE_PANEL)
                            ] = 1.0,
    gpus_per_job: Annotated[float, typer.Option("--gpus-per-job", min=0.0, help="GPUs Ray reserves for each clip.",
                                                rich_help_panel=ENGINE_PANEL)] = 0.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Ray retries after a worker crash or a transient "
                                         "error (a chunk resumes from its own checkpoint).", rich_help_panel=ENGINE_PANEL)] = 2,
    split_shots: Annotated[bool, typer.Option("--split-shots", help="Cut clips at scene cuts into shots that run as "
                                              "separate jobs, then join them.", rich_help_panel=ENGINE_PANEL)] = False,
    device: Device = "auto",
    threads: Threads = None,
    verbose: Verbose = False,
) -> None:
    """Stylize many clips; finished outputs are skipped, interrupted clips resume, failures are isolated."""
    from ..batch.engines import make_engine
    from ..batch.tasks import collect_inputs, write_report
    from ..batch.jobsfile import ClipError, load_jobs, tasks_for
    from ..batch.run import run_batch
    from ..core.device import resolve_device

    if out_dir.exists() and not out_dir.is_dir():
        raise ValueError(f"--out {os.fspath(out_dir)!r} is a file: expected a folder for the outputs")
    writable_folder(out_dir)
    clips = collect_inputs(inputs)
    resolve_device(device)
    defaults, per_clip = ({}, {}) if jobs_file is None else load_jobs(check_input(jobs_file, "jobs file"), clips)
    try:  # every setting of every clip, before any work
        tasks = tasks_for(clips, out_dir, dict(values), defaults, per_clip, device=device, threads=threads,
                          jobs_file=jobs_file, suffix=f".{output_format.value}")
    except ClipError as exc:
        raise ValueError(f"{exc.where}: {user_message(exc.error, 'batch')}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    with progress_bar() as bar:
        clips_task = bar.add_task("batch", total=None, info=f"{len(tasks)} clips")
        clip_task = bar.add_task("  clip", total=None, info="", visible=engine == EngineChoice.local and parallel == 1)

        def on_planned(count: int) -> None:
            bar.update(clips_task, total=count, info=f"{len(tasks)} clips, {count} jobs")

        def on_start(task: Any) -> None:
            shot = f" shot {task.shot}" if task.shot is not None else ""
            chunk = f" chunk {task.chunk}" if task.chunk is not None else ""
            stage = " (its flows)" if task.pairs_first is not None else ""
            bar.reset(clip_task, total=None, description=f"  {task.job.input.name}{shot}{chunk}{stage}")

        def on_frame(report: Any) -> None:
            bar.update(clip_task, completed=report.index + 1, total=report.total, info=f"{report.seconds:.1f} s/frame")

        runner = make_engine(engine.value, on_start=on_start, on_frame=on_frame, address=address,
                             gpus_per_job=gpus_per_job, cpus_per_job=cpus_per_job, retries=retries, parallel=parallel)
        results = run_batch(tasks, runner, split_shots=split_shots, on_planned=on_planned,
                            on_done=lambda result: bar.advance(clips_task))
    report = write_report(out_dir, results)
    _summary(results, report)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)


def _summary(results: list[Any], report: Path) -> None:
    table = Table("clip", "status", "frames", "time", "reason")
    colours = {"done": "green", "skipped": "cyan", "busy": "yellow", "failed": "red"}
    for r in results:  # user text as Text: names with brackets are shown as they are
        table.add_row(Text(os.path.basename(r.input)), Text(r.status, style=colours[r.status]), str(r.frames),
                      f"{r.seconds:.0f} s", Text(r.reason))
    out.print(table)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "busy", "failed")}
    busy = f", {counts['busy']} busy (another run is on them)" if counts["busy"] else ""
    say(f"{counts['done']} done, {counts['skipped']} skipped{busy}, {counts['failed']} failed; report: "
        f"{os.fspath(report)}")
    if counts["failed"]:
        err_console().print(Text(f"{counts['failed']} clip(s) failed", style="red"))

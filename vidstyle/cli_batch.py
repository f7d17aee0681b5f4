"""``vidstyle batch``: many clips, per-clip overrides, isolated failures, local or Ray engine."""

from __future__ import annotations

import os
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from . import cli as c
from .cli import D, DV, app, err, out, user_errors


class EngineChoice(str, c.Enum):
    local = "local"
    ray = "ray"


@app.command()
@user_errors
def batch(
    inputs: Annotated[list[str], typer.Argument(metavar="INPUTS...", help="Video files, folders or globs.", show_default=False)],
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for the outputs (NAME.mp4) and batch-report.json.")],
    styles: Annotated[Optional[str], typer.Option("--styles", "-s", help="Styles for every clip (jobs.toml may override).")] = None,
    jobs_file: Annotated[Optional[Path], typer.Option("--jobs", help="Per-clip overrides (TOML): styles, mask, max_size, start, end, ...")] = None,
    engine: Annotated[EngineChoice, typer.Option("--engine", help="local: one clip after another here; ray: one task per clip on a Ray cluster.")] = EngineChoice.local,
    address: Annotated[str, typer.Option("--address", help="Ray cluster: auto, HOST:PORT, or local (start one here).")] = "auto",
    gpus_per_job: Annotated[float, typer.Option("--gpus-per-job", min=0.0, help="GPUs Ray reserves for each clip.")] = 0.0,
    retries: Annotated[int, typer.Option("--retries", min=0, help="Ray retries after a worker crash or a transient error.")] = 2,
    split_shots: Annotated[bool, typer.Option("--split-shots", help="Cut clips at scene cuts into shots that run as separate jobs, then join them.")] = False,
    max_size: c.MaxSizeOpt = DV.max_size or 0,
    output_size: c.OutputSizeOpt = c.OutputSizeChoice(DV.output_size),
    start: c.StartOpt = None,
    end: c.EndOpt = None,
    iterations: c.LaterIterationsOpt = D.temporal.iterations,
    first_iterations: c.FirstIterationsOpt = D.temporal.first_iterations,
    tolerance: c.ToleranceOpt = D.temporal.tolerance,
    temporal_weight: c.TemporalWeightOpt = D.temporal.temporal_weight,
    long_term: c.LongTermOpt = ",".join(map(str, D.temporal.long_term)),
    no_temporal: c.NoTemporalOpt = False,
    flow: c.FlowOpt = c.FlowChoice(D.temporal.flow),
    no_audio: c.NoAudioOpt = False,
    mask: c.VideoMaskOpt = None,
    mask_keyframe: c.KeyframeOpt = None,
    invert_mask: c.InvertMaskOpt = False,
    feather: c.FeatherOpt = 0,
    background_style: c.BackgroundOpt = None,
    content_weight: c.ContentWeightOpt = D.loss.content_weight,
    style_weight: c.StyleWeightOpt = D.loss.style_weight,
    tv_weight: c.TVWeightOpt = D.loss.tv_weight,
    optimizer: c.OptimizerOpt = c.OptimizerChoice(D.optim.optimizer),
    lr: c.LearningRateOpt = D.optim.learning_rate,
    init: c.InitOpt = D.optim.init,
    seed: c.SeedOpt = D.optim.seed,
    style_scale: c.StyleScaleOpt = D.style.style_scale,
    preserve_colors: c.PreserveColorsOpt = D.style.preserve_colors,
    pooling: c.PoolingOpt = c.PoolingChoice(D.features.pooling),
    weights: c.WeightsOpt = D.features.weights,
    device: c.DeviceOpt = c.DeviceChoice.auto,
    precision: c.PrecisionOpt = c.PrecisionChoice(D.precision),
    scales: c.ScalesOpt = D.optim.scales,
    verbose: c.VerboseOpt = False,
) -> None:
    """Stylize many clips; finished outputs are skipped, interrupted clips resume, failures are isolated."""
    from .batch import collect_inputs, jobs_for, write_report
    from .jobsfile import apply_overrides, load_jobs
    from .masktrack import mask_source_to_dict

    c.setup_logging(verbose)
    clips = collect_inputs(inputs)
    out_dir.mkdir(parents=True, exist_ok=True)
    config = c.build_config(
        iterations=D.optim.iterations, content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
        optimizer=optimizer, lr=lr, init=init, seed=seed, style_scale=style_scale, preserve_colors=preserve_colors,
        pooling=pooling, weights=weights, precision=precision, scales=scales, enabled=not no_temporal,
        temporal_weight=temporal_weight, long_term=c.parse_offsets(long_term), first_iterations=first_iterations,
        iterations_later=iterations, tolerance_later=tolerance, flow=flow.value,
    )
    video = c.VideoConfig(max_size=max_size or None, output_size=output_size.value, audio=not no_audio)
    source = c.mask_source(mask, mask_keyframe, None, None, None, None, invert_mask, feather, 0.5)
    base: dict[str, Any] = {
        "styles": styles, "config": asdict(config), "video": asdict(video), "start": start, "end": end,
        "mask": mask_source_to_dict(source), "background_style": background_style, "device": device.value,
    }
    per_clip: dict = {}
    if jobs_file is not None:
        defaults, per_clip = load_jobs(jobs_file, clips)
        base = apply_overrides(base, defaults)
    jobs = jobs_for(clips, out_dir, base, per_clip)
    _validate_styles(jobs, jobs_file)
    results = _run(jobs, engine, address, gpus_per_job, retries, split_shots)
    report = write_report(out_dir, results)
    _summary(results, report)
    if any(r["status"] == "failed" for r in results):
        raise typer.Exit(1)


def _validate_styles(jobs, jobs_file: Path | None) -> None:
    """Every clip's style spec resolves, before any work starts."""
    from .styles import parse_style_spec

    for job in jobs:
        where = f"{jobs_file}: clip {Path(job.input).name!r}" if jobs_file else f"clip {Path(job.input).name!r}"
        if not job.styles:
            raise ValueError(f"{where}: expected styles (--styles or a 'styles' key in the jobs file)")
        for key, spec in (("styles", job.styles), ("background_style", job.background_style)):
            if spec:
                try:
                    parse_style_spec(spec)
                except (ValueError, OSError) as exc:
                    raise ValueError(f"{where}: key {key!r}: {exc}") from None


def _run(jobs, engine_name: EngineChoice, address: str, gpus_per_job: float, retries: int, split: bool) -> list[dict]:
    from .engines import make_engine
    from .shots import detect_shots, join_shots, shot_jobs

    results: dict[str, dict] = {}
    work, splits = [], {}
    for job in jobs:
        if Path(job.output).exists():
            results[job.input] = _result(job, "skipped", "finished output exists")
            continue
        if split:
            try:
                shots = detect_shots(Path(job.input), start=job.start, end=job.end, max_size=job.video.get("max_size"))
            except Exception as exc:  # an unreadable clip fails alone
                results[job.input] = _result(job, "failed", str(exc).splitlines()[0])
                continue
            if len(shots) > 1:
                splits[job.input] = (job, shots)
                work += shot_jobs(job, shots)
                continue
        work.append(job)
    with c.progress_bar() as bar:
        clips_task = bar.add_task("batch", total=len(work), info=f"{len(jobs)} clips, {len(work)} jobs")
        clip_task = bar.add_task("  clip", total=None, info="", visible=engine_name == EngineChoice.local)

        def on_start(job) -> None:
            bar.reset(clip_task, total=None, description=f"  {Path(job.input).name}" + (f" shot {job.shot}" if job.shot is not None else ""))

        def on_frame(report) -> None:
            bar.update(clip_task, completed=report.index + 1, total=report.total, info=f"{report.seconds:.1f} s/frame")

        def on_done(result: dict) -> None:
            bar.advance(clips_task)

        engine = make_engine(engine_name.value, on_start=on_start, on_frame=on_frame, address=address,
                             gpus_per_job=gpus_per_job, retries=retries)
        finished = engine.run(work, on_done)
    by_input: dict[str, list[dict]] = {}
    for job, result in zip(work, finished):
        by_input.setdefault(job.clip, []).append(result)
    for job in jobs:
        if job.input in results:
            continue
        parts = by_input.get(job.input, [])
        if job.input in splits and all(p["status"] in ("done", "skipped") for p in parts):
            try:
                join_shots(*splits[job.input])
                results[job.input] = _result(job, "done", f"{len(parts)} shots joined", sum(p["frames"] for p in parts),
                                             sum(p["seconds"] for p in parts))
            except Exception as exc:
                results[job.input] = _result(job, "failed", f"joining shots: {exc}")
        elif job.input in splits:
            reasons = "; ".join(f"shot {p['shot']}: {p['reason']}" for p in parts if p["status"] == "failed")
            results[job.input] = _result(job, "failed", reasons)
        else:
            results[job.input] = parts[0]
    return [results[job.input] for job in jobs]


def _result(job, status: str, reason: str = "", frames: int = 0, seconds: float = 0.0) -> dict:
    return {"input": job.input, "output": job.output, "status": status, "reason": reason, "frames": frames,
            "seconds": round(seconds, 2), "cuts": [], "shot": None}


def _summary(results: list[dict], report: Path) -> None:
    table = Table("clip", "status", "frames", "time", "reason")
    colours = {"done": "green", "skipped": "cyan", "failed": "red"}
    for r in results:
        table.add_row(os.path.basename(r["input"]), f"[{colours[r['status']]}]{r['status']}[/]", str(r["frames"]),
                      f"{r['seconds']:.0f} s", r["reason"])
    out.print(table)
    counts = {s: sum(r["status"] == s for r in results) for s in ("done", "skipped", "failed")}
    out.print(f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed; report: {report}",
              highlight=False)
    if counts["failed"]:
        err.print(f"[red]{counts['failed']} clip(s) failed[/red]")

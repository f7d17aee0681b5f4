"""``vidstyle video``, ``vidstyle metrics`` and ``vidstyle mask``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from .cli import (
    D, DV, BackgroundOpt, ClassesOpt, ContentWeightOpt, DeviceChoice, DeviceOpt, EndOpt, FeatherOpt, FirstIterationsOpt,
    FlowChoice, FlowOpt, GrabcutOpt, InitOpt, InvertMaskOpt, KeepFramesOpt, KeyframeOpt, LabelsOpt, LaterIterationsOpt,
    LearningRateOpt, LogPathOpt, LongTermOpt, MaxSizeOpt, NoAudioOpt, NoTemporalOpt, OptimizerChoice, OptimizerOpt,
    OutputSizeChoice, OutputSizeOpt, PoolingChoice, PoolingOpt, PrecisionChoice, PrecisionOpt, PreserveColorsOpt,
    RegionOpt, RestartOpt, ScalesOpt, SeedOpt, SegmentOpt, SmoothingOpt, StartOpt, StyleScaleOpt, StyleWeightOpt,
    TemporalWeightOpt, ToleranceOpt, TVWeightOpt, VerboseOpt, VideoConfig, VideoMaskOpt, WeightsOpt, app, build_config,
    mask_source, out, parse_offsets, parse_regions, progress_bar, setup_logging, user_errors,
)


@app.command()
@user_errors
def video(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="Input video (anything OpenCV decodes).", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output video (.mp4, H.264 + the source's audio).")],
    styles: Annotated[Optional[str], typer.Option("--styles", "-s", help="Styles as name[:weight],... (names from `vidstyle styles list` or image paths).")] = None,
    max_size: MaxSizeOpt = DV.max_size or 0,
    output_size: OutputSizeOpt = OutputSizeChoice(DV.output_size),
    start: StartOpt = None,
    end: EndOpt = None,
    iterations: LaterIterationsOpt = D.temporal.iterations,
    first_iterations: FirstIterationsOpt = D.temporal.first_iterations,
    tolerance: ToleranceOpt = D.temporal.tolerance,
    temporal_weight: TemporalWeightOpt = D.temporal.temporal_weight,
    long_term: LongTermOpt = ",".join(map(str, D.temporal.long_term)),
    no_temporal: NoTemporalOpt = False,
    flow: FlowOpt = FlowChoice(D.temporal.flow),
    no_audio: NoAudioOpt = False,
    keep_frames: KeepFramesOpt = DV.keep_frames,
    restart: RestartOpt = False,
    log_path: LogPathOpt = None,
    mask: VideoMaskOpt = None,
    mask_keyframe: KeyframeOpt = None,
    grabcut: GrabcutOpt = None,
    segment: SegmentOpt = None,
    classes: ClassesOpt = None,
    labels: LabelsOpt = None,
    invert_mask: InvertMaskOpt = False,
    feather: FeatherOpt = 0,
    mask_smoothing: SmoothingOpt = 0.5,
    region: RegionOpt = None,
    background_style: BackgroundOpt = None,
    content_weight: ContentWeightOpt = D.loss.content_weight,
    style_weight: StyleWeightOpt = D.loss.style_weight,
    tv_weight: TVWeightOpt = D.loss.tv_weight,
    optimizer: OptimizerOpt = OptimizerChoice(D.optim.optimizer),
    lr: LearningRateOpt = D.optim.learning_rate,
    init: InitOpt = D.optim.init,
    seed: SeedOpt = D.optim.seed,
    style_scale: StyleScaleOpt = D.style.style_scale,
    preserve_colors: PreserveColorsOpt = D.style.preserve_colors,
    pooling: PoolingOpt = PoolingChoice(D.features.pooling),
    weights: WeightsOpt = D.features.weights,
    device: DeviceOpt = DeviceChoice.auto,
    precision: PrecisionOpt = PrecisionChoice(D.precision),
    scales: ScalesOpt = D.optim.scales,
    verbose: VerboseOpt = False,
) -> None:
    """Stylize a video, stable from frame to frame (Ruder et al. 2016); interrupted runs resume."""
    from .pipeline import stylize_video
    from .runtime import resolve_device
    from .styles import parse_style_spec
    from .video import ensure_not_input, probe

    setup_logging(verbose)
    ensure_not_input(output, input_path)
    probe(input_path)
    if styles is None and not region:
        raise ValueError("expected --styles (optionally with a mask) or --region MASK=SPEC")
    entries = parse_style_spec(styles) if styles is not None else None
    source = mask_source(mask, mask_keyframe, grabcut, segment, classes, labels, invert_mask, feather, mask_smoothing)
    region_sources = [
        (mask_source(path, mask_keyframe, None, None, None, None, invert_mask, feather, mask_smoothing),
         parse_style_spec(spec))
        for path, spec in parse_regions(region)
    ]
    background = parse_style_spec(background_style) if background_style else None
    config = build_config(
        iterations=D.optim.iterations, content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
        optimizer=optimizer, lr=lr, init=init, seed=seed, style_scale=style_scale, preserve_colors=preserve_colors,
        pooling=pooling, weights=weights, precision=precision, scales=scales, enabled=not no_temporal,
        temporal_weight=temporal_weight, long_term=parse_offsets(long_term), first_iterations=first_iterations,
        iterations_later=iterations, tolerance_later=tolerance, flow=flow.value,
    )
    video_config = VideoConfig(max_size=max_size or None, output_size=output_size.value, audio=not no_audio,
                               keep_frames=keep_frames)
    torch_device = resolve_device(device.value)
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

        result = stylize_video(input_path, output, entries, config=config, video=video_config, start=start, end=end,
                               restart=restart, mask=source, regions=region_sources, background_style=background,
                               device=torch_device, on_frame=on_frame, on_step=on_step)
    if log_path is not None:
        from .video import atomic_path

        with atomic_path(log_path) as tmp:
            tmp.write_text("".join(json.dumps(entry) + "\n" for entry in result.log))
    cuts = ", ".join(map(str, result.cuts)) or "none"
    out.print(f"wrote {output} ({result.frames} frames, {result.size[0]}x{result.size[1]}; "
              f"{result.resumed_frames} resumed; scene cuts at frames: {cuts})", highlight=False)


@app.command()
@user_errors
def metrics(
    input_path: Annotated[Path, typer.Argument(metavar="IN", help="The input video.", show_default=False)],
    output_path: Annotated[Path, typer.Argument(metavar="OUT", help="A stylized version of it.", show_default=False)],
    max_size: Annotated[int, typer.Option("--max-size", min=0, help="Measure at this long side (0: the input's size).")] = 0,
    max_frames: Annotated[Optional[int], typer.Option("--frames", min=2, help="Only the first N frames.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Short-term warping error of OUT and of IN (flow and reliability from IN), and their ratio."""
    from .metrics import warping_error

    result = warping_error(input_path, output_path, max_size=max_size or None, max_frames=max_frames)
    if as_json:
        out.print_json(json.dumps(result.to_dict()))
        return
    out.print(f"frames {result.frames}\nwarping error OUT {result.output:.6g}\nwarping error IN  {result.input:.6g}\n"
              f"ratio OUT/IN {result.ratio:.4g}", highlight=False)


@app.command("mask")
@user_errors
def mask_command(
    input_path: Annotated[Path, typer.Argument(metavar="INPUT", help="An image or a video.", show_default=False)],
    output_dir: Annotated[Path, typer.Option("--output", "-o", help="Folder for the masks (PNG per frame) and an overlay preview.")],
    mask: Annotated[Optional[Path], typer.Option("--mask", help="A mask video, a folder of per-frame masks, or one image.")] = None,
    mask_keyframe: KeyframeOpt = None,
    grabcut: GrabcutOpt = None,
    segment: SegmentOpt = None,
    classes: ClassesOpt = None,
    labels: LabelsOpt = None,
    invert_mask: InvertMaskOpt = False,
    feather: FeatherOpt = 0,
    mask_smoothing: SmoothingOpt = 0.5,
    max_size: Annotated[int, typer.Option("--max-size", min=0, help="Long side to compute masks at (0: source size).")] = DV.max_size or 0,
    device: DeviceOpt = DeviceChoice.auto,
) -> None:
    """Export the masks a run would use (and an overlay preview) to check them before a long run."""
    from .maskexport import export_masks
    from .runtime import resolve_device

    source = mask_source(mask, mask_keyframe, grabcut, segment, classes, labels, invert_mask, feather, mask_smoothing)
    if source is None:
        raise ValueError("expected --mask, --grabcut or --segment")
    written, preview = export_masks(input_path, output_dir, source, max_size=max_size or None,
                                    device=resolve_device(device.value))
    out.print(f"wrote {written} mask(s) to {output_dir} and the preview {preview}", highlight=False)

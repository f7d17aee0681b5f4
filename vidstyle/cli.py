"""The ``vidstyle`` command line: options -> configs, device resolved once, Rich progress, exit codes.

User errors (bad input, missing files) print one red line and exit 1; Typer's
own usage errors exit 2; an interrupt exits 130. No tensor maths here.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .config import FeatureConfig, LossConfig, OptimConfig, RunConfig, StyleConfig, VideoConfig
from .video import MediaError
from .weights import WeightsUnavailableError

app = typer.Typer(help="Neural style transfer for videos and stills (Gatys et al.; Ruder et al. for video).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
styles_app = typer.Typer(help="The style library: names usable in --styles.", no_args_is_help=True)
app.add_typer(styles_app, name="styles")

err = Console(stderr=True)
out = Console()
D = RunConfig()  # the single source of defaults
DV = VideoConfig()
USER_ERRORS = (ValueError, OSError, WeightsUnavailableError, MediaError, FloatingPointError)
F = TypeVar("F", bound=Callable[..., Any])


class OptimizerChoice(str, Enum):
    lbfgs = "lbfgs"
    adam = "adam"


class PoolingChoice(str, Enum):
    max = "max"
    avg = "avg"


class DeviceChoice(str, Enum):
    auto = "auto"
    cpu = "cpu"
    cuda = "cuda"
    mps = "mps"


class FlowChoice(str, Enum):
    dis = "dis"
    farneback = "farneback"


class OutputSizeChoice(str, Enum):
    source = "source"
    processing = "processing"


class PrecisionChoice(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"


def user_errors(func: F) -> F:
    """Turn expected failures into one red line and exit 1 (real bugs keep their traceback)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as exc:
            # A fresh console: the shared one may still be bound to a closed progress display.
            Console(stderr=True).print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            Console(stderr=True).print("[yellow]interrupted[/yellow]: finished work is kept; run the same command again to resume")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


# Options shared by `image` and `video`; defaults come from RunConfig.
StylesOpt = Annotated[str, typer.Option("--styles", "-s", help="Styles as name[:weight],... (names from `vidstyle styles list` or image paths).")]
IterationsOpt = Annotated[int, typer.Option("--iterations", "-i", min=1, help="Optimisation iterations (one VGG forward+backward each).")]
ContentWeightOpt = Annotated[float, typer.Option("--content-weight", min=0.0, help="Weight of the (relative) content loss.")]
StyleWeightOpt = Annotated[float, typer.Option("--style-weight", min=0.0, help="Weight of the (relative) Gram style loss.")]
TVWeightOpt = Annotated[float, typer.Option("--tv-weight", min=0.0, help="Weight of the total-variation smoothness term.")]
OptimizerOpt = Annotated[OptimizerChoice, typer.Option("--optimizer", help="Pixel optimizer.")]
LearningRateOpt = Annotated[float, typer.Option("--lr", min=0.0, help="Adam step size (pixels in [0, 1]).")]
InitOpt = Annotated[str, typer.Option("--init", help="Start from 'content', 'noise' or an image path.")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed (noise init).")]
StyleScaleOpt = Annotated[float, typer.Option("--style-scale", min=0.01, help="Style image long side relative to the content's.")]
PreserveColorsOpt = Annotated[bool, typer.Option("--preserve-colors", help="Luminance-only transfer: keep the content's colours (Gatys et al. 2017).")]
PoolingOpt = Annotated[PoolingChoice, typer.Option("--pooling", help="VGG pooling: max (as trained) or avg (smoother, Gatys 2016).")]
WeightsOpt = Annotated[str, typer.Option("--weights", help="VGG19 weights: 'embedded' (no download), 'torchvision' or a state-dict path.")]
DeviceOpt = Annotated[DeviceChoice, typer.Option("--device", help="Compute device.")]
PrecisionOpt = Annotated[PrecisionChoice, typer.Option("--precision", help="Network precision; auto = bf16 where it measured faster (CUDA, CPUs with native bf16). Grams and losses stay fp32.")]
ScalesOpt = Annotated[int, typer.Option("--scales", min=1, max=5, help="Coarse-to-fine levels for cold starts (each half the size; finer levels run half the budget).")]
VerboseOpt = Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.")]
MaskOpt = Annotated[Optional[Path], typer.Option("--mask", help="Restrict --styles to this region (grey levels = soft weights).")]
InvertMaskOpt = Annotated[bool, typer.Option("--invert-mask", help="Style what the mask does not cover.")]
FeatherOpt = Annotated[int, typer.Option("--feather", min=0, help="Soft mask edge, in px at the processing size.")]
RegionOpt = Annotated[Optional[list[str]], typer.Option("--region", help="MASK=SPEC: a region with its own styles (repeatable).")]
BackgroundOpt = Annotated[Optional[str], typer.Option("--background-style", help="Styles for what no mask covers (default: keep the content).")]


# Options of `video`, shared with `batch`.
MaxSizeOpt = Annotated[int, typer.Option("--max-size", min=0, help="Long side the optimisation runs at (0: source size; never upscales).")]
OutputSizeOpt = Annotated[OutputSizeChoice, typer.Option("--output-size", help="Encode at the source's size or at the processing size.")]
StartOpt = Annotated[Optional[str], typer.Option("--start", help="First frame: seconds (2.5, 2.5s) or a frame index (75f).")]
EndOpt = Annotated[Optional[str], typer.Option("--end", help="End (exclusive): seconds or a frame index (75f).")]
LaterIterationsOpt = Annotated[int, typer.Option("--iterations", "-i", min=1, help="Budget of each later frame (warm-started).")]
FirstIterationsOpt = Annotated[int, typer.Option("--first-iterations", min=1, help="Budget of the first frame of each shot (cold start).")]
ToleranceOpt = Annotated[float, typer.Option("--tolerance", min=0.0, help="Later frames stop when the loss improves by less than this fraction per iteration.")]
TemporalWeightOpt = Annotated[float, typer.Option("--temporal-weight", min=0.0, help="Weight of the temporal term (same scale as --content-weight).")]
LongTermOpt = Annotated[str, typer.Option("--long-term", help="Frame offsets of temporal terms, e.g. 1,10,20 (Ruder's long-term consistency).")]
NoTemporalOpt = Annotated[bool, typer.Option("--no-temporal", help="Per-frame baseline: cold start, first-frame budget, no temporal term.")]
FlowOpt = Annotated[FlowChoice, typer.Option("--flow", help="Optical flow method.")]
NoAudioOpt = Annotated[bool, typer.Option("--no-audio", help="Drop the audio stream.")]
KeepFramesOpt = Annotated[bool, typer.Option("--keep-frames", help="Keep the work directory (frames, log) after encoding.")]
RestartOpt = Annotated[bool, typer.Option("--restart", help="Discard finished frames of an earlier run and start over.")]
LogPathOpt = Annotated[Optional[Path], typer.Option("--log", help="Also write the per-frame JSON log (one object per line) here.")]
VideoMaskOpt = Annotated[Optional[Path], typer.Option("--mask", help="Restrict --styles to a mask: a mask video, a folder of per-frame masks, or one image.")]


KeyframeOpt = Annotated[Optional[int], typer.Option("--mask-keyframe", min=0, help="The --mask (or --grabcut) is drawn on this frame; propagate it by flow.")]
GrabcutOpt = Annotated[Optional[str], typer.Option("--grabcut", help="x,y,w,h: a GrabCut object mask from this rectangle (no model needed).")]
SegmentOpt = Annotated[Optional[str], typer.Option("--segment", help="smp model directory (save_pretrained) or Hugging Face id.")]
ClassesOpt = Annotated[Optional[str], typer.Option("--classes", help="Classes of --segment to stylize, e.g. sky,building.")]
LabelsOpt = Annotated[Optional[Path], typer.Option("--labels", help="JSON list of the --segment model's class names.")]
SmoothingOpt = Annotated[float, typer.Option("--mask-smoothing", min=0.0, max=0.95, help="Temporal smoothing of per-frame masks along the flow (0: off).")]


def parse_rect(text: str | None) -> tuple[int, int, int, int] | None:
    if text is None:
        return None
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"expected --grabcut x,y,w,h in pixels, got {text!r}") from None
    return x, y, w, h


def mask_source(path: Path | None, keyframe: int | None, grabcut: str | None, segment: str | None,
                classes: str | None, labels: Path | None, invert: bool, feather: int, smoothing: float):
    """One MaskSource from the CLI's mask options, or None when none is given."""
    from .masks import MaskOptions
    from .masktrack import MaskSource

    given = [name for name, value in (("--mask", path), ("--grabcut", grabcut), ("--segment", segment)) if value]
    if len(given) > 1:
        raise ValueError(f"expected one of --mask, --grabcut, --segment, got {' and '.join(given)}")
    if not given:
        return None
    if path is not None and not path.exists():
        raise FileNotFoundError(f"mask {str(path)!r} does not exist")
    names = tuple(c.strip() for c in classes.split(",") if c.strip()) if classes else ()
    return MaskSource(path=path, keyframe=keyframe, grabcut=parse_rect(grabcut), segment=segment, classes=names,
                      labels=labels, options=MaskOptions(invert=invert, feather=feather), smoothing=smoothing)


def parse_regions(values: list[str] | None) -> list[tuple[Path, str]]:
    regions = []
    for value in values or []:
        mask, sep, spec = value.rpartition("=")
        if not sep or not mask or not spec:
            raise ValueError(f"expected --region MASK=SPEC such as sky.png=swirl:0.7,mosaic:0.3, got {value!r}")
        regions.append((Path(mask), spec))
    return regions


def build_config(
    *, iterations: int, content_weight: float, style_weight: float, tv_weight: float, optimizer: OptimizerChoice,
    lr: float, init: str, seed: int, style_scale: float, preserve_colors: bool, pooling: PoolingChoice, weights: str,
    precision: PrecisionChoice, scales: int = D.optim.scales, tolerance: float = D.optim.tolerance, iterations_later: int | None = None,
    tolerance_later: float | None = None, **temporal: Any,
) -> RunConfig:
    from dataclasses import replace

    if iterations_later is not None:
        temporal["iterations"] = iterations_later
    if tolerance_later is not None:
        temporal["tolerance"] = tolerance_later

    return RunConfig(
        features=FeatureConfig(weights=weights, pooling=pooling.value),
        loss=LossConfig(content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight),
        optim=OptimConfig(optimizer=optimizer.value, iterations=iterations, learning_rate=lr, init=init, seed=seed,
                          tolerance=tolerance, scales=scales),
        style=StyleConfig(style_scale=style_scale, preserve_colors=preserve_colors),
        temporal=replace(D.temporal, **temporal),
        precision=precision.value,
    )


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")


def progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(), console=err, transient=False,
    )


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4g}" for name, value in terms.items())


@app.command()
@user_errors
def image(
    content: Annotated[Path, typer.Argument(help="Content image.", show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output image (.png, .jpg, ...).")],
    styles: Annotated[Optional[str], typer.Option("--styles", "-s", help="Styles as name[:weight],... (names from `vidstyle styles list` or image paths).")] = None,
    size: Annotated[Optional[int], typer.Option("--size", min=0, help="Long side of the result in px (default: 512; 0 keeps the content's size).")] = 512,
    iterations: IterationsOpt = D.optim.iterations,
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
    save_every: Annotated[int, typer.Option("--save-every", min=0, help="Also write every N-th iteration to OUTPUT_steps/ (0: off).")] = 0,
    mask: MaskOpt = None,
    grabcut: GrabcutOpt = None,
    segment: SegmentOpt = None,
    classes: ClassesOpt = None,
    labels: LabelsOpt = None,
    invert_mask: InvertMaskOpt = False,
    feather: FeatherOpt = 0,
    region: RegionOpt = None,
    background_style: BackgroundOpt = None,
    device: DeviceOpt = DeviceChoice.auto,
    precision: PrecisionOpt = PrecisionChoice(D.precision),
    scales: ScalesOpt = D.optim.scales,
    verbose: VerboseOpt = False,
) -> None:
    """Stylize one image, or chosen regions of it (--mask, --region)."""
    from .image import Region, Snapshot, stylize_image
    from .masks import MaskOptions
    from .runtime import resolve_device
    from .styles import parse_style_spec
    from .video import ensure_not_input, read_image, write_image

    setup_logging(verbose)
    ensure_not_input(output, content)
    content_array = read_image(content)  # validate inputs before any work
    if styles is None and not region:
        raise ValueError("expected --styles (optionally with --mask) or --region MASK=SPEC")
    entries = parse_style_spec(styles) if styles is not None else None
    regions = [Region(path, parse_style_spec(spec)) for path, spec in parse_regions(region)]
    background = parse_style_spec(background_style) if background_style else None
    torch_device = resolve_device(device.value)
    source = mask_source(mask, None, grabcut, segment, classes, labels, invert_mask, feather, 0.0)
    mask_input = mask
    if source is not None and mask is None:  # a GrabCut or segmentation mask, computed on the content
        from .imaging import fit_long_side, resize
        from .masktrack import raw_masks
        from .segment import Segmenter

        height, width = fit_long_side(*content_array.shape[:2], size or None)
        frame = resize(content_array, height, width)
        source = source.at_scale(width / content_array.shape[1])
        segmenter = Segmenter(segment, source.classes, labels, torch_device) if segment else None
        mask_input = next(raw_masks(source, lambda: iter([frame]), 1, height, width, segmenter=segmenter))
    config = build_config(
        iterations=iterations, content_weight=content_weight, style_weight=style_weight, tv_weight=tv_weight,
        optimizer=optimizer, lr=lr, init=init, seed=seed, style_scale=style_scale, preserve_colors=preserve_colors,
        pooling=pooling, weights=weights, precision=precision, scales=scales,
    )
    steps_dir = output.with_name(f"{output.stem}_steps")

    def save_step(snapshot: Snapshot) -> None:
        write_image(steps_dir / f"{snapshot.iteration:05d}{output.suffix}", snapshot.image)

    with progress_bar() as bar:
        task = bar.add_task(content.name, total=iterations, info="")

        def on_step(report: Any) -> None:
            bar.update(task, completed=report.iteration, info=f"loss {report.loss:.4g} ({format_terms(report.terms)})")

        result = stylize_image(content_array, entries, size=size or None, config=config, device=torch_device,
                               mask=mask_input, regions=regions, background_style=background,
                               mask_options=MaskOptions(invert=invert_mask, feather=feather),
                               callback=on_step, save_every=save_every, on_snapshot=save_step)
    write_image(output, result)
    out.print(f"wrote {output} ({result.shape[1]}x{result.shape[0]})", highlight=False)


def parse_offsets(text: str) -> tuple[int, ...]:
    try:
        offsets = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise ValueError(f"expected --long-term as comma-separated frame offsets like 1,10,20, got {text!r}") from None
    if not offsets or min(offsets) < 1:
        raise ValueError(f"expected --long-term offsets >= 1, got {text!r}")
    return offsets


@styles_app.command("list")
@user_errors
def styles_list(as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False) -> None:
    """Show the style names and the files they resolve to (first match wins)."""
    from .styles import list_styles

    found = list_styles()
    if as_json:
        out.print_json(json.dumps([{"name": s.name, "path": str(s.path), "origin": s.origin} for s in found]))
        return
    table = Table("name", "origin", "file")
    for style in found:
        table.add_row(style.name, style.origin, str(style.path))
    out.print(table)


@styles_app.command("add")
@user_errors
def styles_add(
    name: Annotated[str, typer.Argument(help="Name to use in --styles.")],
    image_path: Annotated[Path, typer.Argument(metavar="IMAGE", help="Image file to copy into the user library.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing style of that name.")] = False,
) -> None:
    """Copy an image into the user style library under NAME."""
    from .styles import add_style

    target = add_style(name, image_path, force=force)
    out.print(f"added style {name!r} -> {target}", highlight=False)


from . import cli_batch, cli_video  # noqa: E402,F401  (register `video`, `metrics`, `mask`, `batch`)


def main() -> None:
    app()

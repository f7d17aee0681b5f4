"""``vidstyle metrics``: the warping error of a stylized clip against its input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..config import FlowMethod, ReliabilityCheck
from .app import app, run_guarded, say
from .options import user_path


@app.command()
def metrics(
    input_path: Annotated[Path, typer.Argument(parser=user_path, metavar="IN", help="The input video.", show_default=False)],
    output_path: Annotated[Path, typer.Argument(parser=user_path, metavar="OUT", help="A stylized version of it.", show_default=False)],
    max_size: Annotated[int, typer.Option("--max-size", min=0, help="Measure at this long side (0: the input's "
                                          "size).")] = 0,
    max_frames: Annotated[Optional[int], typer.Option("--frames", min=2, help="Only the first N frames.",
                                                      show_default=False)] = None,
    start: Annotated[Optional[str], typer.Option(
        "--start", show_default=False, help="Where OUT begins in IN: the --start OUT was rendered with (seconds, "
                                            "2.5s, or a frame, 75f).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output, with the per-frame figures.")
                       ] = False,
    flow: Annotated[FlowMethod, typer.Option(
        "--flow", help="The flow the errors are measured with: deepflow (Ruder's, independent of the pipeline's "
                       "DIS; about 1 s per frame pair at 640x360), dis or farneback.")] = "deepflow",
    reliability: Annotated[ReliabilityCheck, typer.Option(
        "--reliability", help="Which pixels count: 'ruder' (the published test) or 'regions' (as vidstyle video "
                              "warps them: flat regions filled, wrongly warped pixels corrected first).")] = "ruder",
    log: Annotated[Optional[Path], typer.Option(
        "--log", parser=user_path, show_default=False,
        help="The run's per-frame log (vidstyle video --log) to plot its style loss too.")] = None,
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", parser=user_path, show_default=False,
        help="Also draw the per-frame figures (warping error, reliable fraction, style loss) to this PNG.")] = None,
) -> None:
    """Short-term warping error of OUT and of IN (flow and reliability from IN), per frame and overall.

    By default measured with DeepFlow and Ruder's check at IN's size: an outside ruler, not the flow the
    pipeline warped with. Also the flow-free check: how much OUT changes where IN does not (still camera).
    """

    def body() -> None:
        from ..media.decode import parse_position
        from ..media.files import check_input, check_output
        from ..video.metrics import plot_per_frame, warping_error

        try:
            first = parse_position(start) if start else None
        except ValueError as exc:
            raise ValueError(f"--start: {exc}") from None
        if max_size and max_size < 16:
            raise ValueError(f"--max-size: expected 0 or a value >= 16, got {max_size}")
        if plot is not None:
            check_output(plot, (".png", ".svg", ".pdf"), (input_path, output_path), "--plot file")
        entries = None
        if log is not None:
            entries = [json.loads(line) for line in check_input(log, "--log file").read_text().splitlines() if line]
        result = warping_error(input_path, output_path, max_size=max_size or None, max_frames=max_frames,
                               flow=flow, reliability=reliability, start=first)
        if plot is not None:
            plot_per_frame(result, plot, entries, title=f"{output_path.name} vs {input_path.name}")
        if as_json:
            say(json.dumps(result.to_dict()))
            return
        worst = max(result.per_frame, key=lambda r: r["output"])
        width, height = result.size
        still = ("not measured (the camera moves in every frame pair)" if result.still_output is None else
                 f"OUT {result.still_output:.3g}, IN {result.still_input:.3g} grey levels")
        say(f"measured at {width}x{height} with {result.flow} flow and the '{result.reliability}' reliability check\n"
            f"frames {result.frames}\nwarping error OUT {result.output:.6g}\nwarping error IN  {result.input:.6g}\n"
            f"ratio OUT/IN {result.ratio:.4g}\nworst frame {worst['frame']}: E(OUT) {worst['output']:.6g}, "
            f"reliable {worst['reliable']:.2f}\nchange where IN is still: {still}" + (f"\nplot {plot}" if plot else ""))

    run_guarded(body)

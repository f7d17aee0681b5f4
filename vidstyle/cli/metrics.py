"""``vidstyle metrics``: the warping error of a stylized clip against its input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer

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
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Short-term warping error of OUT and of IN (flow and reliability from IN), and their ratio."""

    def body() -> None:
        from ..video.metrics import warping_error

        if max_size and max_size < 16:
            raise ValueError(f"--max-size: expected 0 or a value >= 16, got {max_size}")
        result = warping_error(input_path, output_path, max_size=max_size or None, max_frames=max_frames)
        if as_json:
            say(json.dumps(result.to_dict()))
            return
        say(f"frames {result.frames}\nwarping error OUT {result.output:.6g}\nwarping error IN  {result.input:.6g}\n"
            f"ratio OUT/IN {result.ratio:.4g}")

    run_guarded(body)

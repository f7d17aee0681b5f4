"""``vidstyle image``: one still, or chosen regions of it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..config import IMAGE
from ..media.images import ALPHA_SUFFIXES, write_image
from .app import progress_bar, say
from .options import Device, Threads, Values, Verbose, command, expect_kind, user_path


def format_terms(terms: dict[str, float]) -> str:
    return " ".join(f"{name} {value:.4g}" for name, value in terms.items())


@command(IMAGE, skip=("styles",))
def image(
    content: Annotated[Path, typer.Argument(parser=user_path, metavar="CONTENT", help="Content image.",
                                            show_default=False)],
    output: Annotated[Path, typer.Option("--output", "-o", parser=user_path, show_default=False,
                                         help="Output image (.png, .jpg, ...).")],
    values: Values,
    styles: Annotated[Optional[list[str]], typer.Option(
        "--styles", "-s", show_default=False,
        help="Styles as name[:weight],... (names from `vidstyle styles list`, or image paths); repeat it with "
             "--preview to compare several.")] = None,
    preview: Annotated[bool, typer.Option("--preview", help="Write one contact sheet to -o: the image and one result "
                                          "per --styles, side by side.")] = False,
    save_every: Annotated[int, typer.Option("--save-every", min=0, help="Also write every N-th iteration to "
                                            "OUTPUT_steps/ (0: off).")] = 0,
    device: Device = "auto",
    threads: Threads = None,
    verbose: Verbose = False,
) -> None:
    """Stylize one image, or chosen regions of it (--mask, --segment, --region)."""
    from ..job import Job

    expect_kind(content, still=True)
    specs = list(styles or [])
    if len(specs) > 1 and not preview:
        raise ValueError(f"expected one --styles, got {len(specs)}: add --preview to compare them side by side")
    job = Job.from_values({**values, "input": content, "output": output, "styles": specs[0] if specs else None})
    for spec in specs[1:]:
        job.with_values(styles=spec)  # every spec is checked before any work
    from ..batch.execute import plan_image_job  # torch: once the job is known to be good
    from ..core.device import resolve_device, set_threads
    from ..image.pipeline import stylize_plan

    set_threads(threads)
    torch_device = resolve_device(device)
    plan = plan_image_job(job, torch_device)
    if preview:
        _preview(plan, specs, content, output, job, torch_device)
        return
    steps_dir = output.with_name(f"{output.stem}_steps")

    def save_step(snapshot: Any) -> None:
        write_image(steps_dir / f"{snapshot.iteration:05d}{output.suffix}", snapshot.image, plan.alpha)

    with progress_bar() as bar:
        task = bar.add_task(content.name, total=job.run.optim.iterations, info="")

        def on_step(report: Any) -> None:
            bar.update(task, completed=report.iteration, total=report.total,
                       info=f"loss {report.loss:.4g} ({format_terms(report.terms)})")

        result = stylize_plan(plan, config=job.run, device=torch_device, callback=on_step,
                              save_every=save_every, on_snapshot=save_step)
    write_image(output, result, plan.alpha)
    kept = ", its transparency kept" if plan.alpha is not None and output.suffix.lower() in ALPHA_SUFFIXES else ""
    say(f"wrote {os.fspath(output)} ({result.shape[1]}x{result.shape[0]}{kept})")


def _preview(plan: Any, specs: list[str], content: Path, output: Path, job: Any, device: Any) -> None:
    from ..image.preview import preview_styles

    if not specs:
        raise ValueError("expected --styles with --preview: one result per spec")
    with progress_bar() as bar:
        task = bar.add_task(content.name, total=len(specs), info="")
        step = bar.add_task("  style", total=None, info="")
        sheet = preview_styles(plan, specs, config=job.run, device=device,
                               on_spec=lambda done, total: (bar.update(task, completed=done),
                                                            bar.reset(step, total=None)),
                               on_step=lambda r: bar.update(step, completed=r.iteration, total=r.total,
                                                            info=f"loss {r.loss:.4g}"))
        bar.remove_task(step)
    write_image(output, sheet)
    say(f"wrote the preview {os.fspath(output)} ({len(specs)} style(s) side by side)")

"""Running a :class:`~vidstyle.job.Job`: its plan (every input checked, sizes decided) and its run."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..config import IMAGE
from ..image.pipeline import StillPlan, plan_still, stylize_plan
from ..video.plan import VideoPlan, plan_video
from ..job import Job


def plan_video_job(job: Job, device: torch.device | None = None, *, preview: bool = False) -> VideoPlan:
    """The checked plan of a video job (``preview``: nothing is written to the job's output)."""
    return plan_video(job.input, None if preview else job.output, job.styles, mask=job.mask,
                      regions=[(r.source, r.styles) for r in job.regions], background_style=job.background_style,
                      video=job.video, start=job.start, end=job.end, config=job.run, device=device,
                      style_keys=job.style_key, paint_over=job.paint_over)


def plan_image_job(job: Job, device: torch.device | None = None, styles: str | None = None) -> StillPlan:
    """The checked plan of a still job (``styles`` in place of the job's, for a side-by-side preview)."""
    return plan_still(job.input, styles or job.styles, size=job.image.size, config=job.run, device=device,
                      mask=job.mask, mask_options=job.masks, regions=[(r.source, r.styles) for r in job.regions],
                      background_style=job.background_style)


def run_job(job: Job, *, device: torch.device | str = "auto", restart: bool = False,
            on_frame: Callable | None = None, on_step: Callable | None = None) -> Any:
    """Run a job: a still is written to its output (returns the image), a video is stylized resumably
    (returns its :class:`~vidstyle.video.pipeline.VideoResult`)."""
    from ..core.device import resolve_config, resolve_device
    from ..media.images import write_image
    from ..video.pipeline import run_video

    device = resolve_device(device) if isinstance(device, str) else device
    config = resolve_config(job.run, device)
    if job.kind == IMAGE:
        plan = plan_image_job(job, device)
        image: np.ndarray = stylize_plan(plan, config=config, device=device, callback=on_step)
        write_image(job.output, image, plan.alpha)  # the content's transparency, where the format keeps it
        return image
    return run_video(plan_video_job(job, device), config=config, video=job.video, restart=restart, device=device,
                     on_frame=on_frame, on_step=on_step)


def keep_pairs_job(job: Job, first: int, *, device: torch.device | str = "auto") -> int:
    """Estimate and keep the flow pairs of a video job's range in its ``video.carry_pairs`` (video/pairs.py), its
    first frame being frame ``first`` of its shot; returns the frames read."""
    from ..core.device import resolve_config, resolve_device
    from ..video.pairs import keep_pairs

    device = resolve_device(device) if isinstance(device, str) else device
    if job.video.carry_pairs is None:
        raise ValueError("expected a folder for the flow pairs (`carry_pairs`), got none")
    return keep_pairs(plan_video_job(job, device, preview=True), resolve_config(job.run, device),
                      job.video.carry_pairs, first)

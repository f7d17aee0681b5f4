"""Where a frame's time goes, by stage, from a profiler run: a shot's first frame and a later frame, at 256 and
512 px, beside the bare network cost of the same evaluations.

The run is this code's own ``run_video``, in-process under cProfile, with the background prefetch made
synchronous so the flow's work is counted in the thread the profiler watches (in a real run it overlaps the
optimisation on the other core). A first frame is a one-frame run; later frames are a resumed run whose first
frame was finished (decoding it again costs a frame's decode).
"""

from __future__ import annotations

import cProfile
import pstats
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

import torch

from . import common
from .common import BOTTLE, ROOT

FRAMES = 7  # later frames are frames 1..6 of a 7-frame run
REAL_FRAMES = 10  # a real run's later frame: the steady state of a 10-frame run resumed after frame 0, ...
STEADY = range(2, 7)  # ... frames 2-6: after the first later frame (which waits for its flow, not overlapped) and
# while the prefetch still reads ahead (two frames queued, one in hand: it is done once frame 6 starts)
TRIES = 3  # real runs, each beside a bare evaluation measured just before it: this machine's speed drifts by 10%
STAGES = ["network forward (the evaluations)", "network backward", "losses, Grams and L-BFGS steps",
          "objective set-up (content features, targets, composite)", "warm start: warps and fill", "decode",
          "flow estimation (DIS both ways)", "flat regions", "flow correction", "reliability (Ruder's test)",
          "cut cues, resizing flows", "checkpoint: PNG, hash, log", "per-frame warping error (progress)", "encode"]


def _stages(stats: pstats.Stats) -> dict[str, float]:
    """Seconds by stage from cumulative times of non-overlapping calls (nested ones taken out of their parents)."""
    def cum(*patterns: str) -> float:
        return _cumulative(stats, list(patterns))

    optimise, setup_forward = cum("core/optimize.py:optimize_pixels"), cum("core/objective.py:__init__")
    forward = cum("core/features.py:forward") - setup_forward  # the content's features are set-up's
    backward = cum("<method 'run_backward'")
    prepared = cum("video/temporal.py:prepare_frames")
    parts = {"decode": cum("media/decode.py:read_frames"), "flow estimation (DIS both ways)":
             cum("motion/estimate.py:compute_flow"), "flat regions": cum("motion/flat.py:fill_flat"),
             "flow correction": cum("motion/correct.py:correct_flow"),
             "reliability (Ruder's test)": cum("motion/reliability.py:reliability")}
    return {"network forward (the evaluations)": forward, "network backward": backward,
            "losses, Grams and L-BFGS steps": optimise - forward - backward,
            "objective set-up (content features, targets, composite)":
                cum("paint/paint.py:paint_from") - optimise,
            "warm start: warps and fill": cum("video/temporal.py:warm_start", "video/temporal.py:settle_start"),
            **parts, "cut cues, resizing flows": prepared - sum(parts.values()),
            "checkpoint: PNG, hash, log": cum("video/checkpoint.py:save", "video/checkpoint.py:save_input",
                                              "video/checkpoint.py:save_motion"),
            "per-frame warping error (progress)": cum("video/forward.py:warp_error"),
            "encode": cum("video/pipeline.py:_encode")}


@contextmanager
def _synchronous_prefetch():
    """The prefetch thread replaced by plain iteration, so its work shows in the profiled thread."""
    import vidstyle.video.forward as forward

    class Inline:
        def __init__(self, items, depth: int = 2) -> None:
            self.items = items

        def __enter__(self):
            return self

        def __iter__(self):
            return iter(self.items)

        def __exit__(self, *exc) -> None:
            close = getattr(self.items, "close", None)
            if close is not None:
                close()

    real = forward.Prefetch
    forward.Prefetch = Inline
    try:
        yield
    finally:
        forward.Prefetch = real


def _cumulative(stats: pstats.Stats, patterns: list[str]) -> float:
    total = 0.0
    for (file, _, name), (_, _, _, cumulative, _) in stats.stats.items():  # type: ignore[attr-defined]
        label = f"{file}:{name}"
        if any((p.startswith("<") and name.startswith(p)) or label.endswith(p) for p in patterns):
            total += cumulative
    return total


def _profiled(size: int, frames: int, work: Path, resume_after_first: bool, profiled: bool = True,
              stamps: list[tuple[float, int]] | None = None) -> tuple[dict[str, float], float, int]:
    """``(seconds by stage, wall seconds, VGG evaluations)`` of painting frames of a run (see the module docstring);
    with ``profiled`` False, a real run's wall time alone (no profiler, the prefetch on its own thread). ``stamps``
    receives each painted frame's ``(time it was done, evaluations)``."""
    from vidstyle.batch.execute import run_job
    from vidstyle.job import Job
    from vidstyle.video.checkpoint import work_dir_for

    output = work / f"profile-{size}-{frames}.mp4"
    job = Job.from_values({"input": BOTTLE, "output": output, "styles": "vangogh", "max_size": size,
                           "end": f"{frames}f", "keep_frames": True, **({"first_iterations": 3} if
                                                                          common.BUDGET.smoke else {})})
    log = work_dir_for(output) / "log.jsonl"
    if resume_after_first:
        if not log.is_file():  # every frame once (a second call reuses them), then forget all but the first
            run_job(job, device="cpu")
        log.write_text(log.read_text().splitlines()[0] + "\n")
    else:
        shutil.rmtree(work_dir_for(output), ignore_errors=True)
    output.unlink(missing_ok=True)
    evaluations = []

    def on_frame(record) -> None:
        if not record.resumed:
            evaluations.append(record.evaluations)
            if stamps is not None:
                stamps.append((time.perf_counter(), record.evaluations))

    if not profiled:
        started = time.perf_counter()
        run_job(job, device="cpu", on_frame=on_frame)
        return {}, time.perf_counter() - started, sum(evaluations)
    profile = cProfile.Profile()
    with _synchronous_prefetch():
        started = time.perf_counter()
        profile.enable()
        run_job(job, device="cpu", on_frame=on_frame)
        profile.disable()
        wall = time.perf_counter() - started
    return _stages(pstats.Stats(profile)), wall, sum(evaluations)


def steady_later(size: int, work: Path, frames: int = REAL_FRAMES) -> tuple[float, float]:
    """``(seconds, VGG evaluations)`` of a later frame in a real run's steady state: the time between the ends of
    the frames before and after :data:`STEADY`, per frame (the run's start-up, the first later frame's wait for its
    flow, and the last frames, whose flow was read while they were not yet painted, left out)."""
    stamps: list[tuple[float, int]] = []
    _profiled(size, frames, work, True, profiled=False, stamps=stamps)
    first, last = STEADY.start - 1, STEADY.stop - 1  # stamps[i] is frame i + 1's end
    steady = stamps[first:last + 1]
    if len(steady) < 2:  # a smoke run's frames
        return stamps[-1][0] - stamps[0][0], float(stamps[-1][1])
    return (steady[-1][0] - steady[0][0]) / (len(steady) - 1), sum(e for _, e in steady[1:]) / (len(steady) - 1)


def bare_evaluation(size: int) -> float:
    """Seconds of one objective evaluation (VGG19 forward and backward, the losses) at the processing size of the
    bench clip, as a later frame runs it: the fastest of 6 after 2 to warm up (their mean moved by a third between two
    runs of this section at 512 px, 242 and 164 ms; the fastest is what the machine can do, and the ratios against it
    the stricter)."""
    from vidstyle.config import RunConfig
    from vidstyle.core.device import resolve_config
    from vidstyle.core.features import load_extractor
    from vidstyle.core.objective import Objective, TemporalTerm
    from vidstyle.core.styles import parse_style_spec
    from vidstyle.core.targets import StyleTargets
    from vidstyle.media.probe import probe
    from vidstyle.media.sizes import processing_size

    info = probe(BOTTLE)
    height, width = processing_size(info.height, info.width, size)
    device = torch.device("cpu")
    config = resolve_config(RunConfig(), device)
    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    content = torch.rand(1, 3, height, width, generator=torch.Generator().manual_seed(0))
    style = StyleTargets(extractor, config, content).get(parse_style_spec("vangogh"), (height, width))
    objective = Objective(extractor, config.loss, style, content, temporal=[TemporalTerm(content.clone(),
                          torch.ones(1, 1, height, width))], temporal_weight=200.0, bf16=config.precision == "bf16")
    image = content.clone().requires_grad_(True)
    times = []
    for index in range(8):
        image.grad = None
        started = time.perf_counter()
        loss, _ = objective(image)
        loss.backward()
        if index >= 2:
            times.append(time.perf_counter() - started)
    return min(times)


def profile(work: Path, device) -> tuple[str, dict]:
    smoke = common.BUDGET.smoke
    sizes = (96,) if smoke else (256, 512)
    frames = 3 if smoke else FRAMES
    data, columns = {}, []
    for size in sizes:
        from vidstyle.video.checkpoint import work_dir_for

        shutil.rmtree(work_dir_for(work / f"profile-{size}-{frames}.mp4"), ignore_errors=True)  # no stale frames
        first, first_wall, first_evals = _profiled(size, 1, work, False)
        later, later_wall, later_evals = _profiled(size, frames, work, True)
        _, real_first, _ = _profiled(size, 1, work, False)
        real_frames = 4 if smoke else REAL_FRAMES
        shutil.rmtree(work_dir_for(work / f"profile-{size}-{real_frames}.mp4"), ignore_errors=True)
        tries = []
        for _ in range(1 if smoke else TRIES):  # each real run beside a bare evaluation measured just before it
            bare_now = bare_evaluation(size)
            seconds, evals = steady_later(size, work, real_frames)
            tries.append((seconds / (evals * bare_now), seconds, evals, bare_now))
        ratio, real_later, real_evals, bare = sorted(tries)[len(tries) // 2]  # the median try
        count = frames - 1
        data[size] = {"first": {**first, "wall": first_wall, "evaluations": first_evals, "real": real_first,
                                "real_evaluations": first_evals, "real_ratio": real_first / (first_evals * bare)},
                      "later": {k: v / count for k, v in later.items()} | {
                          "wall": later_wall / count, "evaluations": later_evals / count,
                          "real": real_later, "real_evaluations": real_evals, "real_ratio": ratio,
                          "tries": [round(t[0], 3) for t in tries]},
                      "bare": bare}
        columns += [(f"first frame, {size} px", data[size]["first"], bare),
                    (f"later frame, {size} px", data[size]["later"], bare)]
    rows = []
    for name in STAGES:
        rows.append(f"| {name} | " + " | ".join(f"{c[name]:.2f}" for _, c, _ in columns) + " |")
    rows.append("| other (start-up, imports, the network's loading, Python) | " + " | ".join(
        f"{c['wall'] - sum(c[n] for n in STAGES):.2f}" for _, c, _ in columns) + " |")
    rows.append("| **wall time** | " + " | ".join(f"**{c['wall']:.2f}**" for _, c, _ in columns) + " |")
    rows.append("| VGG evaluations | " + " | ".join(f"{c['evaluations']:.0f}" for _, c, _ in columns) + " |")
    rows.append("| bare network cost of those evaluations (at full size) | " + " | ".join(
        f"{c['evaluations'] * bare:.2f}" for _, c, bare in columns) + " |")
    rows.append("| wall / bare network cost (profiled, flow in the same thread) | " + " | ".join(
        f"{c['wall'] / (c['evaluations'] * bare):.2f}" for _, c, bare in columns) + " |")
    rows.append("| **a real run's wall time** (no profiler, the flow on the other core; a later frame: the steady "
                "state) | " + " | ".join(f"**{c['real']:.2f}**" for _, c, _ in columns) + " |")
    rows.append("| **real wall / bare network cost** (a later frame: the median of the tries) | " + " | ".join(
        f"**{c['real_ratio']:.2f}**" for _, c, _ in columns) + " |")
    rows.append("| each try's ratio, its bare cost measured just before it | " + " | ".join(
        ", ".join(f"{r:.2f}" for r in c.get("tries", [])) for _, c, _ in columns) + " |")
    header = "| stage (seconds per frame) | " + " | ".join(name for name, _, _ in columns) + " |"
    md = f"""## Where a frame's time goes

`{BOTTLE.relative_to(ROOT.parent) if BOTTLE.is_relative_to(ROOT.parent) else BOTTLE}`, Starry Night, every default;
a shot's first frame is a one-frame run (its cold start, coarse to fine, and its settling), a later frame the mean of
frames 1-{frames - 1} of a {frames}-frame run resumed after frame 0. `bench/profile.py` runs `run_video` in-process
under cProfile, the prefetch made synchronous so the flow's work is counted (in a real run it overlaps the
optimisation on the other core, so these stages add up to more than a real run's wall time). A stage's figure is
the cumulative time of its functions, nested stages taken out of their parents (the network's forward passes that
set up an objective, for the content's features, count as set-up). *Bare network cost*: the frame's
VGG evaluations times one full-size objective evaluation measured alone (the fastest of six; the first frame's are
mostly at a quarter and a half of the size, so its ratio is below 1). *A real run's later frame*: no profiler, the
prefetch on its own thread, in the steady state of a {REAL_FRAMES}-frame run resumed after frame 0: the time from the
end of frame {STEADY.start - 1} to the end of frame {STEADY.stop - 1}, per frame (the run's start-up and the first later
frame's wait for its own flow left out, and the last frames, whose flow was read before they were painted, too). It
is run {TRIES} times, each try beside a bare evaluation measured just before it, and the median try's ratio counts: the
machine's speed drifts by 10% between minutes.

{header}
|---|{'---|' * len(columns)}
{chr(10).join(rows)}
"""
    return md, {size: {k: {kk: vv if isinstance(vv, list) else round(vv, 3) for kk, vv in v.items()}
                       if isinstance(v, dict) else round(v, 4)
                       for k, v in d.items()} for size, d in data.items()}

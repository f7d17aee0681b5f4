"""The benchmark sections. Each returns (markdown, data) and measures its ratios side by side."""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from itertools import islice
from pathlib import Path

import numpy as np
import torch

from vidstyle.config import RunConfig, TemporalConfig
from vidstyle.core.features import VGGFeatures
from vidstyle.core.objective import Objective
from vidstyle.core.optimize import optimize_coarse_to_fine, optimize_pixels
from vidstyle.core.runtime import load_extractor
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import style_targets
from vidstyle.core.tensors import to_tensor, to_uint8
from vidstyle.media.decode import Frame, iter_frames
from vidstyle.media.probe import probe
from vidstyle.media.sizes import fit_long_side, resize
from vidstyle.regions.guides import frame_regions
from vidstyle.video.temporal import prepare_frames, warm_start

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CLIP = SHARED / "videos" / "bottle-detection.mp4"
STYLE = SHARED / "styles" / "starry_night.jpg"
STABILITY_FRAMES, STABILITY_SIZE, STABILITY_FIRST = 30, 192, 100
MEMORY_FRAMES = (10, 300)
BUDGET = None  # None: the default first-frame budget


def clip_and_style() -> tuple[Path, str]:
    if CLIP.is_file() and STYLE.is_file():
        return CLIP, str(STYLE)
    return ROOT / "samples" / "clip.mp4", "swirl"


def rel(path: Path | str) -> str:
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def frames_at(clip: Path, long_side: int, count: int) -> list[np.ndarray]:
    info = probe(clip)
    height, width = fit_long_side(info.height, info.width, long_side)
    return [resize(f, height, width) for f in islice(iter_frames(clip), count)]


def as_frames(images: list[np.ndarray]) -> list[Frame]:
    return [Frame(i, i, 1, image) for i, image in enumerate(images)]


def run_cli(args: list[str]) -> str:
    command = [sys.executable, "-m", "vidstyle", *args]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {result.stderr[-2000:]}")
    return result.stdout


def objective_loss(terms: dict[str, float], config: RunConfig) -> float:
    """content + style + tv part of a loss (the temporal term left out), as weighted in the objective."""
    loss = config.loss
    return loss.content_weight * terms["content"] + loss.style_weight * terms["style"] + loss.tv_weight * terms["tv"]


# --------------------------------------------------------------------------- stability


def stability(work: Path, device: torch.device) -> tuple[str, dict]:
    clip, style = clip_and_style()
    common = ["-s", rel(style) if Path(style).exists() else style, "--max-size", str(STABILITY_SIZE),
              "--output-size", "processing", "--end", f"{STABILITY_FRAMES}f", "--first-iterations",
              str(STABILITY_FIRST), "--device", device.type, "--restart"]
    runs = {}
    for name, extra in (("temporal", []), ("per-frame", ["--no-temporal"])):
        out, log = work / f"stability-{name}.mp4", work / f"stability-{name}.jsonl"
        args = ["video", rel(clip), "-o", rel(out), *common, *extra, "--log", rel(log)]
        t0 = time.perf_counter()
        run_cli(args)
        seconds = time.perf_counter() - t0
        metrics = json.loads(run_cli(["metrics", rel(clip), rel(out), "--max-size", str(STABILITY_SIZE), "--json"]))
        entries = [json.loads(line) for line in log.read_text().splitlines()]
        later = entries[1:]
        runs[name] = {
            "command": "vidstyle " + shlex.join(args),
            "seconds": seconds,
            "error": metrics["output"], "input_error": metrics["input"], "ratio": metrics["ratio"],
            "style": statistics.mean(e["terms"]["style"] for e in later),
            "content": statistics.mean(e["terms"]["content"] for e in later),
            "evaluations_later": statistics.mean(e["evaluations"] for e in later),
        }
    t, p = runs["temporal"], runs["per-frame"]
    data = {"stability_ratio": t["ratio"] / p["ratio"], "style_change": t["style"] / p["style"] - 1, **{
        f"{k}_{n}": v for n, r in runs.items() for k, v in r.items() if k != "command"}}
    md = f"""## Temporal stability (Ruder et al. 2016 warping error)

Clip `{rel(clip)}`, style `{rel(style) if Path(style).exists() else style}`, first {STABILITY_FRAMES} frames at long side
{STABILITY_SIZE}; both runs use the same settings ({STABILITY_FIRST} iterations for every cold frame, defaults otherwise):

```
{t['command']}
{p['command']}
vidstyle metrics {rel(clip)} OUT.mp4 --max-size {STABILITY_SIZE} --json
```

| run | warping error E(out) | E(in) | E(out)/E(in) | mean style loss, frames 1+ | mean content loss, frames 1+ | VGG evaluations per later frame (any size) | wall time |
|---|---|---|---|---|---|---|---|
| temporal (default) | {t['error']:.3g} | {t['input_error']:.3g} | {t['ratio']:.3g} | {t['style']:.4f} | {t['content']:.4f} | {t['evaluations_later']:.1f} | {t['seconds']:.0f} s |
| `--no-temporal` | {p['error']:.3g} | {p['input_error']:.3g} | {p['ratio']:.3g} | {p['style']:.4f} | {p['content']:.4f} | {p['evaluations_later']:.1f} | {p['seconds']:.0f} s |

**Warping-error ratio, temporal / per-frame: {data['stability_ratio']:.3f}** (target at most 1/8 = 0.125).
Style loss of later frames, temporal vs per-frame: **{data['style_change'] * 100:+.1f}%** (target within 15%).
"""
    return md, data


# --------------------------------------------------------------------------- warm start


def _setup(clip: Path, style: str, long_side: int, count: int, device: torch.device, config: RunConfig):
    frames = frames_at(clip, long_side, count)
    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    first = to_tensor(frames[0], device)
    targets = style_targets(extractor, parse_style_spec(style), first, config)
    return frames, extractor, targets


def _scaled_objective(extractor, config: RunConfig, targets, content: torch.Tensor):
    def make(size, content=content):
        scaled = content if size == tuple(content.shape[-2:]) else torch.nn.functional.interpolate(
            content, size=size, mode="area")
        return Objective(extractor, config.loss, targets, scaled)
    return make


def warm_start_efficiency(work: Path, device: torch.device, later: int = 4) -> tuple[str, dict]:
    clip, style = clip_and_style()
    config = RunConfig(precision="fp32")
    budget = BUDGET or config.optim.iterations
    frames, extractor, targets = _setup(clip, style, STABILITY_SIZE, later + 1, device, config)
    preps = list(prepare_frames(as_frames(frames), config.temporal))
    first = to_tensor(frames[0], device)
    previous = to_uint8(optimize_pixels(first, Objective(extractor, config.loss, targets, first), iterations=budget).image)
    rows = []
    for prep in preps[1:]:
        content = to_tensor(prep.content, device)
        cold = optimize_pixels(content, Objective(extractor, config.loss, targets, content), iterations=budget)
        goal = 1.05 * objective_loss(cold.terms, config)
        coarse = optimize_coarse_to_fine(content, _scaled_objective(extractor, config, targets, content), scales=2,
                                         iterations=budget)
        with torch.no_grad():
            coarse_loss = float(Objective(extractor, config.loss, targets, content)(coarse.image)[0])
        init, terms = warm_start(prep, {prep.index - 1: previous}, content, 0)
        reached: list[int] = []
        reached_coarse: list[int] = []

        def watch(report, goal=goal, reached=reached, coarse_goal=1.05 * coarse_loss, reached_coarse=reached_coarse):
            loss = objective_loss(report.terms, config)
            if not reached and loss <= goal:
                reached.append(report.evaluations)
            if not reached_coarse and loss <= coarse_goal:
                reached_coarse.append(report.evaluations)

        warm = optimize_pixels(init, Objective(extractor, config.loss, targets, content, temporal=terms,
                                               temporal_weight=config.temporal.temporal_weight),
                               iterations=budget, callback=watch)
        rows.append({"frame": prep.index, "cold_loss": objective_loss(cold.terms, config),
                     "warm_evaluations": reached[0] if reached else None,
                     "warm_final": objective_loss(warm.terms, config), "coarse_loss": coarse_loss,
                     "warm_evaluations_coarse": reached_coarse[0] if reached_coarse else None})
        previous = to_uint8(warm.image)
    needed = [r["warm_evaluations"] if r["warm_evaluations"] is not None else budget for r in rows]
    ratio = statistics.mean(needed) / budget
    def shown(value):
        return value if value is not None else f"not reached in {budget}"

    table = "\n".join(
        f"| {r['frame']} | {r['cold_loss']:.4f} | {shown(r['warm_evaluations'])} | {r['coarse_loss']:.4f} | "
        f"{shown(r['warm_evaluations_coarse'])} | {r['warm_final']:.4f} |" for r in rows)
    md = f"""## Warm-start efficiency

Frames 1-{later} of `{rel(clip)}` at long side {STABILITY_SIZE}, fp32. For each frame: a cold start from the
content with the full first-frame budget ({budget} L-BFGS iterations = {budget} VGG evaluations) gives the reference
loss (content + style + TV); the warm start (previous stylized frame warped by the flow, temporal term on) counts
the VGG evaluations until its content + style + TV loss is within 5% of that reference.

| frame | cold loss, {budget} at full size | warm evaluations to 1.05x of it | cold loss, default coarse-to-fine ({budget} at half + {budget // 2} at full) | warm evaluations to 1.05x of it | warm loss after {budget} |
|---|---|---|---|---|---|
{table}

**Later frames need {ratio:.3f} of the first-frame budget** (mean {statistics.mean(needed):.1f} of {budget} full-size
evaluations to come within 5% of the single-scale cold loss; target at most 1/4). The coarse-to-fine cold start
(the default) reaches a lower loss; the columns beside it show how many warm evaluations reach within 5% of that.
"""
    return md, {"warm_ratio": ratio, "rows": rows}


# --------------------------------------------------------------------------- overhead, precision, throughput


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()  # CUDA runs asynchronously: time finished work only


def _time_steps(run, repeats: int) -> float:
    """Seconds per step: ``run(n)`` performs n steps; one warm-up call first (allocations, kernels)."""
    run(1)
    _sync()
    t0 = time.perf_counter()
    run(repeats)
    _sync()
    return (time.perf_counter() - t0) / repeats


def _bare_step(extractor: VGGFeatures, image: torch.Tensor, bf16: bool):
    def run(steps: int):
        for _ in range(steps):
            x = image.detach().clone().requires_grad_(True)
            with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=bf16):
                features = extractor(x)
            sum(f.float().mean() for f in features.values()).backward()
    return run


def _pipeline_step(extractor, targets, frames, device, config: RunConfig, bf16: bool, masked: bool = True):
    """One full optimisation step of a warm frame: masked regions, temporal term, L-BFGS update."""
    content = to_tensor(frames[1], device)
    prep = list(prepare_frames(as_frames(frames[:2]), config.temporal))[1]
    init, terms = warm_start(prep, {0: frames[0]}, content, 0)
    style = targets
    if masked:
        mask = np.zeros(frames[0].shape[:2], np.float32)
        mask[:, : mask.shape[1] // 2] = 1
        style, _ = frame_regions([targets, targets], [mask, 1 - mask], None, config.loss.style_layers, device)
    objective = Objective(extractor, config.loss, style, content, temporal=terms,
                          temporal_weight=config.temporal.temporal_weight, bf16=bf16)
    return lambda steps: optimize_pixels(init, objective, iterations=steps)


def extractor_weights(config: RunConfig):
    from vidstyle.core.weights import load_weights

    return load_weights(config.features.weights)


def overhead_precision_throughput(work: Path, device: torch.device) -> tuple[str, dict]:
    clip, style = clip_and_style()
    config = RunConfig(precision="fp32")
    data: dict = {}
    rows = []
    for long_side in (256, 512):
        repeats = (8 if long_side == 256 else 4) if BUDGET is None else 1
        frames, extractor, targets = _setup(clip, style, long_side, 2, device, config)
        image = to_tensor(frames[1], device)
        for precision in ("fp32", "bf16"):
            bf16 = precision == "bf16"
            bare = _time_steps(_bare_step(extractor, image, bf16), repeats)
            full = _time_steps(_pipeline_step(extractor, targets, frames, device, config, bf16), repeats)
            cold = _time_steps(_pipeline_step(extractor, targets, frames, device, replace(
                config, temporal=TemporalConfig(enabled=False)), bf16, masked=False), repeats)
            half = frames_at(clip, long_side // 2, 2)
            cold_half = _time_steps(_pipeline_step(extractor, targets, half, device, replace(
                config, temporal=TemporalConfig(enabled=False)), bf16, masked=False), repeats)
            rows.append((long_side, precision, bare, full, cold, cold_half))
            data[f"{long_side}_{precision}_cold"] = cold
            data[f"{long_side}_{precision}_cold_half"] = cold_half
            data[f"{long_side}_{precision}"] = {"bare": bare, "full": full, "overhead": full / bare}
        nchw = VGGFeatures(extractor_weights(config), config.loss.style_layers + config.loss.content_layers).to(device)
        nchw.channels_last = False
        plain = _time_steps(_bare_step(nchw, image, False), repeats)
        data[f"{long_side}_channels_last_speedup"] = plain / data[f"{long_side}_fp32"]["bare"]

    quality = _precision_quality(clip, style, device)
    data.update(quality)
    table = "\n".join(
        f"| {s} | {p} | {b * 1000:.0f} ms | {f * 1000:.0f} ms | **{f / b:.2f}x** |" for s, p, b, f, _, _ in rows)
    speed = {s: next(r for r in rows if r[0] == s and r[1] == "fp32")[3] / next(
        r for r in rows if r[0] == s and r[1] == "bf16")[3] for s in (256, 512)}
    data["bf16_speedup"] = speed
    later_iters = 25  # see the stability table: later frames stop early at about this many iterations
    n = config.optim.iterations
    throughput = "\n".join(
        f"| {s} | {p} | {n * h + n // 2 * c:.0f} s ({n} x {h:.2f} s at half size + {n // 2} x {c:.2f} s) | "
        f"{f * later_iters:.1f} s ({later_iters} x {f:.2f} s) |" for s, p, _, f, c, h in rows)
    md = f"""## Per-step overhead, precision, throughput

Clip frames of `{rel(clip)}`. "Bare" is one VGG19 forward+backward to the deepest used layer (relu5_1) on the
frame; "full step" is one L-BFGS iteration of a warm frame with everything on: two masked style regions
(guided Grams), content, TV and the temporal term against the warped previous frame.

| long side | precision | bare VGG fwd+bwd | full step | full / bare |
|---|---|---|---|---|
{table}

(The step of a cold frame without masks or temporal term: {', '.join(f"{s}px {p} {c * 1000:.0f} ms" for s, p, _, _, c, _ in rows)}.)

Target: full / bare at most 1.25. Channels-last activations (the default) vs plain NCHW, bare step in fp32:
{data['256_channels_last_speedup']:.2f}x faster at 256, {data['512_channels_last_speedup']:.2f}x at 512.

**bf16 autocast vs fp32** (Grams and loss reductions stay fp32): full step {speed[256]:.2f}x faster at 256,
{speed[512]:.2f}x at 512. Quality, 80 cold iterations at 256 from the same start, both results evaluated with the
fp32 objective: loss fp32 {quality['loss_fp32']:.4f}, bf16 {quality['loss_bf16']:.4f}
(**{quality['loss_difference'] * 100:+.2f}%**); mean absolute pixel difference {quality['pixel_difference']:.2f}/255.
Default: `--precision auto` = bf16 on CUDA and on CPUs with native bf16 (AVX-512 BF16 or AMX, as here), fp32 elsewhere.

Throughput (seconds per frame = measured seconds per iteration x iterations; first frame: the default
coarse-to-fine cold budget, later frames: the about {later_iters} iterations they take with early stopping, see
the stability table):

| long side | precision | first frame of a shot | later frame |
|---|---|---|---|
{throughput}
"""
    return md, data


def _precision_quality(clip: Path, style: str, device: torch.device, iterations: int = 80) -> dict:
    iterations = BUDGET or iterations
    config = RunConfig(precision="fp32")
    frames, extractor, targets = _setup(clip, style, 256, 1, device, config)
    content = to_tensor(frames[0], device)
    reference = Objective(extractor, config.loss, targets, content)
    results = {}
    for precision in ("fp32", "bf16"):
        objective = Objective(extractor, config.loss, targets, content, bf16=precision == "bf16")
        image = optimize_pixels(content, objective, iterations=iterations).image
        with torch.no_grad():
            results[precision] = (float(reference(image)[0]), to_uint8(image))
    difference = np.abs(results["bf16"][1].astype(float) - results["fp32"][1]).mean()
    return {"loss_fp32": results["fp32"][0], "loss_bf16": results["bf16"][0],
            "loss_difference": results["bf16"][0] / results["fp32"][0] - 1, "pixel_difference": float(difference)}


# --------------------------------------------------------------------------- coarse to fine


def coarse_to_fine(work: Path, device: torch.device) -> tuple[str, dict]:
    clip, style = clip_and_style()
    config = RunConfig(precision="fp32")
    budget = BUDGET or config.optim.iterations
    frames, extractor, targets = _setup(clip, style, 256, 1, device, config)
    content = to_tensor(frames[0], device)
    reference = Objective(extractor, config.loss, targets, content)
    rows = {}
    for scales in (1, 2):
        t0 = time.perf_counter()
        result = optimize_coarse_to_fine(content, _scaled_objective(extractor, config, targets, content),
                                         scales=scales, iterations=budget)
        seconds = time.perf_counter() - t0
        with torch.no_grad():
            rows[scales] = {"seconds": seconds, "loss": float(reference(result.image)[0])}
    data = {"speedup": rows[1]["seconds"] / rows[2]["seconds"], "loss_change": rows[2]["loss"] / rows[1]["loss"] - 1,
            **{f"scales{k}": v for k, v in rows.items()}}
    md = f"""## Coarse-to-fine first frames (`--scales`)

First frame of `{rel(clip)}` at long side 256, fp32, default budget ({budget}). `--scales 2` runs {budget} iterations at
half size, then {budget // 2} at full size.

| scales | wall time | final loss (full-size objective) |
|---|---|---|
| 1 | {rows[1]['seconds']:.1f} s | {rows[1]['loss']:.4f} |
| 2 | {rows[2]['seconds']:.1f} s | {rows[2]['loss']:.4f} |

`--scales 2` is **{data['speedup']:.2f}x** faster with a {data['loss_change'] * 100:+.1f}% loss change.
"""
    return md, data


# --------------------------------------------------------------------------- memory


def memory(work: Path, device: torch.device) -> tuple[str, dict]:
    from samples.make import render_frame, render_scene, write_clip
    from fractions import Fraction

    short, long = MEMORY_FRAMES
    clip = work / f"memory-clip-{long}.mp4"
    if not clip.is_file():
        scene = render_scene()
        write_clip(clip, [render_frame(scene, i, long, (144, 256)) for i in range(long)], Fraction(25), with_audio=False)
    rss = {}
    commands = {}
    for frames in (short, long):
        out, report = work / f"memory-{frames}.mp4", work / f"memory-{frames}.json"
        args = ["video", rel(clip), "-s", "swirl", "-o", rel(out), "--max-size", "128", "--end", f"{frames}f",
                "--first-iterations", "2", "-i", "1", "--device", device.type, "--restart"]
        command = [sys.executable, "-m", "bench.rss", rel(report), *args]
        subprocess.run(command, cwd=ROOT, check=True, capture_output=True)
        rss[frames] = json.loads(report.read_text())["max_rss_mib"]
        commands[frames] = "python -m bench.rss REPORT " + shlex.join(args)
    ratio = rss[long] / rss[short]
    md = f"""## Memory

Peak resident memory of the whole `vidstyle video` process (decode, flow thread, optimisation, checkpoints,
encode) on a generated {long}-frame clip at long side 128, with the budget cut to 2/1 iterations so the run is about
memory, not optimisation:

```
{commands[short]}
{commands[long]}
```

| frames | peak RSS |
|---|---|
| {short} | {rss[short]:.0f} MiB |
| {long} | {rss[long]:.0f} MiB |

**RSS({long}) / RSS({short}) = {ratio:.3f}** (target at most 1.1).
"""
    return md, {"rss": rss, "ratio": ratio}


def smoke() -> None:
    """Shrink every budget so the whole suite runs in a minute (to test the bench itself)."""
    global STABILITY_FRAMES, STABILITY_FIRST, MEMORY_FRAMES, BUDGET
    STABILITY_FRAMES, STABILITY_FIRST, MEMORY_FRAMES, BUDGET = 3, 3, (3, 6), 4


SECTIONS = [
    ("stability", stability),
    ("warm_start", warm_start_efficiency),
    ("overhead", overhead_precision_throughput),
    ("coarse_to_fine", coarse_to_fine),
    ("memory", memory),
]

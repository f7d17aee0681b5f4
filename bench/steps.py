"""The cost of one optimisation step and of a cold start: overhead, precision, compile, cold-start schemes."""

from __future__ import annotations

import time
from itertools import islice
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from vidstyle.config import RunConfig
from vidstyle.core.objective import Objective
from vidstyle.core.optimize import optimize_coarse_to_fine, optimize_pixels
from vidstyle.core.features import load_extractor
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import StyleTargets, load_style_images
from vidstyle.core.tensors import to_tensor, to_uint8
from vidstyle.media.decode import Frame, iter_frames
from vidstyle.media.sizes import fit_long_side, resize
from vidstyle.regions.guides import frame_regions
from vidstyle.video.temporal import prepare_frames, warm_start

from . import common
from .common import BOTTLE, STYLE, rel


# A candidate init for cold starts, measured in cold_start and not adopted.
def colour_statistics(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean ``(3,)`` and covariance ``(3, 3)`` of the pixels of ``(1, 3, H, W)``."""
    pixels = image.reshape(3, -1).double()
    mean = pixels.mean(1)
    centred = pixels - mean[:, None]
    return mean, centred @ centred.T / max(1, pixels.shape[1] - 1)


def match_colours(content: torch.Tensor, mean: torch.Tensor, covariance: torch.Tensor) -> torch.Tensor:
    """``content`` recoloured by an affine map to the given colour mean and covariance (clipped to [0, 1]).

    ``x' = L_s L_c^-1 (x - mu_c) + mu_s`` with ``L`` Cholesky factors (the linear colour transfer of
    Gatys et al. 2017, sec. 4, applied to the content instead of the style).
    """
    mu_c, cov_c = colour_statistics(content)
    eye = torch.eye(3, dtype=torch.float64, device=content.device) * 1e-5
    transform = torch.linalg.cholesky(covariance.double().to(content.device) + eye) @ torch.linalg.inv(
        torch.linalg.cholesky(cov_c + eye))
    pixels = content.reshape(3, -1).double()
    out = transform @ (pixels - mu_c[:, None]) + mean.double().to(content.device)[:, None]
    return out.reshape(content.shape).to(content.dtype).clamp(0, 1)


def frames_at(long_side: int, count: int) -> list[np.ndarray]:
    frames = list(islice(iter_frames(BOTTLE), count))
    height, width = fit_long_side(*frames[0].shape[:2], long_side)
    return [resize(f, height, width) for f in frames]


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


def _bare_step(extractor, image: torch.Tensor, bf16: bool):
    def run(steps: int):
        for _ in range(steps):
            x = image.detach().clone().requires_grad_(True)
            with torch.autocast(image.device.type, dtype=torch.bfloat16, enabled=bf16):
                features = extractor(x)
            sum(f.float().mean() for f in features.values()).backward()
    return run


def _full_step(extractor, targets, frames, device, config: RunConfig, bf16: bool):
    """One L-BFGS iteration of a warm frame with everything on: two masked regions, temporal term."""
    content = to_tensor(frames[1], device)
    prep = list(prepare_frames([Frame(i, i, 1, f) for i, f in enumerate(frames[:2])], config.temporal))[1]
    start = warm_start(prep, {0: frames[0]}, content, 0, config)
    init, terms = start.init, start.temporal
    mask = np.zeros(frames[0].shape[:2], np.float32)
    mask[:, : mask.shape[1] // 2] = 1
    style, _ = frame_regions([targets, targets], [mask, 1 - mask], None, config.loss.style_layers, device)
    objective = Objective(extractor, config.loss, style, content, temporal=terms,
                          temporal_weight=config.temporal.temporal_weight, bf16=bf16)
    return lambda steps: optimize_pixels(init, objective, iterations=steps)


def overhead(work: Path, device: torch.device) -> tuple[str, dict]:
    config = RunConfig(precision="fp32")
    layers = config.loss.style_layers + config.loss.content_layers
    extractor = load_extractor(config.features, layers, device)
    repeats = 1 if common.BUDGET.smoke else 6
    rows, data = [], {}
    for side in (256, 512) if not common.BUDGET.smoke else (96,):
        frames = frames_at(side, 2)
        image = to_tensor(frames[1], device)
        targets = StyleTargets(extractor, config, image).get(parse_style_spec(STYLE), tuple(image.shape[-2:]))
        for precision in ("fp32", "bf16"):
            bf16 = precision == "bf16"
            bare = _time_steps(_bare_step(extractor, image, bf16), repeats)
            full = _time_steps(_full_step(extractor, targets, frames, device, config, bf16), repeats)
            rows.append(f"| {side} | {precision} | {bare * 1000:.0f} ms | {full * 1000:.0f} ms | **{full / bare:.2f}x** |")
            data[f"{side}_{precision}"] = {"bare": bare, "full": full}
        compiled, seconds = _compiled(extractor, image, device)
        data[f"{side}_compile"] = {"eager": data[f"{side}_bf16"]["bare"], "compiled": compiled, "compile_s": seconds}
    quality = _precision_quality(extractor, config, device)
    data.update(quality)
    compile_rows = "\n".join(
        f"| {key.split('_')[0]} | {v['eager'] * 1000:.0f} ms | "
        + (f"{v['compiled'] * 1000:.0f} ms | {v['compile_s']:.0f} s |" if v["compiled"] else "failed | |")
        for key, v in data.items() if key.endswith("_compile"))
    md = f"""## One step: overhead, precision, compile

Frames of `{rel(BOTTLE)}`. "Bare" is one VGG19 forward+backward to relu5_1; "full step" is one L-BFGS iteration of
a warm frame with everything on: two masked style regions (guided Grams), content, TV and the temporal term.

| long side | precision | bare VGG fwd+bwd | full step | full / bare |
|---|---|---|---|---|
{chr(10).join(rows)}

bf16 autocast against fp32 (Grams and loss reductions stay fp32), 80 cold iterations at 256 from the same
start, both results evaluated with the fp32 objective: loss fp32 {quality['loss_fp32']:.4f}, bf16
{quality['loss_bf16']:.4f} (**{quality['loss_difference'] * 100:+.2f}%**), mean pixel difference
{quality['pixel_difference']:.1f}/255 (another local optimum). `--precision auto` picks bf16 on CUDA GPUs with
native bf16 (compute capability 8.0+) and on CPUs with AVX-512 BF16/AMX (as here), fp32 elsewhere.

`torch.compile` of the feature extractor (bf16 bare step; compile time is paid once per image size, so twice
per clip with the coarse-to-fine levels):

| long side | eager | compiled | compile time |
|---|---|---|---|
{compile_rows}
"""
    return md, data


def _compiled(extractor, image: torch.Tensor, device: torch.device) -> tuple[float | None, float]:
    try:
        started = time.perf_counter()
        compiled = torch.compile(extractor)
        _bare_step(compiled, image, True)(1)
        seconds = time.perf_counter() - started
        return _time_steps(_bare_step(compiled, image, True), 1 if common.BUDGET.smoke else 6), seconds
    except Exception:  # no compiler toolchain: eager it is
        return None, 0.0


def _precision_quality(extractor, config: RunConfig, device: torch.device) -> dict:
    iterations = 3 if common.BUDGET.smoke else 80
    content = to_tensor(frames_at(256 if not common.BUDGET.smoke else 96, 1)[0], device)
    targets = StyleTargets(extractor, config, content).get(parse_style_spec(STYLE), tuple(content.shape[-2:]))
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


def cold_start(work: Path, device: torch.device) -> tuple[str, dict]:
    """The first frame of a shot at 512 px under several schemes, by time and by the full-size loss reached; the
    quarter-size level's budget on a second picture too."""
    config = RunConfig()
    from vidstyle.core.device import resolve_config

    from .truth import truth_clips

    config = resolve_config(config, device)
    side = 96 if common.BUDGET.smoke else 512
    extractor = load_extractor(config.features, config.loss.style_layers + config.loss.content_layers, device)
    entries = parse_style_spec(STYLE)
    camera = truth_clips(work, names=("pan-zoom",))[0]
    first = next(iter_frames(camera.path))
    pictures = {f"`{rel(BOTTLE)}`": frames_at(side, 1)[0],
                f"`{camera.path.name}`": resize(first, *fit_long_side(*first.shape[:2], side))}
    scale = (lambda n: max(2, n // 50)) if common.BUDGET.smoke else (lambda n: n)
    # name: (matched Grams, init, levels, coarsest budget, finer budget, a cold start's shorter levels between)
    schemes = {
        "baseline: 2 levels, 300 + 150, full-size Grams at both": (False, "content", 2, 300, 150, False),
        "2 levels, 300 + 150, Grams matched to each level": (True, "content", 2, 300, 150, False),
        "the same from the content recoloured to the style": (True, "recoloured", 2, 300, 150, False),
        "3 levels, 300 + 75 + 75, matched (033e546's default)": (True, "content", 3, 300, 75, False),
        "3 levels, 150 + 75 + 75, matched (the default before)": (True, "content", 3, 150, 75, False),
        "3 levels, 100 + 37 + 75, matched (the default)": (True, "content", 3, 200, 75, True),
        "3 levels, 100 + 75 + 75, matched": (True, "content", 3, 100, 75, False),
        "3 levels, 200 + 60 + 60, matched": (True, "content", 3, 200, 60, False),
    }
    second = ("3 levels, 300 + 75 + 75, matched (033e546's default)", "3 levels, 150 + 75 + 75, matched (the default "
              "before)", "3 levels, 100 + 37 + 75, matched (the default)", "3 levels, 100 + 75 + 75, matched")
    rows, data = [], {}
    for picture, frame in pictures.items():
        content = to_tensor(frame, device)
        full_size = tuple(content.shape[-2:])
        targets = StyleTargets(extractor, config, content)
        full_targets = targets.get(entries, full_size)
        reference = Objective(extractor, config.loss, full_targets, content)  # fp32: the judge for every scheme
        images = load_style_images(entries, content, config.style)
        mean, covariance = colour_statistics(images[0])
        inits = {"content": content, "recoloured": match_colours(content, mean, covariance)}

        def objective_for(matched: bool):
            def make(size):
                scaled = content if size == full_size else F.interpolate(content, size=size, mode="area")
                grams = targets.get(entries, size) if matched else full_targets
                return Objective(extractor, config.loss, grams, scaled, bf16=config.precision == "bf16")
            return make

        for name, (matched, init, scales, coarsest, finer, between) in schemes.items():
            if picture != next(iter(pictures)) and name not in second:
                continue
            started = time.perf_counter()
            result = optimize_coarse_to_fine(inits[init], objective_for(matched), scales=scales, halve_deep=between,
                                             iterations=scale(coarsest), fine_iterations=scale(finer))
            _sync()
            seconds = time.perf_counter() - started
            with torch.no_grad():
                loss, terms = reference(result.image)
            data[(picture, name)] = {"seconds": seconds, "loss": float(loss), "style": float(terms["style"]),
                                     "content": float(terms["content"]), "evaluations": result.evaluations}
            rows.append(f"| {picture} | {name} | {seconds:.0f} s | {result.evaluations} | {float(loss):.4f} | "
                        f"{float(terms['style']):.4f} | {float(terms['content']):.3f} |")
    verdicts = []
    for picture in pictures:
        now = data[(picture, second[2])]
        for was, label in ((second[1], "the default before"), (second[0], "033e546's default")):
            before = data[(picture, was)]
            verdicts.append(f"* {picture}: the default takes **{now['seconds'] / before['seconds']:.2f}x** the time of "
                            f"{label} for a loss {(now['loss'] / before['loss'] - 1) * 100:+.1f}% (style "
                            f"{(now['style'] / before['style'] - 1) * 100:+.1f}%, content "
                            f"{(now['content'] / before['content'] - 1) * 100:+.1f}%).")
    base = data[(next(iter(pictures)), next(iter(schemes)))]
    default = data[(next(iter(pictures)), second[2])]
    md = f"""## Cold starts (the first frame of a shot)

The first frame of a clip at long side {side}, Starry Night, {config.precision}; every result is judged by the
same full-size fp32 objective (content + style + TV). "Matched" Grams are computed from the style image scaled
to each level's size (with full-size Grams a half-size level paints strokes twice as large). Budgets are per
level, coarsest first; the second picture runs the quarter-size level's budgets only.

| picture | scheme | time | VGG evaluations | loss | style | content |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts)}

Against the 2-level baseline the default takes {default['seconds'] / base['seconds']:.2f}x the time for a loss
{(default['loss'] / base['loss'] - 1) * 100:+.1f}% different. The quarter-size level settles the layout long before
300 iterations (`--first-iterations 200` runs 100 there: halved per level below half size), and the half-size
level only carries it to the full size (it runs half of `--fine-iterations`), while the full-size level, 75
evaluations at the full cost, is what the loss needs: cut there, the loss rises (200 + 60 + 60).
"""
    return md, {f"{p} | {n}": v for (p, n), v in data.items()}

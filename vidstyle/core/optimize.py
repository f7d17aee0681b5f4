"""The pixel optimisation: the initial image and the loop (L-BFGS or Adam), one or several scales. No models."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F

from ..media.sizes import resize
from ..media.images import read_image
from .tensors import to_tensor

# L-BFGS without a line search (one evaluation a step) may take a step that makes the loss far worse; past this
# factor over the best loss so far, the image goes back to the best and the curvature is learnt again.
BLOW_UP = 1.5


@functools.cache
def _without_importing_dynamo() -> None:
    """torch.optim's bookkeeping methods import ``torch._dynamo`` on their first call (1.7 s of start-up here, for
    every run) only to mark themselves as never compiled. Nothing here compiles: while nothing in the process has
    imported the compiler, mark them as already handled, each as itself (torch's own cache for that mark). A
    process that imports the compiler first keeps torch's behaviour. (Adam's step still imports it.) Once a
    process: what it decides holds for the process."""
    import sys

    if "torch._dynamo" in sys.modules:
        return
    for cls in (torch.optim.Optimizer, torch.optim.LBFGS, torch.optim.Adam):
        for value in vars(cls).values():
            original = getattr(value, "__wrapped__", None)
            code = getattr(value, "__code__", None)
            if original is not None and code is not None and code.co_qualname.startswith("_disable_dynamo."):
                setattr(original, "__dynamo_disable", original)


# objective(image) -> (total loss, {term name: value}); it must not call backward.
Objective = Callable[[torch.Tensor], tuple[torch.Tensor, dict[str, torch.Tensor]]]


@dataclass(frozen=True)
class StepReport:
    """What a progress callback receives after every iteration."""

    iteration: int
    total: int
    loss: float
    terms: dict[str, float]
    evaluations: int


@dataclass(frozen=True)
class Level:
    """One level of a coarse-to-fine run: its size ``(h, w)``, iterations and final loss terms."""

    size: tuple[int, int]
    iterations: int
    terms: dict[str, float]


@dataclass
class OptimResult:
    image: torch.Tensor  # (1, 3, H, W) in [0, 1], detached
    iterations: int
    evaluations: int  # objective evaluations = VGG forward+backward passes
    loss: float
    terms: dict[str, float]
    history: list[float] = field(default_factory=list)
    levels: list[Level] = field(default_factory=list)  # coarse-to-fine, coarsest first


def initial_image(init: str, content: torch.Tensor, seed: int) -> torch.Tensor:
    """The start of a cold optimisation: ``content``, ``noise`` (uniform, seeded) or an image file resized to it."""
    if init == "content":
        return content.clone()
    if init == "noise":
        generator = torch.Generator().manual_seed(seed)
        return torch.rand(content.shape, generator=generator).to(content)
    array = read_image(Path(init))
    return to_tensor(resize(array, *content.shape[-2:]), content.device)


def converged(history: list[float], tolerance: float, window: int = 10) -> bool:
    """True when the loss fell by less than ``tolerance`` (relative) per iteration over ``window``."""
    if tolerance <= 0 or len(history) <= window:
        return False
    old, new = history[-window - 1], history[-1]
    return (old - new) / max(abs(new), 1e-12) < tolerance * window


# L-BFGS's first step on a warm start, as an inverse curvature per pixel of the image's area (see ``first_step``).
# Measured at the end of later frames' runs (the scale L-BFGS learns, ``H_diag``): 0.5-2.7e-4 per pixel at 256 and
# 512 px over a moving camera and a still one, so 1e-4 starts within a factor of 3 of it. torch's own first step
# (1 / the gradient's L1 norm) moved the pixels about 100x too little, and a later frame lost its first evaluation.
WARM_FIRST_STEP = 1e-4


def optimize_pixels(
    init: torch.Tensor,
    objective: Objective,
    *,
    optimizer: str = "lbfgs",
    iterations: int = 300,
    learning_rate: float = 0.02,
    tolerance: float = 0.0,
    callback: Callable[[StepReport], None] | None = None,
    snapshot: Callable[[int, torch.Tensor], None] | None = None,
    snapshot_every: int = 0,
    may_stop: Callable[[dict[str, float]], bool] | None = None,
    first_step: float | None = None,
) -> OptimResult:
    """Minimise ``objective`` over the pixels of ``init (1, 3, H, W)``, keeping them in [0, 1].

    With ``tolerance`` the loop stops early once the loss stops improving, but
    only when ``may_stop(terms)`` agrees (a frame must not quit in a bad state).

    One iteration costs exactly one objective evaluation for both optimizers
    (L-BFGS runs without line search, one ``step`` per iteration, so its
    curvature history persists across steps). ``snapshot(iteration, image)``
    is called every ``snapshot_every`` iterations. With ``first_step`` L-BFGS's first step is ``-first_step * H * W``
    times the gradient (a guess at the inverse curvature, which grows with the image's area as the loss is a mean),
    not torch's much shorter ``1 / |gradient|_1`` (see :data:`WARM_FIRST_STEP`).
    """
    if iterations < 1:
        raise ValueError(f"expected at least 1 iteration, got {iterations}")
    image = init.detach().clone(memory_format=torch.contiguous_format).clamp_(0, 1).requires_grad_(True)
    _without_importing_dynamo()
    if optimizer == "lbfgs":
        opt: torch.optim.Optimizer = torch.optim.LBFGS([image], lr=1.0, max_iter=1, history_size=50)
        if first_step is not None:
            _seed_first_step(opt, image, first_step * image.shape[-2] * image.shape[-1])
    elif optimizer == "adam":
        opt = torch.optim.Adam([image], lr=learning_rate)
    else:
        raise ValueError(f"expected optimizer 'lbfgs' or 'adam', got {optimizer!r}")

    evaluations = 0
    last_terms: dict[str, float] = {}
    history: list[float] = []

    def closure() -> torch.Tensor:
        nonlocal evaluations, last_terms
        opt.zero_grad(set_to_none=True)
        loss, terms = objective(image)
        loss.backward()
        evaluations += 1
        last_terms = {name: float(value.detach()) for name, value in terms.items()}
        return loss

    done = 0
    best: tuple[float, torch.Tensor] | None = None  # L-BFGS: the lowest loss so far, and where
    for done in range(1, iterations + 1):
        before = image.detach().clone() if optimizer == "lbfgs" else None
        loss = opt.step(closure)  # the loss at ``before``
        value = float(loss.detach())
        with torch.no_grad():
            image.clamp_(0, 1)
        if before is not None:
            _record_the_step_taken(opt, image, before)
            if best is None or value < best[0]:
                best = (value, before)
            elif value > BLOW_UP * best[0]:  # a step made it far worse: back to the best, curvature forgotten
                with torch.no_grad():
                    image.copy_(best[1])
                opt.state.clear()
        history.append(value)
        if callback is not None:
            callback(StepReport(done, iterations, history[-1], dict(last_terms), evaluations))
        if snapshot is not None and snapshot_every > 0 and done % snapshot_every == 0:
            snapshot(done, image.detach())
        if not torch.isfinite(loss):
            raise FloatingPointError(f"the loss became {float(loss)} at iteration {done}; lower the weights or use "
                                     "`optimizer` adam")
        if converged(history, tolerance) and (may_stop is None or may_stop(last_terms)):
            break
    return OptimResult(image.detach(), done, evaluations, history[-1], last_terms, history)


def _seed_first_step(opt: torch.optim.Optimizer, image: torch.Tensor, scale: float) -> None:
    """Make torch's L-BFGS take ``-scale * gradient`` as its first step.

    Its state then reads as after one step of length zero: that step makes no curvature pair, the memory is empty,
    so the direction is the gradient times ``H_diag`` and the step length ``lr`` (1), not the first iteration's
    ``1 / |gradient|_1``.
    """
    size = image.numel()
    opt.state[image].update(n_iter=1, d=image.new_zeros(size), t=1.0, H_diag=scale,
                            prev_flat_grad=image.new_zeros(size), old_dirs=[], old_stps=[], ro=[])


def _record_the_step_taken(opt: torch.optim.Optimizer, image: torch.Tensor, before: torch.Tensor) -> None:
    """Tell L-BFGS the step the clamp to [0, 1] let through, not the one it proposed.

    L-BFGS learns the curvature from pairs (step, change of gradient); torch's keeps the proposed step
    (``d * t``) for the next pair. Where the clamp cut it (saturated paint), that pair describes a move the
    image never made, the curvature estimate goes wrong, and after a few dozen iterations the loss climbs,
    sometimes tenfold (a frame held to paint made for another style: 4.2 -> 43 at iteration 52). With the step
    actually taken, the same run descends steadily to 4.11. A pair from a tiny, mostly clamped step can still
    ask for a huge next step (a later frame: 2.5 -> 24 -> 260); :data:`BLOW_UP` catches that.
    """
    state = opt.state[image]
    t = state.get("t")
    if not t or "d" not in state:
        return
    state["d"] = (image.detach() - before).reshape(-1).div_(t)


def pyramid_sizes(height: int, width: int, scales: int, minimum: int = 32) -> list[tuple[int, int]]:
    """Sizes coarsest first, each level half the next; levels whose short side would drop below ``minimum`` are skipped."""
    sizes = [(height, width)]
    for _ in range(scales - 1):
        h, w = sizes[0]
        if min(h, w) // 2 < minimum:
            break
        sizes.insert(0, (h // 2, w // 2))
    return sizes


def optimize_coarse_to_fine(
    init: torch.Tensor,
    make_objective: Callable[[tuple[int, int]], Objective],
    *,
    scales: int = 1,
    iterations: int = 200,
    fine_iterations: int | None = None,
    residual: bool = False,
    may_stop: Callable[[dict[str, float]], bool] | None = None,
    stop_level: int = -1,
    halve_deep: bool = False,
    **options,
) -> OptimResult:
    """Optimise at ``scales`` resolutions, coarsest first, each result carried to the next size.

    The coarsest level runs ``iterations``; every finer level runs ``fine_iterations`` (default:
    half of ``iterations``), so the expensive full-resolution work shrinks (a departure from
    Gatys et al., who optimise at one scale; cf. Gatys 2017 sec. 5). With ``residual`` a finer
    level starts from ``init`` at its own size plus the upsampled *change* the coarser level made,
    so the fine detail of ``init`` (a warped previous frame) survives the trip through the coarse
    level; without it, from the upsampled coarse result. ``may_stop`` applies at level ``stop_level``
    (the finest by default). With ``halve_deep`` (a cold start) a coarsest level below half the size runs half of
    ``iterations`` for each further halving (100 at a quarter of the size for 200), and a level between the
    coarsest and the full size runs half of ``fine_iterations``: the coarsest level settles the layout long before
    a larger budget ends, the full-size level the detail the loss measures, and the full-size loss is the same
    with the levels in between cut short (BENCHMARKS.md, cold starts).
    """
    sizes = pyramid_sizes(*init.shape[-2:], scales)
    if halve_deep:
        iterations = max(1, iterations >> max(0, len(sizes) - 2))

    def at(size: tuple[int, int]) -> torch.Tensor:
        return init if size == tuple(init.shape[-2:]) else F.interpolate(init, size=size, mode="area")

    image = at(sizes[0])
    evaluations, history, result, levels = 0, [], None, []
    stop_at = stop_level % len(sizes)
    for level, size in enumerate(sizes):
        if result is not None:
            coarse = result.image - at(sizes[level - 1]) if residual else result.image
            image = F.interpolate(coarse, size=size, mode="bicubic", align_corners=False)
            image = (at(size) + image).clamp(0, 1) if residual else image
        budget = iterations if level == 0 else (fine_iterations or max(1, iterations // 2))
        if halve_deep and 0 < level < len(sizes) - 1:
            budget = max(1, budget // 2)
        result = optimize_pixels(image, make_objective(size), iterations=budget,
                                 may_stop=may_stop if level == stop_at else None, **options)
        evaluations += result.evaluations
        history += result.history
        levels.append(Level(tuple(size), result.iterations, result.terms))
    assert result is not None
    return OptimResult(result.image, result.iterations, evaluations, result.loss, result.terms, history, levels)

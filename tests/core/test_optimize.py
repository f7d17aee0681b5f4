import numpy as np
import pytest
import torch

from vidstyle.core.optimize import BLOW_UP, converged, optimize_pixels

from ..conftest import ROOT


def quadratic_objective(target):
    def objective(image):
        loss = (image - target).pow(2).mean()
        return loss, {"mse": loss}

    return objective


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_loss_decreases_and_pixels_stay_in_range(optimizer):
    target = torch.rand(1, 3, 8, 8) * 1.4 - 0.2  # partly outside [0, 1]
    reports = []
    result = optimize_pixels(torch.full((1, 3, 8, 8), 0.5), quadratic_objective(target), optimizer=optimizer,
                             iterations=30, learning_rate=0.05, callback=reports.append)
    assert result.history[-1] < result.history[0] * 0.5
    assert result.image.min() >= 0 and result.image.max() <= 1
    assert [r.iteration for r in reports] == list(range(1, 31))
    assert result.evaluations == 30 and "mse" in result.terms


def test_tolerance_stops_early():
    target = torch.full((1, 3, 4, 4), 0.7)
    result = optimize_pixels(torch.zeros(1, 3, 4, 4), quadratic_objective(target), iterations=200, tolerance=1e-3)
    assert result.iterations < 200


def test_converged_needs_a_full_window():
    assert not converged([1.0] * 5, 1e-3, window=10)
    assert converged([1.0] * 12, 1e-3, window=10)
    assert not converged([2.0 - i * 0.05 for i in range(12)], 1e-3, window=10)


def test_snapshots_every_n():
    seen = []
    optimize_pixels(torch.zeros(1, 3, 4, 4), quadratic_objective(torch.ones(1, 3, 4, 4)), iterations=7,
                    snapshot=lambda i, im: seen.append(i), snapshot_every=3)
    assert seen == [3, 6]


def test_bad_optimizer_and_budget():
    objective = quadratic_objective(torch.zeros(1, 3, 2, 2))
    with pytest.raises(ValueError, match="expected optimizer"):
        optimize_pixels(torch.zeros(1, 3, 2, 2), objective, optimizer="sgd")
    with pytest.raises(ValueError, match="at least 1 iteration"):
        optimize_pixels(torch.zeros(1, 3, 2, 2), objective, iterations=0)


def test_initial_images(tmp_path):
    from vidstyle.core.optimize import initial_image
    from vidstyle.media.images import write_image

    content = torch.rand(1, 3, 6, 8)
    assert torch.equal(initial_image("content", content, 0), content)
    noise = initial_image("noise", content, 3)
    assert noise.shape == content.shape and torch.equal(noise, initial_image("noise", content, 3))
    assert not torch.equal(noise, initial_image("noise", content, 4))
    write_image(tmp_path / "start.png", np.full((12, 16, 3), 255, np.uint8))
    assert torch.allclose(initial_image(str(tmp_path / "start.png"), content, 0), torch.ones_like(content))


def test_may_stop_keeps_a_converged_run_going_until_it_agrees():
    target = torch.full((1, 3, 4, 4), 0.7)
    calls = []

    def may_stop(terms):
        calls.append(terms)
        return len(calls) >= 25

    result = optimize_pixels(torch.zeros(1, 3, 4, 4), quadratic_objective(target), iterations=200, tolerance=1e-3,
                             may_stop=may_stop)
    free = optimize_pixels(torch.zeros(1, 3, 4, 4), quadratic_objective(target), iterations=200, tolerance=1e-3)
    assert free.iterations < result.iterations < 200 and "mse" in calls[0]


def test_residual_levels_keep_the_detail_of_the_start():
    from vidstyle.core.optimize import optimize_coarse_to_fine

    start = torch.rand(1, 3, 64, 64)  # fine detail everywhere

    def nothing_to_do(size):
        def objective(image):
            loss = (image * 0).sum()  # no gradient: every level keeps what it starts from
            return loss, {"zero": loss}
        return objective

    kept = optimize_coarse_to_fine(start, nothing_to_do, scales=2, iterations=3, fine_iterations=2, residual=True)
    blurred = optimize_coarse_to_fine(start, nothing_to_do, scales=2, iterations=3, fine_iterations=2)
    assert torch.allclose(kept.image, start, atol=1e-5)  # only the coarse level's change is carried up
    assert (blurred.image - start).abs().mean() > 0.05  # a plain upsample loses the detail
    assert [level.size for level in kept.levels] == [(32, 32), (64, 64)]


@pytest.mark.parametrize("scales, coarsest", [(1, 8), (2, 8), (3, 4), (4, 2)])
def test_a_cold_start_halves_the_coarsest_budget_per_level_below_half_size_and_the_levels_between(scales, coarsest):
    from vidstyle.core.optimize import optimize_coarse_to_fine

    def pull(size):
        def objective(image):
            loss = (image - 0.3).pow(2).sum()
            return loss, {"mse": loss}
        return objective

    result = optimize_coarse_to_fine(torch.rand(1, 3, 256, 256), pull, scales=scales, iterations=8,
                                     fine_iterations=6, halve_deep=True)
    between = [3] * max(0, scales - 2)  # neither the coarsest nor the full size: half of fine_iterations
    assert [level.iterations for level in result.levels] == [coarsest] + between + [6] * (scales > 1)
    plain = optimize_coarse_to_fine(torch.rand(1, 3, 256, 256), pull, scales=scales, iterations=8, fine_iterations=6)
    assert [level.iterations for level in plain.levels] == [8] + [6] * (scales - 1)


def test_an_optimisation_does_not_import_the_compiler():
    """torch.optim's methods would import torch._dynamo (seconds of every run's start-up) on their first call (L-BFGS,
    the default; Adam's step imports it itself)."""
    import subprocess
    import sys

    code = ("import sys, torch\n"
            "from vidstyle.core.optimize import optimize_pixels\n"
            "optimize_pixels(torch.rand(1, 3, 8, 8), lambda x: ((x - 0.5).pow(2).sum(), {}), iterations=3)\n"
            "print('torch._dynamo' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_lbfgs_under_the_clamp_reaches_a_box_constrained_minimum():
    """Where the optimum lies outside [0, 1] the clamp cuts L-BFGS's steps; told the step it proposed, not the one
    taken, it stalled far above the minimum (58% here); told the step taken, it reaches it."""
    generator = torch.Generator().manual_seed(0)
    scale = torch.logspace(0, 3, 3 * 16 * 16).reshape(1, 3, 16, 16)  # ill-conditioned, as pixels' curvatures are
    centre = torch.rand(1, 3, 16, 16, generator=generator) * 3 - 1  # two thirds of it outside [0, 1]

    def objective(image):
        loss = (scale * (image - centre).pow(2)).mean()
        return loss, {"quadratic": loss}

    minimum = float(objective(centre.clamp(0, 1))[0])
    result = optimize_pixels(torch.full((1, 3, 16, 16), 0.5), objective, iterations=80)
    assert result.loss < 1.02 * minimum
    assert float(result.image.min()) >= 0 and float(result.image.max()) <= 1


def test_lbfgs_goes_back_to_its_best_image_when_a_step_makes_the_loss_far_worse():
    """Past the cliff (the mean above 0.6) the loss is 100 more; L-BFGS without a line search walks over it and,
    the cliff having no gradient, would stay beyond it; each time the loss blows up it goes back to its best."""
    def objective(image):
        loss = (image - 0.7).pow(2).mean() + (100.0 if float(image.detach().mean()) > 0.6 else 0.0)
        return loss, {"cliff": loss}

    result = optimize_pixels(torch.full((1, 3, 8, 8), 0.2), objective, iterations=40)
    beyond = [loss for loss in result.history if loss > BLOW_UP * min(result.history)]
    assert beyond and len(beyond) < len(result.history) // 2  # over the cliff now and then, never for long
    assert min(result.history) < 0.25


def test_an_optimisation_warns_nothing():
    """Nothing in the loop reads a number off a tensor that needs grad: torch warns once per process, so on every
    run's stderr. A fresh process, so no earlier test has used up that one warning."""
    import subprocess
    import sys

    code = ("import torch\n"
            "from vidstyle.core.optimize import optimize_pixels\n"
            "def objective(image):\n"
            "    loss = (image - 0.3).pow(2).mean()\n"
            "    return loss, {'mse': loss}\n"
            "optimize_pixels(torch.rand(1, 3, 8, 8), objective, iterations=3)\n")
    done = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0 and "Warning" not in done.stderr, done.stderr


def test_a_warm_first_step_is_the_gradient_times_the_given_scale_per_pixel():
    """mean((x - c)^2) over 3 x H x W values has the inverse curvature 3HW/2 per value: a first step of 1.5 per
    pixel of area is Newton's, and lands on ``c``; torch's own first step (1 / |gradient|_1) barely moves."""
    generator = torch.Generator().manual_seed(0)
    start = torch.rand(1, 3, 12, 16, generator=generator)
    target = torch.rand(1, 3, 12, 16, generator=generator) * 0.8 + 0.1
    seeded = optimize_pixels(start, quadratic_objective(target), iterations=1, first_step=1.5)
    assert torch.allclose(seeded.image, target, atol=1e-5)
    half = optimize_pixels(start, quadratic_objective(target), iterations=1, first_step=0.75)
    assert torch.allclose(half.image, (start + target) / 2, atol=1e-5)
    plain = optimize_pixels(start, quadratic_objective(target), iterations=1)
    moved = float((plain.image - start).abs().mean() / (target - start).abs().mean())
    assert 0 < moved < 0.01
    # the seeded run goes on as L-BFGS: the next steps keep it at the minimum
    assert optimize_pixels(start, quadratic_objective(target), iterations=4, first_step=1.5).loss < 1e-9

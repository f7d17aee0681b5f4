"""One schema for settings: each field reaches the CLI and jobs.toml with the same default and range."""

from __future__ import annotations

import inspect
import math

import pytest
import typer.main

from vidstyle.batch.jobsfile import INPUT_KEYS, KEYS
from vidstyle.cli import app
from vidstyle.cli.options import cli_fields
from vidstyle.config import IMAGE, MASK, VIDEO, LossConfig, MaskConfig, OptimConfig, RunConfig, TemporalConfig, VideoConfig

# Settings a video job cannot change, on purpose: cold starts of video frames never stop early.
IMAGE_ONLY = {("run", "optim", "tolerance")}
# Options of `vidstyle batch` that are about the run, not about a clip: no jobs.toml key.
RUN_LEVEL = {"--out", "--jobs", "--engine", "--parallel", "--address", "--cpus-per-job", "--gpus-per-job", "--retries",
             "--split-shots", "--device", "--threads", "--verbose", "--help"}


def options_of(command: str) -> dict[str, object]:
    """``{flag: click parameter}`` of a command, as users see it."""
    click_app = typer.main.get_command(app)
    params = click_app.commands[command].params
    return {flag: p for p in params for flag in p.opts if flag.startswith("--")}


def test_every_setting_is_an_option_with_the_field_default():
    commands = {IMAGE: options_of("image"), VIDEO: options_of("video"), MASK: options_of("mask")}
    for root, path, item, kind in cli_fields():
        spec = item.metadata["setting"]
        offered = [c for c in commands if c in spec.commands]
        assert offered, f"{root}.{'.'.join(path)} is offered by no command"
        for command in offered:
            flag = spec.flag_for(item.name, command)
            option = commands[command].get(flag)
            assert option is not None, f"{flag} missing from `vidstyle {command}`"
            assert spec.from_user(option.default, kind) == item.default, (flag, option.default, item.default)


def test_every_video_setting_is_a_jobs_key_with_the_same_check():
    keyed = set()
    for root, path, item, kind in cli_fields():
        spec = item.metadata["setting"]
        if VIDEO not in spec.commands:
            assert (root, *path) in IMAGE_ONLY, f"{root}.{'.'.join(path)} has no jobs.toml key"
            continue
        key = spec.key_for(item.name)
        parse, target = KEYS[key]
        assert target == ("config" if root == "run" else root, *path)
        keyed.add(key)
        if kind is float:  # the same range check as the CLI
            with pytest.raises(ValueError, match="expected"):
                parse(math.inf, None)
    assert keyed | set(INPUT_KEYS) == set(KEYS)


def test_batch_offers_every_jobs_key_and_nothing_per_clip_without_one():
    batch = set(options_of("batch"))
    by_key = {"--" + key.replace("_", "-") for key in KEYS}
    assert by_key - batch == set(), "jobs.toml keys with no batch option"
    assert batch - RUN_LEVEL - by_key == set(), "batch options that jobs.toml cannot set"


@pytest.mark.parametrize("make, message", [
    (lambda: OptimConfig(iterations=0), "OptimConfig.iterations: expected a value >= 1"),
    (lambda: VideoConfig(max_size=-5), "VideoConfig.max_size: expected a value >= 16"),
    (lambda: MaskConfig(feather=-2), "MaskConfig.feather: expected a value >= 0"),
    (lambda: LossConfig(style_weight=float("nan")), "expected a finite number"),
    (lambda: LossConfig(style_layers=("relu9_1",)), "expected VGG19 layer names"),
    (lambda: TemporalConfig(flow="lucas"), "expected 'dis' or 'deepflow' or 'farneback', got 'lucas'"),
    (lambda: TemporalConfig(long_term=()), "expected a non-empty list"),
    (lambda: RunConfig(precision="fp16"), "RunConfig.precision: expected 'auto' or 'fp32' or 'bf16'"),
    (lambda: OptimConfig(seed=True), "expected an integer"),
])
def test_configs_validate_themselves(make, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        make()


def test_options_carry_the_range_in_their_help():
    option = options_of("video")["--crf"]
    assert "[>= 0 and <= 51]" in option.help and option.default == 18
    assert inspect.signature(VideoConfig).parameters["crf"].default == 18

"""One description per setting and mask source: each reaches the CLI and jobs.toml with the same default and check."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest
import typer.main

from vidstyle import job as job_module
from vidstyle.job import JOB_KEYS, SETTINGS, flag_for, keys_for
from vidstyle.batch.jobsfile import load_jobs
from vidstyle.cli import app
from vidstyle.cli.options import key_parameters
from vidstyle.config import (BATCH, IMAGE, MASK, VIDEO, LossConfig, MaskConfig, OptimConfig, RunConfig, SettingError,
                             TemporalConfig, VideoConfig)
from vidstyle.regions import sources
from vidstyle.regions.sources import SOURCE_FIELDS, SourceField

# Options of `vidstyle batch` that are about the run, not about a clip: no jobs.toml key.
RUN_LEVEL = {"--out", "--output", "--format", "--jobs", "--engine", "--parallel", "--address", "--cpus-per-job", "--gpus-per-job", "--retries",
             "--split-shots", "--device", "--threads", "--verbose", "--help"}


def options_of(command: str) -> dict[str, object]:
    """``{flag: click parameter}`` of a command, as users see it."""
    click_app = typer.main.get_command(app)
    params = click_app.commands[command].params
    return {flag: p for p in params for flag in p.opts if flag.startswith("--")}


def test_every_setting_is_an_option_with_the_field_default():
    commands = {IMAGE: options_of("image"), VIDEO: options_of("video"), MASK: options_of("mask"),
                BATCH: options_of("batch")}
    for key, setting in SETTINGS.items():
        if not setting.spec.commands:  # set by the library for a part of a job (a chunk's carry), never by a user
            assert key not in keys_for("batch") and key not in keys_for("video")
            continue
        offered = [c for c in commands if c in setting.spec.commands]
        assert offered, f"{key} is offered by no command"
        default = job_module.ROOTS[[r for r, _ in job_module.ROOTS].index(setting.root)][1]()
        for part in setting.path:
            default = getattr(default, part)
        for command in offered:
            option = commands[command].get(flag_for(key, command))
            assert option is not None, f"{flag_for(key, command)} missing from `vidstyle {command}`"
            assert setting.spec.from_user(option.default, setting.kind) == default, (key, option.default, default)


def test_every_video_key_is_a_jobs_key_with_the_same_check(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    for key, setting in SETTINGS.items():
        if VIDEO not in setting.spec.commands:
            if BATCH in setting.spec.commands:
                assert key in keys_for("batch") and key not in keys_for("video")
            elif setting.spec.commands:
                assert IMAGE in setting.spec.commands, f"{key} is offered nowhere"
            continue
        assert key in keys_for("batch")
        if setting.kind is float:  # the same range check as the CLI's option, naming the key
            (tmp_path / "jobs.toml").write_text(f'[clips."clip.mp4"]\n{key} = inf\n')
            with pytest.raises(ValueError, match=f"key '{key}': expected"):
                load_jobs(tmp_path / "jobs.toml", [clip])


def test_batch_offers_every_jobs_key_and_nothing_per_clip_without_one():
    batch = set(options_of("batch"))
    by_key = {flag_for(key, "batch") for key in keys_for("batch")}
    assert by_key - batch == set(), "jobs.toml keys with no batch option"
    assert batch - RUN_LEVEL - by_key == set(), "batch options that jobs.toml cannot set"


def test_cli_options_and_jobs_keys_come_from_the_mask_source_description(monkeypatch, tmp_path):
    for command in ("image", "video", "mask", "batch"):
        options = options_of(command)
        for field in SOURCE_FIELDS:
            assert f"--{field.key.replace('_', '-')}" in options, (command, field.key)
    # A new kind of mask source is one new description: the option and the key follow from it.
    extra = SourceField("mask_depth", "keyframe", "A test field.", int, integer=True)
    monkeypatch.setattr(sources, "SOURCE_FIELDS", SOURCE_FIELDS + (extra,))
    monkeypatch.setitem(sources.FIELDS_BY_KEY, "mask_depth", extra)
    monkeypatch.setattr(job_module, "FIELDS_BY_KEY", sources.FIELDS_BY_KEY)
    monkeypatch.setattr(job_module, "SOURCE_FIELDS", sources.SOURCE_FIELDS)
    names = {p.name for p in key_parameters("video")}
    assert "key__mask_depth" in names and "mask_depth" in keys_for("batch")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    (tmp_path / "jobs.toml").write_text('[clips."clip.mp4"]\nmask_depth = 3\n')
    _, per_clip = load_jobs(tmp_path / "jobs.toml", [clip])
    assert per_clip[clip] == {"mask_depth": 3}


def test_the_job_keys_are_offered_where_they_apply():
    video, image = options_of("video"), options_of("image")
    for key in JOB_KEYS:
        flag = flag_for(key.key, VIDEO)
        assert (flag in video) == (VIDEO in key.commands) and (flag in image) == (IMAGE in key.commands)


@pytest.mark.parametrize("make, message", [
    (lambda: OptimConfig(iterations=0), "first_iterations: expected a value >= 1"),
    (lambda: VideoConfig(max_size=-5), "max_size: expected a value >= 16"),
    (lambda: MaskConfig(feather=-2), "feather: expected a value >= 0"),
    (lambda: LossConfig(style_weight=float("nan")), "style_weight: expected a finite number"),
    (lambda: LossConfig(style_layers=("relu9_1",)), "expected VGG19 layer names"),
    (lambda: TemporalConfig(flow="lucas"), "flow: expected 'dis' or 'deepflow' or 'farneback', got 'lucas'"),
    (lambda: TemporalConfig(long_term=()), "long_term: expected a non-empty list"),
    (lambda: RunConfig(precision="fp16"), "precision: expected 'auto' or 'fp32' or 'bf16'"),
    (lambda: OptimConfig(seed=True), "seed: expected an integer"),
])
def test_configs_validate_themselves_naming_the_key(make, message):
    with pytest.raises(SettingError, match=message.replace("(", r"\(").replace(".", r"\.")) as caught:
        make()
    assert caught.value.key in SETTINGS and "--" not in str(caught.value)


def test_options_carry_the_range_in_their_help():
    option = options_of("video")["--crf"]
    assert "[>= 0 and <= 51]" in option.help and option.default == 18
    assert inspect.signature(VideoConfig).parameters["crf"].default == 18
    assert "--content-weight" in options_of("video")["--temporal-weight"].help  # mentions worded as flags


def test_short_flags_mean_the_same_everywhere():
    click_app = typer.main.get_command(app)
    meaning: dict[str, list[set[str]]] = {}
    for name, command in click_app.commands.items():
        for param in getattr(command, "params", []):
            for short in (o for o in param.opts if len(o) == 2):
                meaning.setdefault(short, []).append({o for o in param.opts if o.startswith("--")})
    # every command's option behind a short flag shares one long name (`batch -o` is `--out` and `--output`)
    assert all(set.intersection(*names) for names in meaning.values()), meaning
    assert {"--output"} <= set.intersection(*meaning["-o"])


def test_paths_in_jobs_files_are_relative_to_the_file(tmp_path):
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "jobs.toml").write_text('[clips."clip.mp4"]\nmask = "m.png"\nregion = ["r.png=swirl"]\n')
    _, per_clip = load_jobs(tmp_path / "sub" / "jobs.toml", [clip])
    assert per_clip[clip]["mask"] == str((tmp_path / "sub" / "m.png").resolve())
    assert per_clip[clip]["region"] == [f"{(tmp_path / 'sub' / 'r.png').resolve()}=swirl"]
    assert Path(per_clip[clip]["mask"]).is_absolute()

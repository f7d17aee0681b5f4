"""vidstyle.Job: one description of a piece of work, the same from every front end, round-tripping exactly."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from vidstyle.job import Job, Region, iter_keys
from vidstyle.batch.jobsfile import load_jobs, merge
from vidstyle.cli.options import job_from_argv
from vidstyle.config import (ImageConfig, MaskConfig, OptimConfig, RunConfig, SettingError, StyleConfig,
                             TemporalConfig, VideoConfig)
from vidstyle.media.images import write_image
from vidstyle.regions.sources import MaskSource

from .conftest import ROOT

PACKAGE = ROOT / "vidstyle"
FRONT_ENDS = ("cli", "studio")


@pytest.fixture
def files(tmp_path, make_clip):
    from .conftest import translating_clip

    clip = make_clip(translating_clip(3, 48, 64), name="in put.mp4", audio=False)
    for name in ("mask.png", "a.png", "b.png"):
        mask = np.zeros((48, 64), np.uint8)
        mask[:, :32] = 255
        write_image(tmp_path / name, mask)
    write_image(tmp_path / "photo.png", np.full((48, 64, 3), 120, np.uint8))
    return tmp_path, clip


def jobs(folder: Path, clip: Path) -> list[Job]:
    masks = MaskConfig(invert=True, feather=3, smoothing=0.2)
    run = RunConfig(temporal=TemporalConfig(temporal_weight=500.0, long_term=(1, 4), flow="deepflow",
                                            reliability="ruder", flow_size=None, scales=1),
                    optim=OptimConfig(iterations=77), precision="fp32")
    return [
        Job(clip, folder / "out.mp4", "vangogh:0.6,picasso:0.4",
            MaskSource(path=folder / "mask.png", keyframe=2, options=masks), start="1f", end="3f", run=run,
            video=VideoConfig(max_size=256, crf=23, audio=False, output_size="processing"), masks=masks),
        Job(clip, folder / "regions.mp4", None, None,
            (Region(MaskSource(path=folder / "a.png", key="region"), "leger"),
             Region(MaskSource(path=folder / "b.png", key="region"), "mondrian:0.5,vangogh:0.5")),
            background_style="matisse", start="0.5s", run=RunConfig(temporal=TemporalConfig(enabled=False))),
        Job(clip, folder / "person.mp4", "mosaic", MaskSource(segment="person", options=MaskConfig(invert=True)),
            masks=MaskConfig(invert=True), video=VideoConfig(keep_frames=True, preset="fast")),
        Job(folder / "photo.png", folder / "still.png", "swirl", MaskSource(grabcut=(2, 3, 30, 20)),
            run=RunConfig(optim=OptimConfig(iterations=50, tolerance=0.01), style=StyleConfig(preserve_colors=True)),
            image=ImageConfig(size=None)),
    ]


def test_a_job_round_trips_through_a_command_line(files):
    folder, clip = files
    for job in jobs(folder, clip):
        job.check()
        argv = job.to_argv()
        assert job_from_argv(argv) == job, argv
        assert job.command_line().startswith(f"vidstyle {job.kind} ")


def test_a_job_round_trips_through_a_jobs_file(files):
    folder, clip = files
    for job in jobs(folder, clip):
        if job.kind != "video":
            continue
        (folder / "jobs.toml").write_text(job.to_toml())
        defaults, per_clip = load_jobs(folder / "jobs.toml", [clip])
        back = Job.from_values(merge(defaults, per_clip[clip], {"input": clip, "output": job.output}))
        assert back == job, job.to_toml()


def test_every_front_end_builds_the_same_job(files):
    folder, clip = files
    values = {"input": clip, "output": folder / "o.mp4", "styles": "vangogh", "mask": str(folder / "mask.png"),
              "mask_keyframe": 0, "max_size": 128, "no_temporal": True}
    from_api = Job.from_values(values)
    from_cli = job_from_argv(["video", str(clip), "-o", str(folder / "o.mp4"), "-s", "vangogh", "--mask",
                              str(folder / "mask.png"), "--mask-keyframe", "0", "--max-size", "128", "--no-temporal"])
    (folder / "jobs.toml").write_text(f'[clips."{clip.name}"]\nstyles = "vangogh"\nmask = "mask.png"\n'
                                      'mask_keyframe = 0\nmax_size = 128\nno_temporal = true\n')
    _, per_clip = load_jobs(folder / "jobs.toml", [clip])
    from_toml = Job.from_values({**per_clip[clip], "input": clip, "output": folder / "o.mp4"})
    assert from_api == from_cli == from_toml
    assert from_api.mask.keyframe == 0 and not from_api.run.temporal.enabled and from_api.video.max_size == 128


BAD = [
    ({"styles": "vangogh", "mask": "m.png", "grabcut": "1,2,3,4"}, "mask"),
    ({"styles": "vangogh", "grabcut": "1,2,3"}, "grabcut"),
    ({"styles": "vangogh", "classes": "sky"}, "classes"),
    ({"styles": "vangogh", "mask_keyframe": 3}, "mask_keyframe"),
    ({"styles": "nosuchstyle"}, "styles"),
    ({"styles": "vangogh:0,mosaic:0"}, "styles"),
    ({}, "styles"),
    ({"styles": "vangogh", "background_style": "mosaic"}, "background_style"),
    ({"region": "swirl"}, "region"),
    ({"styles": "vangogh", "start": "5f", "end": "2f"}, "start"),
    ({"styles": "vangogh", "start": "abc"}, "start"),
    ({"styles": "vangogh", "max_size": 8}, "max_size"),
    ({"styles": "vangogh", "crf": 99}, "crf"),
    ({"styles": "vangogh", "temporal_weight": float("inf")}, "temporal_weight"),
    ({"styles": "vangogh", "long_term": "0,5"}, "long_term"),
    ({"styles": "vangogh", "flow": "lucas"}, "flow"),
    ({"styles": "vangogh", "no_temporal": "yes"}, "no_temporal"),
    ({"styles": "vangogh", "weights": "/nope.pth"}, "weights"),
    ({"styles": "vangogh", "stlyes": "x"}, "stlyes"),
]


@pytest.mark.parametrize("values, key", BAD, ids=[k for _, k in BAD])
def test_library_errors_name_the_setting_never_a_flag(files, values, key):
    folder, clip = files
    with pytest.raises(SettingError) as caught:
        job = Job.from_values({**values, "input": clip, "output": folder / "o.mp4"})
        from vidstyle.core.features import check_files

        check_files(job.run)
    assert caught.value.key == key
    assert "--" not in str(caught.value), str(caught.value)
    known = set(iter_keys())
    assert key in known or key == "stlyes"
    assert all(m in known for m in re.findall(r"`([a-z_]+)`", caught.value.message))


def test_no_library_message_names_a_flag():
    """Every string the library raises (outside the front ends) names settings, never a CLI flag."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.relative_to(PACKAGE).parts[0] in FRONT_ENDS:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Raise) or node.exc is None:
                continue
            for text in (n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant) and isinstance(n.value, str)):
                if re.search(r"(^|[\s(`'\"])--[a-z]", text):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    assert offenders == []


@pytest.mark.parametrize("start, end, refused", [("10f", "5f", True), ("2s", "1s", True), ("5f", "5f", True),
                                                 ("1f", "5f", False), ("1s", "5f", False)])
def test_a_range_that_ends_before_it_starts_is_refused_by_key(start, end, refused, tmp_path):
    values = {"input": ROOT / "samples" / "clip.mp4", "output": tmp_path / "out.mp4", "styles": "vangogh",
              "start": start, "end": end}
    if refused:
        with pytest.raises(SettingError, match="start"):
            Job.from_values(values)
    else:
        assert Job.from_values(values).values()["end"] == end  # mixed units are checked once decoded

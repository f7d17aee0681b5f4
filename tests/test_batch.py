import json
from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.batch import collect_inputs, output_names
from vidstyle.cli import app
from vidstyle.jobsfile import load_jobs
from vidstyle.video import count_frames, iter_frames, probe

from .conftest import translating_clip

runner = CliRunner()
FAST = ["--first-iterations", "2", "-i", "1", "--max-size", "32", "--device", "cpu"]


@pytest.fixture
def clips(tmp_path):
    from samples.make import write_clip

    folder = tmp_path / "clips"
    folder.mkdir()
    for i in range(4):
        write_clip(folder / f"c{i}.mp4", translating_clip(3, 48, 64, seed=i), Fraction(12), with_audio=i == 0)
    (folder / "notavideo.mp4").write_text("hello")
    (folder / "empty.mp4").write_bytes(b"")
    return folder


def test_broken_clips_fail_alone_and_a_rerun_skips_the_rest(clips, tmp_path):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clips), "--out", str(out), "-s", "mosaic", *FAST])
    assert result.exit_code == 1
    report = {r["input"].rsplit("/", 1)[-1]: r for r in json.loads((out / "batch-report.json").read_text())}
    assert sorted(k for k, r in report.items() if r["status"] == "done") == ["c0.mp4", "c1.mp4", "c2.mp4", "c3.mp4"]
    assert report["notavideo.mp4"]["status"] == "failed" and "decode" in report["notavideo.mp4"]["reason"]
    assert report["empty.mp4"]["status"] == "failed" and report["empty.mp4"]["reason"]
    assert all(count_frames(out / f"c{i}.mp4") == 3 for i in range(4))
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("c*.mp4")}

    again = runner.invoke(app, ["batch", str(clips), "--out", str(out), "-s", "mosaic", *FAST])
    assert again.exit_code == 1
    report = json.loads((out / "batch-report.json").read_text())
    assert [r["status"] for r in report].count("skipped") == 4
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("c*.mp4")} == stamps  # nothing redone


def test_jobs_file_overrides_and_errors(clips, tmp_path):
    inputs = collect_inputs([str(clips / "c0.mp4"), str(clips / "c1.mp4")])
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[defaults]\nstyles = "swirl"\n[clips."c1.mp4"]\nstyles = "mosaic"\nmax_size = 40\nend = "2f"\n')
    defaults, per_clip = load_jobs(jobs, inputs)
    assert defaults == {("styles",): "swirl"}
    assert per_clip[inputs[1]] == {("styles",): "mosaic", ("video", "max_size"): 40, ("end",): "2f"}
    bad = {
        '[clips."c1.mp4"]\nsytles = "x"\n': "clip 'c1.mp4': unknown key 'sytles'",
        '[clips."c1.mp4"]\nmax_size = "big"\n': "clip 'c1.mp4': key 'max_size': expected an integer, got 'big'",
        '[clips."nope.mp4"]\nstyles = "swirl"\n': "clip 'nope.mp4': matches none of the inputs",
        '[defaults]\nno_temporal = 1\n': "[defaults]: key 'no_temporal': expected true or false",
        'styles = \n': "not valid TOML",
    }
    for text, message in bad.items():
        jobs.write_text(text)
        with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
            load_jobs(jobs, inputs)


def test_jobs_file_errors_stop_before_any_work(clips, tmp_path):
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[clips."c1.mp4"]\nstyles = "nosuchstyle"\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clips / "c0.mp4"), str(clips / "c1.mp4"), "--out", str(out), "-s", "swirl",
                                 "--jobs", str(jobs), *FAST])
    assert result.exit_code == 1
    assert "clip 'c1.mp4': key 'styles': unknown style 'nosuchstyle'" in result.output
    assert not list(out.glob("*.mp4"))


def test_inputs_and_output_names(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"x")
    inputs = collect_inputs([str(tmp_path / "*" / "clip.mp4")])
    names = output_names(inputs, tmp_path / "out")
    assert sorted(p.name for p in names.values()) == ["a_clip.mp4", "b_clip.mp4"]
    with pytest.raises(FileNotFoundError, match="matches no file"):
        collect_inputs([str(tmp_path / "none*.mp4")])


def test_split_shots_runs_each_shot_and_joins_them_with_audio(tmp_path):
    from samples.make import write_clip

    a = translating_clip(4, 48, 64, seed=1)
    b = [255 - f for f in translating_clip(3, 48, 64, seed=7)]
    c = translating_clip(3, 48, 64, seed=11, dx=-1.0)
    clip = tmp_path / "cuts.mp4"
    write_clip(clip, a + b + c, Fraction(12), with_audio=True)
    from vidstyle.shots import detect_shots

    assert detect_shots(clip, max_size=32) == [(0, 4), (4, 7), (7, 10)]
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clip), "--out", str(out), "-s", "mosaic", "--split-shots", *FAST])
    assert result.exit_code == 0, result.output
    assert "3 jobs" in result.output
    info = probe(out / "cuts.mp4")
    assert count_frames(out / "cuts.mp4") == 10 and info.has_audio and info.fps == Fraction(12)
    assert not (out / ".shots").exists()


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(clips, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray")
    from dataclasses import asdict

    from vidstyle.batch import jobs_for
    from vidstyle.config import RunConfig, TemporalConfig, VideoConfig
    from vidstyle.engines import LocalEngine, RayEngine

    import shutil
    import tempfile

    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    inputs = collect_inputs([str(clips / "c0.mp4"), str(clips / "c1.mp4"), str(clips / "notavideo.mp4")])
    config = RunConfig(temporal=TemporalConfig(first_iterations=2, iterations=1))
    base = {"styles": "mosaic", "config": asdict(config), "video": asdict(VideoConfig(max_size=32)), "start": None,
            "end": None, "mask": None, "background_style": None, "device": "cpu"}
    local = LocalEngine().run(jobs_for(inputs, tmp_path / "local", base, {}), lambda r: None)
    ray.init(num_cpus=2, num_gpus=1, object_store_memory=80 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, _temp_dir=ray_tmp)
    try:
        remote = RayEngine(gpus_per_job=0.5, retries=1).run(jobs_for(inputs, tmp_path / "ray-out", base, {}),
                                                            lambda r: None)
    finally:
        ray.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert [r["status"] for r in remote] == [r["status"] for r in local] == ["done", "done", "failed"]
    for name in ("c0.mp4", "c1.mp4"):
        frames_local = list(iter_frames(tmp_path / "local" / name))
        frames_ray = list(iter_frames(tmp_path / "ray-out" / name))
        assert len(frames_local) == len(frames_ray) == 3
        assert all(np.array_equal(x, y) for x, y in zip(frames_local, frames_ray))

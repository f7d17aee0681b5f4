import json
from fractions import Fraction

import pytest
from typer.testing import CliRunner

from vidstyle.batch.tasks import collect_inputs, output_names
from vidstyle.batch.jobsfile import load_jobs
from vidstyle.cli import app
from vidstyle.media.decode import iter_frames
from vidstyle.media.probe import probe

from ..conftest import plain, translating_clip

runner = CliRunner()


def fast(weights: str) -> list[str]:
    return ["--first-iterations", "2", "--iterations", "1", "--max-size", "32", "--device", "cpu", "--weights", weights]


def count(path) -> int:
    return sum(1 for _ in iter_frames(path))


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


def test_broken_clips_fail_alone_and_a_rerun_skips_the_rest(clips, tmp_path, tiny_weights):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clips), "--out", str(out), "-s", "mosaic", *fast(tiny_weights)])
    assert result.exit_code == 1
    report = {r["input"].rsplit("/", 1)[-1]: r for r in json.loads((out / "batch-report.json").read_text())}
    assert sorted(k for k, r in report.items() if r["status"] == "done") == ["c0.mp4", "c1.mp4", "c2.mp4", "c3.mp4"]
    assert report["notavideo.mp4"]["status"] == "failed" and "not a video" in report["notavideo.mp4"]["reason"]
    assert report["empty.mp4"]["status"] == "failed" and report["empty.mp4"]["reason"]
    assert all(count(out / f"c{i}.mp4") == 3 for i in range(4))
    stamps = {p.name: p.stat().st_mtime_ns for p in out.glob("c*.mp4")}

    again = runner.invoke(app, ["batch", str(clips), "--out", str(out), "-s", "mosaic", *fast(tiny_weights)])
    assert again.exit_code == 1
    report = json.loads((out / "batch-report.json").read_text())
    assert [r["status"] for r in report].count("skipped") == 4
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("c*.mp4")} == stamps  # nothing redone


def test_format_picks_the_outputs_container_and_a_rerun_skips_them(clips, tmp_path, tiny_weights):
    import av

    out = tmp_path / "out"
    argv = ["batch", str(clips / "c0.mp4"), str(clips / "c1.mp4"), "-o", str(out), "-s", "mosaic", "--format", "gif",
            *fast(tiny_weights)]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, plain(result.output)
    assert sorted(p.name for p in out.iterdir()) == ["batch-report.json", "c0.gif", "c1.gif"]
    with av.open(str(out / "c0.gif")) as container:
        assert container.streams.video[0].codec_context.name == "gif" and not container.streams.audio
        assert sum(1 for _ in container.decode(video=0)) == 3
    again = runner.invoke(app, argv)
    assert [r["status"] for r in json.loads((out / "batch-report.json").read_text())] == ["skipped", "skipped"]
    assert again.exit_code == 0


def test_jobs_file_overrides_and_errors(clips, tmp_path):
    inputs = collect_inputs([str(clips / "c0.mp4"), str(clips / "c1.mp4")])
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[defaults]\nstyles = "swirl"\n[clips."c1.mp4"]\nstyles = "mosaic"\nmax_size = 40\nend = "2f"\n'
                    'crf = 23\npreset = "fast"\nno_temporal = true\n')
    defaults, per_clip = load_jobs(jobs, inputs)
    assert defaults == {"styles": "swirl"}
    assert per_clip[inputs[1]] == {"styles": "mosaic", "max_size": 40, "end": "2f", "crf": 23, "preset": "fast",
                                   "no_temporal": True}
    bad = {
        '[clips."c1.mp4"]\nstlyes = "x"\n': "[clips.'c1.mp4']: unknown key 'stlyes' (did you mean 'styles'?)",
        '[clips."c1.mp4"]\nmax_size = "big"\n': "key 'max_size': expected an integer",
        '[defaults]\nmax_size = -5\n': "[defaults]: key 'max_size': expected a value >= 16",
        '[defaults]\nfirst_iterations = 0\n': "key 'first_iterations': expected a value >= 1",
        '[defaults]\nfeather = -2\n': "key 'feather': expected a value >= 0",
        '[defaults]\ntemporal_weight = inf\n': "key 'temporal_weight': expected a finite number",
        '[clips."nope.mp4"]\nstyles = "swirl"\n': "[clips.'nope.mp4']: matches none of the inputs",
        '[defaults]\nno_temporal = 1\n': "[defaults]: key 'no_temporal': expected true or false",
        '[clips.""]\nstyles = "swirl"\n': "has an empty clip name",
        'styles = \n': "not valid TOML",
    }
    for text, message in bad.items():
        jobs.write_text(text)
        with pytest.raises(ValueError) as info:
            load_jobs(jobs, inputs)
        assert message in str(info.value), (text, str(info.value))


def test_jobs_file_errors_stop_before_any_work(clips, tmp_path, tiny_weights):
    jobs = tmp_path / "jobs.toml"
    jobs.write_text('[clips."c1.mp4"]\nstyles = "nosuchstyle"\n')
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clips / "c0.mp4"), str(clips / "c1.mp4"), "--out", str(out), "-s",
                                 "swirl", "--jobs", str(jobs), *fast(tiny_weights)])
    assert result.exit_code == 1
    assert "clip 'c1.mp4': --styles: unknown style 'nosuchstyle'" in plain(result.output)
    assert not out.exists() or not list(out.glob("*.mp4"))


def test_inputs_and_output_names(tmp_path):
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "clip.mp4").write_bytes(b"x")
    inputs = collect_inputs([str(tmp_path / "*" / "clip.mp4")])
    names = output_names(inputs, tmp_path / "out")
    assert sorted(p.name for p in names.values()) == ["a_clip.mp4", "b_clip.mp4"]
    assert sorted(p.name for p in output_names(inputs, tmp_path / "out", ".webm").values()) == ["a_clip.webm",
                                                                                                "b_clip.webm"]
    with pytest.raises(FileNotFoundError, match="matches no file"):
        collect_inputs([str(tmp_path / "none*.mp4")])


def test_a_folder_gives_its_clips_and_animated_gifs_not_its_stills_or_other_files(tmp_path):
    """A glob leaves out stills and settings files too (a jobs.toml beside the clips), not other files."""
    for name in ("b.mov", "a.gif", "c.MP4", "still.png", "notes.txt", "jobs.toml"):
        (tmp_path / name).write_bytes(b"x")
    assert [p.name for p in collect_inputs([str(tmp_path)])] == ["a.gif", "b.mov", "c.MP4"]
    assert [p.name for p in collect_inputs([str(tmp_path / "*")])] == ["a.gif", "b.mov", "c.MP4", "notes.txt"]
    with pytest.raises(ValueError, match="got the still image .*still.png.*: stylize it with `vidstyle image`"):
        collect_inputs([str(tmp_path / "b.mov"), str(tmp_path / "still.png")])
    with pytest.raises(ValueError, match="got the settings file .*jobs.toml.*: give it as `jobs` beside the clips"):
        collect_inputs([str(tmp_path / "jobs.toml")])


def test_split_shots_runs_each_shot_and_joins_them_with_audio(tmp_path, tiny_weights):
    from samples.make import write_clip
    from vidstyle.batch.shots import detect_shots

    a = translating_clip(4, 48, 64, seed=1)
    b = [255 - f for f in translating_clip(3, 48, 64, seed=7)]
    c = translating_clip(3, 48, 64, seed=11, dx=-1.0)
    clip = tmp_path / "cuts.mp4"
    write_clip(clip, a + b + c, Fraction(12), with_audio=True)
    shots = detect_shots(clip, max_size=32)
    assert [s.start for s in shots] == ["0/1s", "1/3s", "7/12s"] and shots[-1].end is None  # frames 0, 4 and 7
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(clip), "--out", str(out), "-s", "mosaic", "--split-shots",
                                 *fast(tiny_weights)])
    assert result.exit_code == 0, plain(result.output)
    assert "3 jobs" in plain(result.output)
    info = probe(out / "cuts.mp4")
    assert count(out / "cuts.mp4") == 10 and info.has_audio and info.fps == Fraction(12)
    assert not (out / ".parts").exists()

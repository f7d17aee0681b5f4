"""The Ray engine against the local one: same statuses, same frames, identical pixels at equal thread counts (a chunked
shot too).

The outputs are encoded losslessly (``crf`` 0) so the comparison sees the painted pixels: at its lossy settings
libx264 need not repeat its bitstream. Here the same chunked job run 16 times in one process, while two other
processes kept both cores busy, handed the encoder the same pixels and timestamps every time (hashed) and still got
2-4 distinct bitstreams in some rounds at crf 18, none at crf 0; with one encoder thread too. CI once saw frames 1-3
of the joined shot differ by 13 levels while frames 0 and 4, the B-frames' references, were identical."""

import shutil
import tempfile
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest

from vidstyle.batch.engines import LocalEngine, RayEngine
from vidstyle.batch.run import run_batch
from vidstyle.job import Job
from vidstyle.batch.tasks import Task, collect_inputs, output_names
from vidstyle.config import VideoConfig
from vidstyle.media.decode import count_frames, iter_frames
from vidstyle.media.probe import probe

from .test_batch import clips  # noqa: F401  (fixture)


def tasks(inputs, out_dir, config, threads, chunks=None):
    names = output_names(inputs, out_dir)
    video = VideoConfig(max_size=32, chunk_frames=chunks, chunk_overlap=2, crf=0)
    return [Task(Job(p, names[p], "mosaic", run=config, video=video), "cpu", threads, str(p)) for p in inputs]


@pytest.mark.slow
def test_ray_engine_matches_the_local_engine(clips, tmp_path, monkeypatch, tiny):  # noqa: F811
    ray = pytest.importorskip("ray")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    ray_tmp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # Ray's socket paths must stay under 108 bytes
    monkeypatch.setenv("RAY_TMPDIR", ray_tmp)
    from samples.make import write_clip

    from ..conftest import translating_clip

    inputs = collect_inputs([str(clips / "c0.mp4"), str(clips / "c1.mp4"), str(clips / "notavideo.mp4")])
    long = tmp_path / "long" / "long.mp4"
    long.parent.mkdir()
    write_clip(long, translating_clip(10, 48, 64, seed=5), Fraction(12), with_audio=True)
    config = replace(tiny, optim=replace(tiny.optim, iterations=6), temporal=replace(tiny.temporal, iterations=4))
    local = LocalEngine().run(tasks(inputs, tmp_path / "local", config, 1), lambda r: None)
    chunked = run_batch(tasks([long], tmp_path / "local", config, 1, chunks=4), LocalEngine())
    ray.init(num_cpus=2, num_gpus=1, object_store_memory=80 * 1024 * 1024, include_dashboard=False,
             log_to_driver=False, _temp_dir=ray_tmp)
    try:  # the task pins torch to its one reserved CPU, as the local job pins its own thread
        engine = RayEngine(cpus_per_job=1, gpus_per_job=0.5, retries=1)
        remote = engine.run(tasks(inputs, tmp_path / "ray-out", config, None), lambda r: None)
        parts = []  # the chunks of one shot run at once, as Ray tasks
        chunked_remote = run_batch(tasks([long], tmp_path / "ray-out", config, None, chunks=4), engine,
                                   on_done=parts.append)
    finally:
        ray.shutdown()
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert [r.status for r in remote] == [r.status for r in local] == ["done", "done", "failed"]
    assert [r.status for r in chunked_remote] == [r.status for r in chunked] == ["done"]
    assert chunked_remote[0].reason == "2 chunks joined"
    assert sorted(p.reason for p in parts) == ["", "", "flow pairs kept"]  # chunk 0's flows for chunk 1's carry
    assert count_frames(probe(tmp_path / "ray-out" / "long.mp4")) == 10
    for name in ("c0.mp4", "c1.mp4", "long.mp4"):
        frames_local = list(iter_frames(tmp_path / "local" / name))
        frames_ray = list(iter_frames(tmp_path / "ray-out" / name))
        assert len(frames_local) == len(frames_ray) == (10 if name == "long.mp4" else 3)
        assert [int(np.abs(x.astype(int) - y).max()) for x, y in zip(frames_local, frames_ray)] == [0] * len(
            frames_local), name


@pytest.mark.slow
def test_local_jobs_side_by_side_match_one_after_another(clips, tmp_path, tiny):  # noqa: F811
    inputs = collect_inputs([str(clips / "c0.mp4"), str(clips / "c1.mp4"), str(clips / "notavideo.mp4")])
    from vidstyle.core.device import available_cpus

    share = max(1, available_cpus() // 2)  # what each of two side-by-side workers gets
    one = LocalEngine().run(tasks(inputs, tmp_path / "one", tiny, share), lambda r: None)
    done = []
    two = LocalEngine(parallel=2).run(tasks(inputs, tmp_path / "two", tiny, None), done.append)
    assert [r.status for r in two] == [r.status for r in one] == ["done", "done", "failed"] and len(done) == 3
    for name in ("c0.mp4", "c1.mp4"):  # each worker pinned to its share of the cores, as the sequential jobs were
        a, b = list(iter_frames(tmp_path / "one" / name)), list(iter_frames(tmp_path / "two" / name))
        assert len(a) == len(b) == 3 and all(np.array_equal(x, y) for x, y in zip(a, b))

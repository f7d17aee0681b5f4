"""One long shot in chunks: where chunks begin, the crossfaded join, a chunk failing alone, paint-over frames."""

import json
from fractions import Fraction

import numpy as np
import pytest
from typer.testing import CliRunner

from vidstyle.batch.chunks import chunk_bounds, pair_tasks, plan_chunks, plan_pairs
from vidstyle.batch.engines import LocalEngine
from vidstyle.batch.parts import Part, crossfade, joined_frames, part_tasks, parts_dir
from vidstyle.batch.run import run_batch
from vidstyle.batch.tasks import Task
from vidstyle.cli import app
from vidstyle.config import VideoConfig
from vidstyle.job import Job
from vidstyle.media.decode import range_stamps, read_frames
from vidstyle.media.images import write_image
from vidstyle.media.probe import probe

from ..conftest import plain, translating_clip
from .test_batch import count, fast

runner = CliRunner()


@pytest.fixture
def long_clip(tmp_path):
    from samples.make import write_clip

    clip = tmp_path / "long.mp4"
    write_clip(clip, translating_clip(12, 48, 64, seed=3), Fraction(12), with_audio=True)
    return clip


@pytest.mark.parametrize("frames, size", [(30, 10), (25, 10), (31, 10), (5, 10), (3600, 113)])
def test_chunk_bounds_cut_equal_chunks_near_the_size(frames, size):
    bounds = chunk_bounds(frames, size)
    lengths = np.diff(bounds)
    assert bounds[0] == 0 and bounds[-1] == frames and len(bounds) >= 2
    assert lengths.max() - lengths.min() <= 1
    assert len(lengths) == 1 or abs(lengths.mean() - size) <= size / 2 + 1


def test_chunks_begin_early_by_the_overlap_at_exact_source_times(long_clip):
    info = probe(long_clip)
    stamps = range_stamps(info)
    assert [f.pts for f in read_frames(long_clip, info=info)] == stamps
    chunks = plan_chunks(info, Part(None, None), 4, 2, carry=False)
    assert [(c.chunk, c.lead, c.offset, c.skip, c.stop) for c in chunks] == [
        (0, 0, 0, 0, 4), (1, 2, 2, 0, 8), (2, 2, 6, 0, None)]
    assert chunks[0].start is None and chunks[-1].end is None
    for chunk in chunks[1:]:  # a chunk's range decodes to exactly its frames, the shared ones included
        job_frames = [f.pts for f in read_frames(long_clip, *map(_position, (chunk.start, chunk.end)), info)]
        assert job_frames == stamps[chunk.offset:chunk.offset + len(job_frames)]
        assert len(job_frames) == chunk.lead + 4
    carried = plan_chunks(info, Part(None, None), 4, 2)  # each from the first frame: the frames before it carried
    assert [(c.lead, c.offset, c.skip, c.start) for c in carried] == [(0, 0, 0, None), (2, 0, 2, None),
                                                                      (2, 0, 6, None)]
    assert [c.end for c in carried] == [c.end for c in chunks]
    spans = plan_pairs(info, carried)  # the pairs the carries read (frames 1-5), each estimated by its chunk
    assert [(s.chunk, s.offset, s.stop) for s in spans] == [(0, 0, 4), (1, 3, 6)]
    for span in spans:  # from the frame before the chunk's own first one, to where no carry reads further
        assert [f.pts for f in read_frames(long_clip, *map(_position, (span.start, span.end)), info)] == \
            stamps[span.offset:span.stop]
    assert plan_pairs(info, chunks) == []  # no carry, no pairs
    assert plan_chunks(info, Part(None, None), 12, 2) == [Part(None, None)]  # one chunk: the clip as it is


def _position(text):
    from vidstyle.media.decode import parse_position

    return parse_position(text) if text else None


def test_crossfade_moves_from_one_painting_to_the_other_in_equal_steps():
    a, b = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 90, np.uint8)
    assert [int(crossfade(a, b, step, 2)[0, 0, 0]) for step in range(2)] == [30, 60]


def test_a_chunked_clip_is_joined_with_its_frames_timing_and_audio(long_clip, tmp_path, tiny_weights):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(long_clip), "--out", str(out), "-s", "mosaic", "--chunk-frames", "4",
                                 "--chunk-overlap", "2", *fast(tiny_weights)])
    assert result.exit_code == 0, plain(result.output)
    assert "5 jobs" in plain(result.output)  # 3 chunks, and the flows of the 2 that later chunks carry over
    report = json.loads((out / "batch-report.json").read_text())
    assert report[0]["status"] == "done" and report[0]["reason"] == "3 chunks joined" and report[0]["frames"] == 12
    info, source = probe(out / "long.mp4"), probe(long_clip)
    assert count(out / "long.mp4") == 12 and info.has_audio and info.fps == source.fps
    assert not (out / ".parts").exists()


@pytest.mark.parametrize("carry", [False, True])
def test_the_join_crossfades_the_shared_frames_and_keeps_the_rest(long_clip, tmp_path, tiny, carry):
    from vidstyle.media.images import read_image
    from vidstyle.video.checkpoint import work_dir_for

    task = Task(Job(long_clip, tmp_path / "out.mp4", "mosaic", run=tiny, video=VideoConfig(max_size=32)), "cpu", 1,
                str(long_clip))
    chunks = plan_chunks(probe(long_clip), Part(None, None), 4, 2, carry)
    parts = part_tasks(task, chunks)
    assert [p.job.run.temporal.carry_frames for p in parts] == [c.skip for c in chunks]
    assert [r.status for r in LocalEngine().run(parts, lambda r: None)] == ["done"] * 3
    records, images = joined_frames(task, chunks)
    frames = list(images)
    assert [r.pts for r in records] == range_stamps(probe(long_clip)) and len(frames) == 12
    pngs = [sorted((work_dir_for(p.job.output) / "frames").glob("*.png")) for p in parts]
    own = [{c.offset + i: path for i, path in enumerate(found)} for c, found in zip(chunks, pngs)]  # by clip frame
    assert all(np.array_equal(frames[i], read_image(own[0][i])) for i in range(2))  # chunk 0 alone
    assert all(np.array_equal(frames[i], read_image(own[1][i])) for i in (4, 5))  # chunk 1 alone
    for i, step in ((2, 0), (3, 1)):  # chunk 0's frames 2, 3 are chunk 1's first two
        mine, theirs = read_image(own[0][i]), read_image(own[1][i])
        assert np.array_equal(frames[i], crossfade(mine, theirs, step, 2))
        assert not np.array_equal(mine, theirs)  # two paintings of one frame: the blend is not a no-op
    if carry:  # every chunk starts from the same painting of the first frame, carried to its start
        assert np.array_equal(read_image(own[1][0]), read_image(own[0][0]))
        assert np.array_equal(read_image(own[2][0]), read_image(own[0][0]))
        first = [json.loads(line) for line in (work_dir_for(parts[2].job.output) / "log.jsonl").read_text().splitlines()
                 if line]
        assert [r["iterations"] > 0 for r in first[:7]] == [True] + [False] * 5 + [True]  # 1-5 carried, 6 painted


def test_a_carry_reads_the_flow_pairs_the_chunks_kept_and_paints_what_it_paints_estimating_them(
        long_clip, tmp_path, tiny, monkeypatch):
    from dataclasses import replace

    import vidstyle.video.temporal as temporal
    from vidstyle.media.images import read_image
    from vidstyle.video.checkpoint import work_dir_for

    task = Task(Job(long_clip, tmp_path / "out.mp4", "mosaic", run=tiny, video=VideoConfig(max_size=32)), "cpu", 1,
                str(long_clip))
    chunks = plan_chunks(probe(long_clip), Part(None, None), 4, 2)  # own frames 0-3, 4-7, 8-11; carried to 2, 6
    pairs = pair_tasks(task, chunks)
    assert [(t.chunk, t.pairs_first) for t in pairs] == [(0, 0), (1, 3)]  # pairs 1-3 in chunk 0, 4-5 in chunk 1
    assert [r.status for r in LocalEngine().run(pairs, lambda r: None)] == ["done"] * 2
    estimated = []
    real = temporal.checked_pair
    monkeypatch.setattr(temporal, "checked_pair", lambda *a, **k: estimated.append(1) or real(*a, **k))
    last = part_tasks(task, chunks)[2]
    assert LocalEngine().run([last], lambda r: None)[0].status == "done"
    assert len(estimated) == 6  # the pairs into frames 6-11: its carry over frames 1-5 read what was kept
    alone = replace(last, job=replace(last.job, output=tmp_path / "alone.mp4",
                                      video=replace(last.job.video, carry_pairs=None)))
    assert LocalEngine().run([alone], lambda r: None)[0].status == "done"
    assert len(estimated) == 6 + 11
    kept, estimating = (sorted((work_dir_for(t.job.output) / "frames").glob("*.png")) for t in (last, alone))
    assert len(kept) == len(estimating) == 12
    assert all(np.array_equal(read_image(a), read_image(b)) for a, b in zip(kept, estimating))
    (tmp_path / ".parts" / "out" / "pairs" / "shot-0000000" / "pair-0000003.npz").write_bytes(b"cut short")
    damaged = replace(last, job=replace(last.job, output=tmp_path / "damaged.mp4"))
    assert LocalEngine().run([damaged], lambda r: None)[0].status == "done"
    assert len(estimated) == 6 + 11 + 7  # a pair that does not read is estimated again
    again = sorted((work_dir_for(damaged.job.output) / "frames").glob("*.png"))
    assert all(np.array_equal(read_image(a), read_image(b)) for a, b in zip(kept, again))


def test_the_join_encodes_each_part_once_it_is_painted_and_writes_what_a_join_after_them_writes(
        long_clip, tmp_path, tiny):
    import shutil
    import time

    from vidstyle.batch.parts import StreamingJoin, join_parts
    from vidstyle.media.decode import iter_frames

    def task(out):
        return Task(Job(long_clip, out, "mosaic", run=tiny, video=VideoConfig(max_size=32, crf=0)), "cpu", 1,
                    str(long_clip))

    streamed = task(tmp_path / "out.mp4")
    chunks = plan_chunks(probe(long_clip), Part(None, None), 4, 2)  # own frames 0-3, 4-7, 8-11; 2 shared each
    parts = part_tasks(streamed, chunks)
    join = StreamingJoin(streamed, chunks)
    for k, part in enumerate(parts):
        assert LocalEngine().run([part], lambda r: None)[0].status == "done"
        join.finished(k)
        if k == 0:  # chunk 0's frames before the two it shares with chunk 1 go to the encoder while chunk 1 waits
            deadline = time.monotonic() + 60
            while join.encoded < 2 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(0.2)
            assert join.encoded == 2 and not streamed.job.output.exists()
    after = task(tmp_path / "after" / "out.mp4")
    shutil.copytree(parts_dir(streamed), parts_dir(after))
    assert join.finish() == 12 and not parts_dir(streamed).exists()
    assert join_parts(after, chunks) == 12
    ours, theirs = list(iter_frames(streamed.job.output)), list(iter_frames(after.job.output))
    assert len(ours) == len(theirs) == 12 and all(np.array_equal(a, b) for a, b in zip(ours, theirs))


def test_a_failing_chunk_fails_the_clip_in_one_line_and_the_others_frames_are_kept(long_clip, tmp_path,
                                                                                      tiny_weights):
    wrong = tmp_path / "wrong.png"
    write_image(wrong, np.zeros((40, 10, 3), np.uint8))  # an edit of another shape: refused by its chunk alone
    out = tmp_path / "out"
    args = ["batch", str(long_clip), "--out", str(out), "-s", "mosaic", "--chunk-frames", "4", "--chunk-overlap",
            "1", "--paint-over", f"10={wrong}", *fast(tiny_weights)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    report = json.loads((out / "batch-report.json").read_text())[0]
    assert report["status"] == "failed" and report["reason"].startswith("chunk 2: ") and "\n" not in report["reason"]
    assert not (out / "long.mp4").exists()  # the join had begun with chunks 0 and 1: nothing of it is written
    kept = parts_dir(Task(Job(long_clip, out / "long.mp4")))
    assert (kept / "part_000.mp4").is_file() and (kept / "part_001.mp4").is_file()

    write_image(wrong, np.zeros((48, 64, 3), np.uint8))  # fixed: only that chunk runs again
    values = {"styles": "mosaic", "chunk_frames": 4, "chunk_overlap": 1, "paint_over": [f"10={wrong}"],
              "first_iterations": 2, "iterations": 1, "max_size": 32, "weights": tiny_weights,
              "input": long_clip, "output": out / "long.mp4"}
    parts = []
    [result] = run_batch([Task(Job.from_values(values), "cpu", None, str(long_clip))], LocalEngine(),
                         on_done=parts.append)
    assert [p.status for p in parts if p.reason != "flow pairs kept"] == ["skipped", "skipped", "done"]
    assert result.status == "done" and count(out / "long.mp4") == 12 and not kept.exists()


def test_parts_left_by_other_settings_are_painted_again(long_clip, tmp_path, tiny_weights):
    wrong = tmp_path / "wrong.png"
    write_image(wrong, np.zeros((40, 10, 3), np.uint8))
    out = tmp_path / "out"
    values = {"styles": "mosaic", "chunk_frames": 4, "chunk_overlap": 1, "paint_over": [f"10={wrong}"],
              "first_iterations": 2, "iterations": 1, "max_size": 32, "weights": tiny_weights,
              "input": long_clip, "output": out / "long.mp4"}
    first = run_batch([Task(Job.from_values(values), "cpu", None, str(long_clip))], LocalEngine())
    assert first[0].status == "failed"  # chunks 0 and 1 finished with mosaic
    parts = []
    values = {**values, "styles": "vangogh", "paint_over": []}
    again = run_batch([Task(Job.from_values(values), "cpu", None, str(long_clip))], LocalEngine(),
                      on_done=parts.append)
    assert again[0].status == "done" and [p.status for p in parts] == ["done"] * 5  # none joined from mosaic


def test_paint_over_frames_go_to_the_chunks_that_paint_them(long_clip, tmp_path):
    edit = tmp_path / "edit.png"
    task = Task(Job(long_clip, tmp_path / "out.mp4", "mosaic", paint_over=(f"3={edit}", f"9={edit}")))
    chunks = plan_chunks(probe(long_clip), Part(None, None), 4, 2, carry=False)  # frames 0-3, 2-7, 6-11
    given = [t.job.paint_over for t in part_tasks(task, chunks)]
    assert given == [(f"3={edit}",), (f"1={edit}",), (f"3={edit}",)]
    chunks = plan_chunks(probe(long_clip), Part(None, None), 4, 2)  # frames 0-3, 0-7, 0-11: carried up to 2, 6
    given = [t.job.paint_over for t in part_tasks(task, chunks)]
    assert given == [(f"3={edit}",), (f"3={edit}",), (f"3={edit}", f"9={edit}")]


def test_masks_placed_by_frame_are_refused_for_a_clip_in_parts(long_clip, tmp_path, tiny_weights):
    out = tmp_path / "out"
    result = runner.invoke(app, ["batch", str(long_clip), "--out", str(out), "-s", "mosaic", "--chunk-frames", "4",
                                 "--grabcut", "2,2,20,20", *fast(tiny_weights)])
    assert result.exit_code == 1
    report = json.loads((out / "batch-report.json").read_text())[0]
    assert report["status"] == "failed" and "holds for every frame" in report["reason"]

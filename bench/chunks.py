"""One long shot in chunks (``vidstyle batch --chunk-frames``): the seam where chunks meet, by the outside rulers;
a local Ray cluster against one local job; the wall time of a long shot on many workers, projected.

Seam pairs: the frame pairs whose frames come from two chunks (the overlap's pairs and the pair into the next
chunk's own frames; with no overlap, the one pair across the boundary). Each is divided by the median pair of the
unchunked run of the same clip (a fixed reference: a chunked run's own median would count its seams).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

from . import common
from .common import BOTTLE, ROOT, read_log, rel, run_vidstyle, shown
from .ruler import Ruler, frames_of, half_row, outside_ruler, truth_ruler
from .stability import STYLE_FILE
from .truth import truth_clips

FRAMES = 96  # 3 chunks of 32: each longer than the default overlap
CHUNK = 32
TRUTH = ("follow", "pan-zoom")
# (label, options, overlap: None for the default); the default starts each chunk from the carried paint
CANDIDATES = (("cold starts, no overlap", ["--no-chunk-carry", "--chunk-overlap", "0"], 0),
              ("cold starts, the default overlap", ["--no-chunk-carry"], None),
              ("carried, no overlap", ["--chunk-overlap", "0"], 0),
              ("carried, the default overlap (default)", [], None))
REAL_FRAMES = 72  # DeepFlow at the source size costs seconds a pair
REAL_CHUNK = 36  # the real clip on two Ray workers: two chunks, one each
PICTURE = ROOT / "docs" / "chunks-seam.jpg"
# What the strip showed when looked at by hand (commit b51a07f); look again when the method changes.
SEEN = ("Looked at: the top row jumps between its third and fourth frames (the boundary: another swirl pattern in the "
        "sky, a brighter road); the default shows no jump, neither at the boundary nor in the middle of the overlap, "
        "where the brushwork is a little softer.")
PROJECTED_FRAMES = 3600
PROJECTED_SIZE = 512  # the long shot of the issue: 3600 frames at 512 px
CARRIED = 26  # frames of the carry timed at that size
TIMED = 12  # frames of the run that times a cold and a later frame at that size (the later: the median of the rest)
WORKERS = (1, 8, 32, 128)


def _args(clip: Path, size: int, frames: int) -> list[str]:
    budget = common.BUDGET
    return [rel(clip), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end", f"{frames}f", "--first-iterations",
            str(budget.stability_first), "--device", "cpu", *budget.extra]


def _unchunked(clip: Path, work: Path, size: int, frames: int) -> dict:
    out, log = work / f"chunks-{clip.stem}-whole.mp4", work / f"chunks-{clip.stem}-whole.jsonl"
    args = ["video", *_args(clip, size, frames), "-o", rel(out), "--restart", "--log", rel(log), "--threads", "2"]
    seconds, _ = run_vidstyle(args)
    entries = read_log(log)
    return {"out": out, "seconds": seconds, "command": shown(args), "cold": entries[0]["seconds"],
            "later": statistics.median(e["seconds"] for e in entries[1:])}


def _chunked(clip: Path, work: Path, size: int, frames: int, chunk: int, options: list[str], engine: list[str]
             ) -> dict:
    name = "".join(options).replace("-", "") or "default"
    folder = work / f"chunks-{clip.stem}-{name}-{engine[1]}"
    out = folder / f"{clip.stem}.mp4"
    out.unlink(missing_ok=True)
    args = ["batch", *_args(clip, size, frames), "--out", rel(folder), "--chunk-frames", str(chunk), *engine,
            *options]
    seconds, _ = run_vidstyle(args)
    return {"out": out, "seconds": seconds, "command": shown(args)}


def _seams(frames: int, chunk: int, overlap: int) -> list[list[int]]:
    """Per seam, the frame pairs (by their later frame) whose frames come from two chunks."""
    from vidstyle.batch.chunks import chunk_bounds

    bounds = chunk_bounds(frames, chunk)
    return [list(range(b - min(overlap, b - a), b + 1)) for a, b in zip(bounds, bounds[1:-1])]


def _measure(run: dict, ruler: Ruler, reference: float, whole: float, pairs: list[list[int]],
             unchunked: Path | None = None, size: int = 0, whole_errors: list[float] | None = None) -> dict:
    errors = ruler.measure(run["out"])["per_frame"]  # errors[t - 1]: the pair (t - 1, t)
    seam = [errors[t - 1] / reference for seam in pairs for t in seam]
    same = None if whole_errors is None else float(
        sum(errors[t - 1] for s in pairs for t in s) / sum(whole_errors[t - 1] for s in pairs for t in s))
    texture = None
    if unchunked is not None and len(pairs[0]) > 1:  # the overlap's middle frame against the unchunked run's
        middles = [seam[len(seam) // 2] for seam in pairs]
        texture = float(np.mean([_detail(run["out"], m, size) / _detail(unchunked, m, size) for m in middles]))
    return {**{k: v for k, v in run.items() if k != "out"}, "worst_seam": max(seam), "mean_seam": float(np.mean(seam)),
            "overall": float(np.mean(errors)) / whole, "texture": texture, "same_pairs": same}


def _detail(output: Path, frame: int, size: int) -> float:
    """The variance of the Laplacian of frame ``frame`` at the processing size: how much brushwork it shows."""
    from vidstyle.media.sizes import fit_long_side, resize
    from vidstyle.motion.estimate import to_grey

    image = frames_of(output, frame + 1)[frame]
    image = resize(image, *fit_long_side(*image.shape[:2], size))
    return float(cv2.Laplacian(to_grey(image).astype(np.float32), cv2.CV_32F).var())


def _strip(runs: dict[str, dict], frames: int, chunk: int) -> Path | None:
    """Clip (b) around its first seam: cold starts with no overlap (the jump at the boundary), the default at the
    boundary, and the default in the middle of its overlap (consecutive frames, half size)."""
    from vidstyle.config import VideoConfig
    from vidstyle.media.images import write_image

    boundary, lead = chunk, VideoConfig().chunk_overlap
    rows = []
    default = CANDIDATES[-1][0]
    for name, first in ((CANDIDATES[0][0], boundary - 3), (default, boundary - 3), (default, boundary - lead // 2 - 3)):
        shown_frames = frames_of(runs[name]["path"], first + 6)[first:first + 6]
        if len(shown_frames) < 6:
            return None
        rows.append(half_row(shown_frames))
    write_image(PICTURE, np.concatenate(rows, 0))
    return PICTURE


def project(cold: float, later: float, carry: float | None, join: dict, frames: int, workers: int, overlap: int,
            passes: int = 1, pairs: float = 0.0) -> tuple[float, int]:
    """``(seconds, chunk size)`` of a ``frames``-frame shot on ``workers`` workers: one chunk per worker (cut as
    ``--chunk-frames`` = frames / workers cuts them), all at once. With the carry, first every chunk estimates the
    flow pairs of its own frames (``pairs`` seconds a frame, all chunks at once); then each chunk after the first
    paints the shot's first frame cold, carries it over every frame before its overlap (reading those pairs),
    paints its first painted frame cold again (repainted from the carry), and its other frames (the overlap's
    too) at the later-frame time for every pass; the first chunk paints its own frames from a cold start. The join
    (on one machine) encodes each chunk's frames once it has finished, and an overlap's once the chunk after it
    has too (``join["plain"]`` a frame, ``join["blend"]`` more for a crossfaded one): the time is when it ends.
    One worker paints the shot as one job and encodes it after its last frame."""
    from vidstyle.batch.chunks import chunk_bounds

    size = math.ceil(frames / workers)
    bounds = chunk_bounds(frames, size) if workers > 1 else [0, frames]
    own = [b - a for a, b in zip(bounds, bounds[1:])]
    leads = [0] + [min(overlap, n) for n in own[:-1]]
    stage = size * pairs if carry is not None and len(own) > 1 else 0.0
    finish = []
    for k, (start, n) in enumerate(zip(bounds, own)):
        if k == 0:
            finish.append(stage + cold + (n - 1) * later * passes)
        elif carry is None:  # --no-chunk-carry: a cold start at the overlap
            finish.append(cold + (n + leads[k] - 1) * later * passes)
        else:
            carried = start - leads[k] - 1
            finish.append(stage + 2 * cold + carried * carry + (n + leads[k] - 1) * later * passes)
    end = 0.0
    for k, n in enumerate(own):
        ahead = leads[k + 1] if k + 1 < len(own) else 0
        end = max(end, finish[k]) + (n - ahead) * join["plain"]
        if ahead:
            end = max(end, finish[k + 1]) + ahead * (join["plain"] + join["blend"])
    return end, size


def _carry_seconds(work: Path, size: int) -> dict:
    """Seconds per frame at ``size`` (2 threads) of the two halves of a carry: estimating and keeping a frame's flow
    pair (``pairs``: decoding, the flows both ways, the checks, the file written), and carrying the paint over a
    frame whose pair is kept (``carry``: decoding, the pair read, the warp and fill, the frame written); from the
    progress reports of a chunk's carry (its painted frames on a token budget, not measured here)."""
    import dataclasses
    import shutil
    import time

    import torch

    from vidstyle.config import RunConfig, VideoConfig
    from vidstyle.video.pairs import keep_pairs
    from vidstyle.video.pipeline import stylize_video
    from vidstyle.video.plan import plan_video

    base = RunConfig()
    config = dataclasses.replace(base, optim=dataclasses.replace(base.optim, iterations=2, fine_iterations=1),
                                 temporal=dataclasses.replace(base.temporal, carry_frames=CARRIED))
    folder = work / f"chunks-pairs-{size}"
    shutil.rmtree(folder, ignore_errors=True)
    stamps: dict[int, float] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        plan = plan_video(BOTTLE, None, os.fspath(STYLE_FILE), video=VideoConfig(max_size=size), end=f"{CARRIED}f",
                          config=config, device=torch.device("cpu"))
        started = time.perf_counter()
        keep_pairs(plan, config, folder, 0)
        pairs = (time.perf_counter() - started) / CARRIED
        stylize_video(BOTTLE, work / f"chunks-carry-{size}.mp4", os.fspath(STYLE_FILE), config=config,
                      video=VideoConfig(max_size=size, carry_pairs=os.fspath(folder)), end=f"{CARRIED + 1}f",
                      restart=True, device="cpu", on_frame=lambda r: stamps.setdefault(r.index, time.perf_counter()))
    finally:
        torch.set_num_threads(threads)
        shutil.rmtree(folder, ignore_errors=True)
    return {"carry": (stamps[CARRIED - 1] - stamps[1]) / (CARRIED - 2), "frames": CARRIED - 2, "pairs": pairs}


def chunks(work: Path, device) -> tuple[str, dict]:
    from vidstyle.config import VideoConfig

    budget = common.BUDGET
    size, frames, chunk = budget.stability_size, (12 if budget.smoke else FRAMES), (4 if budget.smoke else CHUNK)
    default = VideoConfig().chunk_overlap
    data, tables, picture = {}, [], None
    local = ["--engine", "local", "--parallel", "2"]
    for truth in truth_clips(work, frames, TRUTH[:1] if budget.smoke else TRUTH):
        ruler = truth_ruler(truth, frames)
        whole = _unchunked(truth.path, work, size, frames)
        errors = ruler.measure(whole["out"])["per_frame"]
        reference, mean_whole = statistics.median(errors), float(np.mean(errors))
        runs = {"unchunked": {**whole, "worst_seam": None, "mean_seam": None, "overall": 1.0, "texture": None,
                              "same_pairs": None}}
        paths = {}
        for name, options, overlap in CANDIDATES:
            lead = default if overlap is None else overlap
            run = _chunked(truth.path, work, size, frames, chunk, options, local)
            paths[name] = {"path": run["out"]}
            runs[name] = _measure(run, ruler, reference, mean_whole, _seams(frames, chunk, lead), whole["out"], size,
                                  errors)
            print(f"[bench]   {truth.name}: {name}: seam {runs[name]['worst_seam']:.2f}", file=sys.stderr, flush=True)
        if truth.name == "follow" and not budget.smoke:
            picture = _strip(paths, frames, chunk)
        data[truth.name] = {k: {kk: vv for kk, vv in v.items() if kk != "out"} for k, v in runs.items()}
        tables.append((truth.title + ": ground truth", runs, default))
    real = _real(work, size, 12 if budget.smoke else REAL_FRAMES, default)
    real["at512"] = _timing(work, 64 if budget.smoke else PROJECTED_SIZE)
    real["at512"].update(_carry_seconds(work, 64 if budget.smoke else PROJECTED_SIZE))
    data["real"] = real
    md = _markdown(data, tables, real, picture, frames, chunk, size, default)
    return md, data


def _real(work: Path, size: int, frames: int, default: int) -> dict:
    """The real clip: one 2-thread local job, unchunked, against two 1-thread Ray workers (a local cluster) on two
    chunks; by DeepFlow and Ruder's check."""
    budget = common.BUDGET
    chunk = 6 if budget.smoke else REAL_CHUNK
    ruler = outside_ruler(BOTTLE, frames, work)
    whole = _unchunked(BOTTLE, work, size, frames)
    errors = ruler.measure(whole["out"])["per_frame"]
    reference, mean_whole = statistics.median(errors), float(np.mean(errors))
    ray = _chunked(BOTTLE, work, size, frames, chunk, [], ["--engine", "ray", "--address", "local",
                                                           "--cpus-per-job", "1"])
    measured = _measure(ray, ruler, reference, mean_whole, _seams(frames, chunk, default), whole["out"], size, errors)
    return {"whole": {k: v for k, v in whole.items() if k != "out"}, "ray": measured, "chunk": chunk, "frames": frames,
            "join": _join_seconds(whole["out"], work, 64 if budget.smoke else PROJECTED_SIZE)}


def _timing(work: Path, size: int) -> dict:
    """A cold frame's and a later frame's seconds at ``size`` (every default, 2 threads): the projection's costs."""
    budget = common.BUDGET
    out, log = work / f"chunks-timing-{size}.mp4", work / f"chunks-timing-{size}.jsonl"
    args = ["video", rel(BOTTLE), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end", f"{TIMED}f",
            "--restart", "--log", rel(log), "--threads", "2", "--device", "cpu", *budget.extra]
    run_vidstyle(args)
    entries = read_log(log)
    return {"cold": entries[0]["seconds"], "later": statistics.median(e["seconds"] for e in entries[1:]),
            "size": size, "command": shown(args)}


def _join_seconds(output: Path, work: Path, size: int) -> dict:
    """Seconds per frame of a join, as :func:`vidstyle.batch.parts.join_parts` does it: each frame's PNG at the
    processing size ``size`` read and encoded at ``output``'s size (``plain``); an overlap's frame reads two and
    crossfades them (``blend``: its cost over a plain frame's)."""
    import shutil
    import time

    from vidstyle.batch.parts import crossfade
    from vidstyle.config import VideoConfig
    from vidstyle.media.encode import encode_stylized
    from vidstyle.media.decode import read_frames
    from vidstyle.media.images import read_image, write_image
    from vidstyle.media.probe import probe
    from vidstyle.media.sizes import fit_long_side, resize

    folder = work / "chunks-join"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    frames = frames_of(output, 10**6)
    height, width = frames[0].shape[:2]
    for i, frame in enumerate(frames):
        write_image(folder / f"{i:06d}.png", resize(frame, *fit_long_side(height, width, size)))
    info = probe(output)
    timings = [(f.pts, f.duration) for f in read_frames(output, info=info)]
    seconds = {}
    for name, blended in (("plain", False), ("both", True)):
        images = (crossfade(read_image(folder / f"{i:06d}.png"), read_image(folder / f"{i:06d}.png"), 0, 1)
                  if blended else read_image(folder / f"{i:06d}.png") for i in range(len(frames)))
        started = time.perf_counter()
        encode_stylized(images, timings, output, info, folder / f"{name}.mp4", size=(width, height),
                        settings=VideoConfig(audio=False), scratch=folder)
        seconds[name] = (time.perf_counter() - started) / len(frames)
    shutil.rmtree(folder, ignore_errors=True)
    return {"plain": seconds["plain"], "blend": max(0.0, seconds["both"] - seconds["plain"])}


def _markdown(data: dict, tables: list, real: dict, picture: Path | None, frames: int, chunk: int, size: int,
              default: int) -> str:
    sections = []
    for title, runs, _ in tables:
        lines = ["| run | worst seam pair / median pair | mean seam pair / median pair | seam pairs / same pairs "
                 "unchunked | E(out) / unchunked | brushwork mid-overlap / unchunked | wall time |",
                 "|---|---|---|---|---|---|---|"]
        for name, run in runs.items():
            label = "unchunked (`vidstyle video`, 2 threads)" if name == "unchunked" else \
                f"chunks: {name.replace('the default overlap', f'overlap {default}')}"
            cells = [("" if run.get(k) is None else f"{run[k]:.2f}")
                     for k in ("worst_seam", "mean_seam", "same_pairs", "overall", "texture")]
            lines.append(f"| {label} | {' | '.join(cells)} | {run['seconds']:.0f} s |")
        sections.append(f"### {title}\n\n" + "\n".join(lines) + "\n")
    whole, ray, costs = real["whole"], real["ray"], real["at512"]
    rows = []
    for workers in WORKERS:
        carried, size = project(costs["cold"], costs["later"], costs["carry"], real["join"], PROJECTED_FRAMES,
                                workers, default, pairs=costs.get("pairs", 0.0))
        cold, _ = project(costs["cold"], costs["later"], None, real["join"], PROJECTED_FRAMES, workers, default)
        rows.append((workers, size, carried, cold))
    one = rows[0][2]
    rows = "\n".join(f"| {w} | {c} | {a / 3600:.2f} h (1/{one / a:.1f}) | {b / 3600:.2f} h (1/{one / b:.1f}) |"
                     for w, c, a, b in rows)
    commands = "\n".join(r["command"] for runs in data.values() if "unchunked" in runs for r in runs.values())
    commands += f"\n{whole['command']}\n{ray['command']}\n{costs['command']}"
    strip = (f"\n![Clip (b) around its first seam (frame {chunk}): cold starts with no overlap (top, frames "
             f"{chunk - 3}-{chunk + 2}), the default at the same frames (middle), the default in the middle of its "
             f"overlap (bottom, frames {chunk - default // 2 - 3}-{chunk - default // 2 + 2})]({rel(picture)})\n"
             f"\n{SEEN}\n" if picture else "")
    return f"""## One long shot in chunks: the seam, Ray against one job, many workers projected

`vidstyle batch --chunk-frames {chunk}` on the first {frames} frames of each clip (3 chunks), Starry Night, long
side {size}, {common.BUDGET.stability_first} iterations for a cold frame, defaults otherwise; chunks on the local
engine two at once (`--parallel 2`, one thread each). *Seam pairs*: the frame pairs whose frames come from two chunks
(the overlap's pairs and the pair into the next chunk's own frames); each divided by the median pair of the
unchunked run of the same clip, by the outside rulers (the exact motion; DeepFlow and Ruder's check on the real
clip), at the input's size. *E(out) / unchunked*: the mean warping error over every pair against the unchunked run's.
*Brushwork mid-overlap*: the variance of the Laplacian of each overlap's middle frame at the processing size, over
the unchunked run's same frame (below 1: softer).
*Seam pairs / same pairs unchunked*: their error summed over the same pairs' in the unchunked run (a real clip's
own jumps fall in the window too). Two paintings of one frame from cold starts at different frames differ everywhere
(the optimisation takes another way from a slightly different start): with no overlap that whole difference lands on
one pair, and a crossfade over the overlap spreads it (its square falls with the square of the overlap), at the price
of softer brushwork in the middle, where two paintings are averaged. *Carried*: each chunk starts from the shot's
first painting carried along the flow to its start (no optimisation on the way: the flow and a warp), held
there where that carry stayed reliable and repainted elsewhere, so the two chunks of a seam share most of their paint.
{strip}
{chr(10).join(sections)}
### A real clip on a local Ray cluster

`{rel(BOTTLE)}`, the first {real['frames']} frames: one local job with 2 threads, unchunked:
{whole['seconds']:.0f} s; a local Ray cluster (`--address local`) with two 1-thread workers, `--chunk-frames
{real['chunk']}` (two chunks, one per worker): {ray['seconds']:.0f} s (Ray's start included), worst seam pair
{ray['worst_seam']:.2f} and mean {ray['mean_seam']:.2f} times the unchunked run's median pair, overall
{ray['overall']:.2f} times its error (DeepFlow and Ruder's check; the seam pairs' error is {ray['same_pairs']:.2f} times
the same pairs' unchunked: the clip's own jumps fall in the overlap), brushwork mid-overlap {ray['texture']:.2f} of the
unchunked run's. Ray took {ray['seconds'] / whole['seconds']:.2f} times
the one job's wall time: on two cores the unchunked job already uses both, and the chunks paint the overlap twice.

### A 3600-frame shot on many workers, projected

At {costs['size']} px, every default, one pass. The model: one chunk per worker (`--chunk-frames` = frames /
workers, rounded up), every chunk at once, each worker with 2 threads, so the last chunk decides. First every chunk
estimates and keeps the flow pairs of its own frames, all chunks at once ({costs['pairs'] * 1000:.0f} ms a frame:
decoding, the flows both ways and their checks, the file written). Then the last chunk paints the shot's first
frame cold ({costs['cold']:.0f} s, measured on the real clip at {costs['size']} px), carries it over every frame
before its overlap ({costs['carry'] * 1000:.0f} ms a frame: decoding, the kept pair read, the warp and the frame
written, measured over {costs['frames']} carried frames), paints its first frame cold again from the carry, and its
other frames, the {default} of the overlap included, at the later-frame time ({costs['later']:.1f} s, the median of
frames 1-{TIMED - 1} of the cold frame's run); with `--passes N` every painted frame but the cold ones costs N times.
With `--no-chunk-carry` a chunk paints its first frame cold and the rest as above: no carry, one cold frame. The
carry is the price of the seams and the brushwork above; it grows with the shot (the last chunk carries almost all
of it), while the painting shrinks with the workers; its flows are estimated once, spread over every worker, and
the carry only warps. The join reads and encodes every frame on one machine ({real['join']['plain'] * 1000:.0f} ms
a frame, measured: the unchunked output's frames as PNGs at {costs['size']} px, as the chunks keep them, encoded at
the source size), and reads two and crossfades them for each frame of an overlap
({real['join']['blend'] * 1000:.0f} ms more). It streams (`batch/parts.py`, `StreamingJoin`): each chunk's frames
are encoded once that chunk has finished, while later chunks still paint, so the time is when the join ends, and
with the carry only about the last chunk's frames are left to encode then (the chunks finish in the order of
their carries, seconds apart). One worker is one `vidstyle video` job, which encodes after its last frame.
Decoding each chunk's range and Ray's scheduling are left out (seconds).

| workers | frames per chunk | projected wall time (against one worker), carried (default) | `--no-chunk-carry` |
|---|---|---|---|
{rows}

```
{commands}
```
"""



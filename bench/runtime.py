"""Long inputs, threads side by side, and memory: costs around the optimisation, not in it."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

from . import common
from .common import ROOT, rel
from .stability import STYLE_FILE


def _clip(work: Path, frames: int, size: tuple[int, int] = (48, 64)) -> Path:
    """A generated clip of ``frames`` frames (the sample's panorama under a moving camera)."""
    from samples.make import render_frame, render_scene, write_clip

    path = work / f"generated-{frames}-{size[1]}.mp4"
    if not path.is_file():
        scene = render_scene()
        write_clip(path, [render_frame(scene, i, frames, size) for i in range(frames)], Fraction(30), with_audio=False)
    return path


def long_input(work: Path, device) -> tuple[str, dict]:
    """``--end 10f`` on a long clip should cost what a 10-frame clip costs: no decoding past the end."""
    budget = common.BUDGET
    long, short = _clip(work, budget.long_frames), _clip(work, 10)
    cheap = ["--first-iterations", "2", "--iterations", "1", "--later-fine-iterations", "1", "--device", device.type, "--restart"]
    times = {}
    commands = []
    for name, clip, extra in (("10-frame clip", short, []), (f"{budget.long_frames}-frame clip, --end 10f", long,
                                                             ["--end", "10f"]),
                              (f"{budget.long_frames}-frame clip, --start {budget.long_frames // 2}f --end "
                               f"{budget.long_frames // 2 + 10}f", long,
                               ["--start", f"{budget.long_frames // 2}f", "--end", f"{budget.long_frames // 2 + 10}f"])):
        args = ["video", rel(clip), "-s", "swirl", "-o", rel(work / "long-out.mp4"), *extra, *cheap]
        times[name] = min(common.run_vidstyle(args)[0] for _ in range(2))
        commands.append(common.shown(args))
    rows = "\n".join(f"| {name} | {seconds:.1f} s |" for name, seconds in times.items())
    first, second, third = times.values()
    md = f"""## Long inputs: `--end` stops decoding, `--start` seeks

A generated {budget.long_frames}-frame clip (64x48, 30 fps) against a 10-frame one; each run stylizes 10 frames with
a token budget (2/1 iterations) so the time is decoding, probing and encoding. Best of two runs.

| input | wall time for 10 stylized frames |
|---|---|
{rows}

`--end 10f` on the long clip costs **{second / first:.2f}x** the 10-frame clip; a range in its middle
**{third / first:.2f}x** (a seek, not a decode from frame 0).

```
{chr(10).join(commands)}
```
"""
    return md, {"times": times, "end_ratio": second / first, "seek_ratio": third / first}


def threads(work: Path, device) -> tuple[str, dict]:
    """Two runs at once on this machine: each with a thread per core (oversubscribed), or pinned to its share."""
    from vidstyle.core.device import available_cpus

    clip = _clip(work, 12 if not common.BUDGET.smoke else 3, (144, 256))
    cores = available_cpus()
    base = ["--first-iterations", "60" if not common.BUDGET.smoke else "2", "--iterations", "10", "--device", device.type,
            "--restart"]

    def run_at_once(pinned: int | None, count: int) -> float:
        processes, started = [], time.perf_counter()
        for k in range(count):
            args = ["video", rel(clip), "-s", "swirl", "-o", rel(work / f"threads-{k}.mp4"), *base]
            if pinned:
                args += ["--threads", str(pinned)]
            processes.append(subprocess.Popen([sys.executable, "-m", "vidstyle", *args], cwd=ROOT,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        for process in processes:
            _, err = process.communicate()
            if process.returncode != 0:
                raise RuntimeError(err.decode()[-1000:])
        return time.perf_counter() - started

    alone = run_at_once(None, 1)
    unpinned = run_at_once(None, 2)
    pinned = run_at_once(max(1, cores // 2), 2)
    md = f"""## Threads: two runs side by side

`{rel(clip)}` (12 frames, 256x144), 60/10 iterations, on this {cores}-core machine. Two `vidstyle video` runs
started together, with the default threads (each starts one per core: {cores} + {cores} threads on {cores} cores)
or pinned with `--threads {max(1, cores // 2)}` (what `vidstyle batch --parallel 2` and a Ray task with
`--cpus-per-job {max(1, cores // 2)}` set for each job).

| runs | wall time until both finish |
|---|---|
| one, alone | {alone:.1f} s |
| two at once, default threads | {unpinned:.1f} s |
| two at once, `--threads {max(1, cores // 2)}` each | {pinned:.1f} s |

Pinning makes the pair **{unpinned / pinned:.2f}x** faster than leaving both at a thread per core; the pinned
pair takes {pinned / alone:.2f}x one run's time for twice the work.

```
{shlex.join(["vidstyle", "video", rel(clip), "-s", "swirl", "-o", "OUT.mp4", *base])} [--threads {max(1, cores // 2)}]
```
"""
    return md, {"alone": alone, "unpinned": unpinned, "pinned": pinned}


def _peak_rss(report: Path, args: list[str], code: Path = ROOT) -> float:
    """Peak resident memory (MiB) of one CLI run of the checkout ``code`` in a fresh process (``bench.rss``)."""
    env = {**os.environ, "PYTHONPATH": str(code)}  # the checkout's own bench.rss runs its own vidstyle
    subprocess.run([sys.executable, "-P", "-m", "bench.rss", str(report), *args], cwd=ROOT, check=True,
                   capture_output=True, env=env)
    return json.loads(report.read_text())["max_rss_mib"]


def memory(work: Path, device) -> tuple[str, dict]:
    short, long = common.BUDGET.memory_frames
    clip = _clip(work, long, (144, 256))
    rss, commands = {}, {}
    for frames in (short, long):
        out, report = work / f"memory-{frames}.mp4", work / f"memory-{frames}.json"
        args = ["video", rel(clip), "-s", "swirl", "-o", rel(out), "--max-size", "128", "--end", f"{frames}f",
                "--first-iterations", "2", "--iterations", "1", "--later-fine-iterations", "1", "--device", device.type,
                "--restart"]
        rss[frames] = _peak_rss(report, args)
        commands[frames] = "python -m bench.rss REPORT " + shlex.join(args)
    ratio = rss[long] / rss[short]
    # Every default at the whole-clip section's larger size, this code against the code before the speed work: the
    # cold start's L-BFGS history, the network at full size, the prefetch's frames and flows all at their real size.
    size, frames = max(common.BUDGET.clip_sizes), common.BUDGET.memory_real_frames
    real = {}
    codes = [("this commit", ROOT)]
    before = common.checkout(work, common.SPEED_COMMIT) if not common.BUDGET.smoke else None
    if before is not None:
        codes.insert(0, (f"before ({common.SPEED_COMMIT})", before))
    real_args = ["video", rel(common.BOTTLE), "-s", rel(STYLE_FILE), "-o", rel(work / "memory-real.mp4"),
                 "--max-size", str(size), "--end", f"{frames}f", "--device", device.type, "--restart",
                 *common.BUDGET.extra]
    for name, code in codes:
        real[name] = _peak_rss(work / "memory-real.json", real_args, code)
    rows = "\n".join(f"| {name} | {mib:.0f} MiB |" for name, mib in real.items())
    versus = (f"\n**This commit / {common.SPEED_COMMIT} = {real['this commit'] / real[codes[0][0]]:.3f}** (the issue "
              "\"Speed III\": no higher than that code's).\n" if before is not None else "")
    md = f"""## Memory

Peak resident memory of the whole `vidstyle video` process (decode, flow thread, optimisation, checkpoints,
encode) on a generated {long}-frame clip at long side 128, with a token budget so the run is about memory:

```
{commands[short]}
{commands[long]}
```

| frames | peak RSS |
|---|---|
| {short} | {rss[short]:.0f} MiB |
| {long} | {rss[long]:.0f} MiB |

**RSS({long}) / RSS({short}) = {ratio:.3f}** (target at most 1.1).

The first {frames} frames of `{common.BOTTLE.name}` at long side {size}, every default (a shot's first frame, its
settling, later frames; the L-BFGS history and the network at their full size), this commit against the code before
the speed work, each in a fresh process:

```
python -m bench.rss REPORT {shlex.join(real_args)}
```

| code | peak RSS |
|---|---|
{rows}
{versus}"""
    return md, {"rss": rss, "ratio": ratio, "real": real}

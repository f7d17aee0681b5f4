"""Temporal stability on three clips: the baseline code, the current default, and per-frame, side by side."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from . import common
from .common import AGAIN, BOTTLE, ROOT, mean, metrics, read_log, rel, run_vidstyle, shown, style_spikes

STYLE_FILE = ROOT / "vidstyle" / "assets" / "paintings" / "vangogh.jpg"  # the baseline has no built-in paintings


def road_clip(work: Path, frames: int) -> Path:
    """The synthetic still road with a car (samples.make.render_road), encoded once."""
    from samples.make import render_road, write_clip

    path = work / f"road-{frames}.mp4"
    if not path.is_file():
        write_clip(path, render_road(frames)[0], Fraction(24), with_audio=False)
    return path


def road_background(work: Path, frames: int) -> dict:
    """Reliable fraction of the road (the car and a margin left out), Ruder's check vs the fitted one."""
    from samples.make import render_road
    from vidstyle.motion.flow import flow_pair, to_grey

    images, cars = render_road(frames)
    out = {}
    for check in ("ruder", "fitted"):
        fractions = [float(flow_pair(to_grey(images[t]), to_grey(images[t - 1]), check=check)[1][0, 0]
                           .numpy()[~cars[t]].mean()) for t in range(1, frames)]
        out[check] = (mean(fractions), min(fractions))
    return out


def _run(name: str, clip: Path, work: Path, code: Path, extra: list[str]) -> dict:
    budget = common.BUDGET
    out, log = work / f"stability-{clip.stem}-{name}.mp4", work / f"stability-{clip.stem}-{name}.jsonl"
    args = ["video", rel(clip), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(budget.stability_size),
            "--output-size", "processing", "--end", f"{budget.stability_frames}f", "--first-iterations",
            str(budget.stability_first), "--restart", "--log", rel(log), *extra]
    seconds, _ = run_vidstyle(args, code)
    measured = metrics(clip, out, budget.stability_size)
    entries = read_log(log)
    return {"command": shown(args), "seconds": seconds, "ratio": measured["ratio"],
            "style": mean(e["terms"]["style"] for e in common.later(entries)),
            "spike": style_spikes(entries), "evaluations": mean(e["evaluations"] for e in common.later(entries))}


def stability(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    baseline = common.baseline_root(work)
    smoke = ["-i", "2"] if budget.smoke else []
    clips = [c for c in (BOTTLE, AGAIN) if c.is_file()] + [road_clip(work, budget.stability_frames)]
    device_args = ["--device", device.type]
    rows, data = [], {}
    for clip in clips:
        runs = {}
        if baseline is not None:
            runs["baseline"] = _run("baseline", clip, work, baseline, device_args + smoke)
        runs["default"] = _run("default", clip, work, ROOT, device_args + smoke)
        runs["per-frame"] = _run("per-frame", clip, work, ROOT, device_args + smoke + ["--no-temporal"])
        data[clip.stem] = runs
        for name, run in runs.items():
            rows.append(f"| `{clip.name}` | {name} | {run['ratio']:.3g} | {run['style']:.4f} | {run['spike']:.2f} | "
                        f"{run['evaluations']:.1f} | {run['seconds']:.0f} s |")
    road = road_background(work, budget.stability_frames)
    data["road_background"] = road
    summary = []
    for clip in clips:
        runs = data[clip.stem]
        line = (f"* `{clip.name}`: temporal / per-frame = **{runs['default']['ratio'] / runs['per-frame']['ratio']:.3f}**")
        if "baseline" in runs:
            line += (f" (baseline code: {runs['baseline']['ratio'] / runs['per-frame']['ratio']:.3f}); default vs "
                     f"baseline warping error **{runs['default']['ratio'] / runs['baseline']['ratio']:.2f}x**")
        summary.append(line)
    commands = "\n".join(run["command"] for runs in data.values() if isinstance(runs, dict) and "default" in runs
                         for run in runs.values())
    md = f"""## Temporal stability (issue: stable on real footage)

Three clips, first {budget.stability_frames} frames at long side {budget.stability_size}, Starry Night, every cold
frame {budget.stability_first} iterations, defaults otherwise. *baseline* is the code at commit {common.BASELINE_COMMIT}
(before this work: Ruder's reliability, no style guard, later frames at full size); *default* is this commit;
*per-frame* is this commit with `--no-temporal`. Every output is measured by the same command,
`vidstyle metrics IN OUT --max-size {budget.stability_size} --json` (the fitted reliability), so the columns compare.
`road-{budget.stability_frames}.mp4` is `samples.make.render_road`: a still camera over a low-texture, slightly noisy
road with a textured car crossing it.

| clip | run | E(out)/E(in) | mean style loss, later frames | worst later style / its shot's median | VGG evaluations per later frame | wall time |
|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(summary)}

Reliable fraction of the road (car and margin excluded), per frame pair, mean (min): Ruder's check
{road['ruder'][0]:.2f} ({road['ruder'][1]:.2f}), fitted check **{road['fitted'][0]:.2f} ({road['fitted'][1]:.2f})**
(target at least 0.9).

```
{commands}
```
"""
    return md, data

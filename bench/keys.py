"""Style keys: a clip whose mix changes halfway against the two constant mixes it changes between, by the style
loss against each frame's own target and by the outside rulers; a strip of frames across the change."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np

from . import common
from .common import BOTTLE, ROOT, read_log, rel, run_vidstyle, shown
from .ruler import frames_of, outside_ruler, truth_ruler
from .stability import STYLE_FILE
from .truth import truth_clips

FRAMES = 16
SECOND = "leger"  # the built-in Cubist painting: far from Starry Night, so the change is plain to see
PICTURE = ROOT / "docs" / "keys-ramp.jpg"


def runs_for(frames: int) -> list[tuple[str, list[str]]]:
    """Constant Starry Night, constant Léger, a key halfway (a ramp from the start to it), a switch there (a hold)."""
    half = frames // 2
    return [
        ("constant: Starry Night", []),
        (f"constant: {SECOND}", ["--styles", SECOND]),
        (f"ramp: `--style-key {half}f={SECOND}`", ["--style-key", f"{half}f={SECOND}"]),
        (f"switch: `--style-key {half}f:hold={SECOND}`", ["--style-key", f"{half}f:hold={SECOND}"]),
    ]


def share(label: str, frame: int, frames: int) -> float:
    """How far frame ``frame`` of run ``label`` is toward the second style (0: Starry Night, 1: Léger)."""
    half = frames // 2
    if label.startswith("constant"):
        return 1.0 if SECOND in label else 0.0
    if label.startswith("ramp"):
        return min(1.0, frame / half)
    return 1.0 if frame >= half else 0.0


def _run(clip: Path, index: int, extra: list[str], frames: int, size: int, work: Path, device) -> dict:
    out, log = work / f"keys-{clip.stem}-{index}.mp4", work / f"keys-{clip.stem}-{index}.jsonl"
    budget = common.BUDGET
    styles = [] if "--styles" in extra else ["-s", rel(STYLE_FILE)]
    args = ["video", rel(clip), "-o", rel(out), *styles, "--max-size", str(size), "--end", f"{frames}f",
            "--first-iterations", str(budget.stability_first), "--restart", "--log", rel(log), "--device", device.type,
            *extra, *budget.extra]
    seconds, _ = run_vidstyle(args, ROOT)
    styles_by_frame = {e["frame"]: e["terms"]["style"] for e in read_log(log)}
    return {"out": out, "seconds": seconds, "command": shown(args),
            "style": [styles_by_frame[i] for i in sorted(styles_by_frame)]}


def _strip(run: dict, frames: int) -> Path | None:
    """Every other frame of the ramp up to the key and two after it, at half the source size."""
    from vidstyle.media.images import write_image

    shown_frames = frames_of(run["out"], frames)[0:frames // 2 + 3:2]
    if len(shown_frames) < 3:
        return None
    row = np.concatenate([cv2.resize(f, (f.shape[1] // 3, f.shape[0] // 3), interpolation=cv2.INTER_AREA)
                          for f in shown_frames], 1)
    write_image(PICTURE, row)
    return PICTURE


def keys(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    frames = 6 if budget.smoke else FRAMES
    size = budget.stability_size
    follow = next(t for t in truth_clips(work) if t.name == "follow")
    clips = [("follow", follow.path, follow, follow.title + ": ground truth")]
    if BOTTLE.is_file() and not budget.smoke:
        clips.append((BOTTLE.stem, BOTTLE, None, f"`{BOTTLE.name}` (real): DeepFlow and Ruder's check"))
    data, sections, strip = {}, [], None
    for name, clip, truth, title in clips:
        ruler = truth_ruler(truth, frames) if truth is not None else outside_ruler(clip, frames, work)
        runs = {}
        for index, (label, extra) in enumerate(runs_for(frames)):
            run = _run(clip, index, extra, frames, size, work, device)
            run.update({k: v for k, v in ruler.measure(run["out"]).items() if k in ("ratio", "worst")})
            runs[label] = run
            print(f"[bench]   keys {clip.name}: {label}: {run['ratio']:.3g}", file=sys.stderr, flush=True)
        labels = list(runs)
        first, second = runs[labels[0]]["style"], runs[labels[1]]["style"]
        constant = (runs[labels[0]]["ratio"] + runs[labels[1]]["ratio"]) / 2
        lines = [("| run | style loss / constant mixes' (mean, worst frame) | E(out)/E(in) | / constant mixes' mean | "
                  "worst frame / median | wall time |"), "|---|---|---|---|---|---|"]
        for label in labels:
            run = runs[label]
            # Each frame against the constant runs' loss on that frame, geometric between them as the mix moves.
            ratios = [loss / math.exp((1 - s) * math.log(a) + s * math.log(b))
                      for i, (loss, a, b) in enumerate(zip(run["style"], first, second))
                      for s in [share(label, i, frames)]]
            run["style_ratio_mean"], run["style_ratio_worst"] = float(np.mean(ratios)), float(np.max(ratios))
            lines.append(f"| {label} | {run['style_ratio_mean']:.3f}, {run['style_ratio_worst']:.3f} | "
                         f"{run['ratio']:.3g} | {run['ratio'] / constant:.2f} | {run['worst']:.2f} | "
                         f"{run['seconds']:.0f} s |")
        if name == "follow" and not budget.smoke:
            strip = _strip(runs[labels[2]], frames)
        data[name] = {k: {kk: vv for kk, vv in v.items() if kk != "out"} for k, v in runs.items()}
        sections.append(f"### {title}\n\n" + "\n".join(lines) + "\n")
    commands = "\n".join(r["command"] for runs in data.values() for r in runs.values())
    half = frames // 2
    picture = (f"\n![Frames 0, 2, ..., {half + 2} of clip (b) under the ramp: Starry Night to Léger by frame {half}]"
               f"({rel(strip)})\n" if strip else "")
    md = f"""## Style keys: a mix that changes over the clip

The first {frames} frames, long side {size}, {budget.stability_first} iterations for a cold frame, defaults otherwise.
Four runs a clip: Starry Night all through, Léger's *Contrast of Forms* all through, a key halfway (the mix moves
from Starry Night at frame 0 to Léger at frame {half}, then stays), and a switch there (a hold key). Frames whose mix
changed within the last 3 get 3x the later frames' budget (catching up with the target). *Style loss / constant
mixes'*: each frame's style loss against its own target (the log's), over the constant runs' loss on that frame
(for a frame part of the way, the geometric blend of the two by its share), the mean and the worst frame over the
clip: above 1 where the optimiser lags behind the moving target. The outside rulers as in the stability section;
*/ constant mixes' mean*: over the mean of the two constant runs' E(out)/E(in).
{picture}
{chr(10).join(sections)}
```
{commands}
```
"""
    return md, data

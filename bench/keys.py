"""Style keys: a clip whose mix changes halfway against constant mixes, by the style loss against each frame's own
mix (measured here, from the output, by the full-precision network: not the log's figure) and by the outside
rulers; a strip of frames across the change."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import cv2
import numpy as np
import torch

from vidstyle.config import RunConfig
from vidstyle.core.features import load_extractor
from vidstyle.core.losses import gram, style_loss
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import StyleTargets
from vidstyle.core.tensors import to_tensor
from vidstyle.media.sizes import fit_long_side, resize
from vidstyle.paint.keys import blend

from . import common
from .common import BOTTLE, ROOT, rel, run_vidstyle, shown
from .ruler import frames_of, outside_ruler, truth_ruler
from .stability import STYLE_FILE
from .truth import truth_clips

FRAMES = 16
SECOND = "leger"  # the built-in Cubist painting: far from Starry Night, so the change is plain to see
PICTURE = ROOT / "docs" / "keys-ramp.jpg"
CONSTANT_SHARES = (0.0, 0.5, 1.0)  # the constant mixes run: the two paintings, and half of each


def runs_for(frames: int) -> list[tuple[str, list[str]]]:
    """The constant mixes, a key halfway (a ramp from the start to it) with the default lead and without, and a
    switch there (a hold); the ramp and the switch with a second pass too."""
    half = frames // 2
    return [
        ("constant: Starry Night", []),
        (f"constant: {SECOND}", ["--styles", SECOND]),
        ("constant: half of each", ["--styles", f"{rel(STYLE_FILE)}:0.5,{SECOND}:0.5"]),
        (f"ramp: `--style-key {half}f={SECOND}` (default lead)", ["--style-key", f"{half}f={SECOND}"]),
        ("ramp, `--passes 2`", ["--style-key", f"{half}f={SECOND}", "--passes", "2"]),
        ("ramp, no lead: `--key-lead 0`", ["--style-key", f"{half}f={SECOND}", "--key-lead", "0"]),
        (f"switch: `--style-key {half}f:hold={SECOND}`", ["--style-key", f"{half}f:hold={SECOND}"]),
        ("switch, `--passes 2`", ["--style-key", f"{half}f:hold={SECOND}", "--passes", "2"]),
    ]


def share(label: str, frame: int, frames: int) -> float:
    """How far frame ``frame`` of run ``label`` is toward the second style (0: Starry Night, 1: Léger)."""
    half = frames // 2
    if label.startswith("constant"):
        return 0.5 if "half" in label else 1.0 if SECOND in label else 0.0
    if label.startswith(("ramp", "cross-fade")):
        return min(1.0, frame / half)
    return 1.0 if frame >= half else 0.0


class StyleRuler:
    """Each frame's style loss against the mix ``share`` of the way from Starry Night to Léger, from the decoded
    output at the processing size, with fp32 VGG features (the product's own Gram targets for each mix)."""

    def __init__(self, clip: Path, size: int) -> None:
        self.config = RunConfig()
        self.layers = self.config.loss.style_layers
        self.extractor = load_extractor(self.config.features, self.layers, torch.device("cpu"))
        first = frames_of(clip, 1)[0]
        self.size = fit_long_side(*first.shape[:2], size)
        self.mixes = parse_style_spec(str(STYLE_FILE)), parse_style_spec(SECOND)
        self.targets = StyleTargets(self.extractor, self.config, to_tensor(first))

    def losses(self, frames: list[np.ndarray], shares: list[float]) -> list[float]:
        out = []
        for image, s in zip(frames, shares):
            with torch.no_grad():
                features = self.extractor(to_tensor(resize(image, *self.size)))
                targets = self.targets.get(blend(*self.mixes, s), self.size)
                out.append(float(style_loss({n: gram(features[n]) for n in self.layers}, targets)))
        return out


def reference(constant: dict[float, list[float]], frame: int, s: float) -> float:
    """The constant mixes' style loss on ``frame`` at share ``s``: geometric between the nearest two run."""
    below = max(x for x in CONSTANT_SHARES if x <= s)
    above = min(x for x in CONSTANT_SHARES if x >= s)
    if above == below:
        return constant[below][frame]
    t = (s - below) / (above - below)
    return math.exp((1 - t) * math.log(constant[below][frame]) + t * math.log(constant[above][frame]))


def _run(clip: Path, index: int, extra: list[str], frames: int, size: int, work: Path, device) -> dict:
    out, log = work / f"keys-{clip.stem}-{index}.mp4", work / f"keys-{clip.stem}-{index}.jsonl"
    budget = common.BUDGET
    styles = [] if "--styles" in extra else ["-s", rel(STYLE_FILE)]
    args = ["video", rel(clip), "-o", rel(out), *styles, "--max-size", str(size), "--end", f"{frames}f",
            "--first-iterations", str(budget.stability_first), "--restart", "--log", rel(log), "--device", device.type,
            *extra, *budget.extra]
    seconds, _ = run_vidstyle(args, ROOT)
    return {"out": out, "seconds": seconds, "command": shown(args)}


def _strip(run: dict, frames: int) -> Path | None:
    """Every other frame of the ramp up to the key and two after it, at a third of the source size."""
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
        styles = StyleRuler(clip, size)
        runs, decoded = {}, {}
        for index, (label, extra) in enumerate(runs_for(frames)):
            run = _run(clip, index, extra, frames, size, work, device)
            decoded[label] = frames_of(run["out"], frames)
            runs[label] = run
            print(f"[bench]   keys {clip.name}: {label}: {run['seconds']:.0f} s", file=sys.stderr, flush=True)
        labels = list(runs)
        # the least change a ramp of this length asks: the pixels of the two constant paintings cross-faded
        fade = "cross-fade of the two constant runs' frames along the ramp (no painting)"
        decoded[fade] = [((1 - s) * a.astype(np.float32) + s * b.astype(np.float32)).round().astype(np.uint8)
                         for i, (a, b) in enumerate(zip(decoded[labels[0]], decoded[labels[1]]))
                         for s in [share("cross-fade", i, frames)]]
        runs[fade] = {"seconds": None}
        for label, run in runs.items():
            run.update({k: v for k, v in ruler.measure_frames(decoded[label]).items()
                        if k in ("ratio", "worst", "ratio_still", "worst_still")})
            run["style"] = styles.losses(decoded[label], [share(label, i, frames) for i in range(frames)])
        constant = {share(label, 0, frames): runs[label]["style"] for label in labels[:3]}
        constant_error = float(np.mean([runs[label]["ratio"] for label in labels[:3]]))
        still = clip == BOTTLE
        head = ("| run | style loss / constant mixes' (mean, worst frame) | E(out)/E(in) | / constant mixes' mean | "
                "worst frame / median |" + (" E, zero flow where still | worst / median |" if still else "")
                + " wall time |")
        lines = [head, "|" + "---|" * (head.count("|") - 1)]
        for label, run in runs.items():
            ratios = [loss / reference(constant, i, share(label, i, frames)) for i, loss in enumerate(run["style"])]
            run["style_ratio_mean"], run["style_ratio_worst"] = float(np.mean(ratios)), float(np.max(ratios))
            wall = f"{run['seconds']:.0f} s" if run["seconds"] is not None else ""
            lines.append(f"| {label} | {run['style_ratio_mean']:.3f}, {run['style_ratio_worst']:.3f} | "
                         f"{run['ratio']:.3g} | {run['ratio'] / constant_error:.2f} | {run['worst']:.2f} | "
                         + (f"{run['ratio_still']:.3g} | {run['worst_still']:.2f} | " if still else "")
                         + f"{wall} |")
        if name == "follow" and not budget.smoke:
            strip = _strip(runs[labels[3]], frames)
        data[name] = {k: {kk: vv for kk, vv in v.items() if kk != "out"} for k, v in runs.items()}
        sections.append(f"### {title}\n\n" + "\n".join(lines) + "\n")
    commands = "\n".join(r["command"] for runs in data.values() for r in runs.values() if "command" in r)
    half = frames // 2
    picture = (f"\n![Frames 0, 2, ..., {half + 2} of clip (b) under the ramp: Starry Night to Léger by frame {half}]"
               f"({rel(strip)})\n" if strip else "")
    md = f"""## Style keys: a mix that changes over the clip

The first {frames} frames, long side {size}, {budget.stability_first} iterations for a cold frame, defaults otherwise.
Runs a clip: three constant mixes (Starry Night, Léger's *Contrast of Forms*, half of each), a key halfway (the mix
moves from Starry Night at frame 0 to Léger at frame {half}, then stays) with the default lead (a frame within a ramp
is painted toward the mix `--key-lead` frames ahead, never past the key: the optimiser's lag behind a moving target)
and without it, the same ramp with a second pass (`--passes 2`), and a switch there (a hold key), with one pass and
with two. Frames whose mix changed within the last 3 get 3x the later frames' budget; with later passes to come
they are also held to their neighbours at a quarter of the temporal weight, the key's frame is painted again coarse
to fine, and a later pass looks for a moved mix on both sides and takes no neighbour across a switch. *Style loss /
constant mixes'*: each frame's style loss against the mix the timeline gives that frame,
measured here from the decoded output at the processing size with fp32 features (not the log's figure, which is
against the target the frame was painted toward), over the constant mixes' loss on that frame (for a share between
two constant runs, geometric between them), the mean and the worst frame over the clip: above 1 where the picture
lags behind its mix. The outside rulers as in the stability section; */ constant mixes' mean*: over the mean of
the three constant runs' E(out)/E(in). The *cross-fade* row is no run: the pixels of the two constant runs blended
frame by frame with the ramp's shares, the change that moving from one painting to the other in {half} frames
asks of any method.
{picture}
{chr(10).join(sections)}
```
{commands}
```
"""
    return md, data

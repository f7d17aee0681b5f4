"""Passes over the clip (Ruder's multi-pass) against one pass, by the outside rulers: the exact motion of the
generated clips, DeepFlow with Ruder's check on the real ones; the trail behind a moving object; the first quarter
of a clip against the rest; wall time on the whole-clip clip at 512 px."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from vidstyle.config import RunConfig

from . import common
from .common import AGAIN, BOTTLE, ROOT, mean, read_log, rel, run_vidstyle, shown
from .ruler import frames_of, half_row, outside_ruler, truth_ruler
from .stability import STYLE_FILE
from .truth import Truth, truth_clips

FRAMES = 8  # per clip: the trail shows within a few frames, and Ruder's schedule costs 15 passes of them
RUDER = ["--passes", "15", "--pass-iterations", "100", "--temporal-from-pass", "9"]
BEFORE = "one pass, `--uncover-margin 0` (the default before)"
ROWS: list[tuple[str, list[str]]] = [
    ("one pass (default)", []),
    (BEFORE, ["--uncover-margin", "0"]),
    ("`--passes 2`", ["--passes", "2"]),
    ("`--passes 3`", ["--passes", "3"]),
    ("`--passes 2 --uncover-margin 0`", ["--passes", "2", "--uncover-margin", "0"]),
]
PER_FRAME = ("`--no-temporal` (every frame painted on its own)", ["--no-temporal"])
TRAIL_CLIPS = ("follow", "still-road")  # the trail's floor: every frame painted on its own (8 cold frames a clip)
WHOLE_ROWS = ("one pass (default)", "`--passes 2`", "`--passes 3`")  # timed on the whole clip at 512 px
RUDER_CLIPS = ("follow",)  # Ruder's schedule costs 15 passes of 100 iterations: on clip (b), the trail's clip
WHOLE_FRAMES = 12  # the whole-clip clip at 512 px, one pass against the default multi-pass: wall time
PICTURE = ROOT / "docs" / "passes-follow.jpg"


def uncovered(truth: Truth, frame: int, band: int = 4) -> np.ndarray:
    """``(H, W)`` bool: pixels of ``frame`` off the object that lay under it in an earlier frame of the run (traced
    back along the exact flow), not within ``band`` px of its edge: the road a moving object has uncovered."""
    cover = truth.cover.astype(np.float32)
    height, width = cover.shape[1:]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    px, py = xs.copy(), ys.copy()
    under = np.zeros((height, width), bool)
    for t in range(frame, 0, -1):
        flow = truth.flows[t]
        dx = cv2.remap(flow[..., 0], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        dy = cv2.remap(flow[..., 1], px, py, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        px, py = px + dx, py + dy
        under |= cv2.remap(cover[t - 1], px, py, cv2.INTER_LINEAR, borderValue=0) > 0.5
    near = cv2.dilate((cover[frame] > 0.02).astype(np.uint8), np.ones((2 * band + 1,) * 2, np.uint8)) > 0
    return under & ~near


def trail(truth: Truth, output: Path, frame: int) -> float | None:
    """The RGB distance between the mean paint of the uncovered road and of the road seen all along, in the same
    rows (both off the object by 8 px) at ``frame``: how far behind the object the paint differs."""
    frames = frames_of(output, frame + 1, truth.cover.shape[1:])
    if len(frames) <= frame:
        return None
    behind = uncovered(truth, frame)
    if behind.sum() < 50:
        return None
    rows = np.zeros_like(behind)
    rows[np.nonzero(behind.any(axis=1))[0]] = True
    away = cv2.dilate(((truth.cover[frame] > 0.02) | behind).astype(np.uint8), np.ones((17, 17), np.uint8)) == 0
    seen = rows & away & (uncovered(truth, frame, band=0) == 0)
    if seen.sum() < 50:
        return None
    paint = frames[frame].astype(np.float32)
    return float(np.linalg.norm(paint[behind].mean(axis=0) - paint[seen].mean(axis=0)))


def _run(clip: Path, name: str, extra: list[str], frames: int, size: int, work: Path, device) -> dict:
    out, log = work / f"passes-{clip.stem}-{name}.mp4", work / f"passes-{clip.stem}-{name}.jsonl"
    budget = common.BUDGET
    args = ["video", rel(clip), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end",
            f"{frames}f", "--first-iterations", str(budget.stability_first), "--restart", "--log", rel(log),
            "--device", device.type, *extra, *budget.extra]
    seconds, _ = run_vidstyle(args, ROOT)
    entries = read_log(log)
    last = max(e.get("pass_index", 1) for e in entries)
    final = [e for e in entries if e.get("pass_index", 1) == last]
    return {"out": out, "seconds": seconds, "command": shown(args), "style": mean(e["terms"]["style"] for e in final),
            "content": mean(e["terms"]["content"] for e in final)}


def _measure(run: dict, ruler, truth: Truth | None, frames: int) -> dict:
    measured = ruler.measure(run["out"])
    errors = measured["per_frame"]
    quarter = max(1, len(errors) // 4)
    first, rest = float(np.mean(errors[:quarter])), float(np.mean(errors[quarter:]))
    return {**run, "ratio": measured["ratio"], "worst": measured["worst"], "quarter": first / rest,
            "ratio_still": measured["ratio_still"], "worst_still": measured["worst_still"],
            "trail": None if truth is None else trail(truth, run["out"], frames - 1)}


def _strip(runs: dict[str, dict], frames: int) -> Path | None:
    """Frames 4-7 of clip (b): one pass without the uncovered pixels' margin, one pass, and the default multi-pass."""
    from vidstyle.media.images import write_image

    rows = []
    for name in (BEFORE, "one pass (default)", "`--passes 2`"):
        shown = frames_of(runs[name]["out"], frames)[-4:]
        if len(shown) < 4:
            return None
        rows.append(half_row(shown))
    write_image(PICTURE, np.concatenate(rows, 0))
    return PICTURE


def _whole(work: Path, device) -> dict:
    """One pass, two and three on the whole-clip section's clip at 512 px: the price in wall time."""
    budget = common.BUDGET
    frames, size = (3, 96) if budget.smoke else (WHOLE_FRAMES, 512)
    ruler = outside_ruler(BOTTLE, frames, work)
    runs = {}
    for label, extra in [row for row in ROWS if row[0] in WHOLE_ROWS]:
        out, log = work / f"passes-whole-{len(runs)}.mp4", work / f"passes-whole-{len(runs)}.jsonl"
        args = ["video", rel(BOTTLE), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end",
                f"{frames}f", "--restart", "--log", rel(log), "--device", device.type, *extra, *budget.extra]
        seconds, _ = run_vidstyle(args, ROOT)
        runs[label] = {"seconds": seconds, "ratio": ruler.measure(out)["ratio"], "command": shown(args)}
    return runs


def passes(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    frames = 3 if budget.smoke else FRAMES
    size = budget.stability_size
    clips: list[tuple[str, Path, Truth | None]] = [(t.name, t.path, t) for t in truth_clips(work)]
    clips += [(c.stem, c, None) for c in (BOTTLE, AGAIN) if c.is_file()]
    if budget.smoke:
        clips = clips[1:2]
    data, sections, strip = {}, [], None
    for name, clip, truth in clips:
        ruler = truth_ruler(truth, frames) if truth is not None else outside_ruler(clip, frames, work)
        rows = list(ROWS) + ([("Ruder's schedule (`" + " ".join(RUDER) + "`)", RUDER)]
                             if name in RUDER_CLIPS and not budget.smoke else [])
        rows += [PER_FRAME] if name in TRAIL_CLIPS and not budget.smoke else []
        runs = {}
        for label, extra in rows:
            runs[label] = _measure(_run(clip, label.split("`")[1].replace(" ", "") if "`" in label else "one", extra,
                                        frames, size, work, device), ruler, truth, frames)
            print(f"[bench]   {clip.name}: {label}: {runs[label]['ratio']:.3g}", file=sys.stderr, flush=True)
        data[name] = {k: {kk: vv for kk, vv in v.items() if kk != "out"} for k, v in runs.items()}
        if name == "follow" and not budget.smoke:
            strip = _strip(runs, frames)
        one = runs["one pass (default)"]
        real = truth is None
        still = (" E, zero flow where the input is still | / one pass | worst / median |" if real else "")
        lines = ["| run | E(out)/E(in) | / one pass | worst frame / median | first quarter / rest | trail (RGB) | "
                 "style loss | wall time |" + still, "|---|---|---|---|---|---|---|---|" + ("---|" * 3 if real else "")]
        for label, run in runs.items():
            trail_text = "" if run["trail"] is None else f"{run['trail']:.0f}"
            zeroed = (f" {run['ratio_still']:.3g} | {run['ratio_still'] / one['ratio_still']:.2f} | "
                      f"{run['worst_still']:.2f} |" if real else "")
            lines.append(f"| {label} | {run['ratio']:.3g} | {run['ratio'] / one['ratio']:.2f} | {run['worst']:.2f} | "
                         f"{run['quarter']:.2f} | {trail_text} | {run['style']:.4f} | {run['seconds']:.0f} s |"
                         + zeroed)
        title = truth.title + ": ground truth" if truth is not None else f"`{clip.name}` (real): DeepFlow and Ruder's check"
        sections.append(f"### {title}\n\n" + "\n".join(lines) + "\n")
    whole = _whole(work, device)
    data["whole"] = whole
    commands = "\n".join(r["command"] for runs in data.values() for r in runs.values())
    picture = (f"\n![Frames 4-7 of clip (b): one pass with `--uncover-margin 0` (top), one pass (middle), `--passes 2` "
               f"(bottom)]({rel(strip)})\n" if strip else "")
    later = RunConfig().temporal
    one, two, three = (whole[label] for label in WHOLE_ROWS)
    md = f"""## Passes over the clip: one pass against Ruder's multi-pass

Every clip: the first {frames} frames, Starry Night, long side {size}, {budget.stability_first} iterations for a cold
frame, defaults otherwise; later passes at their defaults (`--pass-iterations {later.pass_iterations} --blend-weight
{later.blend_weight:g} --temporal-from-pass {later.temporal_from_pass}`). Judged by the outside rulers of the stability
section: the exact motion of clips (a)-(e),
DeepFlow and Ruder's check on the real clips, at the input's size. *Trail*: on the clips with a moving object, the
RGB distance between the mean paint of the road the object has uncovered by the last frame (traced back along the
exact flow to where the object covered it) and the road seen all along in the same rows. *First quarter / rest*:
the mean error of the first quarter of the frame pairs over the rest's (the first frames are the least constrained
in one forward pass). *Style loss*: the mean over the last pass's frames. The rows with `--uncover-margin 0` fill
only the pixels an object uncovered (the default before), not the {RunConfig().temporal.uncover_margin} px of surface
beside them that carried the object's halo (`vidstyle/motion/uncover.py`); on clips (b) and (d) `--no-temporal`
paints every frame on its own, the trail's floor. Ruder's schedule (15 passes of 100
iterations, the temporal term from pass 9) starts here from our forward pass, not from noise. On the real clips,
*E, zero flow where the input is still*: the same ruler with zero motion at the pixels the flow-free check finds
unchanged in the input (a still camera only; `bench/ruler.py`, `_still_zero`): DeepFlow reports motion of
several pixels on the flat, still wall of `bottle-detection.mp4`, Ruder's check passes it, and still paint warped
by it counts as error there.
{picture}
{chr(10).join(sections)}
### Wall time on the whole-clip clip

`{rel(BOTTLE)}`, the first {WHOLE_FRAMES} frames at 512 px, every default but the passes: one pass
{one["seconds"]:.0f} s, `--passes 2` {two["seconds"]:.0f} s (**{two["seconds"] / one["seconds"]:.2f}x**), `--passes 3` \
{three["seconds"]:.0f} s
(**{three["seconds"] / one["seconds"]:.2f}x**); by DeepFlow and Ruder's check {one["ratio"]:.3g}, {two["ratio"]:.3g} and
{three["ratio"]:.3g} times the input's warping error.

```
{commands}
```
"""
    return md, data

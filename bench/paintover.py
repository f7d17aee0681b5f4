"""Painted-over frames: a mark painted on one frame of a ground-truth clip, and where the frames around it carry it,
against the exact motion; and how much the frames away from the mark change."""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from . import common
from .common import ROOT, rel, run_vidstyle, shown
from .ruler import frames_of
from .stability import STYLE_FILE
from .truth import Truth, truth_clips

FRAMES, EDITED, REACH = 24, 12, 8  # the edit on frame 12; frames 4-20 are measured as its neighbours
SIZE = 320  # processing long side (the clip is 640x360: the measure runs at the input's size)
RADIUS = 12  # px at the input's size
MARK = (255, 0, 255)  # magenta: in neither painting
PICTURE = ROOT / "docs" / "paint-over.jpg"


def _disc(truth: Truth, frame: int) -> np.ndarray:
    """A mark on the road in ``frame``: off the object by a margin, near the middle of the frame."""
    height, width = truth.cover.shape[1:]
    clear = cv2.erode((truth.cover[frame] < 0.02).astype(np.uint8), np.ones((4 * RADIUS + 1,) * 2, np.uint8))
    ys, xs = np.nonzero(clear[height // 2:, width // 4: 3 * width // 4])
    if len(ys) == 0:
        raise RuntimeError("no road clear of the object to paint on")
    pick = np.argmin((ys - height // 4) ** 2 + (xs - width // 4) ** 2)
    centre = (int(xs[pick] + width // 4), int(ys[pick] + height // 2))
    mask = np.zeros((height, width), np.float32)
    cv2.circle(mask, centre, RADIUS, 1.0, -1)
    return mask


def _carried(truth: Truth, mask: np.ndarray, colour: np.ndarray, start: int, count: int) -> dict[int, tuple]:
    """``{frame: (mask, colour)}``: the mark and its paint moved from ``start`` by the exact motion, forwards by
    the backward flows' lookup, backwards by splatting along them."""
    height, width = mask.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    out = {start: (mask, colour)}
    current_mask, current_colour = mask, colour
    for t in range(start + 1, count):
        flow = truth.flows[t]
        mx, my = xs + flow[..., 0], ys + flow[..., 1]
        current_mask = cv2.remap(current_mask, mx, my, cv2.INTER_LINEAR, borderValue=0) * truth.valid[t]
        current_colour = cv2.remap(current_colour, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        out[t] = (current_mask, current_colour)
    current_mask, current_colour = mask, colour
    for t in range(start, 0, -1):  # frame t's pixel y came from y + flow_t(y) in frame t - 1
        flow = truth.flows[t]
        tx = np.rint(xs + flow[..., 0]).astype(int)
        ty = np.rint(ys + flow[..., 1]).astype(int)
        inside = (tx >= 0) & (tx < width) & (ty >= 0) & (ty < height) & truth.valid[t] & (current_mask > 0.5)
        previous_mask = np.zeros_like(current_mask)
        previous_colour = np.zeros_like(current_colour)
        previous_mask[ty[inside], tx[inside]] = 1.0
        previous_colour[ty[inside], tx[inside]] = current_colour[inside]
        previous_mask = cv2.erode(cv2.dilate(previous_mask, np.ones((3, 3))), np.ones((3, 3)))  # close splat holes
        current_mask, current_colour = previous_mask, previous_colour
        out[t - 1] = (current_mask, current_colour)
    return out


def _run(truth: Truth, name: str, extra: list[str], work: Path, device, frames: int) -> tuple[Path, dict]:
    out = work / f"paintover-{name}.mp4"
    budget = common.BUDGET
    args = ["video", rel(truth.path), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size",
            str(96 if budget.smoke else SIZE), "--end", f"{frames}f", "--passes", "2", "--keep-frames",
            "--device", device.type, *extra, *budget.extra]
    seconds, _ = run_vidstyle(args, ROOT)
    return out, {"seconds": seconds, "command": shown(args)}


def paint_over(work: Path, device) -> tuple[str, dict]:
    from vidstyle.media.images import read_image, write_image
    from vidstyle.media.sizes import resize
    from vidstyle.video.checkpoint import work_dir_for

    smoke = common.BUDGET.smoke
    frames, edited, reach = (8, 4, 3) if smoke else (FRAMES, EDITED, REACH)
    truth = next(t for t in truth_clips(work) if t.name == "follow")
    height, width = truth.cover.shape[1:]
    import shutil

    for name in ("plain", "edited"):
        shutil.rmtree(work_dir_for(work / f"paintover-{name}.mp4"), ignore_errors=True)
    plain, plain_run = _run(truth, "plain", [], work, device, frames)
    # The artist's edit: the plain run's final frame, a magenta disc painted on the road.
    final = read_image(work_dir_for(plain) / "pass2" / f"{edited:06d}.png")
    mask = _disc(truth, edited)
    big = resize(final, height, width).astype(np.float32)
    big = big * (1 - mask[..., None]) + np.array(MARK, np.float32) * mask[..., None]
    edit = resize(np.clip(big, 0, 255).astype(np.uint8), *final.shape[:2])
    edit_file = work / "paintover-edit.png"
    write_image(edit_file, edit)
    # The same clip with the edit: a copy of the plain run's work folder, so the rerun redoes from the edit on.
    shutil.copytree(work_dir_for(plain), work_dir_for(work / "paintover-edited.mp4"))
    (work_dir_for(work / "paintover-edited.mp4") / "lock").unlink(missing_ok=True)
    edited_out, edited_run = _run(truth, "edited", ["--paint-over", f"{edited}={rel(edit_file)}"], work, device,
                                  frames)
    carried = _carried(truth, mask, resize(edit, height, width).astype(np.float32), edited, frames)
    a, b = frames_of(plain, frames, (height, width)), frames_of(edited_out, frames, (height, width))
    rows, data = [], {"plain": plain_run, "edited": edited_run, "offsets": {}}
    reach_mask = np.zeros((height, width), bool)
    for frame in range(frames):
        mark, colour = carried.get(frame, (np.zeros((height, width), np.float32), None))
        inside = mark > 0.5
        reach_mask |= cv2.dilate(inside.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
        if colour is None or inside.sum() < 20 or frame == edited:
            continue
        error_a = float(np.abs(a[frame].astype(np.float32) - colour)[inside].mean())
        error_b = float(np.abs(b[frame].astype(np.float32) - colour)[inside].mean())
        data["offsets"][frame - edited] = {"with": error_b, "without": error_a, "pixels": int(inside.sum())}
    away = [frame for frame in range(frames) if abs(frame - edited) > reach]
    outside = ~reach_mask
    change_away = [float(np.abs(a[f].astype(np.float32) - b[f].astype(np.float32))[outside].mean()) for f in away]
    change_near = [float(np.abs(a[f].astype(np.float32) - b[f].astype(np.float32))[outside].mean())
                   for f in range(frames) if 0 < abs(f - edited) <= reach]
    data["change_away"], data["change_near"] = change_away, change_near
    for offset in sorted(data["offsets"]):
        if abs(offset) > reach:
            continue
        entry = data["offsets"][offset]
        rows.append(f"| {offset:+d} | {entry['with']:.1f} | {entry['without']:.1f} | "
                    f"{entry['with'] / entry['without']:.2f} | {entry['pixels']} |")
        print(f"[bench]   paint-over {offset:+d}: {entry['with']:.1f} vs {entry['without']:.1f}", file=sys.stderr,
              flush=True)
    strip = None
    if not smoke:
        shown_frames = [edited - 4, edited - 2, edited, edited + 2, edited + 4]
        strip_rows = [np.concatenate([cv2.resize(x[f], (width // 3, height // 3), interpolation=cv2.INTER_AREA)
                                      for f in shown_frames], 1) for x in (a, b)]
        write_image(PICTURE, np.concatenate(strip_rows, 0))
        strip = PICTURE
    picture = (f"\n![Frames {edited - 4}, {edited - 2}, {edited} (the edit), {edited + 2}, {edited + 4}: without the "
               f"edit (top), with it (bottom)]({rel(strip)})\n" if strip else "")
    away_text = f"{np.mean(change_away):.2f}" if change_away else "n/a"
    md = f"""## Painted-over frames: the clip follows an edit

Clip (b) of the stability section (the camera follows an object over a road; 640x360, exact motion known), the
first {frames} frames at long side {96 if smoke else SIZE}, Starry Night, `--passes 2`, defaults otherwise. The
artist's edit: frame {edited} of the finished run with a magenta disc (radius {RADIUS} px at the input's size)
painted on the road, given back with `--paint-over {edited}=edit.png` to the same work folder (the run redoes the
first pass from frame {edited} and the second pass). Each frame's error is the mean RGB distance, inside the disc
carried to that frame by the exact motion (forwards along the flow, backwards by splatting), between the output
and the edit carried the same way, at the input's size: *with* the edit against *without* it (the plain run,
whose paint there is the road's). Below 1: the frame shows the edit where the motion took it.

| frame - {edited} | with the edit | without | ratio | mark pixels |
|---|---|---|---|---|
{chr(10).join(rows)}

Outside the mark's reach (the carried disc dilated by 20 px), the mean RGB change the edit made: {away_text} levels
on frames more than {reach} away, {np.mean(change_near) if change_near else float('nan'):.2f} on the frames within
{reach}. Wall time: {plain_run['seconds']:.0f} s the plain run, {edited_run['seconds']:.0f} s the rerun with the edit.
{picture}
```
{plain_run['command']}
{edited_run['command']}
```
"""
    return md, data

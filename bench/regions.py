"""A region picked on one frame, followed through the clip: IoU with the object's exact mask (the ground-truth
clips with a moving object) and with the person model's masks (a real clip of a signer), this code against the
code before it, each through its own ``vidstyle mask``."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from vidstyle.media.decode import iter_frames
from vidstyle.media.images import read_image, write_image
from vidstyle.media.sizes import processing_size, resize

from . import common
from .common import AGAIN, rel, run_vidstyle
from .truth import truth_clips

PREVIOUS = "033e546"  # the code before the re-fit (masks warped backward along the flow, then hysteresis)
SIZE = 512  # the default --max-size
PAD = 0.04  # a box drawn around the object: its frame-0 extent and this fraction of the frame's width on each side


def _reference(path: Path, size: int, cover: np.ndarray | None) -> tuple[list[np.ndarray], tuple[int, int, int]]:
    """The masks a followed region is judged against, at the processing size, and ``(height, width, frames)``."""
    frames = list(iter_frames(path))
    height, width = processing_size(*frames[0].shape[:2], size)
    if cover is not None:
        masks = [cv2.resize(c.astype(np.float32), (width, height), interpolation=cv2.INTER_AREA) >= 0.5
                 for c in cover[:len(frames)]]
    else:
        from vidstyle.regions.person import PersonSegmenter

        segment, small = PersonSegmenter(), [resize(f, height, width) for f in frames]
        masks = [m >= 0.5 for i in range(0, len(small), 8) for m in segment(small[i:i + 8])]
    return masks, (height, width, len(frames))


def _prompts(first: np.ndarray, source_size: tuple[int, int], work: Path, name: str) -> dict[str, list[str]]:
    """The three ways a user picks the region on frame 0, as ``vidstyle mask`` options in source pixels."""
    height, width = first.shape
    scale = source_size[1] / width
    ys, xs = np.nonzero(first)
    pad = PAD * width
    x0, y0 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    x1, y1 = min(width - 1, xs.max() + pad), min(height - 1, ys.max() + pad)
    box = [round(v * scale) for v in (x0, y0, x1 - x0, y1 - y0)]
    click = [round(np.median(xs) * scale), round(np.median(ys) * scale)]
    brushed = work / f"regions-{name}-brushed.png"
    write_image(brushed, cv2.resize(first.astype(np.uint8) * 255, source_size[::-1], interpolation=cv2.INTER_NEAREST))
    return {"GrabCut box": ["--grabcut", ",".join(map(str, box))],
            "GrabCut click": ["--grabcut", ",".join(map(str, click))],
            "brushed mask": ["--mask", rel(brushed), "--mask-keyframe", "0"]}


def _former_click(options: list[str], source_size: tuple[int, int]) -> list[str]:
    """The former studio turned a click into a box of a third of the frame around it (the CLI took boxes only)."""
    x, y = map(int, options[1].split(","))
    h, w = source_size
    bw, bh = max(1, w // 3), max(1, h // 3)
    box = (min(max(0, x - bw // 2), w - bw), min(max(0, y - bh // 2), h - bh), bw, bh)
    return ["--grabcut", ",".join(map(str, box))]


def _followed(code: Path, clip: Path, options: list[str], out: Path, size: int) -> tuple[list[np.ndarray], float]:
    seconds, _ = run_vidstyle(["mask", rel(clip), "-o", rel(out), "--max-size", str(size), "--device", "cpu",
                               *options], code)
    return [read_image(p)[..., 0] >= 128 for p in sorted(out.glob("[0-9]*.png"))], seconds


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / max(1, (a | b).sum()))


def regions(work: Path, device) -> tuple[str, dict]:
    smoke = common.BUDGET.smoke
    size = 96 if smoke else SIZE
    previous = common.checkout(work, PREVIOUS)
    clips = [(t.path, t.title, t.cover) for t in truth_clips(work) if t.cover.max() > 0]
    clips.append((AGAIN, "`again.mkv` (real), against the person model's masks", None))
    if smoke:
        clips = clips[:1]
    rows, data = [], {}
    for index, (clip, title, cover) in enumerate(clips):
        reference, (height, width, count) = _reference(clip, size, cover)
        source = next(iter_frames(clip)).shape[:2]
        name = Path(clip).stem
        for how, options in _prompts(reference[0], source, work, name).items():
            cells = []
            for label, code, given in (("before", previous, options if how != "GrabCut click" else
                                        _former_click(options, source)), ("now", common.ROOT, options)):
                if code is None:
                    continue
                out = work / f"regions-{name}-{how.replace(' ', '-')}-{label}"
                for old in out.glob("*"):
                    old.unlink()
                masks, seconds = _followed(code, clip, given, out, size)
                scores = [_iou(m, r) for m, r in zip(masks, reference)]
                data[f"{name}/{how}/{label}"] = scores
                cells.append(f"{np.mean(scores):.3f} (worst {min(scores):.3f}, last {scores[-1]:.3f}; "
                             f"{seconds / count * 1000:.0f} ms/frame)")
            rows.append(f"| {title} | {how} | " + " | ".join(cells) + " |")
    table = "\n".join(["| clip | picked as | before (033e546) | now |", "| --- | --- | --- | --- |", *rows])
    markdown = f"""## Regions: a region picked on one frame follows its object

Each region is picked on frame 0 as a user would: a GrabCut box around the object (its extent and {PAD:.0%} of the
width on each side), a single GrabCut click (on the middle of the object) or a brushed mask (the object's own
mask), then followed through the whole clip by `vidstyle mask --max-size {size}` of each code. The figure is the
intersection over union with the object's exact mask (ground-truth clips) or with the person model's mask of each
frame (`again.mkv`, where the signer's arms move), averaged over the clip, with the worst and the last frame.
*Before* is the code at {PREVIOUS}: the mask warped backward along the flow, re-thresholded; a click was a box of a
third of the frame (the studio's). *Now*: carried forward along the flow and re-fitted by GrabCut seeded by the
carried mask, judged by the colours of the object and its background on frame 0 (`vidstyle/regions/track.py`); a
click is a box of two thirds of the frame whose clicked spot is the object. Times include decoding and the flow,
on this machine's CPU.

{table}

What to read in it: a backward warp fetches the object's mask into the background it uncovers, so a region picked
on a moving object drags a growing band behind it (the worst frame of *before* is its last); carried forward it
leaves none, and the re-fit puts back what the flow loses on thin, fast parts (the signer's arms). The re-fit's edge
is GrabCut's, not the drawn one: where a brushed mask was exact and the flow tracked the object well, it can cost a
few points. A single click cannot say how large the object is; two corners can.
"""
    return markdown, {k: round(float(np.mean(v)), 3) for k, v in data.items()}

"""A mix of styles on the README's first command: the whole-image mix (default) against ``--even-mix``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from vidstyle.config import StyleConfig
from vidstyle.core.features import VGGFeatures
from vidstyle.core.losses import masked_gram, style_loss
from vidstyle.core.styles import parse_style_spec
from vidstyle.core.targets import load_style_images, mixed_gram_targets
from vidstyle.core.tensors import to_tensor
from vidstyle.core.weights import load_embedded
from vidstyle.media.images import write_image
from vidstyle.media.sheet import contact_sheet
from vidstyle.regions.guides import even_regions

from . import common
from .common import ROOT, rel, run_vidstyle, shown
from .ruler import frames_of, outside_ruler

SAMPLE = ROOT / "samples" / "clip.mp4"
MIX = "vangogh:0.6,picasso:0.4"
LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")  # the default style layers
SHOWN = (0, 8, 16, 23)
PICTURE = ROOT / "docs" / "even-mix.jpg"


@torch.no_grad()
def part_errors(frames: list[np.ndarray]) -> list[list[float]]:
    """Per frame, the style term of each part of ``even_regions`` against the mix: how far each part of the
    picture is from holding the whole mix (the quantity ``--even-mix`` asks for; not an outside ruler)."""
    extractor = VGGFeatures(load_embedded(), LAYERS)
    entries = parse_style_spec(MIX)
    images = load_style_images(entries, to_tensor(frames[0]), StyleConfig())
    targets = mixed_gram_targets(extractor, images, [e.weight for e in entries], LAYERS)
    parts = even_regions(targets, frames[0].shape[:2], LAYERS, torch.device("cpu"))
    out = []
    for frame in frames:
        features = extractor(to_tensor(frame))
        out.append([float(style_loss({n: masked_gram(features[n], part.guides[n]) for n in LAYERS}, part.targets))
                    for part in parts])
    return out


def mix(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    count = 3 if budget.smoke else 24
    ruler = outside_ruler(SAMPLE, count, work)
    runs = {}
    for name, extra in (("default", []), ("`--even-mix`", ["--even-mix"])):
        out, log = work / f"mix-{len(runs)}.mp4", work / f"mix-{len(runs)}.jsonl"
        args = ["video", rel(SAMPLE), "--styles", MIX, "-o", rel(out), "--end", f"{count}f", "--restart", "--log",
                rel(log), "--device", device.type, *extra, *budget.extra]
        seconds, _ = run_vidstyle(args, ROOT)
        frames = frames_of(out, count)
        errors = np.array(part_errors(frames))
        runs[name] = {"command": shown(args), "seconds": seconds, "ratio": ruler.measure(out)["ratio"],
                      "part_mean": float(errors.mean()), "part_worst": float((errors.max(1) / errors.mean(1)).mean()),
                      "frames": frames}
    rows = [f"| {name} | {r['seconds']:.0f} s | {r['ratio']:.3g} | {r['part_mean']:.3f} | {r['part_worst']:.2f} |"
            for name, r in runs.items()]
    d, e = runs["default"], runs["`--even-mix`"]
    sheet = contact_sheet([[(f, f"{name.strip('`')}, frame {i}") for i, f in enumerate(r["frames"]) if i in SHOWN]
                           for name, r in runs.items()], tile_height=144)
    PICTURE.parent.mkdir(exist_ok=True)
    write_image(PICTURE, sheet)
    md = f"""## A mix of styles: the whole image, or every part of it

The README's first command (`{rel(SAMPLE)}`, {count} frames at 256x144, `--styles {MIX}`), and the same with
`--even-mix`, which asks each of six overlapping parts of the frame for the mix (guided Grams). *E(out)/E(in)*
is the warping error by DeepFlow and Ruder's check on the input, over the input's own (the outside ruler).
*Part error* is the relative Gram error of each part against the mix, at the source size: the mean over parts
and frames, and the worst part over the frame's mean (1: every part holds the mix alike). It is what
`--even-mix` optimises, so it shows that the option does what it says, not that it looks better: see the frames
below.

| run | wall time | E(out)/E(in) | part error, mean | worst part / mean |
|---|---|---|---|---|
{chr(10).join(rows)}

* `--even-mix` takes **{e['seconds'] / d['seconds']:.2f}x** the default's wall time, for {e['ratio'] / d['ratio']:.2f}x its
  warping error and {e['part_worst']:.2f} against {d['part_worst']:.2f} for the worst part.

![Frames {', '.join(map(str, SHOWN))}: the default (top) and --even-mix (bottom)]({PICTURE.relative_to(ROOT)})

```
{chr(10).join(r['command'] for r in runs.values())}
```
"""
    return md, {name: {k: v for k, v in r.items() if k != "frames"} for name, r in runs.items()}

"""A whole `vidstyle video` run (decode to encode), the code before the speed work against this commit, side by
side on a clip with a moving camera (ground truth) and one with moving objects (real, DeepFlow), at each size."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from . import common
from .common import BOTTLE, ROOT, later, mean, read_log, rel, run_vidstyle, shown
from .ruler import frames_of, outside_ruler, truth_ruler
from .stability import STYLE_FILE
from .truth import truth_clips

CAMERA = "pan-zoom"  # the ground-truth clip whose camera moves (a real photo, panned and zoomed)
# Each code runs this many times, the two codes alternating, and the fastest run of each counts: on this machine one
# run of the same code at 512 px varied by up to 10% from the next (a later frame 2.0-2.3 s), which is more than the
# changes this section is asked to show. The outputs of the runs are the same, byte for byte.
REPEATS = 2


def _run(clip: Path, name: str, size: int, work: Path, code: Path, extra: list[str], ruler) -> dict:
    budget = common.BUDGET
    out, log = work / f"clip-{clip.stem}-{size}-{name}.mp4", work / f"clip-{clip.stem}-{size}-{name}.jsonl"
    args = ["video", rel(clip), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end",
            f"{budget.clip_frames}f", "--restart", "--log", rel(log), *extra]
    seconds, _ = run_vidstyle(args, code)
    measured = ruler.measure(out)
    entries = read_log(log)
    warm = later(entries)
    first = entries[0]["terms"]
    return {"command": shown(args), "out": out, "seconds": seconds, "ratio": measured["ratio"],
            "style": mean(e["terms"]["style"] for e in warm), "content": mean(e["terms"]["content"] for e in warm),
            "first": entries[0]["seconds"], "later": mean(e["seconds"] for e in warm),
            "first_loss": first["style"] + first["content"], "evaluations": mean(e["evaluations"] for e in warm)}


def clip(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    before = common.checkout(work, common.SPEED_COMMIT) if budget.clip_baseline else None
    extra = ["--device", device.type] + budget.extra
    camera = truth_clips(work, names=(CAMERA,))[0]
    clips = [(camera.path, "moving camera, ground truth", truth_ruler(camera, budget.clip_frames)),
             (BOTTLE, "moving objects, real (DeepFlow)", outside_ruler(BOTTLE, budget.clip_frames, work))]
    data, rows, verdicts = {}, [], []
    for path, title, ruler in clips:
        for size in budget.clip_sizes:
            codes = ([("before", "before", before)] if before is not None else []) + [("this commit", "default", ROOT)]
            tries: dict[str, list[dict]] = {label: [] for label, _, _ in codes}
            for _ in range(1 if budget.smoke else REPEATS):
                for label, name, code in codes:
                    tries[label].append(_run(path, name, size, work, code, extra, ruler))
            runs = {label: {**min(runs_of, key=lambda r: r["seconds"]), "walls": [r["seconds"] for r in runs_of]}
                    for label, runs_of in tries.items()}
            data[f"{path.stem}-{size}"] = runs
            for name, run in runs.items():
                each = ", ".join(f"{w:.0f}" for w in run["walls"])
                rows.append(f"| `{path.name}` ({title}) | {size} | {name} | {run['seconds']:.0f} s ({each}) | "
                            f"{run['first']:.1f} s | {run['later']:.2f} s | {run['evaluations']:.1f} | "
                            f"{run['ratio']:.3g} | {run['first_loss']:.4f} | {run['style']:.4f} | "
                            f"{run['content']:.3f} |")
            if "before" not in runs:
                continue
            b, d = runs["before"], runs["this commit"]
            count = budget.clip_frames
            apart = max(int(np.abs(x.astype(np.int16) - y.astype(np.int16)).max())
                        for x, y in zip(frames_of(b["out"], count), frames_of(d["out"], count)))
            first_loss = (d['first_loss'] / b['first_loss'] - 1) * 100
            verdicts.append(f"* `{path.name}`, {size} px: wall time **{d['seconds'] / b['seconds']:.2f}x**; first "
                            f"frame {d['first'] / b['first']:.2f}x (its loss {first_loss:+.1f}%); "
                            f"later frame {d['later'] / b['later']:.2f}x; outside ruler's error "
                            f"**{d['ratio'] / b['ratio']:.2f}x**; later-frame style loss "
                            f"{(d['style'] / b['style'] - 1) * 100:+.1f}%, content loss "
                            f"{(d['content'] / b['content'] - 1) * 100:+.1f}%; decoded frames at most {apart} grey "
                            f"levels apart{' (the same output)' if apart == 0 else ''}.")
    commands = "\n".join(run["command"] for runs in data.values() for run in runs.values())
    skipped = "" if before is not None else (f" This run has no *before* rows (`--clip-without-baseline`, or no git "
                                             f"history for {common.SPEED_COMMIT}).")
    md = f"""## Whole clip: wall time and quality, side by side

The first {budget.clip_frames} frames of two clips, Starry Night, every default (output at the source size with its
encode), this commit against *before*: the code at commit {common.SPEED_COMMIT} (before the speed work of the
issue "Speed III"), run from a git worktree in the same bench run. Warping error at the input's size by the outside
rulers: the exact motion of the ground-truth clip, DeepFlow with Ruder's check on the real one, over the input's
own. *First frame*: its seconds in the log (the cold start and its settling); *its loss*: the style plus content
terms it ended at (both codes log the same terms). Later frames are every frame but the first. Each code ran
{1 if budget.smoke else REPEATS} times, the two alternating; the fastest run counts (each run's wall time in brackets:
one run of the same code varies by up to 10% here), its frames' seconds with it.{skipped}

| clip | long side | code | wall time | first frame | later frame (mean) | VGG evaluations per later frame | E(out)/E(in) | first frame: style + content | mean style loss, later | mean content loss, later |
|---|---|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts)}

```
{commands}
```
"""
    return md, data

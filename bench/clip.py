"""A whole `vidstyle video` run (decode to encode), the baseline code against this commit, on the same clip."""

from __future__ import annotations

from pathlib import Path

from . import common
from .common import BOTTLE, ROOT, later, mean, read_log, rel, run_vidstyle, shown
from .ruler import outside_ruler
from .stability import HALF_FLAGS, STYLE_FILE


def _run(name: str, size: int, work: Path, code: Path, extra: list[str], ruler) -> dict:
    budget = common.BUDGET
    out, log = work / f"clip-{size}-{name}.mp4", work / f"clip-{size}-{name}.jsonl"
    args = ["video", rel(BOTTLE), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(size), "--end",
            f"{budget.clip_frames}f", "--restart", "--log", rel(log), *extra]
    seconds, _ = run_vidstyle(args, code)
    measured = ruler.measure(out)
    entries = read_log(log)
    warm = later(entries)
    return {"command": shown(args), "seconds": seconds, "ratio": measured["ratio"],
            "style": mean(e["terms"]["style"] for e in warm), "content": mean(e["terms"]["content"] for e in warm),
            "first": entries[0]["seconds"], "later": mean(e["seconds"] for e in warm),
            "first_loss": entries[0]["loss"], "evaluations": mean(e["evaluations"] for e in warm)}


HALF = f"`{' '.join(HALF_FLAGS)}`"  # the former default, a candidate at its price in time


def clip(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    codes = {"baseline": common.checkout(work, common.BASELINE_COMMIT) if budget.clip_baseline else None,
             "before": common.checkout(work, common.BEFORE_COMMIT)}
    base_extra = ["--device", device.type] + (["--first-iterations", "3", "--iterations", "2"] if budget.smoke else [])
    new_extra = ["--device", device.type] + budget.extra
    ruler = outside_ruler(BOTTLE, budget.clip_frames, work)
    data, rows, verdicts = {}, [], []
    for size in budget.clip_sizes:
        runs = {}
        for name, code in codes.items():
            if code is not None:
                runs[name] = _run(name, size, work, code, base_extra if name == "baseline" else new_extra, ruler)
        runs["default"] = _run("default", size, work, ROOT, new_extra, ruler)
        if not budget.candidates or "later-scales" in budget.candidates:  # a candidate, at its price in time
            runs[HALF] = _run("later-scales-2", size, work, ROOT, new_extra + HALF_FLAGS, ruler)
        data[size] = runs
        for name, run in runs.items():
            rows.append(f"| {size} | {name} | {run['seconds']:.0f} s | {run['first']:.1f} s | {run['later']:.2f} s | "
                        f"{run['evaluations']:.1f} | {run['ratio']:.3g} | {run['style']:.4f} | {run['content']:.3f} |")
        if "baseline" in runs:
            b, d = runs["baseline"], runs["default"]
            verdicts.append(f"* {size} px: wall time **{d['seconds'] / b['seconds']:.2f}x** the baseline's; "
                            f"warping-error ratio {d['ratio'] / b['ratio']:.2f}x; later-frame style loss "
                            f"{(d['style'] / b['style'] - 1) * 100:+.1f}%; first frame {d['first']:.0f} s vs "
                            f"{b['first']:.0f} s; later frames {d['later']:.1f} s vs {b['later']:.1f} s.")
        if "before" in runs:
            b, d = runs["before"], runs["default"]
            verdicts.append(f"* {size} px against the code before this work ({common.BEFORE_COMMIT}): wall time "
                            f"**{d['seconds'] / b['seconds']:.2f}x**; warping-error ratio {d['ratio'] / b['ratio']:.2f}x; "
                            f"later-frame style loss {(d['style'] / b['style'] - 1) * 100:+.1f}%.")
        if HALF not in runs:
            continue
        b, d = runs["default"], runs[HALF]
        verdicts.append(f"* {size} px, {HALF} takes **{d['seconds'] / b['seconds']:.2f}x** the default's "
                        f"wall time (later frames {d['later']:.1f} s vs {b['later']:.1f} s) for "
                        f"{d['ratio'] / b['ratio']:.2f}x its warping-error ratio.")
    commands = "\n".join(run["command"] for runs in data.values() for run in runs.values())
    skipped = "" if budget.clip_baseline else (f" This run has no *baseline* row (`--clip-without-baseline`: the code "
                                               f"at {common.BASELINE_COMMIT} is the slowest to run).")
    md = f"""## Whole clip: wall time and quality, side by side

`{rel(BOTTLE)}`, first {budget.clip_frames} frames, Starry Night, every default (output at the source size with
its encode). *baseline* runs the code at commit {common.BASELINE_COMMIT} (before the stability and speed work),
*before* the code at {common.BEFORE_COMMIT} (before the independent ruler), *default* this commit. All are measured
alike: warping error at the input's size with DeepFlow and Ruder's check on the input (the outside ruler), over
the input's own. Later frames are every frame but the first.{skipped}

| long side | code | wall time | first frame | later frame (mean) | VGG evaluations per later frame (any size) | E(out)/E(in) | mean style loss, later | mean content loss, later |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

{chr(10).join(verdicts)}

```
{commands}
```
"""
    return md, data

"""Temporal stability by rulers the pipeline did not make: generated clips with ground-truth motion, and real
clips measured with DeepFlow and Ruder's check. One table per clip, every row measured side by side."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from . import common
from .common import AGAIN, BOTTLE, ROOT, mean, read_log, rel, run_vidstyle, shown
from .ruler import outside_ruler, own_ratio, sharpness, truth_ruler
from .truth import truth_clips

STYLE_FILE = ROOT / "vidstyle" / "assets" / "paintings" / "vangogh.jpg"  # the baseline has no built-in paintings
# The former default for later frames (most iterations at half size): a candidate here and in the whole clip.
HALF_FLAGS = ["--later-scales", "2", "--iterations", "100"]
# What this work tried, each against the default (BENCHMARKS.md says which won and why).
CANDIDATES: list[tuple[str, list[str]]] = [
    ("flow at the processing size (`--flow-size 0`)", ["--flow-size", "0"]),
    ("no region fill (`--reliability ruder`)", ["--reliability", "ruder"]),
    ("DeepFlow (`--flow deepflow`)", ["--flow", "deepflow"]),
    (f"later frames mostly at half size, the former default (`{' '.join(HALF_FLAGS)}`)", HALF_FLAGS),
    ("Ruder's warped start where an object uncovers the scene (`--no-fill-uncovered`)", ["--no-fill-uncovered"]),
]


def _args(clip: Path, out: Path, log: Path, frames: int, extra: list[str]) -> list[str]:
    budget = common.BUDGET
    return ["video", rel(clip), "-o", rel(out), "-s", rel(STYLE_FILE), "--max-size", str(budget.stability_size),
            "--end", f"{frames}f", "--first-iterations", str(budget.stability_first), "--restart", "--log", rel(log),
            *extra]


def _oracle(clip: Path, truth_npz: Path, out: Path, log: Path, frames: int, device) -> tuple[float, str]:
    """The pipeline fed the exact flow (bench.oracle, in a fresh process like the CLI rows)."""
    budget = common.BUDGET
    command = [sys.executable, "-P", "-m", "bench.oracle", rel(clip), rel(truth_npz), rel(out), rel(log),
               str(budget.stability_size), str(frames), str(budget.stability_first), rel(STYLE_FILE), device.type]
    import os
    import time

    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr[-2000:]}")
    return time.perf_counter() - started, "python -m bench.oracle " + " ".join(command[4:])


def _row(name: str, clip: Path, work: Path, ruler, seconds: float, command: str, out: Path, log: Path,
         frames: int) -> dict:
    size = common.BUDGET.stability_size
    measured = ruler.measure(out)
    entries = read_log(log)
    return {"name": name, "command": command, "seconds": seconds, **{k: measured[k] for k in ("ratio", "worst",
            "still", "still_input")}, "own": own_ratio(clip, out, frames, size), "sharp": sharpness(out, frames, size),
            "style": mean(e["terms"]["style"] for e in common.later(entries)) if len(entries) > 1 else
            entries[0]["terms"]["style"], "per_frame": measured["per_frame"]}


def _runs(clip: Path, work: Path, ruler, device, truth_npz: Path | None) -> list[dict]:
    budget = common.BUDGET
    frames, per_frame = budget.stability_frames, budget.per_frame_frames
    device_args = ["--device", device.type]
    smoke = ["--iterations", "2"] if budget.smoke else []
    plan: list[tuple[str, Path | None, list[str], int]] = [("default", ROOT, [], frames)]
    commits = [(common.BASELINE_COMMIT, "code at 4d85da8")]
    if budget.before:
        commits.append((common.BEFORE_COMMIT, f"code before this work ({common.BEFORE_COMMIT})"))
    if budget.previous:
        commits.append((budget.previous, f"code at {budget.previous} (the previous default)"))
    for commit, label in commits:
        code = common.checkout(work, commit)
        if code is not None:
            plan.append((label, code, [], frames))
    plan.append(("`--no-temporal` (per frame)", ROOT, ["--no-temporal"], per_frame))
    if truth_npz is not None:
        plan.append(("ground-truth flow (the floor)", None, [], frames))
    plan += [(name, ROOT, extra, frames) for name, extra in CANDIDATES
             if not budget.candidates or extra[0].lstrip("-") in budget.candidates]
    rows = []
    for index, (name, code, extra, count) in enumerate(plan):
        out, log = work / f"stability-{clip.stem}-{index}.mp4", work / f"stability-{clip.stem}-{index}.jsonl"
        if code is None:
            seconds, command = _oracle(clip, truth_npz, out, log, count, device)
        else:
            args = _args(clip, out, log, count, extra + device_args + smoke)
            seconds, _ = run_vidstyle(args, code)
            command = shown(args) + ("" if code == ROOT else f"   # at {name}")
        rows.append(_row(name, clip, work, ruler, seconds, command, out, log, count))
        print(f"[bench]   {clip.name}: {name}: {rows[-1]['ratio']:.3g}", file=sys.stderr, flush=True)
    return rows


def _table(rows: list[dict]) -> str:
    lines = ["| run | E(out)/E(in), independent | worst frame / median | change where still (levels) | "
             "sharpness later / first | style loss, later frames | wall time | E(out)/E(in), own flow |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        still = "" if r["still"] is None else f"{r['still']:.2f}"
        bold = "**" if r["name"] == "default" else ""
        lines.append(f"| {r['name']} | {bold}{r['ratio']:.3g}{bold} | {r['worst']:.2f} | {still} | {r['sharp']:.2f} | "
                     f"{r['style']:.4f} | {r['seconds']:.0f} s | {r['own']:.3g} |")
    return "\n".join(lines)


def _verdict(rows: list[dict], real: bool) -> str:
    by = {r["name"]: r for r in rows}
    default = by["default"]
    per_frame = next(r for r in rows if r["name"].startswith("`--no-temporal`"))
    base = next((r for r in rows if r["name"] == "code at 4d85da8"), None)
    before = next((r for r in rows if r["name"].startswith("code before")), None)
    parts = [f"default / per-frame **{default['ratio'] / per_frame['ratio']:.3f}** (target <= {0.1 if real else 0.05})"]
    if base:
        parts.append(f"default / 4d85da8 **{default['ratio'] / base['ratio']:.2f}**" + ("" if real else
                                                                                       " (target <= 0.5)"))
        if real and default["still"] is not None and base["still"] is not None:
            parts.append(f"change where still {default['still']:.2f} vs 4d85da8 {base['still']:.2f} levels")
    if before:
        parts.append(f"default / before this work {default['ratio'] / before['ratio']:.2f}")
    floor = by.get("ground-truth flow (the floor)")
    if floor:
        parts.append(f"ground-truth flow {floor['ratio']:.3g}")
    previous = next((r for r in rows if r["name"].endswith("(the previous default)")), None)
    if previous:
        parts.append(f"default / previous default {default['ratio'] / previous['ratio']:.2f} (worst frame "
                     f"{previous['worst']:.2f}x, sharpness {previous['sharp']:.2f} there)")
    parts.append(f"worst frame {default['worst']:.2f}x the median (target <= 3)")
    return "; ".join(parts)


def follow_strip(work: Path, truth, rows_out: Path) -> Path | None:
    """Four consecutive frames of the default run on the followed road, at the source size, for BENCHMARKS.md."""
    from .ruler import frames_of
    from vidstyle.media.images import write_image

    frames = frames_of(rows_out, common.BUDGET.stability_frames)[-4:]  # the last four: the longest-carried paint
    if len(frames) < 4:
        return None
    strip = np.concatenate([np.concatenate(frames[0:2], 1), np.concatenate(frames[2:4], 1)], 0)
    target = ROOT / "docs" / "stability-follow.jpg"
    write_image(target, strip)
    return target


def stability(work: Path, device) -> tuple[str, dict]:
    budget = common.BUDGET
    sections, data = [], {}
    strip = None
    for truth in (t for t in truth_clips(work) if not budget.truth or t.name in budget.truth):
        rows = _runs(truth.path, work, truth_ruler(truth, budget.stability_frames), device,
                     truth.path.with_suffix(".npz"))
        data[truth.name] = rows
        if truth.name == "follow" and not budget.smoke:
            strip = follow_strip(work, truth, work / f"stability-{truth.path.stem}-0.mp4")
        sections.append(f"### ({chr(ord('a') + len(sections))}) {truth.title}: ground truth\n\n{_table(rows)}\n\n"
                        f"{_verdict(rows, real=False)}.\n")
    for clip in (c for c in (BOTTLE, AGAIN) if c.is_file() and (not budget.real or c.stem in budget.real)):
        rows = _runs(clip, work, outside_ruler(clip, budget.stability_frames, work), device, None)
        data[clip.stem] = rows
        sections.append(f"### `{clip.name}` (real): DeepFlow and Ruder's check\n\n{_table(rows)}\n\n"
                        f"{_verdict(rows, real=True)}.\n")
    commands = "\n".join(r["command"] for rows in data.values() for r in rows)
    skipped = [name for name, extra in CANDIDATES if budget.candidates and extra[0].lstrip("-") not in budget.candidates]
    trimmed = ""
    if skipped or budget.truth or budget.real or not budget.before:
        trimmed = ("\n**A shortened run** (the full one takes hours on 2 cores): "
                   + "; ".join(filter(None, [
                       f"candidates not run: {', '.join(skipped)}" if skipped else "",
                       f"ground-truth clips run: {', '.join(budget.truth)}" if budget.truth else "",
                       f"real clips run: {', '.join(budget.real)}" if budget.real else "",
                       "" if budget.before else f"no row for the code at {common.BEFORE_COMMIT}"])) + ".\n")
    picture = (f"\n![The last four frames of (b), default settings, at the source size]"
               f"({rel(strip)})\n" if strip else "")
    md = f"""## Temporal stability, by rulers the pipeline did not make

Every clip: the first {budget.stability_frames} frames (`--no-temporal`: the first {budget.per_frame_frames}), Starry
Night, long side {budget.stability_size}, {budget.stability_first} iterations for a cold frame, output at the source
size, defaults otherwise. **Independent** errors are measured at the input's size: clips (a)-(e) are generated by
`bench/truth.py` from the photos in `../shared/data` (sensor noise, H.264 at CRF 23) with their exact backward
flow; pixels hidden in the previous frame, entering the frame, or within 2 px of the object's edge do not count.
The real clips are measured with OpenCV's DeepFlow and Ruder's forward-backward check on the input. *E(out)/E(in)*
is the warping error of the output over the input's own; *worst frame / median* is the largest per-frame error of
the output over its median (a flash); *change where still* is the flow-free check, the mean change of the output in
grey levels where the input did not change under a still camera (exact for (c) and (d); real clips: unchanged
input pixels); *sharpness* is the Laplacian variance of the last third of the frames over frame 0's (below 1:
later frames blur). *Own flow* is the same ratio measured with the pipeline's kind of flow (DIS with flat regions
filled and wrongly warped pixels corrected, at the processing size): shown only to compare, it is not how the
method is judged.

*code at 4d85da8* and *code before this work* run those commits from git worktrees; *ground-truth flow* is this
commit fed the exact flow and validity in place of its own (`bench/oracle.py`): the floor a perfect flow gives.
{trimmed}
{chr(10).join(sections)}
{picture}
```
{commands}
```
"""
    return md, data

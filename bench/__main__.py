"""The benchmark suite: ``python -m bench`` writes BENCHMARKS.md.

Every comparison is measured side by side in one run on this machine; the
"baseline" columns run the code at the commit before this work (a git
worktree under the work folder). Real clips are read from ``../shared/data``
(never copied); the synthetic ones are generated here.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

import torch

from vidstyle.core.device import resolve_precision

from . import chunks, clip, common, keys, mix, paintover, passes, profile, regions, runtime, stability, steps

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = [
    ("clip", clip.clip),
    ("stability", stability.stability),
    ("passes", passes.passes),
    ("mix", mix.mix),
    ("regions", regions.regions),
    ("cold_start", steps.cold_start),
    ("steps", steps.overhead),
    ("profile", profile.profile),
    ("keys", keys.keys),
    ("paint_over", paintover.paint_over),
    ("chunks", chunks.chunks),
    ("long_input", runtime.long_input),
    ("threads", runtime.threads),
    ("memory", runtime.memory),
]


def cpu_model() -> str:
    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def machine(device: torch.device) -> str:
    model = cpu_model()
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{model}, {torch.get_num_threads()} torch threads, {gpu}, the network in "
            f"{resolve_precision('auto', device)} (`--precision auto`); Python {platform.python_version()}, "
            f"torch {torch.__version__}")


# Headings of files written before sections were tagged, to keep their sections on a partial run.
HEADINGS = {"clip": "## Whole clip", "stability": "## Temporal stability", "mix": "## A mix of styles",
            "cold_start": "## Cold starts", "steps": "## One step", "long_input": "## Long inputs", "threads": "## Threads", "memory": "## Memory"}


def _commit() -> str:
    result = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    # The files the bench itself writes (this file, its pictures) do not make the measured code "changed".
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!BENCHMARKS.md",
                            ":!docs"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return (result.stdout.strip() or "unknown") + ("+changes" if dirty else "")


TAG = re.compile(r"<!-- bench section (\w+), commit ([^ ,]+)(?:, on (.+?))? -->")


def _merged(previous: str, fresh: dict[str, str]) -> list[str]:
    """Every section in SECTIONS order: the fresh ones, else the previous file's (marked as an earlier run, with
    the commit and the machine it was measured on: a section tagged before tags named machines ran on the one
    the previous file's header names)."""
    old_commit = re.search(r"\(commit ([^)]+)\)", previous)
    old_machine = re.search(r"\) in [0-9.]+ min on: ([^,]+),", previous)
    pieces = re.split(r"(?m)^(?=<!-- bench section |## )", previous)
    parts: list[str] = []
    for piece in pieces:  # a section's tag line belongs to the heading below it
        if parts and parts[-1].startswith("<!-- bench section ") and parts[-1].count("\n") <= 1:
            parts[-1] += piece
        else:
            parts.append(piece)
    found: dict[str, str] = {}
    for part in parts:
        tag = TAG.match(part)
        name = tag.group(1) if tag else next((n for n, h in HEADINGS.items() if part.startswith(h)), None)
        if name and name not in found:
            if not tag:
                part = (f"<!-- bench section {name}, commit {old_commit.group(1) if old_commit else 'unknown'} -->\n"
                        + part)
            found[name] = part
    out = []
    for name, _ in SECTIONS:
        if name in fresh:
            out.append(fresh[name])
        elif name in found:
            tag = TAG.match(found[name])
            commit = tag.group(2)
            where = tag.group(3) or (old_machine.group(1) if old_machine else None)
            lines = found[name].split("\n")
            if where and not tag.group(3):  # name the machine in the tag, so later merges keep it
                lines[0] = f"<!-- bench section {name}, commit {commit}, on {where} -->"
            heading = next(i for i, line in enumerate(lines) if line.startswith("## "))
            note = (f"*Earlier run: measured at commit {commit}{f' on {where}' if where else ''}, not re-run with "
                    "this file's header commit.*")
            old = next((i for i, line in enumerate(lines) if line.startswith("*Earlier run")), None)
            if old is None:
                lines.insert(heading + 1, "\n" + note)
            else:
                lines[old] = note
            out.append("\n".join(lines))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", type=Path, default=ROOT / ".bench-work")
    parser.add_argument("--only", nargs="*", default=None, help="names of sections to run (default: all)",
                        choices=[name for name, _ in SECTIONS])
    parser.add_argument("--smoke", action="store_true", help="tiny budgets to check the suite runs (numbers meaningless)")
    parser.add_argument("--stability-frames", type=int, help="frames of each stability run (default 16)")
    parser.add_argument("--per-frame-frames", type=int, help="frames of the --no-temporal rows (default 6)")
    parser.add_argument("--truth", nargs="*", default=(), help="ground-truth clips to run (default: all)")
    parser.add_argument("--real", nargs="*", default=(), help="real clips to run, by file stem (default: all)")
    parser.add_argument("--candidates", nargs="*", default=(),
                        help="candidate options to run (stability tables and the whole clip), by their first flag "
                             "without dashes, e.g. reliability (default: all; none: no candidate)")
    parser.add_argument("--clip-frames", type=int, help="frames of the whole-clip runs (default 12)")
    parser.add_argument("--clip-sizes", type=int, nargs="*", help="long sides of the whole-clip runs (default 256 512)")
    parser.add_argument("--without-before", action="store_true",
                        help=f"stability tables without the row of the code at {common.BEFORE_COMMIT}")
    parser.add_argument("--clip-without-baseline", action="store_true",
                        help=f"whole-clip table without the rows of the code at {common.SPEED_COMMIT}")
    parser.add_argument("--previous", metavar="COMMIT",
                        help="stability tables with a row for the code at COMMIT too (e.g. the default a change replaces)")
    args = parser.parse_args()
    if args.smoke:
        common.smoke()
    if args.clip_frames or args.clip_sizes or args.clip_without_baseline:
        common.BUDGET = dataclasses.replace(common.BUDGET, clip_frames=args.clip_frames or common.BUDGET.clip_frames,
                                            clip_sizes=tuple(args.clip_sizes or common.BUDGET.clip_sizes),
                                            clip_baseline=not args.clip_without_baseline)
    common.trim(args.stability_frames, args.per_frame_frames, args.truth, args.real, args.candidates,
                not args.without_before)
    if args.previous:
        common.BUDGET = dataclasses.replace(common.BUDGET, previous=args.previous)
    args.work.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    started = time.perf_counter()
    sections = []
    args.only_names = [name for name, _ in SECTIONS if not args.only or name in args.only]
    for name, run in SECTIONS:
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        markdown, data = run(args.work, device)
        print(f"[bench] {name} done in {time.perf_counter() - t0:.0f} s: {json.dumps(data, default=str)}",
              file=sys.stderr, flush=True)
        sections.append(f"<!-- bench section {name}, commit {_commit()}, on {cpu_model()} -->\n" + markdown)
    total = time.perf_counter() - started
    commit = _commit()
    header = (
        "# Benchmarks\n\n"
        f"Produced by `python -m bench {' '.join(sys.argv[1:]) or '--device ' + args.device}` (commit {commit or 'unknown'}) in {total / 60:.1f} min on: "
        f"{machine(device)}.\n\nEvery comparison below is measured side by side in this one run; *baseline* columns run the "
        f"code at commit {common.BASELINE_COMMIT} (before this work) from a git worktree. Re-run the command to refresh "
        "this file; numbers from other machines are not comparable.\n"
    )
    if args.only and args.output.is_file():
        sections = _merged(args.output.read_text(), dict(zip(args.only_names, sections)))
        header = header.replace("Every comparison below is measured side by side in this one run",
                                "Every comparison below is measured side by side within its section; sections "
                                "marked *earlier run* were not re-run this time and say which commit they measured")
    args.output.write_text(header + "\n" + "\n\n".join(section.strip("\n") + "\n" for section in sections))
    print(f"[bench] wrote {args.output} in {total:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

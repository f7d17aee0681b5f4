"""The benchmark suite: ``python -m bench`` writes BENCHMARKS.md.

Every ratio is measured side by side in one run on this machine. Real clips
and paintings are read from ``../shared/data`` when present (never copied);
otherwise the project's own samples are used.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import torch

from . import measures

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    try:
        model = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor() or "unknown CPU"
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU"
    return (f"{model}, {torch.get_num_threads()} torch threads, {gpu}; Python {platform.python_version()}, "
            f"torch {torch.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--work", type=Path, default=ROOT / ".bench-work")
    parser.add_argument("--only", nargs="*", default=None, help="names of sections to run (default: all)")
    parser.add_argument("--smoke", action="store_true", help="tiny budgets to check the suite runs (numbers meaningless)")
    args = parser.parse_args()
    if args.smoke:
        measures.smoke()
    args.work.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    started = time.perf_counter()
    sections = []
    for name, run in measures.SECTIONS:
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        markdown, data = run(args.work, device)
        elapsed = time.perf_counter() - t0
        print(f"[bench] {name} done in {elapsed:.0f} s: {json.dumps(data)}", file=sys.stderr, flush=True)
        sections.append(markdown)
    total = time.perf_counter() - started
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    header = (
        "# Benchmarks\n\n"
        f"Produced by `python -m bench --device {args.device}` (commit {commit or 'unknown'}) in {total / 60:.1f} min on: "
        f"{machine()}.\n\nEvery ratio below is measured side by side in this one run. Re-run the command to refresh "
        "this file; numbers from other machines are not comparable.\n"
    )
    args.output.write_text(header + "\n" + "\n".join(sections))
    print(f"[bench] wrote {args.output} in {total:.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()

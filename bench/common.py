"""What the bench sections share: paths, the baseline checkout, running the CLI, reading logs."""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
BOTTLE = SHARED / "videos" / "bottle-detection.mp4"
AGAIN = SHARED / "videos" / "again.mkv"
STYLE = "vangogh"  # Starry Night, shipped in the package: the same painting as shared/data/styles
# The code the speed and stability targets are judged against: before the stability and speed work (4d85da8),
# and main before the work on the independent ruler (the "today" of that issue).
BASELINE_COMMIT = "4d85da8"
BEFORE_COMMIT = "88bef5c"
SPEED_COMMIT = "033e546"  # main before the speed work of the issue "Speed III": the whole-clip table's "before"


@dataclass
class Budget:
    """Sizes of the bench's runs; --smoke shrinks them to check the bench itself in a minute."""

    clip_frames: int = 12
    clip_sizes: tuple[int, ...] = (256, 512)
    stability_frames: int = 16
    per_frame_frames: int = 6  # --no-temporal rows: every frame is a cold start, so fewer of them
    stability_size: int = 192
    stability_first: int = 100
    memory_frames: tuple[int, int] = (10, 300)
    memory_real_frames: int = 3  # the memory section's real clip at every default, against SPEED_COMMIT
    long_frames: int = 10000
    truth: tuple[str, ...] = ()  # ground-truth clips to run (empty: all)
    real: tuple[str, ...] = ()  # real clips to run, by file stem (empty: all)
    candidates: tuple[str, ...] = ()  # candidate options to run, by first flag (empty: all)
    before: bool = True  # stability tables: a row for the code before the ruler work (BEFORE_COMMIT)
    clip_baseline: bool = True  # whole-clip table: rows for the code at SPEED_COMMIT
    previous: str | None = None  # stability tables: a row for this commit too (the default it replaces)
    smoke: bool = False
    extra: list[str] = field(default_factory=list)  # CLI options added to every run (smoke budgets)


BUDGET = Budget()


def smoke() -> None:
    global BUDGET
    BUDGET = Budget(clip_frames=3, clip_sizes=(96,), stability_frames=3, per_frame_frames=3, stability_size=64,
                    stability_first=3,
                    memory_frames=(3, 6), memory_real_frames=2, long_frames=300, smoke=True,
                    extra=["--first-iterations", "3", "--iterations", "2", "--later-fine-iterations", "1"])


def trim(frames: int | None, per_frame: int | None, truth, real, candidates, before: bool = True) -> None:
    """A shorter run (BENCHMARKS.md says what was run): fewer frames, clips or candidates."""
    global BUDGET
    from dataclasses import replace

    BUDGET = replace(BUDGET, stability_frames=frames or BUDGET.stability_frames,
                     per_frame_frames=per_frame or BUDGET.per_frame_frames, truth=tuple(truth), real=tuple(real),
                     candidates=tuple(candidates), before=before)


def rel(path: Path | str) -> str:
    try:
        return os.path.relpath(path, ROOT)
    except ValueError:
        return str(path)


def checkout(work: Path, commit: str) -> Path | None:
    """A checkout of ``commit`` (a git worktree in the work folder), or None without git history."""
    target = work / f"code-{commit}"
    if (target / "vidstyle").is_dir():
        return target
    result = subprocess.run(["git", "worktree", "add", "-f", "--detach", str(target), commit], cwd=ROOT,
                            capture_output=True, text=True)
    return target if result.returncode == 0 and (target / "vidstyle").is_dir() else None


def baseline_root(work: Path) -> Path | None:
    return checkout(work, BASELINE_COMMIT)


def run_vidstyle(args: list[str], code: Path = ROOT, threads: int | None = None) -> tuple[float, str]:
    """Run the CLI of the checkout ``code`` in a fresh process; ``(wall seconds, stdout)``.

    ``-P``: the working directory (this checkout) must not shadow ``code`` on the import path.
    """
    env = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-P", "-m", "vidstyle", *args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{shlex.join(command)} failed: {result.stderr[-2000:]}")
    return seconds, result.stdout


def shown(args: list[str]) -> str:
    return "vidstyle " + shlex.join(args)


def metrics(clip: Path, out: Path, size: int, extra: list[str] = ()) -> dict:
    """``vidstyle metrics`` of a run at the size it ran at (the current code's measure for every run)."""
    _, text = run_vidstyle(["metrics", rel(clip), rel(out), "--max-size", str(size), "--json", *extra])
    return json.loads(text)


def read_log(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def later(log: list[dict]) -> list[dict]:
    """The warm-started frames: every frame but a shot's first."""
    return [e for e in log if e["frame"] != e.get("shot_start", 0)] or log[1:]


def mean(values) -> float:
    values = list(values)
    return statistics.mean(values) if values else float("nan")


def style_spikes(log: list[dict]) -> float:
    """The largest style loss of a later frame over the median of its shot (1.5 is the target's bound)."""
    worst = 0.0
    shots: dict[int, list[float]] = {}
    for entry in log:
        shots.setdefault(entry.get("shot_start", 0), []).append(entry["terms"]["style"])
    for entry in later(log):
        worst = max(worst, entry["terms"]["style"] / statistics.median(shots[entry.get("shot_start", 0)]))
    return worst

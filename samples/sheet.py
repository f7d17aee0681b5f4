"""Render the README's picture: the mission command on the bundled clip, input frames above, output below.

    python -m samples.sheet     # runs `vidstyle video samples/clip.mp4 --styles vangogh:0.6,picasso:0.4 ...`
                                # and writes samples/mission.jpg
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from vidstyle.media.decode import iter_frames
from vidstyle.media.sheet import contact_sheet
from vidstyle.media.images import write_image

HERE = Path(__file__).resolve().parent
CLIP = HERE / "clip.mp4"
STYLES = "vangogh:0.6,picasso:0.4"
FRAMES = (0, 8, 16, 23)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.mp4"
        command = [sys.executable, "-m", "vidstyle", "video", str(CLIP), "--styles", STYLES, "-o", str(out)]
        print("running:", "vidstyle video samples/clip.mp4 --styles", STYLES, "-o out.mp4", flush=True)
        subprocess.run(command, check=True)
        sources = [f for i, f in enumerate(iter_frames(CLIP)) if i in FRAMES]
        results = [f for i, f in enumerate(iter_frames(out)) if i in FRAMES]
    sheet = contact_sheet([[(f, f"input, frame {i}") for i, f in zip(FRAMES, sources)],
                           [(f, f"{STYLES}, frame {i}") for i, f in zip(FRAMES, results)]], tile_height=144)
    target = HERE / "mission.jpg"
    write_image(target, sheet)
    print(f"wrote {target.relative_to(HERE.parent)}")


if __name__ == "__main__":
    main()

"""Built-in styles: painterly textures rendered procedurally and deterministically.

The project ships no third-party artwork. Each built-in is drawn from a fixed
seed with numpy and OpenCV; ``samples/styles/`` holds the same renders for
people to look at (``python -m samples.make``), and :func:`builtin_path`
renders into the user cache on first use so any installation has them.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from ..media.images import write_image

SIZE = 512
VERSION = 1  # bump when a renderer changes, so caches are refreshed

Palette = list[tuple[int, int, int]]


def _smooth_noise(rng: np.random.Generator, size: int, cells: int) -> np.ndarray:
    """Value noise in [0, 1]: a coarse random grid upsampled with cubic interpolation."""
    coarse = rng.random((cells + 3, cells + 3)).astype(np.float32)
    big = cv2.resize(coarse, (size + 3 * size // cells, size + 3 * size // cells), interpolation=cv2.INTER_CUBIC)
    off = size // cells
    out = big[off : off + size, off : off + size]
    return (out - out.min()) / (out.max() - out.min() + 1e-6)


def _pick(palette: Palette, t: float, rng: np.random.Generator, jitter: int = 18) -> tuple[int, int, int]:
    base = np.array(palette[min(int(t * len(palette)), len(palette) - 1)], dtype=np.int32)
    return tuple(int(v) for v in np.clip(base + rng.integers(-jitter, jitter + 1, 3), 0, 255))


def render_swirl(seed: int = 11) -> np.ndarray:
    """Curved impasto strokes following a field of vortices (blues, ochres, cream)."""
    rng = np.random.default_rng(seed)
    palette: Palette = [(16, 32, 84), (28, 64, 140), (52, 104, 176), (98, 150, 196), (226, 200, 92), (246, 232, 170)]
    canvas = np.zeros((SIZE, SIZE, 3), np.uint8)
    canvas[:] = (24, 48, 110)
    centres = rng.random((7, 2)) * SIZE
    spins = rng.choice([-1.0, 1.0], 7) * rng.uniform(0.6, 1.4, 7)
    tone = _smooth_noise(rng, SIZE, 6)

    def direction(x: float, y: float) -> tuple[float, float]:
        vx, vy = 0.3, 0.1
        for (cx, cy), s in zip(centres, spins):
            dx, dy = x - cx, y - cy
            r2 = dx * dx + dy * dy + 400.0
            vx += -s * dy * 3000 / r2 / np.sqrt(r2)
            vy += s * dx * 3000 / r2 / np.sqrt(r2)
        n = np.hypot(vx, vy) + 1e-6
        return vx / n, vy / n

    for _ in range(5200):
        x, y = rng.random(2) * SIZE
        t = float(tone[int(y), int(x)])
        colour = _pick(palette, min(0.999, t * 1.1), rng, 22)
        points = []
        for _ in range(int(rng.integers(6, 16))):
            points.append((int(x), int(y)))
            dx, dy = direction(x, y)
            x, y = x + 3.0 * dx, y + 3.0 * dy
        thickness = int(rng.integers(2, 5))
        shade = tuple(max(0, c - 40) for c in colour)
        cv2.polylines(canvas, [np.array(points, np.int32)], False, shade, thickness + 1, cv2.LINE_AA)
        cv2.polylines(canvas, [np.array(points, np.int32)], False, colour, thickness, cv2.LINE_AA)
    return canvas


def render_mosaic(seed: int = 23) -> np.ndarray:
    """Voronoi tesserae with dark grout over a warm radial pattern."""
    rng = np.random.default_rng(seed)
    palette: Palette = [(120, 30, 24), (190, 70, 30), (230, 150, 40), (240, 210, 120), (40, 110, 120), (20, 60, 90)]
    seeds = np.ones((SIZE, SIZE), np.uint8)
    points = (rng.random((650, 2)) * SIZE).astype(int)
    seeds[points[:, 1], points[:, 0]] = 0
    _, labels = cv2.distanceTransformWithLabels(seeds, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_CCOMP)
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    pattern = (np.sin(np.hypot(xx - SIZE * 0.4, yy - SIZE * 0.55) / 23.0) + 1) / 2
    colours = np.zeros((labels.max() + 1, 3), np.uint8)
    for label in range(1, labels.max() + 1):
        ys, xs = np.nonzero(labels == label)
        t = float(pattern[ys, xs].mean()) if len(ys) else 0.5
        colours[label] = _pick(palette, t * 0.999, rng, 26)
    canvas = colours[labels]
    edges = (np.abs(np.diff(labels, axis=0, prepend=labels[:1])) + np.abs(np.diff(labels, axis=1, prepend=labels[:, :1]))) > 0
    edges = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    canvas[edges] = (34, 28, 24)
    return canvas


def render_pointillist(seed: int = 37) -> np.ndarray:
    """Dense dots of pure, complementary colours over a light field."""
    rng = np.random.default_rng(seed)
    canvas = np.full((SIZE, SIZE, 3), (236, 228, 206), np.uint8)
    hue = _smooth_noise(rng, SIZE, 4) * 150.0
    value = _smooth_noise(rng, SIZE, 5)
    for _ in range(26000):
        x, y = rng.integers(0, SIZE, 2)
        h = (hue[y, x] + (90.0 if rng.random() < 0.2 else 0.0) + rng.normal(0, 8)) % 180
        v = int(np.clip(140 + 115 * value[y, x] + rng.normal(0, 15), 60, 255))
        hsv = np.uint8([[[int(h), int(rng.integers(170, 256)), v]]])
        colour = tuple(int(c) for c in cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)[0, 0])
        cv2.circle(canvas, (int(x), int(y)), int(rng.integers(2, 5)), colour, -1, cv2.LINE_AA)
    return canvas


def render_shards(seed: int = 41) -> np.ndarray:
    """Overlapping angular facets with black contours and hatching, cubist-like."""
    rng = np.random.default_rng(seed)
    palette: Palette = [(60, 52, 48), (120, 96, 70), (170, 140, 96), (206, 186, 140), (90, 110, 120), (150, 70, 50)]
    canvas = np.full((SIZE, SIZE, 3), (180, 160, 120), np.uint8)
    for _ in range(140):
        centre = rng.random(2) * SIZE
        n = int(rng.integers(3, 6))
        angles = np.sort(rng.random(n) * 2 * np.pi)
        radii = rng.uniform(25, 110, n)
        polygon = (centre + np.stack([np.cos(angles) * radii, np.sin(angles) * radii], 1)).astype(np.int32)
        colour = _pick(palette, float(rng.random()) * 0.999, rng, 20)
        cv2.fillPoly(canvas, [polygon], colour, cv2.LINE_AA)
        if rng.random() < 0.5:  # hatching inside the facet
            mask = np.zeros((SIZE, SIZE), np.uint8)
            cv2.fillPoly(mask, [polygon], 1)
            hatch = np.zeros_like(mask)
            for k in range(-SIZE, SIZE, 7):
                cv2.line(hatch, (k, 0), (k + SIZE, SIZE), 1, 1)
            canvas[(mask & hatch) > 0] = tuple(max(0, c - 50) for c in colour)
        cv2.polylines(canvas, [polygon], True, (20, 18, 16), 3, cv2.LINE_AA)
    return canvas


BUILTINS: dict[str, Callable[[], np.ndarray]] = {
    "swirl": render_swirl,
    "mosaic": render_mosaic,
    "pointillist": render_pointillist,
    "shards": render_shards,
}
BUILTIN_NAMES: tuple[str, ...] = tuple(BUILTINS)


def cache_dir() -> Path:
    base = os.environ.get("VIDSTYLE_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache"), "vidstyle"
    )
    return Path(base) / f"builtin-v{VERSION}"


def builtin_path(name: str) -> Path:
    """Path of built-in ``name``, rendered into the cache (atomically) on first use."""
    if name not in BUILTINS:
        raise ValueError(f"expected a built-in style ({', '.join(BUILTIN_NAMES)}), got {name!r}")
    path = cache_dir() / f"{name}.png"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_image(path, BUILTINS[name]())
    return path

"""Clips with known motion, made from the real photos in ``../shared/data``: the ruler the pipeline did not make.

Each clip is a camera (an affine map world -> screen per frame) over a background image, with at
most one textured object (its own affine map per frame) drawn on top. The exact backward flow of
every pixel follows from the two maps, so the warping error of any output can be measured with
the truth instead of with an estimated flow. Frames get sensor noise and go through H.264, so a
flow estimator sees the same kind of input as on real footage. Nothing here is committed: the
clips are rendered into the bench's work folder.

Validity (the pixels the ruler counts): the pixel's source in the previous frame lies inside it,
is not hidden by the object there (disocclusion), and is not within a band at the object's edge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from itertools import islice
from pathlib import Path

import cv2
import numpy as np

from .common import AGAIN, BOTTLE, SHARED

TUBINGEN = SHARED / "content" / "tubingen.jpg"
SIZE = (360, 640)  # height, width: the source size of every clip
FPS = Fraction(24)
NOISE = 2.5  # sensor noise, grey levels (sigma), independent per pixel, channel and frame
CRF = 23  # H.264 quality of the rendered clips: what a phone or camera writes
EDGE_BAND = 2  # px around the object's edge that the ruler leaves out
FRAMES = 30  # every clip is rendered this long (its motion per frame fixed); runs use a prefix


@dataclass(frozen=True)
class Truth:
    """A rendered clip and its ground truth: ``flows (N, H, W, 2)`` backward (t -> t-1, frame 0 zeros),
    ``valid (N, H, W)`` (frame 0 all False), ``still (N, H, W)``: pixels of the background under a
    camera that did not move (the flow-free check's pixels), and ``cover (N, H, W)``: the object's alpha in
    [0, 1] (all zeros in a clip without one), the exact mask a region picked on the object should follow."""

    name: str
    title: str
    path: Path
    flows: np.ndarray
    valid: np.ndarray
    still: np.ndarray
    cover: np.ndarray


def _affine(scale: float = 1.0, angle: float = 0.0, centre: tuple[float, float] = (0.0, 0.0),
            at: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """3x3 map putting the point ``centre`` of the source at ``at`` on screen, scaled and rotated (degrees)."""
    c, s = np.cos(np.radians(angle)) * scale, np.sin(np.radians(angle)) * scale
    return np.array([[c, -s, at[0] - c * centre[0] + s * centre[1]],
                     [s, c, at[1] - s * centre[0] - c * centre[1]], [0, 0, 1]], np.float64)


def _map_points(matrix: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2], matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2])


def _draw(image: np.ndarray, matrix: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    return cv2.warpAffine(image, matrix[:2].astype(np.float32), (w, h), flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)


def _render(background: np.ndarray, cameras: list[np.ndarray], texture: np.ndarray | None, alpha: np.ndarray | None,
            objects: list[np.ndarray], seed: int
            ) -> tuple[list[np.ndarray], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Frames (uint8, before encoding), backward flows, validity, still-background maps and the object's alpha."""
    h, w = SIZE
    rng = np.random.default_rng(seed)
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    count = len(cameras)
    frames, covers = [], []
    flows = np.zeros((count, h, w, 2), np.float32)
    valid = np.zeros((count, h, w), bool)
    still = np.zeros((count, h, w), bool)
    for t in range(count):
        image = _draw(background, cameras[t], SIZE).astype(np.float32)
        cover = np.zeros((h, w), np.float32)
        if texture is not None:
            cover = np.clip(cv2.warpAffine(alpha, objects[t][:2].astype(np.float32), (w, h), flags=cv2.INTER_LINEAR,
                                           borderValue=0), 0, 1)
            thing = _draw(texture, objects[t], SIZE).astype(np.float32)
            image = cover[..., None] * thing + (1 - cover[..., None]) * image
        image += rng.normal(0.0, NOISE, image.shape)
        frames.append(np.clip(np.round(image), 0, 255).astype(np.uint8))
        covers.append(cover)
        if t == 0:
            continue
        on_object = cover > 0.5
        back_x, back_y = _map_points(cameras[t - 1] @ np.linalg.inv(cameras[t]), xs, ys)
        qx, qy = back_x, back_y
        if texture is not None:
            obj_x, obj_y = _map_points(objects[t - 1] @ np.linalg.inv(objects[t]), xs, ys)
            qx, qy = np.where(on_object, obj_x, back_x), np.where(on_object, obj_y, back_y)
        flows[t, ..., 0], flows[t, ..., 1] = qx - xs, qy - ys
        inside = (qx >= 0) & (qx <= w - 1) & (qy >= 0) & (qy <= h - 1)
        before = cv2.remap(covers[t - 1], qx.astype(np.float32), qy.astype(np.float32), cv2.INTER_LINEAR,
                           borderValue=0)
        edge = (cover > 0.02) & (cover < 0.98)
        edge_before = (before > 0.02) & (before < 0.98)
        band = cv2.dilate((edge | edge_before).astype(np.uint8), np.ones((2 * EDGE_BAND + 1,) * 2, np.uint8)) > 0
        hidden_before = ~on_object & (before > 0.02)  # background that the object covered a frame ago
        valid[t] = inside & ~band & ~hidden_before
        camera_still = np.allclose(cameras[t], cameras[t - 1], atol=1e-9)
        if camera_still:
            still[t] = valid[t] & (cover < 0.02) & ~hidden_before
    return frames, flows, valid, still, np.stack(covers).astype(np.float16)


def _photo(path: Path) -> np.ndarray:
    from vidstyle.media.images import read_image

    return read_image(path).astype(np.float32)


def _frame_of(path: Path, index: int) -> np.ndarray:
    from vidstyle.media.decode import iter_frames

    return next(islice(iter_frames(path), index, None)).astype(np.float32)


def _rounded(height: int, width: int, radius: float, soft: float = 1.2) -> np.ndarray:
    """A soft-edged rounded rectangle (alpha in [0, 1]) of the given size."""
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    dx = np.maximum(np.maximum(radius - xs, xs - (width - 1 - radius)), 0)
    dy = np.maximum(np.maximum(radius - ys, ys - (height - 1 - radius)), 0)
    outside = np.hypot(dx, dy) - radius
    return np.clip(0.5 - outside / (2 * soft), 0, 1)


def pan_zoom(count: int) -> tuple[str, str, tuple]:
    """(a) A hand-held pan with a slow zoom over the Tübingen photo."""
    photo = _photo(TUBINGEN)
    cameras = []
    for t in range(count):
        s = t / max(1, count - 1)
        scale = 1.0 + 0.15 * s
        centre = (340 + 340 * s, 330 + 50 * s)
        cameras.append(_affine(scale, 0.6 * np.sin(2.1 * s), centre, (SIZE[1] / 2, SIZE[0] / 2)))
    return "pan-zoom", "textured photo, pan and slow zoom", (photo, cameras, None, None, [], 1)


def _asphalt(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    """A nearly textureless road: faint shading and grain under the sensor noise, sparse specks, a few dashes."""
    from vidstyle.core.textures import _smooth_noise

    side = max(height, width)
    shade = _smooth_noise(rng, side, 9)[:height, :width] - 0.5
    road = np.empty((height, width, 3), np.float32)
    road[:] = (96, 98, 103)
    road += 8.0 * shade[..., None] + rng.normal(0, 1.0, (height, width, 1))
    for _ in range(height * width // 3500):  # specks: small stones, stains
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        tone = float(rng.choice([-1, 1]) * rng.uniform(12, 40))
        cv2.circle(road, (x, y), int(rng.integers(1, 4)), (96 + tone, 98 + tone, 103 + tone), -1, cv2.LINE_AA)
    for x in range(80, width, 260):  # lane dashes
        cv2.rectangle(road, (x, int(height * 0.8)), (x + 70, int(height * 0.8) + 7), (205, 205, 196), -1, cv2.LINE_AA)
    for _ in range(3):  # cracks
        points = np.cumsum(rng.normal(0, 6, (12, 2)), axis=0) + rng.uniform((0, 0), (width, height))
        cv2.polylines(road, [points.astype(np.int32)], False, (70, 71, 74), 1, cv2.LINE_AA)
    return road


def follow(count: int) -> tuple[str, str, tuple]:
    """(b) The camera follows a textured object over a flat, noisy road with sparse marks."""
    rng = np.random.default_rng(7)
    speed = 9.0  # px per frame, the camera's and the object's
    road = _asphalt(SIZE[0] + 80, int(SIZE[1] + speed * count + 120), rng)
    car = _photo(TUBINGEN)[330:450, 380:620]  # houses on the river: a colourful, textured "car"
    alpha = _rounded(*car.shape[:2], radius=24)
    cameras, objects = [], []
    for t in range(count):
        cameras.append(_affine(1.0, 0.0, (SIZE[1] / 2 + 40 + speed * t, SIZE[0] / 2 + 40 + 1.5 * np.sin(t / 4)),
                               (SIZE[1] / 2, SIZE[0] / 2)))
        objects.append(_affine(1.0, 0.0, (0, 0), (200 + 7 * np.sin(t / 5), 150 + 2 * np.sin(t / 3))))
    return "follow", "flat noisy road with sparse marks, the camera follows an object", (
        road, cameras, car, alpha, objects, 2)


def crossing(count: int) -> tuple[str, str, tuple]:
    """(c) A still camera on a textured scene, a textured object crossing it (occlusions)."""
    photo = _photo(TUBINGEN)
    background = cv2.resize(photo, (800, 600), interpolation=cv2.INTER_AREA)[170:530, 80:720]
    person = _frame_of(AGAIN, 0)[150:420, 160:470]  # the signer's printed hoodie: a textured object
    alpha = _rounded(*person.shape[:2], radius=60)
    camera = _affine()
    objects = [_affine(1.0 + 0.002 * t, 2.0 * np.sin(t / 9), (155, 135), (60 + 14 * t, 200 + 4 * np.sin(t / 6)))
               for t in range(count)]
    return "crossing", "still textured scene, a textured object crossing it", (
        background, [camera] * count, person, alpha, objects, 3)


def still_road(count: int) -> tuple[str, str, tuple]:
    """(d) A still camera over the flat road, a textured object crossing it: flat regions that do not move."""
    rng = np.random.default_rng(11)
    road = _asphalt(*SIZE, rng)
    car = _photo(TUBINGEN)[330:450, 380:620]
    alpha = _rounded(*car.shape[:2], radius=24)
    objects = [_affine(1.0, 0.0, (0, 0), (30 + 11 * t, 160)) for t in range(count)]
    return "still-road", "still camera over the flat road, an object crossing", (road, [_affine()] * count, car,
                                                                                 alpha, objects, 4)


def turning(count: int) -> tuple[str, str, tuple]:
    """(e) A hand-held camera turning 2.5 degrees a frame and creeping in, over a bare wall with a few stains and
    a table (a frame of the bottle clip): the wall's motion shows only in the camera's."""
    frame = _frame_of(BOTTLE, 30)
    background = cv2.resize(frame, (frame.shape[1] * 8 // 5, frame.shape[0] * 8 // 5), interpolation=cv2.INTER_CUBIC)
    centre = (background.shape[1] / 2, background.shape[0] / 2)
    cameras = [_affine(1.0 + 0.01 * t, 2.5 * t, centre, (SIZE[1] / 2, SIZE[0] / 2)) for t in range(count)]
    return "turning", "a camera turning over a bare wall", (background, cameras, None, None, [], 5)


CLIPS = (pan_zoom, follow, crossing, still_road, turning)


def truth_clips(work: Path, length: int = FRAMES, names: tuple[str, ...] = ()) -> list[Truth]:
    """Render (once) and return the ground-truth clips (``names``, or every one), ``length`` frames long: the same motion
    spread over more frames for a clip made longer (``pan-zoom``), the same motion per frame for the others."""
    from samples.make import write_clip

    folder = work / "truth"
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for make in CLIPS:
        name, title, scene = make(length)
        if names and name not in names:
            continue
        path = folder / f"{name}-{length}.mp4"
        arrays = folder / f"{name}-{length}.npz"
        if not (path.is_file() and arrays.is_file() and "cover" in np.load(arrays).files):
            frames, flows, valid, still, cover = _render(*scene)
            np.savez(arrays, flows=flows, valid=valid, still=still, cover=cover)
            write_clip(path, frames, FPS, with_audio=False, crf=CRF)
        data = np.load(arrays)
        out.append(Truth(name, title, path, data["flows"], data["valid"], data["still"], data["cover"]))
    if length == FRAMES and not names:
        (folder / "clips.json").write_text(json.dumps([t.name for t in out]))
    return out

"""Flow where the image cannot show it: a flat region moves with the marks on it, or with its border.

An estimator sees motion only where the image has texture. On a flat, slightly noisy surface (a
road, a wall, a clear sky) DIS returns noise, or zero, whatever the camera does; warping with it
paints a texture that stays put while the surface moves under it (a "shower door"), or re-paints
the region every frame. Ruder et al. use DeepFlow, whose smoothness term carries motion into flat
areas from whatever is nearest, and so also from a moving object into the still background beside it.

Our departure (measured against ground-truth motion in BENCHMARKS.md, stability): the frame is cut
into regions at its edges. Small textured islands inside a flat region (specks, stains, lane
dashes: under :data:`MARK_AREA` of the frame) are marks *of that surface*; larger textured areas
are things of their own. Each flat region gets one motion (a similarity, or an affine map where
the samples clearly show shear), fitted by RANSAC to the confident flow (textured pixels that pass
the forward-backward check) on its marks. A region with too few marks (fewer than three stains
cannot say how a wall turns), or marks bunched in one part of it, takes the motion of its border
when it is enclosed (the plain inside of an object),
and the camera's when much of its outline is the frame's border (a clear sky, a bare wall): the camera's motion
is fitted on the marks of such regions and on the large textured areas that reach the border, and
is zero when there are none. Given the other frame, a region without marks of its own checks its
motion where the image shows it, along the region's own edge: of the rule's motion, the camera's,
its border's and standing still, it takes the one under which the other frame matches best there,
if it halves the rule's mismatch (the flat inside of an object that reaches the frame's border
moves with the object, not with the camera). Confident pixels keep the estimator's flow. The result
then goes through Ruder's test like any flow. A still camera needs no special case: a road whose
specks do not move gets zero motion from them.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from dataclasses import dataclass

import cv2
import numpy as np

MARK_AREA = 0.01  # textured islands smaller than this share of the frame are marks on a surface
MIN_SEEDS = 12  # confident flow samples an affine fit needs; fewer: the median translation
MIN_ISLANDS = 3  # separate marks a region's own fit needs
MIN_REGION = 64  # px: smaller flat regions keep the estimator's flow
BAND = 3  # px: the border band a region without marks is fitted on
SPREAD = 0.1  # marks must spread (standard deviation) over this share of their region's width and height
OPEN_SHARE = 0.25  # a region whose outline is at least this much frame border is open (moves with the camera)
GENERAL_MISS = 0.5  # px: a general affine fit replaces the similarity only where the similarity misses by more
GENERAL_GAIN = 0.75  # ... and the general fit's median miss is this share of it or less
SEED_STEP = 2  # px: the grid confident samples are taken on (the fit needs no more)
TEXTURE = 1.0  # "confident": structure (grey levels per px, smallest eigenvalue) above this x noise (min 1)
EDGE = 2.0  # a region boundary: gradient (grey levels per px) above this x noise (min 1)
EDGE_BAND = 4  # px: the inner band of a region along its edge, where its motion shows
SWITCH = 0.5  # another motion replaces the rule's where it brings the edge's mismatch to this share or less
EDGE_SAMPLES = 3000  # edge pixels a motion is checked on (the check needs no more)
STILL = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])  # the map of standing still
SCENES_KEPT = 4  # frames whose scene is kept: a frame is the later one of a pair, then the earlier one of the next


def noise_level(grey: np.ndarray) -> float:
    """The image's noise, grey levels: the robust spread (1.4826 MAD) of the image minus its blur."""
    g = grey.astype(np.float32)
    return 1.4826 * float(np.median(np.abs(g - cv2.GaussianBlur(g, (0, 0), 1.0))))


def _gradients(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    g = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)
    return cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3) / 8, cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3) / 8


def structure(grey: np.ndarray, noise: float) -> tuple[np.ndarray, np.ndarray]:
    """``(textured, edges)``, bool ``(H, W)``: where the flow can be trusted to be measured (the smallest
    eigenvalue of the 5x5 structure tensor: corners and texture, not lone edges), and where regions end."""
    gx, gy = _gradients(grey)
    a, b, c = (cv2.blur(v, (5, 5)) for v in (gx * gx, gx * gy, gy * gy))
    smallest = np.sqrt(np.maximum(0.5 * (a + c - np.sqrt((a - c) ** 2 + 4 * b * b)), 0))
    textured = smallest > max(1.0, TEXTURE * noise)
    edges = np.hypot(gx, gy) > max(1.0, EDGE * noise)
    return textured, textured | edges


def _touches_border(stats: np.ndarray, height: int, width: int) -> np.ndarray:
    x, y, w, h = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    return (x == 0) | (y == 0) | (x + w == width) | (y + h == height)


def _open(labels: np.ndarray, count: int) -> np.ndarray:
    """Per label: whether the frame's border makes up at least :data:`OPEN_SHARE` of the region's outline
    (a sky, a wall, the road a camera looks at; not the plain inside of an object cut by the border)."""
    on_border = np.bincount(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]), minlength=count)
    outline = np.zeros(labels.shape, bool)
    outline[:-1] |= labels[:-1] != labels[1:]
    outline[1:] |= labels[1:] != labels[:-1]
    outline[:, :-1] |= labels[:, :-1] != labels[:, 1:]
    outline[:, 1:] |= labels[:, 1:] != labels[:, :-1]
    inside = np.bincount(labels[outline], minlength=count)
    return on_border >= OPEN_SHARE * np.maximum(on_border + inside, 1)


def segment(boundaries: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut the frame at its edges: ``(labels, stats, open, marks, scenery)``.

    ``labels`` are the flat regions (the marks on them included; 4-connected, 0 = none) with
    OpenCV's component stats, ``open[label]`` says whether a region is open to the frame's border,
    ``marks`` are the pixels of small textured islands and ``scenery`` those of the large textured
    areas that reach the border.
    """
    height, width = boundaries.shape
    grown = cv2.dilate(boundaries.astype(np.uint8), np.ones((5, 5), np.uint8))
    count, islands, stats, _ = cv2.connectedComponentsWithStats(grown, connectivity=8)
    small = np.zeros(count, bool)
    small[1:] = stats[1:, cv2.CC_STAT_AREA] < MARK_AREA * height * width
    large_open = ~small & _touches_border(stats, height, width)
    large_open[0] = False
    marks = small[islands] & (grown > 0)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(((grown == 0) | marks).astype(np.uint8),
                                                               connectivity=4)
    return labels, stats, _open(labels, count), marks, large_open[islands]


def fit_affine(points: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``2x3`` map ``p -> p + flow(p)`` from ``(N, 2)`` points and their flows, robust to outliers (RANSAC,
    1 px): a similarity (shift, rotation, zoom), or a general affine map where it fits the points clearly
    better (shear, perspective); the median translation with too few points, the identity with none.

    Camera motion between two frames is close to a similarity, and so are surfaces carried by it. Fitted on
    samples bunched in a band or a few islands, the two extra freedoms of a general affine map are barely
    constrained, and their error grows with the distance from the samples over the flat region it fills.
    """
    if len(points) >= MIN_SEEDS:
        source, target = points.astype(np.float32), (points + flow).astype(np.float32)
        fits = [cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=1.0)[0],
                cv2.estimateAffine2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=1.0)[0]]
        fits = [model for model in fits if model is not None]
        if fits:
            misses = [float(np.median(np.linalg.norm(source @ m[:, :2].T + m[:, 2] - target, axis=1))) for m in fits]
            if len(fits) == 2 and misses[0] > max(GENERAL_MISS, misses[1] / GENERAL_GAIN):
                return fits[1]
            return fits[0]
    shift = np.median(flow, axis=0) if len(flow) else np.zeros(2)
    return np.array([[1.0, 0.0, shift[0]], [0.0, 1.0, shift[1]]])


def _fit_on(picked: np.ndarray, flow: np.ndarray, origin: tuple[int, int] = (0, 0), limit: int = 4000) -> np.ndarray:
    ys, xs = np.nonzero(picked)
    if len(xs) > limit:  # the fit needs no more; keep it cheap on large frames
        keep = np.linspace(0, len(xs) - 1, limit).astype(int)
        ys, xs = ys[keep], xs[keep]
    px, py = xs + origin[0], ys + origin[1]
    return fit_affine(np.stack([px, py], 1).astype(np.float64), flow[py, px].astype(np.float64))


def _spread(picked: np.ndarray, islands: np.ndarray, width: int, height: int) -> bool:
    """Whether samples cover their region well enough to fit its motion: enough of them, on at least
    :data:`MIN_ISLANDS` separate marks, spread over :data:`SPREAD` of the region's extent both ways (a few
    specks in one corner, or one stain, would extrapolate wildly)."""
    ys, xs = np.nonzero(picked)
    return (len(xs) >= MIN_SEEDS and len(np.unique(islands[ys, xs])) >= MIN_ISLANDS
            and xs.std() >= SPREAD * width and ys.std() >= SPREAD * height)


def _edge_mismatch(model: np.ndarray, xs: np.ndarray, ys: np.ndarray, grey: np.ndarray, earlier: np.ndarray) -> float:
    """Mean absolute difference, grey levels, between ``grey`` at the points and ``earlier`` where ``model`` maps
    them (both float, slightly blurred)."""
    mapped = (model[:, :2] @ np.stack([xs, ys]) + model[:, 2:]).astype(np.float32)
    fetched = cv2.remap(earlier, mapped[0][None], mapped[1][None], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return float(np.mean(np.abs(grey[ys, xs] - fetched[0])))


def _checked(models: list[np.ndarray], region: np.ndarray, origin: tuple[int, int], grey: np.ndarray,
             earlier: np.ndarray, noise: float) -> np.ndarray:
    """The first of ``models`` (the rule's), or another that the region's edge band shows clearly better."""
    band = region & (cv2.erode(region.astype(np.uint8), np.ones((2 * EDGE_BAND + 1,) * 2, np.uint8)) == 0)
    ys, xs = np.nonzero(band)
    if len(xs) > EDGE_SAMPLES:
        keep = np.linspace(0, len(xs) - 1, EDGE_SAMPLES).astype(int)
        ys, xs = ys[keep], xs[keep]
    if not len(xs):
        return models[0]
    xs, ys = xs + origin[0], ys + origin[1]
    misses = [_edge_mismatch(model, xs, ys, grey, earlier) for model in models]
    best = int(np.argmin(misses))
    if misses[best] <= SWITCH * misses[0] and misses[0] - misses[best] > max(1.0, noise):
        return models[best]
    return models[0]


@dataclass(frozen=True)
class Scene:
    """What :func:`fill_flat` reads of a frame whatever the flow: its noise, where it is textured, its regions
    (:func:`segment`), the marks' islands and the frame slightly blurred (arrays read only)."""

    noise: float
    textured: np.ndarray
    labels: np.ndarray
    stats: np.ndarray
    opened: np.ndarray
    marks: np.ndarray
    scenery: np.ndarray
    islands: np.ndarray
    soft: np.ndarray


def _soft(grey: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(grey.astype(np.float32), (0, 0), 1.0)


def _analyse(grey: np.ndarray) -> Scene:
    noise = noise_level(grey)
    textured, boundaries = structure(grey, noise)
    labels, stats, opened, marks, scenery = segment(boundaries)
    islands = cv2.connectedComponents(marks.astype(np.uint8), connectivity=8)[1]
    made = Scene(noise, textured, labels, stats, opened, marks, scenery, islands, _soft(grey))
    for array in (made.textured, made.labels, made.stats, made.opened, made.marks, made.scenery, made.islands,
                  made.soft):
        array.flags.writeable = False
    return made


_scenes: OrderedDict[tuple, Scene] = OrderedDict()
_scenes_lock = threading.Lock()


def scene(grey: np.ndarray) -> Scene:
    """``grey``'s :class:`Scene`. Each frame of a clip is the later frame of one pair and the earlier of the next, and
    both directions of a pair fill their flow (motion/reliability.py), so each frame would be analysed twice; the last
    :data:`SCENES_KEPT` are kept, by content (the same pixels give the same scene)."""
    key = (grey.shape, hashlib.blake2b(memoryview(np.ascontiguousarray(grey)), digest_size=16).digest())
    with _scenes_lock:
        found = _scenes.get(key)
        if found is not None:
            _scenes.move_to_end(key)
            return found
    made = _analyse(grey)
    with _scenes_lock:
        _scenes[key] = made
        while len(_scenes) > SCENES_KEPT:
            _scenes.popitem(last=False)
    return made


def fill_flat(flow: np.ndarray, consistent: np.ndarray, grey: np.ndarray,
              earlier: np.ndarray | None = None) -> np.ndarray:
    """``flow (H, W, 2)`` on ``grey``'s grid with every flat region's unconfident pixels replaced by one
    affine motion; ``consistent`` is the forward-backward check of ``flow``. A region's motion is fitted
    on the marks on it; without marks, an enclosed region (inside an object) is fitted on its border and
    one that reaches the frame's border moves with the camera: the fit on the marks of such regions and
    on the large textured areas that reach the border (none: a still camera). Given ``earlier`` (the grey
    frame ``flow`` points into), a region without marks takes, of those motions and standing still, the one
    its edge shows clearly best."""
    here = scene(grey)
    noise, textured, labels, stats, opened, marks, scenery, islands = (
        here.noise, here.textured, here.labels, here.stats, here.opened, here.marks, here.scenery, here.islands)
    if earlier is not None:
        soft = [here.soft, _soft(earlier)]
    confident = consistent & textured
    seeds = confident.copy()
    seeds[1::SEED_STEP, :] = False
    seeds[:, 1::SEED_STEP] = False
    camera = _fit_on(seeds & (scenery | (marks & opened[labels])), flow)
    out = flow.copy()
    height, width = grey.shape
    kernel = np.ones((2 * BAND + 1, 2 * BAND + 1), np.uint8)
    for label in range(1, len(stats)):
        x, y, w, h, area = stats[label]
        if area < MIN_REGION:
            continue
        pad = BAND + 1
        box = (slice(max(0, y - pad), min(height, y + h + pad)), slice(max(0, x - pad), min(width, x + w + pad)))
        origin = (box[1].start, box[0].start)
        region = labels[box] == label
        picked = region & marks[box] & seeds[box]
        if _spread(picked, islands[box], w, h):
            model = _fit_on(picked, flow, origin)
        else:
            border = _fit_on((cv2.dilate(region.astype(np.uint8), kernel) > 0) & ~region & seeds[box], flow, origin)
            # enclosed, no marks to go by: the region moves with what surrounds it
            model = camera if opened[label] else border
            if earlier is not None:
                model = _checked([model, camera, border, STILL], region, origin, *soft, noise)
        ys, xs = np.nonzero(region & ~confident[box])
        px, py = xs + origin[0], ys + origin[1]
        out[py, px, 0] = model[0, 0] * px + model[0, 1] * py + model[0, 2] - px
        out[py, px, 1] = model[1, 0] * px + model[1, 1] * py + model[1, 2] - py
    return out

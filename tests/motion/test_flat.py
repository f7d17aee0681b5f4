import cv2
import numpy as np

from vidstyle.motion.flat import fill_flat, fit_affine


def turn(angle: float, zoom: float, centre: tuple[float, float]) -> np.ndarray:
    """2x3 map of a camera turning by ``angle`` degrees and zooming by ``zoom`` about ``centre``."""
    c, s = np.cos(np.radians(angle)) * zoom, np.sin(np.radians(angle)) * zoom
    return np.array([[c, -s, centre[0] - c * centre[0] + s * centre[1]],
                     [s, c, centre[1] - s * centre[0] - c * centre[1]]])


def motion_of(matrix: np.ndarray, height: int, width: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float64)
    return np.stack([matrix[0, 0] * xs + matrix[0, 1] * ys + matrix[0, 2] - xs,
                     matrix[1, 0] * xs + matrix[1, 1] * ys + matrix[1, 2] - ys], -1)


def test_a_turning_camera_fitted_on_a_band_of_samples_extrapolates_far_from_them():
    rng = np.random.default_rng(0)
    camera = turn(2.5, 1.01, (320, 180))
    far = np.array([[0.0, 0.0], [320.0, 0.0], [640.0, 0.0]])
    for _ in range(5):  # samples on a table's edge near the bottom, the flat wall above it
        points = np.stack([rng.uniform(0, 640, 300), rng.uniform(300, 304, 300)], 1)
        flow = points @ camera[:, :2].T + camera[:, 2] - points + rng.normal(0, 0.3, points.shape)
        fit = fit_affine(points, flow)
        assert np.abs(far @ fit[:, :2].T + fit[:, 2] - (far @ camera[:, :2].T + camera[:, 2])).max() < 0.5


def test_a_shear_that_samples_show_clearly_is_kept():
    rng = np.random.default_rng(1)
    shear = np.array([[1.0, 0.05, 2.0], [0.0, 1.0, -1.0]])
    points = np.stack([rng.uniform(0, 640, 300), rng.uniform(0, 360, 300)], 1)
    flow = points @ shear[:, :2].T + shear[:, 2] - points + rng.normal(0, 0.2, points.shape)
    assert np.abs(fit_affine(points, flow) - shear).max() < 0.05


def test_a_wall_with_two_stains_turns_with_the_camera():
    """Two stains cannot say how a wall turns (one of them, at the frame's edge, is measured 1.5 px off):
    the wall takes the camera's motion, fitted on the textured table below it."""
    rng = np.random.default_rng(1)
    height, width = 180, 320
    grey = 120 + rng.normal(0, 1.0, (height, width))
    table = rng.uniform(40, 220, (40, width // 4)).repeat(4, 1)
    grey[140:] = cv2.GaussianBlur(table, (0, 0), 1.0)
    grey[38:43, 58:63] -= 40
    grey[96:102, 312:318] -= 40
    grey = np.clip(grey, 0, 255).astype(np.uint8)
    truth = motion_of(turn(2.0, 1.01, (width / 2, height / 2)), height, width)
    flow = truth + rng.normal(0, 0.2, truth.shape)
    flow[90:108, 306:] += (1.0, 1.2)
    flow[:140] += rng.normal(0, 2.0, (140, width, 2))  # the estimator's noise on the flat wall
    out = fill_flat(flow.astype(np.float32), np.ones((height, width), bool), grey)
    wall = np.zeros((height, width), bool)
    wall[5:130, 5:300] = True
    wall[30:50, 50:70] = False
    assert np.linalg.norm(out - truth, axis=-1)[wall].mean() < 0.3


def test_the_flat_inside_of_an_object_at_the_frame_border_moves_with_the_object():
    """An object enters from the left border: a textured rim round a flat inside, moving 8 px right over a still
    textured scene. The inside reaches the frame's border, so the rule gives it the camera's motion (still: the
    scene outweighs the rim); its own edge, which the rim left, shows the object's motion, and it takes that."""
    rng = np.random.default_rng(4)
    height, width, shift = 120, 200, 8
    def texture(rows: int, cols: int) -> np.ndarray:
        return cv2.resize(rng.uniform(0, 255, (rows // 8, cols // 8)), (cols, rows), interpolation=cv2.INTER_CUBIC)

    scene = texture(height, width)
    thing = cv2.GaussianBlur(rng.uniform(0, 255, (88, 72)), (0, 0), 0.8)  # a finely textured rim
    thing[8:80, :60] = 150

    def frame(left: int) -> np.ndarray:  # the object's right part, ``left + 60`` px of it, shows
        image = scene.copy()
        image[16:104, :left + 60] = thing[:, 12 - left:]
        return np.clip(image + rng.normal(0, 1.0, image.shape), 0, 255).astype(np.uint8)

    earlier, grey = frame(0), frame(shift)
    truth = np.zeros((height, width, 2), np.float32)
    truth[16:104, :shift + 60, 0] = -shift  # backward flow: the object came from 8 px to the left
    flow = truth + rng.normal(0, 0.1, truth.shape).astype(np.float32)
    flow[28:92, :shift + 44] = rng.normal(0, 2.0, (64, shift + 44, 2))  # the estimator's noise on the flat inside
    inside = (slice(30, 90), slice(5, shift + 45))
    ruled = fill_flat(flow, np.ones((height, width), bool), grey)
    assert np.abs(ruled[inside][..., 0]).mean() < 0.5  # the camera's motion
    checked = fill_flat(flow, np.ones((height, width), bool), grey, earlier)
    assert np.linalg.norm(checked - truth, axis=-1)[inside].mean() < 0.3


def test_a_frame_analysed_once_fills_as_one_analysed_afresh():
    """Each frame's scene (regions, marks, noise) is kept by content for the next pair: the fill a kept scene gives
    equals a fresh one's, a changed frame is analysed anew, and a kept scene cannot be written to."""
    import vidstyle.motion.flat as flat

    rng = np.random.default_rng(5)
    grey = np.clip(120 + rng.normal(0, 1.0, (90, 160)), 0, 255).astype(np.uint8)
    grey[20:26, 30:36] -= 40
    grey[60:66, 120:126] -= 40
    grey[40:46, 80:86] -= 40
    flow = rng.normal(0, 2.0, (90, 160, 2)).astype(np.float32)
    flow[18:28, 28:38] = (1.0, 0.5)
    consistent = np.ones((90, 160), bool)
    flat._scenes.clear()
    fresh = fill_flat(flow, consistent, grey)
    assert len(flat._scenes) == 1
    assert np.array_equal(fill_flat(flow, consistent, grey.copy()), fresh)  # the same pixels: the kept scene
    assert len(flat._scenes) == 1
    changed = grey.copy()
    changed[60:66, 120:126] = 120  # one mark gone: another scene
    fill_flat(flow, consistent, changed)
    assert len(flat._scenes) == 2
    kept = flat.scene(grey)
    assert not kept.labels.flags.writeable and not kept.marks.flags.writeable
    for index in range(flat.SCENES_KEPT + 1):  # only the last few frames are kept
        flat.scene(np.full((8, 8), index, np.uint8))
    assert len(flat._scenes) == flat.SCENES_KEPT

"""Settings: frozen dataclasses, one per concern, each field described once.

Every field carries a :class:`Setting` (help, allowed range or choices, the
commands that offer it). It is the single source of truth: ``__post_init__``
validates against it, the CLI builds its options from it
(``vidstyle.cli.options``), and ``jobs.toml`` keys are derived from it
(``vidstyle.batch.jobsfile``). The video manifest hashes the configs to
decide whether an interrupted run may be resumed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

Pooling = Literal["max", "avg"]
OptimizerName = Literal["lbfgs", "adam"]
FlowMethod = Literal["dis", "deepflow", "farneback"]
ReliabilityCheck = Literal["regions", "ruder"]
Precision = Literal["auto", "fp32", "bf16"]
OutputSize = Literal["source", "processing"]
Preset = Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"]

STYLE_LAYERS: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
CONTENT_LAYERS: tuple[str, ...] = ("relu4_2",)
# Long side the optimisation runs at, for stills (--size) and video (--max-size).
DEFAULT_SIZE = 512
# The studio's processing size: a first render of a clip in minutes on a CPU (the user raises it for the final one).
STUDIO_SIZE = 256
MAX_SIDE = 16384  # beyond any camera; the memory estimate refuses most sizes far below it
WEIGHT_CAP = 1e6  # loss weights above this overflow fp32 losses long before they mean anything

IMAGE = "image"  # command scopes a setting can be offered in
VIDEO = "video"  # `video`, `batch` and jobs.toml
MASK = "mask"
BATCH = "batch"  # `batch` and jobs.toml only: how a clip is spread over workers
ALL = frozenset({IMAGE, VIDEO})
LAYER_PATTERN = re.compile(r"(?:conv|relu)[1-5]_[1-4]|pool[1-5]")


class SettingError(ValueError):
    r"""A value given for one setting or input is wrong. ``key`` names it as jobs.toml does (a front end
    shows its own word: the flag in the CLI, the label in the studio). Other settings the message
    mentions are written as ``\`key\```, so front ends can name those their way too."""

    def __init__(self, key: str, message: str) -> None:
        self.key, self.message = key, message
        super().__init__(f"{key}: {message}")

    def worded(self, word: Callable[[str], str]) -> str:
        """The error in a front end's words: ``word(key)`` for this setting and each one it mentions."""
        return f"{word(self.key)}: {MENTION.sub(lambda m: word(m.group(1)), self.message)}"


MENTION = re.compile(r"`([a-z][a-z0-9_]*)`")


@dataclass(frozen=True)
class Setting:
    """How one config field is described, checked and offered.

    ``flag``/``video_flag``: the CLI option (default ``--field-name``; video
    commands may name it differently). ``negate``: a bool offered as a
    ``--no-...`` switch (the field is its opposite). ``zero_is_none``: the CLI
    and jobs.toml write None as 0. ``commands``: where it is offered.
    """

    help: str
    low: float | None = None
    high: float | None = None
    above: bool = False  # strictly greater than ``low``
    choices: tuple[str, ...] | None = None
    flag: str | None = None
    video_flag: str | None = None
    short: str | None = None
    negate: bool = False
    zero_is_none: bool = False
    layers: bool = False  # text items must be VGG19 layer names
    commands: frozenset[str] = ALL
    key: str | None = None  # the setting's key when its option's name is taken by another command's setting

    def flag_for(self, name: str, command: str) -> str:
        """The CLI option of field ``name`` in ``command`` (``image``, ``video``, ``mask``)."""
        if command != IMAGE and self.video_flag:
            return self.video_flag
        return self.flag or "--" + name.replace("_", "-")

    def key_for(self, name: str) -> str:
        """The setting's key (jobs.toml, errors): the video option's name with underscores, the image
        option's for image-only settings."""
        if self.key:
            return self.key
        command = VIDEO if self.commands & {VIDEO, MASK, BATCH} else IMAGE
        return self.flag_for(name, command).lstrip("-").replace("-", "_")

    def from_user(self, value: Any, kind: Any) -> Any:
        """A value as typed (CLI text, TOML value) -> the field's value, checked.

        Lists may be given as ``"a,b"``; ``negate`` switches flip; with
        ``zero_is_none`` 0 means None; integers are accepted for numbers.
        """
        if self.negate:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {value!r}")
            value = not value
        if self.zero_is_none and value == 0 and not isinstance(value, bool):
            return None
        if typing.get_origin(kind) is tuple:
            item = typing.get_args(kind)[0]
            parts = value.split(",") if isinstance(value, str) else value
            if not isinstance(parts, (list, tuple)):
                raise ValueError(f"expected a comma-separated list, got {value!r}")
            try:
                value = tuple(item(p.strip()) if isinstance(p, str) else p for p in parts)
            except ValueError:
                raise ValueError(f"expected a comma-separated list of {item.__name__}s, got {value!r}") from None
        elif kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        return self.check(value, kind)

    def to_user(self, value: Any, kind: Any) -> Any:
        """The field's value as the CLI shows it (the inverse of :meth:`from_user`)."""
        if self.negate:
            return not value
        if self.zero_is_none and value is None:
            return 0
        if typing.get_origin(kind) is tuple:
            return ",".join(map(str, value))
        return value

    def describe_range(self) -> str:
        if self.choices:
            return " or ".join(repr(c) for c in self.choices)
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.above else '>='} {self.low:g}")
        if self.high is not None:
            parts.append(f"<= {self.high:g}")
        return " and ".join(parts)

    def check(self, value: Any, kind: Any) -> Any:
        """Validate ``value`` for a field of type ``kind``; raise ``ValueError("expected ..., got ...")``."""
        if self.zero_is_none and value is None:
            return None
        origin = typing.get_origin(kind)
        if origin is tuple:
            if not isinstance(value, tuple) or not value:
                raise ValueError(f"expected a non-empty list, got {value!r}")
            item = typing.get_args(kind)[0]
            for element in value:
                self._check_scalar(element, item)
            return value
        return self._check_scalar(value, kind)

    def _check_scalar(self, value: Any, kind: Any) -> Any:
        if typing.get_origin(kind) is Literal:
            options = typing.get_args(kind)
            if value not in options:
                raise ValueError(f"expected {' or '.join(repr(o) for o in options)}, got {value!r}")
            return value
        if kind is bool:
            if not isinstance(value, bool):
                raise ValueError(f"expected true or false, got {value!r}")
            return value
        if kind is int or typing.get_args(kind) == (int, type(None)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"expected an integer{self._range_suffix()}, got {value!r}")
        elif kind is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ValueError(f"expected a number{self._range_suffix()}, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"expected a finite number{self._range_suffix()}, got {value!r}")
        elif kind is str:
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"expected a non-empty text, got {value!r}")
            if self.layers and not LAYER_PATTERN.fullmatch(value):
                raise ValueError(f"expected VGG19 layer names such as relu4_2 or conv4_2, got {value!r}")
            return value
        if self.low is not None and (value <= self.low if self.above else value < self.low):
            raise ValueError(f"expected a value{self._range_suffix()}, got {value!r}")
        if self.high is not None and value > self.high:
            raise ValueError(f"expected a value{self._range_suffix()}, got {value!r}")
        return value

    def _range_suffix(self) -> str:
        text = self.describe_range()
        return f" {text}" if text else ""


def setting(default: Any, help: str, **spec: Any) -> Any:
    """A dataclass field whose default, help and range are written here, once."""
    if "commands" in spec:
        spec["commands"] = frozenset(spec["commands"])
    return field(default=default, metadata={"setting": Setting(help, **spec)})


def _validate(instance: Any) -> None:
    hints = typing.get_type_hints(type(instance))
    for item in dataclasses.fields(instance):
        spec = item.metadata.get("setting")
        if spec is None:
            continue
        try:
            spec.check(getattr(instance, item.name), hints[item.name])
        except ValueError as exc:
            raise SettingError(spec.key_for(item.name), str(exc)) from None


class _Validated:
    def __post_init__(self) -> None:
        _validate(self)


@dataclass(frozen=True)
class FeatureConfig(_Validated):
    """Which VGG19 to use and how it pools."""

    weights: str = setting("embedded", "VGG19 weights: 'embedded' (no download), 'torchvision' or a state-dict file.")
    pooling: Pooling = setting("max", "VGG pooling: max (as trained) or avg (smoother, Gatys 2016).")


@dataclass(frozen=True)
class LossConfig(_Validated):
    """Weights of the objective's terms.

    All terms are normalised to be dimensionless and independent of image
    size (see ``core/losses.py``), so the same weights work at 256, 512 and 1024 px.
    """

    content_layers: tuple[str, ...] = setting(CONTENT_LAYERS, "VGG19 layers of the content term, comma-separated.",
                                              layers=True)
    style_layers: tuple[str, ...] = setting(STYLE_LAYERS, "VGG19 layers of the style term, comma-separated.",
                                            layers=True)
    content_weight: float = setting(1.0, "Weight of the (relative) content loss.", low=0, high=WEIGHT_CAP)
    style_weight: float = setting(10.0, "Weight of the (relative) Gram style loss.", low=0, high=WEIGHT_CAP)
    tv_weight: float = setting(1.0, "Weight of the total-variation smoothness term.", low=0, high=WEIGHT_CAP)


@dataclass(frozen=True)
class OptimConfig(_Validated):
    """The pixel optimisation of a cold start (a still, or the first frame of a shot)."""

    optimizer: OptimizerName = setting("lbfgs", "Pixel optimizer.")
    iterations: int = setting(200, "Optimisation iterations of a cold start (one VGG forward+backward each): at "
                                   "its coarsest level, halved per level below half size.",
                              low=1, high=100000, short="-i", video_flag="--first-iterations")
    learning_rate: float = setting(0.02, "Adam step size (pixels in [0, 1]).", low=0, above=True, high=1.0,
                                   flag="--lr")
    init: str = setting("content", "Start from 'content', 'noise' or an image path.")
    seed: int = setting(0, "Random seed (noise init).", low=0)
    # Stop early once the loss improves by less than this fraction per
    # iteration (averaged over a window); 0 disables early stopping.
    tolerance: float = setting(0.0, "Stop when the loss improves by less than this fraction per iteration (0: never).",
                               low=0, high=1, commands={IMAGE}, key="image_tolerance")
    # Coarse-to-fine for cold starts: this many resolutions, each half the next; the coarsest
    # runs the budget (halved for each level below half size: 100 at a quarter), the full-size level
    # fine_iterations and any level in between half of it. 3 levels of 100, 37 and 75 reach the full-size
    # loss of 150, 75 and 75 in 0.84-0.86x its time (and within 5% of 2 levels of 300 and 150 in 0.4x theirs;
    # BENCHMARKS.md, cold starts); levels whose short side would fall under 32 px are skipped.
    scales: int = setting(3, "Coarse-to-fine levels for cold starts (each half the size of the next).", low=1,
                          high=5)
    fine_iterations: int = setting(75, "Budget of each finer level of a cold start (a still and a shot's first "
                                       "frame run half of it at the levels between the coarsest and the full "
                                       "size).", low=1, high=100000)


@dataclass(frozen=True)
class StyleConfig(_Validated):
    """How style images are prepared."""

    style_scale: float = setting(1.0, "Style image long side relative to the content's.", low=0.05, high=8.0)
    preserve_colors: bool = setting(False, "Luminance-only transfer: keep the content's colours (Gatys et al. 2017).")
    # A mixed Gram target is met as well by splitting the image into regions of each style as by blending
    # them; guided Grams on overlapping parts (Gatys et al. 2017) ask every part for the mix (README, Styles).
    even_mix: bool = setting(False, "Match a mix of styles in each of about six overlapping parts of the image, so every "
                             "style spreads over the whole picture instead of taking regions of its own (1.3-1.4x "
                             "the time; whole-image mixes only).")


@dataclass(frozen=True)
class TemporalConfig(_Validated):
    """Video: warm start, temporal loss, long-term terms, scene cuts (Ruder et al. 2016)."""

    enabled: bool = setting(True, "Per-frame baseline: cold start for every frame, no temporal term.",
                            flag="--no-temporal", negate=True, commands={VIDEO})
    # Weight of the short-term temporal term, on the same dimensionless scale
    # as the content term (see losses.temporal_loss).
    temporal_weight: float = setting(200.0, "Weight of the temporal term (same scale as `content_weight`).",
                                     low=0, high=WEIGHT_CAP, commands={VIDEO})
    long_term: tuple[int, ...] = setting((1,), "Frame offsets of temporal terms, e.g. 1,10,20 (Ruder's long-term "
                                         "consistency).", low=1, high=1000, commands={VIDEO})
    # A later frame starts from the warped previous one and needs few steps: 12 full-size iterations cost
    # what the former 100-at-half-size-then-6 did and are steadier (every iteration beyond repaints
    # reliable pixels; BENCHMARKS.md, stability). 10 were measured and not kept: 0.95x the outside error over
    # seven clips, but style and content loss up to 3-5% higher under a moving camera (new content gets fewer
    # steps), for a whole clip at 512 px only 0.64x -> 0.63x 033e546's time (BENCHMARKS.md, whole clip).
    # 11 since L-BFGS's first step is sized (core/optimize.py, WARM_FIRST_STEP): torch's first step barely
    # moved, so 11 sized steps end where 12 did (seven clips at 256 px: style and content loss 0.99-1.00x,
    # the outside error 0.97-1.03x, geometric mean 1.00x).
    iterations: int = setting(11, "Budget of each later (warm-started) frame (of its half-size level with "
                              "`later_scales` 2).", low=1, high=100000, flag="--iterations", commands={VIDEO})
    # See motion/uncover.py: behind a moving object the warped start is the object's paint.
    fill_uncovered: bool = setting(True, "Start the pixels a moving object uncovers from the paint around them "
                                   "that moves as they do, not from the warped paint of the object (our "
                                   "departure from Ruder; off: his warped start everywhere).",
                                   flag="--no-fill-uncovered", negate=True, commands={VIDEO})
    # ... and the surface beside them, which carries the object's halo away (motion/uncover.py): 2 px took the
    # trail behind an object from 53 to 15 RGB levels (clip (b)) and 48 to 29 (clip (d)) for 18-20% more warping
    # error on clips (b)-(d); 3 px: 13.5 and 22 for 25-30% (BENCHMARKS.md, passes).
    uncover_margin: int = setting(2, "Also fill this many px (processing size) of the surface beside the pixels a "
                                  "moving object uncovers: it carries the object's halo (0: off).", low=0, high=32,
                                  flag="--uncover-margin", commands={VIDEO})
    # Coarse-to-fine for later frames is an option: the changes a half-size level makes reach every
    # pixel upsampled, reliable ones included, and the full size then gets few iterations.
    scales: int = setting(1, "Levels for later frames (1: full size only; 2: mostly at half size, then "
                          "`later_fine_iterations` at full size).", low=1, high=3,
                          flag="--later-scales", commands={VIDEO})
    fine_iterations: int = setting(6, "Budget of a later frame's full-size level after a half-size one "
                                   "(`later_scales` 2 or 3).", low=1, high=100000, flag="--later-fine-iterations",
                                   commands={VIDEO})
    tolerance: float = setting(2e-3, "Later frames stop when the loss improves by less than this fraction per "
                               "iteration (averaged over 10).", low=0, high=1, commands={VIDEO})
    # ... but only once the frame is as stylized as its shot: a frame that quits early is a visible flash.
    style_guard: float = setting(1.25, "A later frame may stop early only when its style loss is within this factor of its "
                                 "shot's median so far (0: off).",
                                 low=0, high=100, commands={VIDEO})
    flow: FlowMethod = setting("dis", "Optical flow method.", commands={VIDEO, MASK})
    # The flow sees the source's detail (a road's marks) that the processing size averages away;
    # its vectors are scaled down to the processing size (BENCHMARKS.md, stability).
    flow_size: int | None = setting(1024, "Long side the optical flow is computed at, capped at the source's and never "
                                    "below the processing size (0: the processing size).", low=16, high=MAX_SIDE,
                                    zero_is_none=True, commands={VIDEO})
    # See motion/flat.py and motion/correct.py: flat regions take the motion of their marks or border, pixels
    # whose warp fetches something else try their neighbours' motion, then Ruder's test.
    reliability: ReliabilityCheck = setting("regions", "Which pixels the flow may warp: 'regions' first gives each "
                                            "textureless region the motion of the marks on it or of its border, "
                                            "lets pixels the flow warps wrongly take a neighbour's motion, then "
                                            "applies Ruder's forward-backward test; 'ruder' applies the "
                                            "published test to the estimator's flow alone.", commands={VIDEO})
    # A frame whose reliable fraction falls below this is a cut ...
    cut_reliable_fraction: float = setting(0.4, "A frame whose reliable-flow fraction falls below this starts a new "
                                           "shot.", low=0, high=1, commands={VIDEO})
    # ... as is one whose colour histogram correlation with the previous
    # frame falls below this.
    cut_histogram_correlation: float = setting(0.5, "A frame whose colour-histogram correlation with the previous "
                                               "falls below this starts a new shot.", low=-1, high=1,
                                               commands={VIDEO})
    # A later frame's dozen iterations leave its picture a few frames behind a mix that moves every frame (style
    # keys): aiming ahead keeps the picture at its own frame's mix (BENCHMARKS.md, style keys).
    key_lead: int = setting(2, "Within a ramp between style keys, paint each frame of the first pass toward the mix "
                            "this many frames ahead (never past the key it ramps to), so the picture keeps up with "
                            "its mix (0: the frame's own mix).", low=0, high=100, commands={VIDEO})
    # Ruder et al.'s multi-pass algorithm (artistic_video_multiPass.lua): after the forward pass, passes run in
    # alternating directions; each frame starts from a blend of its last pass and its neighbour in the current
    # direction, warped, and is held to both neighbours (README, Video; BENCHMARKS.md, passes).
    passes: int = setting(1, "Passes over the clip: 1 is one forward pass; each later pass runs the other way, "
                          "starting each frame from its last pass blended with the neighbour it now follows, and "
                          "holding it to both neighbours.", low=1, high=50, commands={VIDEO})
    # A later pass starts from neighbours that agree already: few steps keep that agreement. Side runs of `--passes 2`
    # on seven clips: 4 steps gave 5-16% less error than 6 on every clip (4: 0.58-0.64x one pass's on the bench's
    # object clips, 6: 0.63-0.70x, 12: 0.74-0.78x), the style loss within 1.5% of 6's except under the zooming camera
    # (+4%); 3 steps raised the style loss 4-14% (BENCHMARKS.md, passes).
    pass_iterations: int = setting(4, "Budget of each frame in a later pass (`passes` above 1; Ruder: 100).", low=1,
                                   high=100000, commands={VIDEO})
    blend_weight: float = setting(1.0, "How much of the warped neighbour a frame of a later pass starts from, where "
                                  "that neighbour's flow is reliable (the rest is its last pass; Ruder: 1).", low=0,
                                  high=1, commands={VIDEO})
    temporal_from_pass: int = setting(2, "The first later pass whose frames are held to their neighbours by the "
                                      "temporal term (Ruder: 9, with 15 passes from noise).", low=2, high=51,
                                      commands={VIDEO})

    # A chunk of a long shot (batch/chunks.py) set by the batch, never by a user: its first `carry_frames` frames
    # are the shot's earlier frames, carried along the flow from the shot's first painting without optimisation,
    # so the chunk starts from the same paint as the chunk before it instead of a painting of its own.
    carry_frames: int = setting(0, "Frames carried, not painted, before a chunk's first painted frame.", low=0,
                                high=10**7, commands=())


PASS_SETTINGS = ("passes", "pass_iterations", "blend_weight", "temporal_from_pass")


@dataclass(frozen=True)
class RunConfig:
    """Everything that affects the pixels of a stylized image or video."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    style: StyleConfig = field(default_factory=StyleConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    # "auto" is resolved per device at the edge (core.device.resolve_precision),
    # from the measurements in BENCHMARKS.md.
    precision: Precision = setting("auto", "Network precision; auto = bf16 where it measured faster (CUDA with "
                                   "native bf16, CPUs with AVX-512 BF16/AMX). Grams and losses stay fp32.")

    def __post_init__(self) -> None:
        _validate(self)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def digest(self, **extra: Any) -> str:
        """Stable hash of every setting (plus ``extra``) that affects pixels. The later passes' settings affect
        nothing with one pass, and are left out then (a one-pass work folder keeps its hash)."""
        config = self.to_dict()
        if self.temporal.passes == 1:
            for name in PASS_SETTINGS:
                config["temporal"].pop(name)
        if not self.temporal.carry_frames:  # what every run but a chunk's has: its work folder keeps its hash
            config["temporal"].pop("carry_frames")
        payload = json.dumps({"config": config, **extra}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class VideoConfig(_Validated):
    """Video I/O: processing size, output size, audio, encoder, checkpoints."""

    max_size: int | None = setting(DEFAULT_SIZE, "Long side the optimisation runs at (0: source size; never "
                                   "upscales).", low=16, high=MAX_SIDE, zero_is_none=True, commands={VIDEO, MASK})
    output_size: OutputSize = setting("source", "Encode at the input's size or at the processing size.",
                                      commands={VIDEO})
    audio: bool = setting(True, "Drop the audio stream.", flag="--no-audio", negate=True, commands={VIDEO})
    keep_frames: bool = setting(False, "Keep the work directory (frames, log) after encoding.", commands={VIDEO})
    crf: int = setting(18, "H.264 quality: constant rate factor (0 lossless ... 51 worst; 18 looks lossless).",
                       low=0, high=51, commands={VIDEO})
    preset: Preset = setting("medium", "H.264 encoder speed/size trade-off.", commands={VIDEO})
    # One long shot spread over workers (batch/chunks.py): chunks of about this many frames run at once, each after
    # the first starting `chunk_overlap` frames early; the join crossfades those frames (BENCHMARKS.md, chunks).
    chunk_frames: int | None = setting(None, "Cut each clip (each shot with --split-shots) into chunks of about N "
                                       "frames that run at once, then join them (0: one job per clip).", low=2,
                                       high=10**7, zero_is_none=True, commands={BATCH})
    chunk_carry: bool = setting(True, "Start each chunk from a cold start of its own, not from the shot's first "
                                "painting carried along the flow to it (as the chunk before it paints it): no flow "
                                "for the frames before the chunk, at the price of seams that share less paint.",
                                flag="--no-chunk-carry", negate=True, commands={BATCH})
    chunk_overlap: int = setting(24, "Frames a chunk paints before its first one, blended with the chunk before it "
                                 "(the seam is spread over them).", low=0, high=1000, commands={BATCH})
    # Set by the batch for a chunk's job, never by a user (video/pairs.py): the folder of its shot's flow pairs, which
    # every chunk estimated for its own frames first; its carry reads them instead of estimating them again.
    carry_pairs: str | None = setting(None, "Folder of the shot's kept flow pairs a chunk's carry reads.", commands=())


@dataclass(frozen=True)
class ImageConfig(_Validated):
    """A still's output."""

    size: int | None = setting(DEFAULT_SIZE, "Long side of the result in px (0 keeps the content's size).", low=16,
                               high=MAX_SIDE, zero_is_none=True, commands={IMAGE})


@dataclass(frozen=True)
class MaskConfig(_Validated):
    """How region masks are shaped: inversion, soft edge, temporal smoothing."""

    invert: bool = setting(False, "Style what the mask does not cover.", flag="--invert-mask",
                           commands={IMAGE, VIDEO, MASK})
    feather: int = setting(0, "Soft mask edge, in px at the processing size.", low=0, high=512,
                           commands={IMAGE, VIDEO, MASK})
    # Weight of the flow-warped previous mask for per-frame sources (mask videos,
    # folders, segmentation): m~_t = (1-s) m_t + s c_t warp(m~_{t-1}).
    smoothing: float = setting(0.5, "Temporal smoothing of per-frame masks along the flow (0: off).", low=0,
                               high=0.95, flag="--mask-smoothing", commands={VIDEO, MASK})


def settings_of(cls: type, prefix: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], dataclasses.Field, Any]]:
    """Every described field under ``cls``, depth first: ``(path, field, type)``."""
    hints = typing.get_type_hints(cls)
    for item in dataclasses.fields(cls):
        kind = hints[item.name]
        if dataclasses.is_dataclass(kind):
            yield from settings_of(kind, prefix + (item.name,))
        elif "setting" in item.metadata:
            yield prefix + (item.name,), item, kind


def from_dict(cls: type, data: dict[str, Any]) -> Any:
    """Rebuild a (nested) config dataclass from :func:`dataclasses.asdict` output; lists become tuples."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for item in dataclasses.fields(cls):
        if item.name not in data:
            continue
        value, hint = data[item.name], hints[item.name]
        if dataclasses.is_dataclass(hint) and isinstance(value, dict):
            value = from_dict(hint, value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[item.name] = value
    return cls(**kwargs)

"""Every CLI option, written once, and the decorator that gives commands their options.

Settings options are generated from the config schema (``vidstyle.config``):
a field's flag, default, help, choices and range come from its ``Setting``;
values are checked by the same schema (one red line naming the flag) and
arrive as frozen configs. Mask inputs are one group shared by every command
that takes masks. The few options of one command are written in that
command's module.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import os
import typing
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.markup import escape

from ..config import MaskConfig, RunConfig, Setting, VideoConfig, from_dict, settings_of
from ..regions.guides import Spec
from ..regions.sources import MaskSource, parse_names, parse_rect, parse_region
from .app import app, run_guarded, setup_logging

PANEL = {"features": "Style", "loss": "Style", "style": "Style", "optim": "Optimisation", "precision": "Optimisation",
         "temporal": "Temporal consistency (Ruder et al.)", "video": "Video input and output", "masks": "Masks"}
ROOTS = (("run", RunConfig), ("video", VideoConfig), ("masks", MaskConfig))

def user_path(text: str) -> Path:
    """A path option as typed; an empty one is refused (``Path("")`` would silently become ``.``)."""
    if not text.strip():
        raise typer.BadParameter("expected a path, got an empty one")
    return Path(text)


# Options several commands share. Defaults live in the signatures that use them.
Styles = Annotated[Optional[str], typer.Option(
    "--styles", "-s", help="Styles as name[:weight],... (names from `vidstyle styles list`, or image paths).",
    show_default=False)]
Device = Annotated[str, typer.Option("--device", help="Compute device: auto, cpu, cuda, cuda:N or mps.",
                                     rich_help_panel="Runtime")]
Threads = Annotated[Optional[int], typer.Option(
    "--threads", min=1, help="CPU threads for torch (default: the cores this process may use).",
    rich_help_panel="Runtime", show_default=False)]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.", rich_help_panel="Runtime")]
Start = Annotated[Optional[str], typer.Option(
    "--start", help="First frame: seconds (2.5, 2.5s) or a frame index (75f).", rich_help_panel="Video input and output")]
End = Annotated[Optional[str], typer.Option(
    "--end", help="End (exclusive): seconds or a frame index (75f).", rich_help_panel="Video input and output")]


@dataclass(frozen=True)
class Settings:
    """The configs a command runs with, built from its options and checked by the schema."""

    run: RunConfig
    video: VideoConfig
    masks: MaskConfig


@dataclass(frozen=True)
class MaskInputs:
    """Where masks come from, as typed: ``--mask``, ``--grabcut``, ``--segment`` (+ classes, labels),
    ``--mask-keyframe``, and ``--region`` / ``--background-style``."""

    mask: Path | None = None
    mask_keyframe: int | None = None
    grabcut: str | None = None
    segment: str | None = None
    classes: str | None = None
    labels: Path | None = None
    region: tuple[str, ...] = ()
    background_style: str | None = None

    def sources(self, options: MaskConfig) -> tuple[MaskSource | None, list[tuple[MaskSource, Spec]]]:
        """The mask of ``--styles`` (None without one) and each ``--region``'s source with its spec."""
        given = [name for name, value in (("--mask", self.mask), ("--grabcut", self.grabcut),
                                          ("--segment", self.segment)) if value is not None]
        if len(given) > 1:
            raise ValueError(f"expected one of --mask, --grabcut, --segment, got {' and '.join(given)}")
        if self.classes is not None and self.segment is None:
            raise ValueError("expected --classes together with --segment")
        if self.mask is not None and not self.mask.exists():
            raise FileNotFoundError(f"mask {os.fspath(self.mask)!r} does not exist")
        mask = None
        if given:
            mask = MaskSource(path=self.mask, keyframe=self.mask_keyframe,
                              grabcut=parse_rect(self.grabcut) if self.grabcut is not None else None,
                              segment=self.segment, classes=parse_names(self.classes) if self.classes else (),
                              labels=self.labels, options=options)
        elif self.mask_keyframe is not None and not self.region:
            raise ValueError("expected --mask-keyframe together with --mask or --grabcut")
        regions = []
        for text in self.region:
            path, spec = parse_region(text)
            if not path.exists():
                raise FileNotFoundError(f"mask {os.fspath(path)!r} of --region {text!r} does not exist")
            regions.append((MaskSource(path=path, keyframe=self.mask_keyframe, options=options), spec))
        return mask, regions

    def to_job(self) -> dict[str, Any]:
        """The batch job fields (``mask``, ``regions``, ``background_style``): plain data, absolute paths."""
        mask, regions = self.sources(MaskConfig())
        data = None if mask is None else {k: v for k, v in mask.to_dict().items() if k != "options"}
        if data and data["path"]:
            data["path"] = os.fspath(Path(data["path"]).resolve())
        if data and data["labels"]:
            data["labels"] = os.fspath(Path(data["labels"]).resolve())
        return {"mask": data, "regions": [[os.fspath(s.path.resolve()), spec] for s, spec in regions],
                "background_style": self.background_style}


MASK_PANEL = "Masks"
MASK_OPTIONS: dict[str, tuple[Any, Any]] = {  # field -> (annotation, default)
    "mask": (Annotated[Optional[Path], typer.Option(
        "--mask", parser=user_path, metavar="PATH", help="Restrict --styles to a region: a mask image (grey = soft weight), a mask video or a folder "
                       "of per-frame masks.", rich_help_panel=MASK_PANEL, show_default=False)], None),
    "mask_keyframe": (Annotated[Optional[int], typer.Option(
        "--mask-keyframe", min=0, help="The --mask (or --grabcut) is drawn on this frame; propagate it by flow.",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
    "grabcut": (Annotated[Optional[str], typer.Option(
        "--grabcut", help="x,y,w,h: a GrabCut object mask from this rectangle, in source pixels (no model needed).",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
    "segment": (Annotated[Optional[str], typer.Option(
        "--segment", help="Segmentation: 'person' (built in, offline), or an smp model (a save_pretrained folder or "
                          "a Hugging Face id such as smp-hub/segformer-b2-1024x1024-city-160k) with --classes.",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
    "classes": (Annotated[Optional[str], typer.Option(
        "--classes", help="Classes of an smp --segment model to style, e.g. sky,building.",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
    "labels": (Annotated[Optional[Path], typer.Option(
        "--labels", parser=user_path, metavar="PATH", help="JSON list of an smp model's class names (ADE20K and Cityscapes models need none).",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
    "region": (Annotated[Optional[list[str]], typer.Option(
        "--region", help="MASK=SPEC: a region with its own styles (repeatable).", rich_help_panel=MASK_PANEL,
        show_default=False)], None),
    "background_style": (Annotated[Optional[str], typer.Option(
        "--background-style", help="Styles for what no mask covers (default: keep the content).",
        rich_help_panel=MASK_PANEL, show_default=False)], None),
}


def _help(spec: Setting) -> str:
    text = spec.describe_range()
    return escape(f"{spec.help} [{text}]" if text and not spec.choices else spec.help)


def _cli_kind(spec: Setting, kind: Any) -> Any:
    if spec.negate:
        return bool
    if typing.get_origin(kind) is tuple:
        return str
    if spec.zero_is_none:
        return int
    return kind


def setting_parameters(command: str) -> list[inspect.Parameter]:
    """One keyword parameter (a Typer option) per setting offered in ``command``."""
    parameters = []
    for root, cls in ROOTS:
        for path, item, kind in settings_of(cls):
            spec: Setting = item.metadata["setting"]
            if command not in spec.commands:
                continue
            flag = spec.flag_for(item.name, command)
            own_flag = flag == (spec.flag or "--" + item.name.replace("_", "-"))
            decls = [flag] + ([spec.short] if spec.short and own_flag else [])
            option = typer.Option(*decls, help=_help(spec), rich_help_panel=PANEL[path[0] if root == "run" else root])
            default = spec.to_user(item.default, kind)
            name = "__".join(("setting", root, *path))
            parameters.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                                annotation=Annotated[_cli_kind(spec, kind), option]))
    return parameters


def build_settings(values: dict[str, Any], command: str) -> Settings:
    """Configs from option values; a value out of range is one error naming the flag as typed."""
    trees: dict[str, dict] = {root: {} for root, _ in ROOTS}
    for root, cls in ROOTS:
        for path, item, kind in settings_of(cls):
            name = "__".join(("setting", root, *path))
            if name not in values:
                continue
            spec: Setting = item.metadata["setting"]
            try:
                value = spec.from_user(values[name], kind)
            except ValueError as exc:
                raise ValueError(f"{spec.flag_for(item.name, command)}: {exc}") from None
            node = trees[root]
            for part in path[:-1]:
                node = node.setdefault(part, {})
            node[path[-1]] = value
    return Settings(from_dict(RunConfig, trees["run"]), from_dict(VideoConfig, trees["video"]),
                    from_dict(MaskConfig, trees["masks"]))


def _group_parameters(group: str, command: str, regions: bool) -> list[inspect.Parameter]:
    if group == "settings":
        return setting_parameters(command)
    names = [n for n in MASK_OPTIONS if regions or n not in ("region", "background_style")]
    return [inspect.Parameter(f"maskin__{n}", inspect.Parameter.KEYWORD_ONLY, default=MASK_OPTIONS[n][1],
                              annotation=MASK_OPTIONS[n][0]) for n in names]


def command(command_scope: str, *, name: str | None = None, regions: bool = True,
            typer_app: typer.Typer = app) -> Callable[[Callable], Callable]:
    """Register ``func`` as a command whose ``settings: Settings`` / ``masks: MaskInputs`` parameters are
    replaced by their options; failures are one line and an exit code (see ``cli.app``)."""

    def decorate(func: Callable) -> Callable:
        own = inspect.signature(func, eval_str=True)
        groups = [p.name for p in own.parameters.values() if p.annotation in (Settings, MaskInputs)]
        kept = [p for p in own.parameters.values() if p.name not in groups]
        extra = [q for g in groups for q in _group_parameters(
            "settings" if own.parameters[g].annotation is Settings else "masks", command_scope, regions)]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            def body() -> Any:
                setup_logging(bool(kwargs.get("verbose")))
                for group in groups:
                    if own.parameters[group].annotation is Settings:
                        values = {k: kwargs.pop(k) for k in list(kwargs) if k.startswith("setting__")}
                        kwargs[group] = build_settings(values, command_scope)
                    else:
                        values = {k[len("maskin__"):]: kwargs.pop(k) for k in list(kwargs) if k.startswith("maskin__")}
                        values["region"] = tuple(values.get("region") or ())
                        kwargs[group] = MaskInputs(**values)
                return func(**kwargs)

            return run_guarded(body)

        wrapper.__signature__ = own.replace(parameters=kept + extra)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {}  # Typer reads the annotations from the signature above
        del wrapper.__wrapped__  # type: ignore[attr-defined]
        return typer_app.command(name or func.__name__, help=inspect.getdoc(func))(wrapper)

    return decorate


def cli_fields() -> list[tuple[str, tuple[str, ...], dataclasses.Field, Any]]:
    """Every described config field as ``(root, path, field, type)``: what the options are made from."""
    return [(root, path, item, kind) for root, cls in ROOTS for path, item, kind in settings_of(cls)]

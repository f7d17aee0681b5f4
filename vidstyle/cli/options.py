"""Every CLI option, made from the job's keys, and the decorator that gives commands their options.

The options are not written here: each comes from a key of :class:`vidstyle.Job` (``vidstyle.job``):
a setting of the config schema (flag, default, help, choices and range from its ``Setting``), a mask-source
field (``SOURCE_FIELDS``) or one of the job's own keys. A command receives the values by key and builds
its :class:`~vidstyle.Job` with ``Job.from_values``, so the library checks them; the errors it raises
name keys, which ``app.run_guarded`` words as this command's flags.
"""

from __future__ import annotations

import functools
import inspect
import os
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
import typer.main
from rich.markup import escape

from ..job import JOB_KEYS_BY_NAME, SETTINGS, flag_for, keys_for
from ..config import MENTION, Setting
from ..media.images import IMAGE_SUFFIXES, is_image_path
from ..regions.sources import FIELDS_BY_KEY
from .app import app, run_guarded, setup_logging

PANEL = {"features": "Style", "loss": "Style", "style": "Style", "optim": "Optimisation", "precision": "Optimisation",
         "temporal": "Temporal consistency (Ruder et al.)", "video": "Video input and output", "masks": "Masks",
         "image": "Optimisation"}
MULTIPLE = ("region", "style_key", "paint_over")  # the repeatable options: a tuple, or None when not given
KEY_PANEL = {"style_key": "Style", "paint_over": "Temporal consistency (Ruder et al.)",
             "start": "Video input and output", "end": "Video input and output", "region": "Masks",
             "background_style": "Masks"}
SHORT = {"styles": "-s"}
PREFIX = "key__"


def user_path(value: str | os.PathLike[str]) -> Path:
    """A path option as typed, or its default; an empty one is refused (``Path("")`` would silently become ``.``).

    Typer calls ``parser=`` with the text the user typed and, in some releases (0.29), with the option's default
    as it is written in the signature (a ``Path``): both are accepted."""
    text = os.fspath(value)
    if not text.strip():
        raise typer.BadParameter("expected a path, got an empty one")
    return Path(text)


def expect_kind(path: Path, still: bool) -> None:
    """A still for ``vidstyle image`` (``still``), a clip for ``vidstyle video``: the other kind is refused in one
    line that names the command taking it, before the job's own checks (which judge the output by the input's
    kind, and would ask a still's command for a video's output)."""
    if is_image_path(path) == still or not path.is_file():  # a missing path or a folder: the job's checks say so
        return
    text = os.fspath(path)
    if still:
        raise ValueError(f"expected a still image ({', '.join(IMAGE_SUFFIXES)}) for `vidstyle image`, got "
                         f"{text!r}: stylize a clip with `vidstyle video`")
    raise ValueError(f"expected a video for `vidstyle video`, got the still image {text!r}: stylize it with "
                     f"`vidstyle image`")


# Options of the run, not of the job. Defaults live in the signatures that use them.
Device = Annotated[str, typer.Option("--device", help="Compute device: auto, cpu, cuda, cuda:N or mps.",
                                     rich_help_panel="Runtime")]
Threads = Annotated[Optional[int], typer.Option(
    "--threads", min=1, help="CPU threads for torch (default: the cores this process may use).",
    rich_help_panel="Runtime", show_default=False)]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log details to stderr.", rich_help_panel="Runtime")]


class Values(dict):
    """A command's job values by key, as typed (the options given or their defaults)."""


def worded(text: str, command: str) -> str:
    """Help or error text with every mentioned `key` written as this command's flag."""
    return MENTION.sub(lambda m: flag_for(m.group(1), command), text)


def _help(text: str, command: str, spec: Setting | None = None) -> str:
    text = worded(text, command)
    limits = spec.describe_range() if spec is not None and not spec.choices else ""
    return escape(f"{text} [{limits}]" if limits else text)


def _cli_kind(spec: Setting, kind: Any) -> Any:
    if spec.negate:
        return bool
    if typing.get_origin(kind) is tuple:
        return str
    if spec.zero_is_none:
        return int
    return kind


def _option(key: str, command: str) -> tuple[Any, Any]:
    """``(annotation, default)`` of the option for ``key``."""
    flag = flag_for(key, command)
    if key in SETTINGS:
        setting = SETTINGS[key]
        spec = setting.spec
        own_flag = flag == (spec.flag or "--" + setting.name.replace("_", "-"))
        decls = [flag] + ([spec.short] if spec.short and own_flag else [])
        panel = PANEL[setting.path[0] if setting.root == "run" else setting.root]
        option = typer.Option(*decls, help=_help(spec.help, command, spec), rich_help_panel=panel)
        return Annotated[_cli_kind(spec, setting.kind), option], spec.to_user(_default(setting), setting.kind)
    if key in FIELDS_BY_KEY:
        source = FIELDS_BY_KEY[key]
        kind = Optional[int] if source.integer else Optional[str]
        option = typer.Option(flag, help=_help(source.help, command), metavar=source.metavar, rich_help_panel="Masks",
                              show_default=False, **({"min": 0} if source.integer else {}))
        return Annotated[kind, option], None
    job_key = JOB_KEYS_BY_NAME[key]
    decls = [flag] + ([SHORT[key]] if key in SHORT else [])
    option = typer.Option(*decls, help=_help(job_key.help, command), rich_help_panel=KEY_PANEL.get(key),
                          show_default=False)
    return Annotated[Optional[list[str]] if job_key.multiple else Optional[str], option], None


def _default(setting: Any) -> Any:
    from ..job import ROOTS

    config = dict(ROOTS)[setting.root]()
    for part in setting.path:
        config = getattr(config, part)
    return config


def key_parameters(command: str, skip: tuple[str, ...] = ()) -> list[inspect.Parameter]:
    """One keyword parameter (a Typer option) per key ``command`` offers."""
    parameters = []
    for key in keys_for(command):
        if key in skip:
            continue
        annotation, default = _option(key, command)
        parameters.append(inspect.Parameter(PREFIX + key, inspect.Parameter.KEYWORD_ONLY, default=default,
                                            annotation=annotation))
    return parameters


def command(scope: str, *, name: str | None = None, skip: tuple[str, ...] = (),
            typer_app: typer.Typer = app) -> Callable[[Callable], Callable]:
    """Register ``func`` as a command whose ``values: Values`` parameter is replaced by the options of the keys
    ``scope`` offers (but ``skip``); failures are one line and an exit code (see ``cli.app``)."""

    def decorate(func: Callable) -> Callable:
        own = inspect.signature(func, eval_str=True)
        group = next(p.name for p in own.parameters.values() if p.annotation is Values)
        kept = [p for p in own.parameters.values() if p.name != group]

        @functools.wraps(func)
        def wrapper(**kwargs: Any) -> Any:
            def body() -> Any:
                setup_logging(bool(kwargs.get("verbose")))
                values = Values({k[len(PREFIX):]: kwargs.pop(k) for k in list(kwargs) if k.startswith(PREFIX)})
                for key in MULTIPLE:
                    if isinstance(values.get(key), list):
                        values[key] = tuple(values[key]) or None
                return func(**kwargs, **{group: values})

            return run_guarded(body, command=scope)

        wrapper.__signature__ = own.replace(parameters=kept + key_parameters(scope, skip))  # type: ignore[attr-defined]
        wrapper.__annotations__ = {}  # Typer reads the annotations from the signature above
        del wrapper.__wrapped__  # type: ignore[attr-defined]
        return typer_app.command(name or func.__name__, help=inspect.getdoc(func))(wrapper)

    return decorate


def job_from_argv(argv: list[str]):
    """The :class:`~vidstyle.Job` a ``video ...`` or ``image ...`` command line describes, parsed by the CLI's own
    options and checked by the library; nothing runs."""
    from ..job import Job

    command = typer.main.get_command(app).commands[argv[0]]
    params = command.make_context(argv[0], list(argv[1:])).params
    values = {k[len(PREFIX):]: v for k, v in params.items() if k.startswith(PREFIX)}
    for key in MULTIPLE:
        if isinstance(values.get(key), (list, tuple)):
            values[key] = tuple(values[key]) or None
    if argv[0] == "image":
        values["styles"] = (params.get("styles") or [None])[0]
    source = params.get("input_path") or params.get("content")
    return Job.from_values({**values, "input": source, "output": params["output"]})

"""The Typer app, its consoles and the one rule for failures.

Every failure a user can cause is one line on stderr and an exit code: 1 for
bad input (``ValueError``, ``OSError``, media and weights errors), 2 for usage
errors (unknown option, wrong type), 130 for Ctrl-C and 143 for SIGTERM, with
finished work kept. User text is never read as Rich markup. Real bugs keep
their traceback.
"""

from __future__ import annotations

import logging
import signal
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.text import Text
from typer.core import TyperGroup

from ..config import MENTION, SettingError
from ..core.weights import WeightsUnavailableError
from ..media.errors import MediaError

USER_ERRORS = (ValueError, OSError, WeightsUnavailableError, MediaError, FloatingPointError)
out = Console(highlight=False)
INTERRUPTED = "interrupted: finished frames are kept; run the same command again to resume"


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so every ``finally`` and context manager runs."""


def _on_sigterm(signum: int, frame: Any) -> None:
    raise Terminated()


def err_console() -> Console:
    """A fresh stderr console: a finished progress display may still hold the shared one."""
    return Console(stderr=True, highlight=False)


def fail(message: str, code: int) -> None:
    """One red ``error:`` line with the message as plain text (never markup), then exit."""
    line = message.splitlines()[0] if message else "unknown error"
    err_console().print(Text.assemble(("error: ", "bold red"), line), soft_wrap=True)
    sys.exit(code)


def say(*parts: str | tuple[str, str]) -> None:
    """Print user-facing text to stdout: strings as they are, ``(text, style)`` tuples styled."""
    out.print(Text.assemble(*parts), soft_wrap=True)


def _parser_errors() -> tuple[type[BaseException], ...]:
    """The base class of the argument parser's errors: Typer's own (it vendors Click), or Click's."""
    found: list[type[BaseException]] = []
    if hasattr(typer, "TyperException"):
        found.append(typer.TyperException)
    try:
        import click

        found.append(click.ClickException)
    except ImportError:
        pass
    return tuple(found)


PARSER_ERRORS = _parser_errors()


class Group(TyperGroup):
    """Runs commands with one-line errors: usage errors too, not the parser's boxed usage message."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        previous = signal.signal(signal.SIGTERM, _on_sigterm) if _main_thread() else None
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except typer.Abort:
            fail(INTERRUPTED, 130)
        except PARSER_ERRORS as exc:
            ctx = getattr(exc, "ctx", None)
            if type(exc).__name__ == "NoArgsIsHelpError":  # `vidstyle` alone: the help, not an error
                out.print(ctx.get_help() if ctx else "", markup=False, highlight=False)
                code = 0
            else:
                hint = f" (see '{ctx.command_path} --help')" if ctx is not None and exc.exit_code == 2 else ""
                fail(exc.format_message() + hint, exc.exit_code)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
        if not standalone_mode:
            return code
        sys.exit(code if isinstance(code, int) else 0)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


app = typer.Typer(cls=Group, help="Neural style transfer for videos and stills (Gatys et al.; Ruder et al. for video).",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
                  rich_markup_mode="rich")
styles_app = typer.Typer(help="The style library: names usable in --styles.", no_args_is_help=True)


def _show_version(value: bool) -> None:
    if value:
        import platform
        from importlib.metadata import PackageNotFoundError, version

        def of(package: str) -> str:
            try:
                return version(package)
            except PackageNotFoundError:
                return "not installed"

        say(f"vidstyle {of('vidstyle')} (torch {of('torch')}, OpenCV {of('opencv-contrib-python-headless')}, "
            f"Python {platform.python_version()})")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_show_version, is_eager=True,
                                                help="Show the version (and torch's, OpenCV's, Python's) and exit.")]
          = False) -> None:
    pass


def word_for(command: str) -> Any:
    """How ``command`` names a key in errors: its flag (none for the input and output, which the message names)."""
    from ..job import flag_for

    return lambda key: "" if key in ("input", "output") else flag_for(key, command)


def user_message(exc: BaseException, command: str) -> str:
    """An error in this command's words: the setting it names and the ones it mentions, as flags."""
    word = word_for(command)
    if isinstance(exc, SettingError):
        return exc.worded(word).lstrip(": ") if not word(exc.key) else exc.worded(word)
    return MENTION.sub(lambda m: word(m.group(1)) or m.group(1), str(exc) or type(exc).__name__)


def run_guarded(func: Any, *args: Any, command: str = "video", **kwargs: Any) -> Any:
    """Call a command's body: expected failures become one line and an exit code."""
    try:
        return func(*args, **kwargs)
    except Terminated:
        fail("terminated: finished frames are kept; run the same command again to resume", 143)
    except KeyboardInterrupt:
        fail(INTERRUPTED, 130)
    except USER_ERRORS as exc:
        fail(user_message(exc, command), 1)


def setup_logging(verbose: bool) -> None:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(name)s: %(message)s")
    import cv2  # here, not at the top: `--help` needs no OpenCV

    # OpenCV's own log (a corrupt file's decoder error, before ours says the same in one line) only with --verbose.
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_INFO if verbose else cv2.utils.logging.LOG_LEVEL_SILENT)


def progress_bar() -> Progress:
    # Descriptions and info are plain Text: clip names with brackets are shown as they are.
    return Progress(
        TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[info]}", markup=False), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
        console=err_console(), transient=False,
    )

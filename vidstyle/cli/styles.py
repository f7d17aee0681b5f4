"""``vidstyle styles list`` and ``vidstyle styles add``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from .app import out, run_guarded, say, styles_app
from .options import user_path


@styles_app.command("list")
def styles_list(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    paths: Annotated[bool, typer.Option("--paths", help="Show the file each name resolves to.")] = False,
) -> None:
    """Show the style names, where they come from and their credits (first match wins)."""

    def body() -> None:
        from ..core.styles import list_styles

        found = list_styles()
        if as_json:
            say(json.dumps([{"name": s.name, "origin": s.origin, "path": os.fspath(s.path), "credit": s.credit,
                             "note": s.note} for s in found]))
            return
        table = Table("name", "origin", "credit" + (" / file" if paths else ""))
        for style in found:
            lines = [style.credit or os.fspath(style.path)] + ([style.note] if style.note else [])
            if paths and style.credit:
                lines.append(os.fspath(style.path))
            table.add_row(Text(style.name), Text(style.origin), Text("\n".join(lines)))
        out.print(table)

    run_guarded(body)


@styles_app.command("add")
def styles_add(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Name to use in --styles.")],
    image_path: Annotated[Path, typer.Argument(parser=user_path, metavar="IMAGE", help="Image file to copy into the user library.")],
    force: Annotated[bool, typer.Option("--force", help="Replace an existing style of that name.")] = False,
) -> None:
    """Copy an image into the user style library under NAME (it takes precedence over a built-in)."""

    def body() -> None:
        from ..core.styles import add_style
        from ..media.files import check_input

        check_input(image_path, "style image")
        target = add_style(name, image_path, force=force)
        say(f"added style {name!r} -> {os.fspath(target)}")

    run_guarded(body)

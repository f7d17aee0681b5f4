"""The ``vidstyle`` command line: options -> configs, device resolved once, Rich progress, exit codes.

One module per command; every shared option is written once in ``options.py``.
No tensor maths and no library work here.
"""

from __future__ import annotations

from . import video, image, mask, metrics, batch, studio, styles  # noqa: F401,I001  (registration order = --help order)
from .app import app, styles_app

app.add_typer(styles_app, name="styles")


def main() -> None:
    app()

"""``vidstyle studio``: the browser front end over the same library (needs ``pip install 'vidstyle[studio]'``)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..media.files import writable_folder
from .app import app, err_console, run_guarded, say
from .options import Device, user_path

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@app.command()
def studio(
    paths: Annotated[Optional[list[Path]], typer.Argument(
        parser=user_path, metavar="FILES_OR_FOLDERS", help="Clips, images or folders the studio may open (it "
        "reads nothing else, but uploads).", show_default=False)] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on; anything but the loopback exposes the "
                                      "studio to the network.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = 7860,
    out: Annotated[Path, typer.Option("--out", "--output", "-o", parser=user_path, help="The one folder the studio writes to: "
                                      "renders, previews, uploads and its queue.")] = Path("studio-out"),
    max_upload: Annotated[int, typer.Option("--max-upload", min=1, help="Largest upload, in MiB.")] = 2048,
    device: Device = "auto",
    weights: Annotated[Optional[str], typer.Option("--weights", help="VGG19 weights for every job: 'embedded' "
                                                   "(the default, no download), 'torchvision' or a state-dict "
                                                   "file.", show_default=False)] = None,
) -> None:
    """Steer a clip in the browser: scrub, pick a region, mix styles, preview, render with progress."""

    def body() -> None:
        if importlib.util.find_spec("gradio") is None:
            raise ValueError("the studio needs Gradio: pip install 'vidstyle[studio]'")
        from ..core.device import resolve_device
        from ..studio.app import serve

        roots = list(paths or [])
        for root in roots:
            if not root.exists():
                raise FileNotFoundError(f"{os.fspath(root)!r} does not exist")
        if weights and weights not in ("embedded", "torchvision") and not Path(weights).is_file():
            raise FileNotFoundError(f"--weights {weights!r} is not a file (or 'embedded', 'torchvision')")
        if out.exists() and not out.is_dir():
            raise ValueError(f"--out {os.fspath(out)!r} is a file: expected a folder")
        writable_folder(out)
        out.mkdir(parents=True, exist_ok=True)
        resolve_device(device)
        if host not in LOOPBACK:
            err_console().print(f"warning: listening on {host}: anyone who can reach this machine can use the studio "
                                "and its folders", style="yellow", markup=False, highlight=False)
        reads = ", ".join(os.fspath(r) for r in roots) or "uploads only"
        say(f"vidstyle studio on http://{'[' + host + ']' if ':' in host else host}:{port}  (reads {reads}; "
            f"writes {os.fspath(out)}; Ctrl-C stops it, renders resume at the next start)")
        serve(roots, out, host=host, port=port, max_upload=max_upload << 20, device=device, weights=weights)

    run_guarded(body, command="studio")

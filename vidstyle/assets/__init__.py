"""Files shipped inside the package: built-in paintings, the person segmentation models, class lists.

Their provenance and licences are in ``NOTICE.md`` beside them.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent


def path(*parts: str) -> Path:
    """A shipped file, e.g. ``path("models", "selfie_segmentation.tflite")``; refuses one that is missing."""
    found = ROOT.joinpath(*parts)
    if not found.is_file():
        raise FileNotFoundError(f"the installed vidstyle lacks {'/'.join(parts)}: reinstall the package")
    return found

"""A wheel built from the repository carries the paintings, the models and their licences."""

import subprocess
import sys
import zipfile

import pytest

from ..conftest import ROOT


@pytest.mark.slow
def test_the_wheel_ships_the_assets_and_their_credits(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                   check=True, capture_output=True)
    (wheel,) = tmp_path.glob("vidstyle-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"vidstyle/assets/paintings/{p}.jpg" for p in ("vangogh", "matisse", "leger", "mondrian")} | {
        "vidstyle/assets/models/selfie_segmentation.tflite", "vidstyle/assets/models/selfie_segmentation_landscape.tflite",
        "vidstyle/assets/models/LICENSE-mediapipe-Apache-2.0.txt", "vidstyle/assets/NOTICE.md",
        "vidstyle/assets/labels/ade20k.json", "vidstyle/assets/labels/cityscapes.json",
        "vidstyle/studio/__init__.py", "vidstyle/studio/app.py", "vidstyle/cli/studio.py"}
    assert expected <= names, sorted(expected - names)

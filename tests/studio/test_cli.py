"""`vidstyle studio` at the front door: one line when Gradio is missing, bad folders refused before serving."""

from __future__ import annotations

import importlib.util

from typer.testing import CliRunner

from vidstyle.cli import app

from ..conftest import plain

runner = CliRunner()


def test_without_the_extra_the_command_says_how_to_install_it(monkeypatch, tmp_path):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real(name, *a))
    result = runner.invoke(app, ["studio", "--out", str(tmp_path / "out")])
    lines = [line for line in plain(result.output).splitlines() if line.strip()]
    assert result.exit_code != 0 and len(lines) == 1 and "pip install 'vidstyle[studio]'" in lines[0], result.output
    assert not (tmp_path / "out").exists()


def test_a_missing_folder_or_weights_file_is_refused_before_serving(tmp_path):
    missing = runner.invoke(app, ["studio", str(tmp_path / "nowhere"), "--out", str(tmp_path / "out")])
    assert missing.exit_code != 0 and "does not exist" in plain(missing.output)
    weights = runner.invoke(app, ["studio", "--out", str(tmp_path / "out"), "--weights", str(tmp_path / "w.pth")])
    assert weights.exit_code != 0 and "is not a file" in plain(weights.output)
    assert "Traceback" not in missing.output + weights.output

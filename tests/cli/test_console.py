"""The installed ``vidstyle`` script in a subprocess, as a user meets it from a shell (not ``CliRunner``).

``CliRunner`` calls the app in this process with the arguments already split; a shell goes through the console
script, the argument parser's handling of defaults and the real exit path. A Typer release once passed an
option's default through ``parser=`` (the studio's ``--out``), which ``CliRunner`` tests with ``--out`` given
never saw. So every command runs here: its ``--help``, one refused input, and, where it serves or is cheap,
a run without its optional arguments.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import typer.main

from vidstyle.cli import app

from ..conftest import plain

SCRIPT = Path(sys.executable).parent / "vidstyle"


def script() -> Path:
    if not SCRIPT.is_file():
        pytest.fail(f"the console script {SCRIPT} is missing: install the package (pip install -e .)")
    return SCRIPT


def commands() -> list[list[str]]:
    """Every command and sub-command the app offers, as argv prefixes (``["styles", "list"]``)."""
    found = []
    for name, command in typer.main.get_command(app).commands.items():
        subs = getattr(command, "commands", None)
        found += [[name, sub] for sub in subs] if subs else [[name]]
    return found


def run(argv: list[str], cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([os.fspath(script()), *argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          env={**env, "COLUMNS": "120"})


def run_all(argvs: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    """Several runs at once (each is mostly Python's start-up and imports)."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(lambda argv: run(argv, cwd), argvs))


def test_every_command_has_help_from_the_installed_script(tmp_path):
    argvs = [[], *commands()]
    for argv, done in zip(argvs, run_all([[*a, "--help"] for a in argvs], tmp_path)):
        text = plain(done.stdout)
        assert done.returncode == 0, (argv, done.stderr)
        assert "Usage:" in text and "Traceback" not in done.stderr, (argv, text, done.stderr)
        usage = next(line for line in text.splitlines() if "Usage:" in line)
        assert not any(bad in usage for bad in ("[[", "{{", "...]", "...}", "......")), usage


# One input each command refuses, and the words its one line must hold.
REFUSED = {
    ("video",): (["missing.mp4", "--styles", "vangogh", "-o", "out.mp4"], "does not exist"),
    ("image",): (["missing.jpg", "--styles", "vangogh", "-o", "out.png"], "does not exist"),
    ("mask",): (["missing.mp4", "-o", "masks", "--segment", "person"], "does not exist"),
    ("metrics",): (["missing.mp4", "other.mp4"], "does not exist"),
    ("batch",): (["nowhere/", "--out", "styled", "--styles", "vangogh"], "nowhere"),
    ("studio",): (["nowhere/"], "does not exist"),
    ("styles", "list"): (["--paths", "extra"], "extra"),
    ("styles", "add"): (["mine", "missing.jpg"], "does not exist"),
}


def test_every_command_refuses_a_bad_input_with_one_line(tmp_path):
    assert sorted(REFUSED) == sorted(tuple(c) for c in commands()), "a command without a refused-input case"
    cases = sorted(REFUSED.items())
    for (command, (args, words)), done in zip(cases, run_all([[*c, *a] for c, (a, _) in cases], tmp_path)):
        lines = [line for line in plain(done.stderr).splitlines() if line.strip()]
        assert done.returncode in (1, 2), (command, done.returncode, done.stderr)
        assert len(lines) == 1 and words in lines[0] and "Traceback" not in done.stderr, (command, done.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == [], "a refused command wrote something"


def test_a_corrupt_image_is_one_line_without_the_decoders_own_log(tmp_path):
    """OpenCV logs a broken TIFF's errors to stderr itself; without --verbose only our line is shown."""
    (tmp_path / "broken.jpg").write_bytes(b"II*\x00\x08\x00\x00\x00" + b"\x00" * 40)  # a TIFF header, no directory
    done = run(["image", "broken.jpg", "--styles", "vangogh", "-o", "out.png"], tmp_path)
    lines = [line for line in plain(done.stderr).splitlines() if line.strip()]
    assert done.returncode == 1 and len(lines) == 1 and "expected a decodable image" in lines[0], done.stderr


def test_the_studio_starts_as_typed_without_any_argument(tmp_path):
    """``vidstyle studio`` alone (the default ``--out``, no folders) serves the page and stops on SIGTERM."""
    pytest.importorskip("gradio")
    from ..studio.conftest import free_port, wait_until_up

    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    process = subprocess.Popen([os.fspath(script()), "studio", "--port", str(port), "--device", "cpu"], cwd=tmp_path,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                               start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/", process)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert "Traceback" not in stderr, stderr
    assert "writes studio-out" in stdout and (tmp_path / "studio-out").is_dir()


@pytest.mark.parametrize("argv", [[], ["video", "missing.mp4", "-s", "vangogh", "-o", "o.mp4"],
                                  ["image", "missing.jpg", "-s", "vangogh", "-o", "o.png"]])
def test_the_help_and_a_refused_input_answer_without_loading_torch(argv, tmp_path):
    """``vidstyle --help`` and every command's help build the app alone, and a missing input is refused before
    any work: torch (over a second to import) waits until a command runs."""
    code = ("import sys, typer.main; from vidstyle.cli import app; typer.main.get_command(app)\n"
            f"try:\n    app({argv!r}) if {argv!r} else None\nexcept SystemExit as e:\n    assert e.code == 1, e.code\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'torchvision')))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip().splitlines()[-1] == "[]", (done.stdout[-500:],
                                                                                  done.stderr[-2000:])
    assert not argv or "does not exist" in done.stderr


def test_version_names_the_release_and_what_it_runs_on(tmp_path):
    from vidstyle import __version__

    done = run(["--version"], tmp_path)
    assert done.returncode == 0 and not done.stderr, done.stderr
    line = done.stdout.strip()
    assert line.startswith(f"vidstyle {__version__} (torch ") and "Python " in line and "\n" not in line

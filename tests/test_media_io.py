import numpy as np
import pytest

from vidstyle.video import atomic_path, ensure_not_input, read_image, write_image


def test_write_then_read_png_is_lossless(tmp_path):
    image = np.random.default_rng(1).integers(0, 256, (9, 11, 3), dtype=np.uint8)
    write_image(tmp_path / "a.png", image)
    assert np.array_equal(read_image(tmp_path / "a.png"), image)
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]  # no temp files left


def test_atomic_path_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("crash")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.png"]


def test_refuses_to_overwrite_an_input(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(b"x")
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        ensure_not_input(tmp_path / "." / "in.png", source)


def test_unknown_suffix_and_undecodable_files(tmp_path):
    with pytest.raises(ValueError, match="expected an output image ending in"):
        write_image(tmp_path / "x.txt", np.zeros((2, 2, 3), np.uint8))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(ValueError, match="expected a decodable image"):
        read_image(bad)

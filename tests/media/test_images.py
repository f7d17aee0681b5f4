from pathlib import Path

import numpy as np
import pytest

from vidstyle.media.files import atomic_path, check_input, check_output, ensure_not_input
import cv2

from vidstyle.media.images import read_alpha, read_image, write_image


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
    with pytest.raises(ValueError, match="expected an image file ending in"):
        write_image(tmp_path / "x.txt", np.zeros((2, 2, 3), np.uint8))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\x00\x01")
    with pytest.raises(ValueError, match="expected a decodable image"):
        read_image(bad)


def test_inputs_are_checked_with_the_name_as_typed(tmp_path):
    with pytest.raises(ValueError, match=f"input '{tmp_path}' is a directory"):
        check_input(tmp_path)
    with pytest.raises(FileNotFoundError, match="video '\\[draft\\] x.mp4' does not exist"):
        check_input(Path("[draft] x.mp4"), "video")


def test_outputs_are_checked_before_any_work(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(b"x")
    with pytest.raises(ValueError, match="is a directory"):
        check_output(tmp_path, (".png",))
    with pytest.raises(ValueError, match="expected an output ending in .png, got"):
        check_output(tmp_path / "out.gif", (".png",))
    with pytest.raises(ValueError, match="refusing to overwrite the input"):
        check_output(source, (".png",), (source,))
    with pytest.raises(ValueError, match="is a file"):
        check_output(source / "sub" / "out.png", (".png",))
    assert check_output(tmp_path / "new" / "deeper" / "out.png", (".png",)).name == "out.png"
    assert not (tmp_path / "new").exists()  # checking creates nothing


@pytest.mark.parametrize("suffix, kept", [(".png", True), (".webp", True), (".tiff", True), (".jpg", False)])
def test_transparency_is_read_and_written_where_the_format_keeps_it(tmp_path, suffix, kept):
    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    alpha = np.zeros((9, 11), np.uint8)
    alpha[2:7, 3:9] = 255
    alpha[4, 4] = 128
    write_image(tmp_path / f"a{suffix}", image, alpha)
    back = read_alpha(tmp_path / f"a{suffix}")
    if kept:
        assert np.array_equal(back, alpha)
        assert np.array_equal(read_image(tmp_path / f"a{suffix}")[alpha == 255], image[alpha == 255])
    else:
        assert back is None
    with pytest.raises(ValueError, match="expected an alpha of shape"):
        write_image(tmp_path / "b.png", image, alpha[:5])


def test_no_alpha_where_every_pixel_is_opaque_or_there_is_no_channel_and_16_bit_alpha_is_scaled(tmp_path):
    image = np.full((4, 5, 3), 90, np.uint8)
    write_image(tmp_path / "rgb.png", image)
    write_image(tmp_path / "opaque.png", image, np.full((4, 5), 255, np.uint8))
    assert read_alpha(tmp_path / "rgb.png") is None and read_alpha(tmp_path / "opaque.png") is None
    deep = np.zeros((4, 5, 4), np.uint16)
    deep[..., 3] = 65535
    deep[0, 0, 3] = 0
    deep[1, 1, 3] = 32768
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    alpha = read_alpha(tmp_path / "deep.png")
    assert alpha.dtype == np.uint8 and alpha[0, 0] == 0 and alpha[1, 1] == 128 and alpha[2, 2] == 255


def test_a_mask_file_is_read_by_its_alpha_or_else_as_grey_levels_the_grey_decode_gives(tmp_path):
    from vidstyle.media.images import read_grey, read_mask_levels

    rng = np.random.default_rng(3)
    colour = rng.integers(0, 256, (9, 11, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (9, 11), dtype=np.uint8)
    alpha = np.where(rng.random((9, 11)) < 0.5, 0, 255).astype(np.uint8)
    write_image(tmp_path / "grey.png", grey)
    write_image(tmp_path / "colour.png", colour)
    write_image(tmp_path / "colour.jpg", colour)
    write_image(tmp_path / "cutout.png", colour, alpha)
    for name in ("grey.png", "colour.png", "colour.jpg"):
        assert np.array_equal(read_mask_levels(tmp_path / name), read_grey(tmp_path / name)), name
    assert np.array_equal(read_mask_levels(tmp_path / "grey.png"), grey)
    assert np.array_equal(read_mask_levels(tmp_path / "cutout.png"), alpha)

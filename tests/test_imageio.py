"""The PNG reader and writer: round trips, every filter type against a by-hand encoder,
palettes and small bit depths, Pillow as an outside reference, and clear errors for
corrupted, truncated and unsupported files."""

import io
import struct
import zlib

import numpy as np
import pytest

from autoencoders import imageio
from autoencoders.imageio import PNGError, decode_png, encode_png, read_png, write_png

RNG = np.random.default_rng(0)


# ---------------------------------------------------------------------------- by hand
def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_by_hand(rows, width, height, colour_type, depth=8, filters=None, extra=(), interlace=0):
    """A PNG file from raw scanlines (lists of byte values), each filtered byte by byte
    exactly as the specification's pseudo-code says (no NumPy), with ``filters[y]`` the
    filter type of row y."""
    samples = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[colour_type]
    bpp = max(1, samples * depth // 8)
    filters = filters or [0] * height
    raw = bytearray()
    previous = [0] * len(rows[0])
    for y, row in enumerate(rows):
        kind = filters[y]
        raw.append(kind)
        for i, value in enumerate(row):
            a = row[i - bpp] if i >= bpp else 0
            b = previous[i]
            c = previous[i - bpp] if i >= bpp else 0
            if kind == 0:
                predictor = 0
            elif kind == 1:
                predictor = a
            elif kind == 2:
                predictor = b
            elif kind == 3:
                predictor = (a + b) // 2
            else:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
            raw.append((value - predictor) % 256)
        previous = row
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, interlace)
    body = chunk(b"IHDR", header)
    for kind, data in extra:
        body += chunk(kind, data)
    body += chunk(b"IDAT", zlib.compress(bytes(raw)))
    return imageio.SIGNATURE + body + chunk(b"IEND", b"")


# ---------------------------------------------------------------------------- round trips
@pytest.mark.parametrize("shape", [(7, 5), (7, 5, 1), (6, 9, 3), (4, 3, 4)])
@pytest.mark.parametrize("filter_type", range(5))
def test_round_trip_of_uint8_images(tmp_path, shape, filter_type):
    image = RNG.integers(0, 256, shape, dtype=np.uint8)
    path = write_png(tmp_path / "sub" / "image.png", image, filter_type=filter_type)
    back = read_png(path)
    assert back.dtype == np.uint8
    assert np.array_equal(back, image.reshape(back.shape))
    assert back.shape == (shape[:2] if len(shape) == 2 or shape[2] == 1 else shape)


def test_floats_in_0_1_are_scaled_and_rounded():
    image = np.array([[0.0, 0.5, 1.0], [0.25, 0.999, 0.001]])
    assert decode_png(encode_png(image)).tolist() == [[0, 128, 255], [64, 255, 0]]


@pytest.mark.parametrize(
    "image, message",
    [
        (np.zeros((3, 3, 2), np.uint8), "shape"),
        (np.zeros((0, 3), np.uint8), "shape"),
        (np.full((2, 2), 1.5), r"\[0, 1\]"),
        (np.full((2, 2), np.nan), "finite"),
        (np.full((2, 2), 300), "0-255"),
    ],
)
def test_write_refuses_what_it_cannot_write(image, message):
    with pytest.raises(ValueError, match=message):
        encode_png(image)


# ---------------------------------------------------------------------------- reading
@pytest.mark.parametrize("filter_type", range(5))
@pytest.mark.parametrize("colour_type, channels", [(0, 1), (2, 3), (4, 2), (6, 4)])
def test_reads_every_filter_type_of_a_by_hand_file(filter_type, colour_type, channels):
    image = RNG.integers(0, 256, (6, 5, channels), dtype=np.uint8)
    rows = [image[y].reshape(-1).tolist() for y in range(6)]
    data = png_by_hand(rows, 5, 6, colour_type, filters=[filter_type] * 6)
    assert np.array_equal(decode_png(data), image.squeeze(axis=2) if channels == 1 else image)


def test_reads_a_file_mixing_all_filter_types_row_by_row():
    image = RNG.integers(0, 256, (10, 4, 3), dtype=np.uint8)
    rows = [image[y].reshape(-1).tolist() for y in range(10)]
    data = png_by_hand(rows, 4, 10, 2, filters=[0, 1, 2, 3, 4, 4, 3, 2, 1, 0])
    assert np.array_equal(decode_png(data), image)


def test_filters_see_the_reconstructed_bytes_not_the_filtered_ones():
    # A smooth ramp: with Sub every filtered byte is 1, so a decoder that used the
    # filtered left byte instead of the reconstructed one would read all ones.
    ramp = [list(range(0, 8)), list(range(1, 9))]
    for filter_type in (1, 3, 4):
        data = png_by_hand(ramp, 8, 2, 0, filters=[filter_type] * 2)
        assert decode_png(data).tolist() == ramp


def test_paeth_breaks_ties_as_the_specification_says():
    # Second row, second byte: left a=12, above b=6, upper-left c=10, so p = 8 and
    # |p - b| = |p - c| = 2 < |p - a| = 4: the tie between b and c goes to b.
    rows = [[10, 6], [12, 200]]
    assert decode_png(png_by_hand(rows, 2, 2, 0, filters=[4, 4])).tolist() == rows
    assert decode_png(encode_png(np.array(rows, np.uint8), filter_type=4)).tolist() == rows


def test_palette_image_with_and_without_transparency():
    palette = bytes([255, 0, 0, 0, 255, 0, 0, 0, 255])
    rows = [[0, 1, 2], [2, 1, 0]]
    rgb = decode_png(png_by_hand(rows, 3, 2, 3, extra=[(b"PLTE", palette)]))
    assert rgb.shape == (2, 3, 3)
    assert rgb[0].tolist() == [[255, 0, 0], [0, 255, 0], [0, 0, 255]]
    rgba = decode_png(png_by_hand(rows, 3, 2, 3, extra=[(b"PLTE", palette), (b"tRNS", b"\x00")]))
    assert rgba[0, :, 3].tolist() == [0, 255, 255]


def test_one_bit_greyscale_and_two_bit_palette():
    # 10 pixels of 1 bit: 2 bytes per row, the last 6 bits padding.
    bits = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0]
    packed = np.packbits(np.array(bits, np.uint8)).tolist()
    assert decode_png(png_by_hand([packed], 10, 1, 0, depth=1)).tolist() == [
        [255 * b for b in bits]
    ]
    indices = [3, 0, 2, 1, 3]  # 2 bits each
    value = 0
    for index in indices + [0, 0, 0]:
        value = value << 2 | index
    row = list(value.to_bytes(2, "big"))
    palette = bytes(range(12))
    pixels = decode_png(png_by_hand([row], 5, 1, 3, depth=2, extra=[(b"PLTE", palette)]))
    assert pixels[0].tolist() == [[9, 10, 11], [0, 1, 2], [6, 7, 8], [3, 4, 5], [9, 10, 11]]


def test_pillow_reads_what_we_write_and_we_read_what_pillow_writes():
    image_module = pytest.importorskip("PIL.Image")
    image = RNG.integers(0, 256, (13, 11, 3), dtype=np.uint8)
    for filter_type in range(5):
        ours = image_module.open(io.BytesIO(encode_png(image, filter_type)))
        assert np.array_equal(np.asarray(ours), image)
    for mode in ("L", "RGB", "RGBA", "LA", "P", "1"):
        buffer = io.BytesIO()
        pillow = image_module.fromarray(image).convert(mode)
        pillow.save(buffer, format="PNG")
        expected = np.asarray(pillow.convert("RGB") if mode == "P" else pillow)
        if mode == "1":
            expected = expected.astype(np.uint8) * 255
        assert np.array_equal(decode_png(buffer.getvalue()), expected), mode


# ---------------------------------------------------------------------------- errors
def test_a_bad_crc_is_reported_as_corruption(tmp_path):
    data = bytearray(encode_png(RNG.integers(0, 256, (8, 8), dtype=np.uint8)))
    idat = data.index(b"IDAT")
    data[idat + 6] ^= 0xFF  # a byte inside the IDAT data
    path = tmp_path / "bad.png"
    path.write_bytes(bytes(data))
    with pytest.raises(PNGError, match=r"bad\.png: chunk IDAT has a bad CRC"):
        read_png(path)


@pytest.mark.parametrize("keep", [10, 20, 40, -12])
def test_a_truncated_file_is_reported_as_truncated(keep):
    data = encode_png(RNG.integers(0, 256, (8, 8), dtype=np.uint8))
    with pytest.raises(PNGError, match="truncated"):
        decode_png(data[:keep])


def test_corrupted_compressed_data_with_a_valid_crc():
    header = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    data = (
        imageio.SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", b"not zlib data")
        + chunk(b"IEND", b"")
    )
    with pytest.raises(PNGError, match="corrupted image data"):
        decode_png(data)


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: b"GIF89a" + bytes(20), "not a PNG file"),
        (lambda: png_by_hand([[0, 0, 0, 0]], 2, 1, 0, depth=16), "16-bit greyscale"),
        (lambda: png_by_hand([[1, 2]], 2, 1, 0, interlace=1), "interlaced"),
        (lambda: png_by_hand([[1, 2]], 2, 1, 2, depth=4), "bit depth 4"),
        (lambda: png_by_hand([[1, 2, 3]], 2, 1, 0), "image needs 3"),
        (lambda: png_by_hand([[5, 0]], 2, 1, 3, extra=[(b"PLTE", bytes(6))]), "palette index"),
    ],
)
def test_unsupported_or_inconsistent_files_get_a_clear_error(make, message):
    with pytest.raises(PNGError, match=message):
        decode_png(make())


def test_an_unknown_filter_type_is_an_error():
    data = png_by_hand([[1, 2]], 2, 1, 0)
    header = struct.pack(">IIBBBBB", 2, 1, 8, 0, 0, 0, 0)
    data = (
        imageio.SIGNATURE
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes([7, 1, 2])))
        + chunk(b"IEND", b"")
    )
    with pytest.raises(PNGError, match="unknown filter type 7"):
        decode_png(data)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        read_png(tmp_path / "nothing.png")

"""A small PNG reader and writer on ``zlib`` and ``struct``: images in and out of the CLI.

Why not matplotlib or Pillow: NumPy is the one required dependency of this project, and
the command-line tool must read and write images without the ``plot`` extra. PNG is
simple enough to do here in a page (the format is the W3C PNG specification, 2nd
edition): chunks with CRCs, one zlib stream, and one of five filters per row.

* ``write_png(path, image)`` writes 8-bit greyscale (H, W) or (H, W, 1), RGB (H, W, 3)
  or RGBA (H, W, 4); uint8 arrays as they are, floats in [0, 1] scaled by 255 and rounded.
* ``read_png(path)`` reads non-interlaced PNGs of 8-bit greyscale, greyscale + alpha, RGB
  and RGBA, and palette or greyscale images of 1, 2, 4 or 8 bits per pixel, with all five
  filter types. It returns uint8 (H, W) for greyscale, (H, W, 2) for greyscale + alpha,
  (H, W, 3) for RGB and palette, (H, W, 4) for RGBA and palette with transparency.
* Anything else (16-bit samples, interlacing, a bad CRC, a truncated file) raises
  ``PNGError``, a ValueError naming the file and what is wrong with it.

The writer filters every row with one filter type (``filter_type``, default 1 = Sub,
which suits the smooth backgrounds of digit grids); it does not pick one per row.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Callable

import numpy as np

SIGNATURE = b"\x89PNG\r\n\x1a\n"
FILTER_NAMES = ("None", "Sub", "Up", "Average", "Paeth")
# colour type -> (name, samples per pixel, allowed bit depths)
COLOUR_TYPES = {
    0: ("greyscale", 1, (1, 2, 4, 8)),
    2: ("RGB", 3, (8,)),
    3: ("palette", 1, (1, 2, 4, 8)),
    4: ("greyscale + alpha", 2, (8,)),
    6: ("RGBA", 4, (8,)),
}
_WRITE_COLOUR_TYPES = {1: 0, 3: 2, 4: 6}  # channels -> colour type


class PNGError(ValueError):
    """A PNG file this reader cannot read: corrupted, truncated or of an unsupported kind."""


# ---------------------------------------------------------------------------- writing
def encode_png(image: np.ndarray, filter_type: int = 1) -> bytes:
    """The bytes of a PNG file holding ``image``.

    image: uint8 or float (H, W), (H, W, 1), (H, W, 3) or (H, W, 4); floats must lie in
    [0, 1] and become round(255 x). filter_type: 0-4 (None, Sub, Up, Average, Paeth),
    applied to every row.
    """
    pixels = _as_uint8_image(image)
    height, width, channels = pixels.shape
    if filter_type not in range(5):
        raise ValueError(f"filter_type must be 0-4 ({', '.join(FILTER_NAMES)}), got {filter_type}")
    rows = pixels.reshape(height, width * channels)
    filtered = filter_rows(rows, channels, filter_type)
    raw = np.concatenate([np.full((height, 1), filter_type, np.uint8), filtered], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, _WRITE_COLOUR_TYPES[channels], 0, 0, 0)
    return (
        SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + _chunk(b"IEND", b"")
    )


def write_png(path: str | os.PathLike[str], image: np.ndarray, filter_type: int = 1) -> str:
    """Write ``image`` (see ``encode_png``) to ``path``, creating its folder; returns the path."""
    path = os.fspath(path)
    data = encode_png(image, filter_type)
    folder = os.path.dirname(path)
    if folder:
        os.makedirs(folder, exist_ok=True)
    with open(path, "wb") as file:
        file.write(data)
    return path


def _as_uint8_image(image) -> np.ndarray:
    """(H, W, C) uint8 from uint8 or [0, 1] float (H, W) / (H, W, C), C in 1, 3, 4."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in _WRITE_COLOUR_TYPES or 0 in array.shape:
        raise ValueError(
            "write_png takes a non-empty (H, W) greyscale, (H, W, 3) RGB or (H, W, 4) RGBA "
            f"image, got shape {array.shape}"
        )
    if array.dtype == np.uint8:
        return array
    if array.dtype.kind == "b" or array.dtype.kind in "iu":
        if array.min() < 0 or array.max() > 255:
            raise ValueError(f"integer pixels must lie in 0-255, got {array.min()}-{array.max()}")
        return array.astype(np.uint8)
    if array.dtype.kind != "f":
        raise ValueError(f"write_png takes uint8 or float pixels, got dtype {array.dtype}")
    if not np.isfinite(array).all():
        raise ValueError("float pixels must be finite, got NaN or infinite values")
    if array.min() < 0 or array.max() > 1:
        raise ValueError(
            f"float pixels must lie in [0, 1], got {array.min():.4g} to {array.max():.4g}"
        )
    return np.rint(array * 255).astype(np.uint8)


def filter_rows(rows: np.ndarray, bytes_per_pixel: int, filter_type: int) -> np.ndarray:
    """Filter uint8 scanlines (H, stride) with one PNG filter type; returns (H, stride).

    Encoding sees every original byte, so each filter is a vectorised difference from its
    predictor: left a, above b, upper-left c (zero outside the image), mod 256.
    """
    current = rows.astype(np.int16)
    above = np.zeros_like(current)
    above[1:] = current[:-1]
    left = np.zeros_like(current)
    left[:, bytes_per_pixel:] = current[:, :-bytes_per_pixel]
    upper_left = np.zeros_like(current)
    upper_left[1:, bytes_per_pixel:] = current[:-1, :-bytes_per_pixel]
    if filter_type == 0:
        predictor = np.zeros_like(current)
    elif filter_type == 1:
        predictor = left
    elif filter_type == 2:
        predictor = above
    elif filter_type == 3:
        predictor = (left + above) // 2
    else:
        predictor = _paeth(left, above, upper_left)
    return ((current - predictor) % 256).astype(np.uint8)


def _paeth(a, b, c):
    """The Paeth predictor, elementwise: whichever of a, b, c is closest to a + b - c."""
    p = a + b - c
    pa, pb, pc = np.abs(p - a), np.abs(p - b), np.abs(p - c)
    return np.where((pa <= pb) & (pa <= pc), a, np.where(pb <= pc, b, c))


def _chunk(kind: bytes, data: bytes) -> bytes:
    checksum = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", checksum)


# ---------------------------------------------------------------------------- reading
def read_png(path: str | os.PathLike[str]) -> np.ndarray:
    """The pixels of the PNG file at ``path``, uint8 (H, W) or (H, W, C); see the module doc.

    Raises FileNotFoundError for a missing file and ``PNGError`` for a file it cannot read.
    """
    path = os.fspath(path)
    with open(path, "rb") as file:
        data = file.read()
    return decode_png(data, name=path)


def decode_png(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """The pixels of a PNG file's bytes; ``name`` is used in error messages."""

    def fail(problem):
        return PNGError(f"{name}: {problem}")

    if data[:8] != SIGNATURE:
        raise fail("not a PNG file (the first 8 bytes are not the PNG signature)")
    chunks = list(_chunks(data, fail))
    if not chunks or chunks[0][0] != b"IHDR" or len(chunks[0][1]) != 13:
        raise fail("the first chunk is not a valid IHDR header")
    width, height, depth, colour, compression, filtering, interlace = struct.unpack(
        ">IIBBBBB", chunks[0][1]
    )
    if colour not in COLOUR_TYPES:
        raise fail(f"invalid colour type {colour}")
    colour_name, samples, depths = COLOUR_TYPES[colour]
    if depth == 16:
        raise fail(
            f"16-bit {colour_name} PNGs are not supported (8-bit only); convert it to 8 bits "
            "per channel, e.g. `convert in.png -depth 8 out.png`"
        )
    if depth not in depths:
        raise fail(f"bit depth {depth} is not valid for a {colour_name} PNG")
    if interlace:
        raise fail(
            "interlaced (Adam7) PNGs are not supported; save it without interlacing, "
            "e.g. `convert in.png -interlace none out.png`"
        )
    if compression or filtering:
        raise fail(f"unknown compression method {compression} or filter method {filtering}")
    if width == 0 or height == 0:
        raise fail(f"empty image ({width}x{height})")
    kinds = [kind for kind, _ in chunks]
    if b"IEND" not in kinds:
        raise fail("truncated file: no IEND chunk")
    idat = b"".join(body for kind, body in chunks if kind == b"IDAT")
    if not idat:
        raise fail("no image data (IDAT chunk)")
    try:
        raw = zlib.decompress(idat)
    except zlib.error as error:
        raise fail(f"corrupted image data ({error})") from None
    bits_per_pixel = samples * depth
    stride = (width * bits_per_pixel + 7) // 8
    if len(raw) != height * (stride + 1):
        raise fail(
            f"image data holds {len(raw)} bytes, a {width}x{height} {depth}-bit {colour_name} "
            f"image needs {height * (stride + 1)}"
        )
    rows = unfilter_rows(raw, height, stride, max(1, bits_per_pixel // 8), fail)
    if depth < 8:
        rows = np.unpackbits(rows, axis=1)
        rows = rows.reshape(height, stride * 8 // depth, depth)
        rows = (rows * (1 << np.arange(depth - 1, -1, -1, dtype=np.uint8))).sum(axis=2)
        rows = rows[:, :width].astype(np.uint8)
    pixels = rows.reshape(height, width, samples)
    if colour == 0:
        scale = 255 // (2**depth - 1)  # 1-bit 1 -> 255, 2-bit 3 -> 255, 4-bit 15 -> 255
        return pixels[:, :, 0] * np.uint8(scale)
    if colour == 3:
        return _apply_palette(pixels[:, :, 0], chunks, fail)
    return pixels


def _chunks(data: bytes, fail):
    """(type, data) of each chunk after the signature, checking lengths and CRCs."""
    position = 8
    while position < len(data):
        if position + 8 > len(data):
            raise fail("truncated file: a chunk header is cut off")
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        end = position + 8 + length
        if end + 4 > len(data):
            raise fail(f"truncated file: chunk {kind!r} needs {length} bytes, fewer remain")
        body = data[position + 8 : end]
        (checksum,) = struct.unpack(">I", data[end : end + 4])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != checksum:
            raise fail(f"chunk {kind.decode('latin-1')} has a bad CRC: the file is corrupted")
        yield kind, body
        if kind == b"IEND":
            return
        position = end + 4


def unfilter_rows(
    raw: bytes,
    height: int,
    stride: int,
    bytes_per_pixel: int,
    fail: Callable[[str], Exception] | None = None,
) -> np.ndarray:
    """Undo the per-row PNG filters of decompressed image data; returns uint8 (H, stride).

    raw: H rows of 1 filter-type byte + ``stride`` filtered bytes. None and Up are
    vectorised; Sub, Average and Paeth depend on the byte just reconstructed to the left,
    so they run byte by byte (fast enough for the small images this project uses).
    """
    table = np.frombuffer(raw, np.uint8).reshape(height, stride + 1)
    out = np.zeros((height, stride), np.uint8)
    previous = np.zeros(stride, np.uint8)
    bpp = bytes_per_pixel
    for y in range(height):
        kind, line = int(table[y, 0]), table[y, 1:]
        if kind == 0:
            row = line.copy()
        elif kind == 2:
            row = line + previous  # uint8 arithmetic wraps mod 256
        elif kind in (1, 3, 4):
            row = bytearray(line.tobytes())
            up = previous.tobytes()
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                if kind == 1:
                    predictor = a
                elif kind == 3:
                    predictor = (a + up[i]) >> 1
                else:
                    b, c = up[i], up[i - bpp] if i >= bpp else 0
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    predictor = a if pa <= pb and pa <= pc else b if pb <= pc else c
                row[i] = (row[i] + predictor) & 0xFF
            row = np.frombuffer(bytes(row), np.uint8)
        else:
            message = f"row {y} has an unknown filter type {kind} (valid: 0-4)"
            raise fail(message) if fail else PNGError(message)
        out[y] = row
        previous = out[y]
    return out


def _apply_palette(indices, chunks, fail):
    palette_data = next((body for kind, body in chunks if kind == b"PLTE"), None)
    if palette_data is None or len(palette_data) % 3:
        raise fail("a palette PNG without a valid PLTE chunk")
    palette = np.frombuffer(palette_data, np.uint8).reshape(-1, 3)
    if indices.max() >= len(palette):
        raise fail(f"palette index {indices.max()} is beyond the {len(palette)}-colour palette")
    transparency = next((body for kind, body in chunks if kind == b"tRNS"), None)
    if transparency is None:
        return palette[indices]
    alpha = np.full(len(palette), 255, np.uint8)
    alpha[: len(transparency)] = np.frombuffer(transparency[: len(palette)], np.uint8)
    return np.concatenate([palette, alpha[:, None]], axis=1)[indices]

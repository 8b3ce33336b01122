"""Visible watermarks drawn with NumPy: a 5 x 7 bitmap font and a copyright logo.

``stamp_watermark`` blends the text's pixels toward white, at a fixed place (bottom
right) or at a random place per image, on grey images such as MNIST and Fashion-MNIST.
"""

from __future__ import annotations

import numpy as np

# Each glyph: its rows, top to bottom, "1" = ink. Letters 5 x 7 (the classic HD44780
# LCD font); the copyright logo 7 x 7.
FONT = {
    "A": "01110 10001 10001 11111 10001 10001 10001",
    "B": "11110 10001 10001 11110 10001 10001 11110",
    "C": "01110 10001 10000 10000 10000 10001 01110",
    "D": "11100 10010 10001 10001 10001 10010 11100",
    "E": "11111 10000 10000 11110 10000 10000 11111",
    "F": "11111 10000 10000 11110 10000 10000 10000",
    "G": "01110 10001 10000 10111 10001 10001 01111",
    "H": "10001 10001 10001 11111 10001 10001 10001",
    "I": "01110 00100 00100 00100 00100 00100 01110",
    "J": "00111 00010 00010 00010 00010 10010 01100",
    "K": "10001 10010 10100 11000 10100 10010 10001",
    "L": "10000 10000 10000 10000 10000 10000 11111",
    "M": "10001 11011 10101 10101 10001 10001 10001",
    "N": "10001 10001 11001 10101 10011 10001 10001",
    "O": "01110 10001 10001 10001 10001 10001 01110",
    "P": "11110 10001 10001 11110 10000 10000 10000",
    "Q": "01110 10001 10001 10001 10101 10010 01101",
    "R": "11110 10001 10001 11110 10100 10010 10001",
    "S": "01111 10000 10000 01110 00001 00001 11110",
    "T": "11111 00100 00100 00100 00100 00100 00100",
    "U": "10001 10001 10001 10001 10001 10001 01110",
    "V": "10001 10001 10001 10001 10001 01010 00100",
    "W": "10001 10001 10001 10101 10101 10101 01010",
    "X": "10001 10001 01010 00100 01010 10001 10001",
    "Y": "10001 10001 10001 01010 00100 00100 00100",
    "Z": "11111 00001 00010 00100 01000 10000 11111",
    " ": "000 000 000 000 000 000 000",
    "©": "0111110 1000001 1011101 1010001 1011101 1000001 0111110",
}
DEFAULT_TEXT = "©AE"
DEFAULT_ALPHA = 0.7  # opacity: strong enough to hide strokes, weak enough to see through


def text_mask(text: str = DEFAULT_TEXT, spacing: int = 1) -> np.ndarray:
    """The text drawn in ``FONT``: a boolean mask (7, width), glyphs ``spacing`` pixels apart."""
    glyphs = []
    for character in text.upper():
        if character not in FONT:
            raise ValueError(
                f"text_mask: no glyph for {character!r}; the font has "
                f"{''.join(sorted(FONT)).strip()!r} and space"
            )
        rows = FONT[character].split()
        glyphs.append(np.array([[c == "1" for c in row] for row in rows]))
        glyphs.append(np.zeros((7, spacing), dtype=bool))
    if not glyphs:
        raise ValueError("text_mask: text is empty")
    return np.concatenate(glyphs[:-1], axis=1)


def stamp_watermark(
    images: np.ndarray,
    text: str = DEFAULT_TEXT,
    position: str | tuple[int, int] = "fixed",
    alpha: float = DEFAULT_ALPHA,
    value: float = 1.0,
    seed: int | np.random.Generator | None = None,
) -> np.ndarray:
    """Watermarked copies of images (N, H, W) in [0, 1] -> (N, H, W) float64.

    Pixels under the text become (1 - alpha) * pixel + alpha * value (value 1.0: white).
    ``position``: "fixed" (bottom right, one pixel from the edges), "random" (top-left
    corner uniform over the places where the whole mark fits, independently per image,
    drawn from ``seed``) or a (row, column) pair for the top-left corner.
    """
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3:
        raise ValueError(f"stamp_watermark expects grey images (N, H, W), got {images.shape}")
    mask = text_mask(text)
    n, height, width = images.shape
    mark_height, mark_width = mask.shape
    if mark_height + 2 > height or mark_width + 2 > width:
        raise ValueError(
            f"stamp_watermark: the mark {text!r} ({mark_height} x {mark_width}) does not fit "
            f"in {height} x {width} images"
        )
    if isinstance(position, str) and position == "fixed":
        rows = np.full(n, height - mark_height - 1)
        columns = np.full(n, width - mark_width - 1)
    elif isinstance(position, str) and position == "random":
        rng = np.random.default_rng(seed)
        rows = rng.integers(0, height - mark_height + 1, n)
        columns = rng.integers(0, width - mark_width + 1, n)
    elif isinstance(position, str):
        raise ValueError(f"position must be 'fixed', 'random' or (row, column), got {position!r}")
    else:
        row, column = position
        if not (0 <= row <= height - mark_height and 0 <= column <= width - mark_width):
            raise ValueError(f"stamp_watermark: the mark does not fit at {position!r}")
        rows, columns = np.full(n, row), np.full(n, column)
    full_mask = np.zeros(images.shape, dtype=bool)
    mark_rows, mark_columns = np.nonzero(mask)
    sample = np.arange(n)[:, None]
    full_mask[sample, rows[:, None] + mark_rows, columns[:, None] + mark_columns] = True
    return np.where(full_mask, (1.0 - alpha) * images + alpha * value, images)

"""A PNG reader for the tests' screenshots (8-bit RGB or RGBA, as Chromium writes them): what
was drawn, pixel by pixel, without an imaging library."""

import struct
import zlib


def read_png(data: bytes) -> tuple[int, int, list[bytes], int]:
    """``(width, height, rows, bytes per pixel)``; each row unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, color = header[:4]
    assert depth == 8 and color in (2, 6), (depth, color)
    bpp = 3 if color == 2 else 4
    raw = zlib.decompress(b"".join(chunks))
    stride = width * bpp
    rows, previous = [], bytes(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for x in range(stride):
            left = line[x - bpp] if x >= bpp else 0
            up, corner = previous[x], previous[x - bpp] if x >= bpp else 0
            if kind == 1:
                line[x] = (line[x] + left) & 0xFF
            elif kind == 2:
                line[x] = (line[x] + up) & 0xFF
            elif kind == 3:
                line[x] = (line[x] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[x] = (line[x] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, rows, bpp


def pixels_like(
    png: tuple, color: tuple[int, int, int], x0: int, x1: int, y0: int, y1: int, *, tolerance: int = 40
) -> int:
    """How many pixels in the box are within ``tolerance`` of ``color`` (anti-aliasing blurs lines)."""
    width, height, rows, bpp = png
    found = 0
    for y in range(max(0, y0), min(height, y1)):
        row = rows[y]
        for x in range(max(0, x0), min(width, x1)):
            r, g, b = row[x * bpp : x * bpp + 3]
            if abs(r - color[0]) + abs(g - color[1]) + abs(b - color[2]) <= tolerance:
                found += 1
    return found
